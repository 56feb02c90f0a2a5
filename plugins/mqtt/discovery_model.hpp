// What a connection announces for discovery (Home Assistant, Homie): one
// Device (this sensor_reporter on this connection) with one Entity per thing
// a user sees — a reading, a contact, a switch, a button — made from the
// connection's catalogue (sdk::CatalogueEntry: every section using it, its
// outputs and inputs resolved against its parameters). The serializers
// (ha_discovery.hpp, homie.hpp) turn the model into MQTT messages and know
// nothing about classes; this file knows nothing about either format.
//
// Pure functions: the connection passes its catalogue, tests pass made-up
// ones. The mapping is table-driven by sr_value_type and `measures`, so a
// class that declares its ios is discovered without code here.
//
// `measures` is one word ("temperature", "humidity", "battery", "rssi",
// "uptime", "contact", "presence", "switch", ...), or, for an output that is
// the root of a tree of topics <topic>/<device>/<leaf> whose devices are
// named at run time (GoveeSensor), the word "tree" followed by the leaves,
// separated by spaces, each "<leaf>" or "<leaf>:<measure>":
//
//   "tree battery:battery temp_c:temperature temp_f:temperature_f humi:humidity rssi:rssi"
//
// A leaf is one topic level (no '/', '+', '#', ':'); the topics a tree's
// section publishes outside its declared leaves are not announced. A leaf's
// measure gives its device class and unit (temperature °C, temperature_f °F,
// humidity %, battery %, rssi dBm: a leaf has no io of its own to carry a
// unit); a leaf without one is a plain sensor. A bare "tree" declares no
// leaves and is not announced. A tree's entities exist for the devices the
// caller names in TreeDevices: the ones seen publishing, and the ones found
// announced on the broker at start.
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sr::mqtt::discovery {

// What kind of thing an entity is, in Home Assistant's words (Homie maps
// each to a datatype; homie.hpp says how).
enum class Component {
  Sensor,        // a reading: number or text
  BinarySensor,  // one of two values (contact, presence)
  Switch,        // settable on/off with a state
  Button,        // a command without a state (Refresh, Toggle)
  Trigger,       // a press reported as it happens (HA device_automation)
  Event,         // the same as an HA event entity (opt-in per section)
  Text,          // a settable free text (ExecActuator's arguments; opt-in)
};

std::string_view component_name(Component c);  // "sensor", "binary_sensor", ..., "device_automation", "event"
// The inverse, for a section's DiscoveryComponent; false when unknown.
bool parse_component(std::string_view text, Component& out);

struct Entity {
  // Identity. `section` and `key` (the io key, "Destination2"; "refresh" for
  // the device's Refresh button, whose section is empty; a tree's leaf,
  // "temp_c") never change when a destination is renamed, so neither does
  // anything derived from them.
  std::string section;
  std::string key;
  // "<section>_<key>", a tree's leaf "<section>_<tree device>_<leaf>"; lower
  // case, [a-z0-9_] only
  std::string id;
  std::string name;  // shown to users: DiscoveryName, else section and key
  // The key's own part of `name` ("Str"); empty for a section's main entity,
  // whose name is the section's. Homie shows it under the node's name.
  std::string label;
  // A tree's leaf: the device it belongs to as its topic names it
  // ("GVH5075_2762"), and as shown, the section's name and the device's
  // ("Sensor_Govee GVH5075_2762"; Homie's node name). Empty otherwise.
  std::string tree_device;
  std::string tree_device_name;

  Component component = Component::Sensor;
  sr_value_type value_type = SR_VALUE_STRING;
  // Whole topics (RootTopic applied). state: where the value is published
  // (empty for a Button); command: where commands are taken (empty for what
  // only publishes).
  std::string state_topic;
  std::string command_topic;

  std::string device_class;     // HA device_class: "temperature", "opening", ...; empty: none
  std::string state_class;      // "measurement" for numbers; empty: none
  std::string unit;             // "°C", "ms"; empty: none
  std::string entity_category;  // "diagnostic", "config"; empty: none
  // Binary: the two payloads as the section chose them (Values = OFF,ON).
  std::string payload_off;
  std::string payload_on;
  std::string payload_press;  // Button: what a press publishes ("TOGGLE"; Refresh: "ON")
  // Trigger/Event: HA's trigger type ("button_short_press") and subtype
  // ("button_1"), and the event type the payload stands for ("short_press").
  std::string trigger_type;
  std::string trigger_subtype;
  std::string event_type;
  // Seconds without an update after which HA shows the entity unavailable
  // (2 x Poll + 5 for polled sections; 0: never, for change-driven ones).
  int expire_after = 0;
  bool retained_state = true;  // false for presses: a replayed press is a lie
  // The state topic carries the host's JSON envelope (the section's Format
  // on this connection is json; an actuator's echo on its command topic
  // never does): HA reads it through value_template, Homie unwraps it.
  bool json_state = false;
};

// A leaf a tree declares: "temp_c:temperature" -> {"temp_c", "temperature"}.
struct TreeLeaf {
  std::string name;
  std::string measures;  // empty: none
};

// An output whose topics are <topic>/<device>/<leaf>, devices named at run
// time.
struct Tree {
  std::string section;
  std::string name;   // the section's as shown: DiscoveryName, else the section
  std::string topic;  // whole (RootTopic applied): "sr/govee"
  std::vector<TreeLeaf> leaves;
};

struct Device {
  std::string id;    // "garage_pi": [a-z0-9_] only (HA ids; Homie turns _ into -)
  std::string name;  // "garage-pi"
  std::string sw_version;
  std::string availability_topic;  // <RootTopic>/status, ONLINE/OFFLINE
  // In file order, the Refresh button last; a tree's entities where its
  // section is, devices in name order, each device's leaves in declared
  // order (so the same devices give the same bytes whatever order they
  // were seen in).
  std::vector<Entity> entities;
  std::vector<Tree> trees;  // the announced sections' trees that declare leaves
};

// The devices of tree sections to announce: section -> device names.
using TreeDevices = std::map<std::string, std::set<std::string>>;

// "tree a:battery b" -> its leaves; nullopt when `measures` is not a tree.
std::optional<std::vector<TreeLeaf>> parse_tree(std::string_view measures);

// A device of a tree section.
struct TreeDeviceRef {
  std::string section;
  std::string device;  // "GVH5075_2762"
  bool operator==(const TreeDeviceRef&) const = default;
};

// The tree device whose declared leaf `topic` (whole) is; nullopt when it
// is none: not under a tree, not one of its leaves, or not exactly
// <tree>/<device>/<leaf>.
std::optional<TreeDeviceRef> tree_device_of(const Device& device, std::string_view topic);

// What the connection knows about itself.
struct DeviceInfo {
  std::string id;  // DeviceId, or the Client id; sanitized by build_device
  std::string name;
  std::string sw_version;
  std::string root_topic;
};

// Lower case, every character outside [a-z0-9] replaced by `sep`, runs of it
// collapsed and trimmed: "Sensor.1" -> "sensor_1", "aa:bb" -> "aa_bb".
std::string sanitize_id(std::string_view text, char sep = '_');

// What build_device has to say, each line naming the section and key:
// warnings are the user's to fix (an unknown DiscoveryComponent: the entity
// keeps its default), notes explain what is left out by design (a tree of
// topics named at run time, a command taking free text).
struct BuildReport {
  std::vector<std::string> warnings;
  std::vector<std::string> notes;
};

// The device for `catalogue`, with the entities of `tree_devices` (names of
// sections that are no trees are ignored). Nothing but the entity a problem
// concerns is changed or dropped.
Device build_device(const DeviceInfo& info, const std::vector<sdk::CatalogueEntry>& catalogue,
                    BuildReport& report, const TreeDevices& tree_devices = {});

// One MQTT message a serializer wants sent. An empty payload with retain
// deletes a retained topic.
struct Message {
  std::string topic;
  std::string payload;
  bool retain = true;
  int qos = 1;
  bool operator==(const Message&) const = default;
};

// Per-section keys (common to every sensor and actuator, host-side table):
inline constexpr const char* kSectionDiscovery = "Discovery";              // no: not announced
inline constexpr const char* kSectionName = "DiscoveryName";               // entity name
inline constexpr const char* kSectionComponent = "DiscoveryComponent";     // sensor, binary_sensor, ...
inline constexpr const char* kSectionDeviceClass = "DiscoveryDeviceClass"; // HA device_class
// As the host's catalogue gives it: the Format that applies on this
// connection, "raw" or "json" (set or not).
inline constexpr const char* kSectionFormat = "Format";

}  // namespace sr::mqtt::discovery
