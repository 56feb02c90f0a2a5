// A discovery::Device as a Homie device (../shared/reference/discovery.md,
// C): v4 (one retained topic per attribute; what openHAB's Homie binding
// reads) or v5 (one $description document). One node per section, one
// property per entity; a tree section (GoveeSensor) has a node per device
// it publishes for, "<section>-<device>" named "<section's name> <device>",
// a property per leaf; the Refresh button is property "refresh" of node
// "sensor-reporter". Our payloads stay as they are: two-valued states are
// enums of their own two values (CLOSED,OPEN), never booleans.
//
// Homie wants values on its own topics (<base>/<node>/<property>) and takes
// commands on <property>/set: the routes say which of our topics each
// mirrors and which command topic a /set reaches.
#pragma once

#include "discovery_model.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sr::mqtt::discovery {

struct HomieOptions {
  int version = 4;  // 4 or 5
  std::string domain = "homie";
  // v5 $description "version": must grow whenever the document changes
  // (homie_description_version picks it).
  std::uint64_t description_version = 1;
};

// <domain>/<id> (v4), <domain>/5/<id> (v5); the id's '_' become '-'.
std::string homie_base(const Device& device, const HomieOptions& options);
std::string homie_state_topic(const Device& device, const HomieOptions& options);

// The retained (QoS 1) messages describing the device, $state = init first;
// $state = ready is the caller's to send after the clean-up.
std::vector<Message> homie_announce(const Device& device, const HomieOptions& options);

struct HomieRoute {
  std::string state_topic;     // ours; empty for a button
  std::string property_topic;  // <base>/<node>/<property>
  std::string set_topic;       // <property_topic>/set when settable
  std::string command_topic;   // ours
  bool retained = true;
  bool json = false;  // the state topic carries an envelope: mirror its value only
};
std::vector<HomieRoute> homie_routes(const Device& device, const HomieOptions& options);

// `found`: what the broker holds under <base>/#, or what was last sent. The
// empty retained payloads deleting what is no longer announced: attributes
// and values of removed nodes and properties, and any retained /set (a
// command replayed at every subscribe). Never $state, never a live value.
std::vector<Message> homie_cleanup(const std::vector<Message>& found, const std::vector<Message>& announce,
                                   const Device& device, const HomieOptions& options);

// The devices of `device`'s trees that `found` (what the broker holds under
// <base>/#) announces: a node whose name is a tree's name and a device, and
// whose id is that device's node id (v4: <node>/$name; v5: the
// $description's nodes). Kept at a restart before they publish again.
std::vector<TreeDeviceRef> homie_tree_devices(const std::vector<Message>& found, const Device& device,
                                              const HomieOptions& options);

// v5: the $description version to announce: the found document's when only
// its version would differ, otherwise the larger of its version + 1 and `now`
// (Unix seconds), so it grows across restarts without a stored counter.
std::uint64_t homie_description_version(const std::vector<Message>& found, const Device& device,
                                        const HomieOptions& options, std::uint64_t now);

// A value as Homie carries it: v5 writes an empty string as one 0x00 byte
// (an empty payload deletes); otherwise unchanged.
std::string homie_value(std::string_view payload, const HomieOptions& options);

}  // namespace sr::mqtt::discovery
