// Home Assistant MQTT discovery for a discovery::Device: the retained config
// messages, the topics they live on, and the clean-up of what is no longer
// configured (../shared/reference/discovery.md, A.1-A.11).
//
// Device mode (HA >= 2024.11): one message, <prefix>/device/<id>/config,
// with "device", "origin", the shared "availability" and "components".
// Component mode (older HA, openHAB's HA binding): one message per entity on
// <prefix>/<platform>/<id>/<entity id>/config. Either way unique_id is
// sr_<device id>_<entity id> and default_entity_id <platform>.<device id>_<entity id>
// (never object_id, ignored since HA 2026.4). Keys are written in a fixed
// order, so an unchanged configuration gives byte-identical payloads.
#pragma once

#include "discovery_model.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sr::mqtt::discovery {

enum class HaMode { Device, Component };  // follows DiscoveryMode's "device|component"

struct HaOptions {
  std::string prefix = "homeassistant";
  HaMode mode = HaMode::Device;
  std::string origin_url;  // origin's support_url; empty: omitted
};

// The retained (QoS 1) config messages announcing `device`. Device mode:
// one message on <prefix>/device/<device id>/config with "device", "origin",
// the shared "availability" and "components" keyed by entity id. Component
// mode: one message per entity on <prefix>/<platform>/<device id>/<entity
// id>/config, each with "device", "origin" and (except triggers, which have
// none) "availability".
std::vector<Message> ha_config(const Device& device, const HaOptions& options);

// The filters under which this device's configs live in either mode
// (<prefix>/device/<id>/config, <prefix>/+/<id>/+/config), to read them
// back at start.
std::vector<std::string> ha_owned_filters(const Device& device, const HaOptions& options);
// True when `topic` is one of this device's config topics, in either mode.
bool ha_owns_topic(const Device& device, const HaOptions& options, std::string_view topic);

// The devices of `device`'s trees that `found` (this device's configs read
// back, either mode) announces, by their state topics: kept at a restart
// before they publish again. A component reduced to its platform (gone) has
// none and names no device; unreadable payloads are skipped.
std::vector<TreeDeviceRef> ha_tree_devices(const std::vector<Message>& found, const Device& device,
                                           const HaOptions& options);

// `found`: what the broker holds under the owned filters, or what was last
// sent; `config`: ha_config's. The messages to send before `config` so that
// nothing no longer configured survives: a device config losing components
// is first sent with each gone one reduced to {"platform": ...} (HA's
// documented removal); a per-component topic `config` lacks, or a device
// topic in component mode, gets an empty retained payload. Empty found
// payloads are ignored; a found device config that is not a JSON object is
// stale (deleted). A per-component topic `config` still holds is left for
// `config` to overwrite, whatever it held: deleting it first would make HA
// drop the entity and its registry entry. Nothing stale: none.
std::vector<Message> ha_cleanup(const std::vector<Message>& found, const std::vector<Message>& config,
                                const Device& device, const HaOptions& options);

}  // namespace sr::mqtt::discovery
