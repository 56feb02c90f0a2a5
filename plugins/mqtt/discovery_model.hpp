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
#pragma once

#include <sensor_reporter/sdk.hpp>

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
  // the device's Refresh button, whose section is empty) never change when a
  // destination is renamed, so neither does anything derived from them.
  std::string section;
  std::string key;
  std::string id;    // "<section>_<key>", lower case, [a-z0-9_] only
  std::string name;  // shown to users: DiscoveryName, else section and key
  // The key's own part of `name` ("Str"); empty for a section's main entity,
  // whose name is the section's. Homie shows it under the node's name.
  std::string label;

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
};

struct Device {
  std::string id;    // "garage_pi": [a-z0-9_] only (HA ids; Homie turns _ into -)
  std::string name;  // "garage-pi"
  std::string sw_version;
  std::string availability_topic;  // <RootTopic>/status, ONLINE/OFFLINE
  std::vector<Entity> entities;    // in file order, the Refresh button last
};

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

// The device for `catalogue`. Nothing but the entity a problem concerns is
// changed or dropped.
Device build_device(const DeviceInfo& info, const std::vector<sdk::CatalogueEntry>& catalogue, BuildReport& report);

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

}  // namespace sr::mqtt::discovery
