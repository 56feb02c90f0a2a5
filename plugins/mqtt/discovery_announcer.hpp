// The discovery lifecycle of one MQTT connection (Discovery = homeassistant
// or homie): when to announce, what to clean up, and, for Homie, the mirror
// of every value onto its property topic and the /set topics that reach
// actuators. The formats themselves are ha_discovery.hpp and homie.hpp; the
// entities discovery_model.hpp. docs/discovery.md tells the whole story.
//
// Home Assistant:
//   connect     subscribe BirthTopic; the first time, read back our own
//               retained configs (ended by a probe message, below), delete
//               what is no longer configured, then publish the configs
//               (retained, QoS 1) and ask for a refresh of states 1.5 s later
//   birth       "online" on BirthTopic: after a random 0-5 s, publish the
//               configs again, then the refresh
//   reload      catalogue_changed: publish only what changed, removals first
//   new device  a tree section (GoveeSensor) publishes for a device not yet
//               announced: its entities are added and what changed is
//               published, before the value (the refresh after it repeats
//               the value for HA, which subscribes once it has the config)
//   stop        nothing: a clean stop never deletes discovery
// Homie (v4 or v5): the Will is <base>/$state = lost; on connect $state init,
// the attributes, deletion of stale retained topics found under <base>/#,
// then $state ready and a refresh; a clean stop sends $state disconnected.
//
// A tree's devices found announced in the read-back (HA: the configs' state
// topics; Homie: the nodes) are kept as if seen: a restart must not remove
// a thermometer because it has not advertised yet. Only a catalogue without
// their section drops them.
//
// The read-back ends without guessing: after SUBSCRIBE the broker sends the
// retained messages before it handles our next packet, so a message we
// publish to <RootTopic>/discovery/sync (subscribed too) comes back after the
// last of them. A 5 s limit covers a broker that does otherwise.
#pragma once

#include "discovery_model.hpp"
#include "ha_discovery.hpp"
#include "homie.hpp"

#include <sensor_reporter/sdk.hpp>

#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sr::mqtt::discovery {

enum class Format { None, HomeAssistant, Homie };

struct Settings {
  Format format = Format::None;
  std::string prefix;       // homeassistant / homie
  HaMode mode = HaMode::Device;
  int homie_version = 4;
  std::string birth_topic;  // homeassistant/status
  DeviceInfo device;
};

// What the announcer needs of the connection.
struct Link {
  std::function<void(const Message&)> send;
  std::function<void(const std::string& filter)> subscribe;
  std::function<void(const std::string& filter)> unsubscribe;
  std::function<void()> refresh;  // every section republishes
  // A command for the section whose source is `relative` (under RootTopic).
  std::function<void(const std::string& relative, std::string_view payload)> deliver;
};

class Announcer {
 public:
  Announcer(sdk::Host host, Settings settings, Link link);
  Announcer(const Announcer&) = delete;
  Announcer& operator=(const Announcer&) = delete;

  bool active() const { return settings_.format != Format::None; }
  // Homie's Will (<base>/$state = lost) replaces the status topic's; empty
  // topic: keep the connection's.
  Message will() const;

  // The catalogue changed (at start and after each reload).
  void set_catalogue(const std::vector<sdk::CatalogueEntry>& catalogue);
  // The connection is up: its own subscriptions and ONLINE are sent.
  void connected();
  void disconnected();
  // A message arrived; true when it was discovery's (birth, read-back,
  // probe, Homie /set), which the connection then does not route.
  bool on_message(const std::string& topic, std::string_view payload, bool retained);
  // A section published `payload` on the whole topic `topic`: a tree's new
  // device is announced (before the value goes out); Homie mirrors the value
  // onto the property.
  void published(const std::string& topic, std::string_view payload);
  // Before OFFLINE on a clean stop.
  std::vector<Message> farewell() const;

 private:
  void rebuild_device();
  bool knows(const TreeDeviceRef& ref) const;
  bool learn_tree_devices(const std::vector<TreeDeviceRef>& devices);
  void add_tree_device(const TreeDeviceRef& ref);
  void start_read_back();
  void finish_read_back();
  void announce_again();
  void log_announced(std::string_view again) const;
  void announce_all(const std::vector<Message>& before);
  void announce_changes(const std::vector<Message>& before);
  void announce_homie(const std::vector<Message>& found);
  void schedule_refresh();
  std::vector<Message> current_config() const;
  void subscribe_homie_sets();

  sdk::Host host_;
  Settings settings_;
  Link link_;
  HaOptions ha_;
  HomieOptions homie_;
  std::string sync_topic_;
  Device device_;
  std::vector<sdk::CatalogueEntry> catalogue_;  // device_ is rebuilt from it when a tree device appears
  TreeDevices tree_devices_;                    // seen publishing, or found announced
  bool have_device_ = false;
  bool online_ = false;
  bool reading_back_ = false;
  bool read_back_done_ = false;
  std::vector<std::string> read_back_filters_;
  std::vector<Message> found_;
  std::vector<Message> published_;  // what was last announced
  std::vector<HomieRoute> routes_;
  std::vector<std::string> set_filters_;
  sdk::Timer read_back_limit_;
  sdk::Timer birth_delay_;
  sdk::Timer refresh_delay_;
  std::minstd_rand random_;
};

}  // namespace sr::mqtt::discovery
