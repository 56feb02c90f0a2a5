// Unit tests for discovery (plugins/mqtt/discovery_model, ha_discovery,
// homie, discovery_announcer): every product class, through the host's own
// catalogue code and its real parameter and io tables, maps to the right
// Home Assistant component and Homie property; the HA and Homie messages,
// their clean-up; GoveeSensor's tree of devices announced as they appear and
// kept across a restart.
#include "config/plan.h"
#include "host/catalogue.h"
#include "host/envelope.h"
#include "mqtt/discovery_announcer.hpp"
#include "mqtt/discovery_model.hpp"
#include "mqtt/ha_discovery.hpp"
#include "mqtt/homie.hpp"

#include "bt/btle_sensor.hpp"
#include "bt/btscan_sensor.hpp"
#include "bt/govee_sensor.hpp"
#include "energymeter/read_meter_values.hpp"
#include "exec/exec_actuator.hpp"
#include "exec/exec_sensor.hpp"
#include "gpio/gpio_actuator.hpp"
#include "gpio/gpio_sensor.hpp"
#include "heartbeat/heartbeat.hpp"
#include "hwmon/hwmon_sensor.hpp"
#include "iio/dht_sensor.hpp"
#include "iio/iio_sensor.hpp"
#include "network/arp_sensor.hpp"
#include "network/dash_sensor.hpp"
#include "one_wire/ds18x20_sensor.hpp"

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>
#include <sensor_reporter/testing.hpp>

#include "support/doctest_vector.h"

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace sr::mqtt::discovery;
using Json = nlohmann::json;

template <typename T, size_t N>
std::span<const T> without_end(const T (&table)[N]) {
  return std::span<const T>(table, N - 1);
}

// The catalogue entry the host makes for a section of class T with these
// parameters (table defaults applied as the planner does).
template <typename T>
sr::sdk::CatalogueEntry entry(std::string section, sr::config::ParamList values) {
  static std::deque<sr_class_def> defs;  // the plan points at it
  sr_class_def& def = defs.emplace_back();
  def.struct_size = sizeof def;
  def.kind = T::kind;
  def.name = T::name;
  def.path = T::path;
  def.summary = T::summary;
  def.params = T::params;
  def.ios = T::ios;
  for (const sr_param_def& p : without_end(T::params))
    if (p.default_value && !sr::config::find_param(values, p.name)) values.emplace_back(p.name, p.default_value);
  sr::config::ComponentPlan plan;
  plan.section = std::move(section);
  plan.kind = T::kind;
  plan.plugin.def = &def;
  plan.plugin.params = without_end(T::params);
  plan.plugin.ios = without_end(T::ios);
  plan.params = std::move(values);
  plan.connections = {"MQTT"};
  return sr::catalogue_section(plan);
}

DeviceInfo info() { return DeviceInfo{"Garage-Pi", "garage pi", "1.2.3", "sr"}; }

const Entity& only(const Device& d, std::string_view section) {
  const Entity* found = nullptr;
  int count = 0;
  for (const Entity& e : d.entities)
    if (e.section == section) found = &e, ++count;
  REQUIRE(count == 1);
  return *found;
}

std::vector<sr::sdk::CatalogueEntry> every_class() {
  return {
      entry<sr::heartbeat::Heartbeat>("Heartbeat", {{"Num-Dest", "hb/ms"}, {"Str-Dest", "hb/text"}, {"Poll", "60"}}),
      entry<sr::exec::ExecSensor>("Uptime", {{"Script", "uptime"}, {"Destination", "uptime"}, {"Poll", "10"}}),
      entry<sr::exec::ExecActuator>("Cmd", {{"Command", "echo"}, {"CommandSrc", "cmd"}, {"ResultsDest", "cmd/out"}}),
      entry<sr::gpio::RpiGpioSensor>("Door", {{"Pin", "17"},
                                              {"Destination", "door"},
                                              {"Values", "SHUT,AJAR"},
                                              {"Short_Press-Dest", "door/short"},
                                              {"Long_Press-Dest", "door/long"}}),
      entry<sr::gpio::RpiGpioActuator>("Relay", {{"Pin", "18"},
                                                 {"CommandSrc", "relay/cmd"},
                                                 {"ToggleCommandSrc", "relay/toggle"},
                                                 {"StateDest", "relay/state"}}),
      entry<sr::network::ArpSensor>("Phone", {{"Address", "aa:bb:cc:dd:ee:ff"}, {"Destination", "phone"}, {"Poll", "10"}}),
      entry<sr::one_wire::Ds18x20Sensor>("Temp", {{"Sensor", "28-000005e2fdc3"}, {"Destination", "temp"}, {"TempUnit", "F"},
                                                  {"Poll", "10"}}),
      entry<sr::bt::GoveeSensor>("Govee", {{"Destination", "govee"}}),
      entry<sr::bt::BtleSensor>("Tag", {{"Address1", "aa:bb:cc:dd:ee:01"}, {"Destination1", "tag"}}),
      entry<sr::bt::SimpleBtSensor>("Watch", {{"Address1", "aa:bb:cc:dd:ee:02"}, {"Destination1", "watch"}}),
      entry<sr::bt::BtRssiSensor>("Keys", {{"Address", "aa:bb:cc:dd:ee:03"}, {"Destination", "keys"}}),
      entry<sr::network::DashSensor>("Dash", {{"MAC1", "44:65:0d:11:22:33"},
                                              {"Destination1", "buttons/coffee"},
                                              {"MAC2", "00:11:22:33:44:55"},
                                              {"Destination2", "buttons/tide"}}),
      entry<sr::energymeter::Pafal20ec3gr>("Meter", {{"SerialDevice", "/dev/ttyUSB0"},
                                                     {"Import_Dst", "energy/import"},
                                                     {"Export_Dst", "energy/export"},
                                                     {"Poll", "60"}}),
  };
}

}  // namespace

TEST_CASE("sanitize_id keeps [a-z0-9] and one separator") {
  CHECK(sanitize_id("Sensor.1") == "sensor_1");
  CHECK(sanitize_id("aa:bb::CC", '-') == "aa-bb-cc");
  CHECK(sanitize_id("__x__") == "x");
  CHECK(sanitize_id("été") == "t");
  CHECK(sanitize_id("") == "");
}

TEST_CASE("every product class maps to the component its outputs and inputs call for") {
  BuildReport report;
  const Device d = build_device(info(), every_class(), report);
  CHECK(d.id == "garage_pi");
  CHECK(d.availability_topic == "sr/status");

  SUBCASE("Heartbeat: two diagnostic sensors, the number a duration in ms") {
    std::vector<const Entity*> hb;
    for (const Entity& e : d.entities)
      if (e.section == "Heartbeat") hb.push_back(&e);
    REQUIRE(hb.size() == 2);
    CHECK(hb[0]->component == Component::Sensor);
    CHECK(hb[0]->state_topic == "sr/hb/ms");
    CHECK(hb[0]->device_class == "duration");
    CHECK(hb[0]->unit == "ms");
    CHECK(hb[0]->state_class == "measurement");
    CHECK(hb[0]->entity_category == "diagnostic");
    CHECK(hb[0]->name == "Heartbeat");
    CHECK(hb[1]->name == "Heartbeat Str");
    CHECK(hb[1]->device_class == "");
    CHECK(hb[1]->state_class == "");
    CHECK(hb[1]->entity_category == "diagnostic");
  }
  SUBCASE("ExecSensor: a text sensor; ExecActuator: its results, its free-text command left out") {
    const Entity& uptime = only(d, "Uptime");
    CHECK(uptime.component == Component::Sensor);
    CHECK(uptime.device_class == "");
    const Entity& cmd = only(d, "Cmd");
    CHECK(cmd.key == "ResultsDest");
    CHECK(cmd.state_topic == "sr/cmd/out");
    REQUIRE(report.notes.size() == 1);
    CHECK(report.notes[0] == "[Cmd] CommandSrc: takes free text; not announced unless DiscoveryComponent = text");
  }
  SUBCASE("RpiGpioSensor: a contact with the section's Values, two press triggers") {
    std::vector<const Entity*> door;
    for (const Entity& e : d.entities)
      if (e.section == "Door") door.push_back(&e);
    REQUIRE(door.size() == 3);
    CHECK(door[0]->component == Component::BinarySensor);
    CHECK(door[0]->device_class == "opening");
    CHECK(door[0]->payload_off == "SHUT");
    CHECK(door[0]->payload_on == "AJAR");
    CHECK(door[1]->component == Component::Trigger);
    CHECK(door[1]->trigger_type == "button_short_press");
    CHECK(door[1]->trigger_subtype == "button_1");
    CHECK_FALSE(door[1]->retained_state);
    CHECK(door[2]->trigger_type == "button_long_press");
    CHECK(door[2]->trigger_subtype == "button_2");
  }
  SUBCASE("RpiGpioActuator: a switch on CommandSrc showing StateDest, and a Toggle button") {
    std::vector<const Entity*> relay;
    for (const Entity& e : d.entities)
      if (e.section == "Relay") relay.push_back(&e);
    REQUIRE(relay.size() == 2);
    CHECK(relay[0]->component == Component::Switch);
    CHECK(relay[0]->command_topic == "sr/relay/cmd");
    CHECK(relay[0]->state_topic == "sr/relay/state");
    CHECK(relay[0]->payload_on == "ON");
    CHECK(relay[0]->payload_off == "OFF");
    CHECK(relay[1]->component == Component::Button);
    CHECK(relay[1]->command_topic == "sr/relay/toggle");
    CHECK(relay[1]->payload_press == "TOGGLE");
  }
  SUBCASE("presence: ArpSensor and the three Bluetooth presence classes") {
    for (const char* section : {"Phone", "Tag", "Watch", "Keys"}) {
      CAPTURE(section);
      const Entity& e = only(d, section);
      CHECK(e.component == Component::BinarySensor);
      CHECK(e.device_class == "presence");
      CHECK(e.payload_on == "ON");
    }
    CHECK(only(d, "Tag").key == "Destination1");
  }
  SUBCASE("Ds18x20Sensor: a temperature in the unit TempUnit chose") {
    const Entity& t = only(d, "Temp");
    CHECK(t.device_class == "temperature");
    CHECK(t.unit == "°F");
    CHECK(t.state_class == "measurement");
  }
  SUBCASE("DashSensor: a trigger per button, though its payload is the button's MAC, not a time") {
    std::vector<const Entity*> dash;
    for (const Entity& e : d.entities)
      if (e.section == "Dash") dash.push_back(&e);
    REQUIRE(dash.size() == 2);
    CHECK(dash[0]->component == Component::Trigger);
    CHECK(dash[0]->state_topic == "sr/buttons/coffee");
    CHECK(dash[0]->trigger_type == "button_short_press");
    CHECK(dash[0]->trigger_subtype == "button_1");
    CHECK(dash[1]->trigger_subtype == "button_2");
    CHECK(dash[0]->value_type == SR_VALUE_STRING);
    CHECK_FALSE(dash[0]->retained_state);
  }
  SUBCASE("Pafal20ec3gr: two energy sensors in kWh that HA's energy dashboard takes (total_increasing)") {
    std::vector<const Entity*> meter;
    for (const Entity& e : d.entities)
      if (e.section == "Meter") meter.push_back(&e);
    REQUIRE(meter.size() == 2);
    for (const Entity* e : meter) {
      CHECK(e->component == Component::Sensor);
      CHECK(e->device_class == "energy");
      CHECK(e->unit == "kWh");
      CHECK(e->state_class == "total_increasing");
    }
    CHECK(meter[0]->state_topic == "sr/energy/import");
    CHECK(meter[1]->state_topic == "sr/energy/export");
  }
  SUBCASE("GoveeSensor's tree: declared, no entity before a device is known; the Refresh button comes last") {
    CHECK(std::none_of(d.entities.begin(), d.entities.end(), [](const Entity& e) { return e.section == "Govee"; }));
    REQUIRE(d.trees.size() == 1);
    CHECK(d.trees[0].section == "Govee");
    CHECK(d.trees[0].topic == "sr/govee");
    CHECK(d.trees[0].leaves.size() == 5);
    CHECK(d.entities.back().id == "refresh");
    CHECK(d.entities.back().command_topic == "sr/refresh");
    CHECK(d.entities.back().entity_category == "config");
  }
  CHECK(report.warnings.empty());
}

TEST_CASE("the kernel readers: each destination a sensor with its quantity's device class and unit") {
  BuildReport report;
  const Device d = build_device(
      info(),
      {entry<sr::iio::IioSensor>("Room", {{"Device", "bme280"},
                                          {"TempDest", "room/t"},
                                          {"HumiDest", "room/h"},
                                          {"PressureDest", "room/p"},
                                          {"TempUnit", "F"},
                                          {"Poll", "60"}}),
       entry<sr::iio::IioSensor>("Adc", {{"Device", "ads1015"},
                                         {"VoltageDest", "adc/v"},
                                         {"VoltageChannel", "voltage0"},
                                         {"IlluminanceDest", "adc/lux"},
                                         {"Destination", "adc/raw"},
                                         {"Channel", "voltage1"},
                                         {"Poll", "60"}}),
       entry<sr::hwmon::HwmonSensor>(
           "Board", {{"Chip", "ina219"}, {"CurrentDest", "b/a"}, {"PowerDest", "b/w"}, {"FanDest", "b/fan"}, {"Poll", "60"}}),
       entry<sr::iio::DhtSensor>(
           "Garden", {{"Pin", "4"}, {"Sensor", "AM2302"}, {"TempDest", "g/t"}, {"HumiDest", "g/h"}, {"Poll", "60"}})},
      report);
  std::map<std::string, std::string> seen;
  for (const Entity& e : d.entities)
    if (e.component == Component::Sensor)
      seen[e.state_topic] = e.device_class + " " + e.unit + " " + e.state_class;
  CHECK(seen == std::map<std::string, std::string>{{"sr/room/t", "temperature °F measurement"},
                                                   {"sr/room/h", "humidity % measurement"},
                                                   {"sr/room/p", "pressure hPa measurement"},
                                                   {"sr/adc/v", "voltage V measurement"},
                                                   {"sr/adc/lux", "illuminance lx measurement"},
                                                   {"sr/adc/raw", "  measurement"},
                                                   {"sr/b/a", "current A measurement"},
                                                   {"sr/b/w", "power W measurement"},
                                                   {"sr/b/fan", " rpm measurement"},
                                                   {"sr/g/t", "temperature °C measurement"},
                                                   {"sr/g/h", "humidity % measurement"}});
  CHECK(report.warnings.empty());
}

TEST_CASE("a section's Discovery keys rename, recast or leave it out; a wrong one is a warning naming it") {
  auto door = [](sr::config::ParamList extra) {
    sr::config::ParamList p{{"Pin", "17"}, {"Destination", "door"}, {"Short_Press-Dest", "door/short"}};
    for (const auto& [key, value] : extra) p.emplace_back(key, value);
    return entry<sr::gpio::RpiGpioSensor>("Door", p);
  };
  BuildReport report;
  SUBCASE("DiscoveryName names every entity of the section") {
    const Device d = build_device(info(), {door({{"DiscoveryName", "Back door"}})}, report);
    CHECK(d.entities[0].name == "Back door");
    CHECK(d.entities[1].name == "Back door Short Press");
    CHECK(d.entities[0].id == "door_destination");  // ids do not follow names
  }
  SUBCASE("Discovery = no leaves the section out") {
    const Device d = build_device(info(), {door({{"Discovery", "no"}})}, report);
    REQUIRE(d.entities.size() == 1);
    CHECK(d.entities[0].id == "refresh");
  }
  SUBCASE("DiscoveryComponent and DiscoveryDeviceClass recast the first entity") {
    const Device d =
        build_device(info(), {door({{"DiscoveryComponent", "sensor"}, {"DiscoveryDeviceClass", "door"}})}, report);
    CHECK(d.entities[0].component == Component::Sensor);
    CHECK(d.entities[0].device_class == "door");
    CHECK(report.warnings.empty());
  }
  SUBCASE("a component the entity cannot be is refused with a warning; the entity stays") {
    const Device d = build_device(info(), {door({{"DiscoveryComponent", "switch"}})}, report);
    CHECK(d.entities[0].component == Component::BinarySensor);
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0] ==
          "[Door] Destination: DiscoveryComponent = switch: a binary_sensor cannot be shown as one; kept binary_sensor");
  }
  SUBCASE("an unknown component is named") {
    build_device(info(), {door({{"DiscoveryComponent", "lamp"}})}, report);
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0].find("DiscoveryComponent = lamp: not one of") != std::string::npos);
  }
  SUBCASE("ExecActuator's command becomes a text entity when asked") {
    auto cmd = entry<sr::exec::ExecActuator>("Cmd", {{"Command", "echo"}, {"CommandSrc", "cmd"}, {"DiscoveryComponent", "text"}});
    const Device d = build_device(info(), {cmd}, report);
    CHECK(d.entities[0].component == Component::Text);
    CHECK(d.entities[0].command_topic == "sr/cmd");
    CHECK(report.warnings.empty());
  }
}

TEST_CASE("two names that make one discovery id: the second is left out with a warning naming both") {
  using Heartbeat = sr::heartbeat::Heartbeat;
  BuildReport report;
  SUBCASE("sections") {
    const Device d = build_device(info(),
                                  {entry<Heartbeat>("Sensor_Hb", {{"Num-Dest", "a"}}),
                                   entry<Heartbeat>("sensor hb", {{"Num-Dest", "b"}}),
                                   entry<Heartbeat>("Sensor_Other", {{"Num-Dest", "c"}})},
                                  report);
    CHECK(report.warnings == std::vector<std::string>{
                                 "[sensor hb]: its discovery id 'sensor_hb' is [Sensor_Hb]'s: left out; rename one of them"});
    CHECK(only(d, "Sensor_Hb").state_topic == "sr/a");
    CHECK(only(d, "Sensor_Other").state_topic == "sr/c");
    CHECK(d.entities.size() == 3);  // with the Refresh button
  }
  SUBCASE("a section's name and key against another's") {
    sr::sdk::CatalogueEntry other = entry<Heartbeat>("A", {{"Num-Dest", "b"}});
    for (auto& io : other.ios)
      if (io.key == "Num-Dest") io.key = "Num_Num-Dest";  // a key of some class: [A] Num_Num-Dest
    const Device d = build_device(info(), {entry<Heartbeat>("A_Num", {{"Num-Dest", "a"}}), other}, report);
    CHECK(report.warnings == std::vector<std::string>{"[A] Num_Num-Dest: its discovery id 'a_num_num_dest' is [A_Num] "
                                                      "Num-Dest's: left out; rename one of the sections"});
    std::vector<std::string> ids;
    for (const Entity& e : d.entities) ids.push_back(e.id);
    CHECK(ids == std::vector<std::string>{"a_num_num_dest", "refresh"});
  }
}

TEST_CASE("Home Assistant device mode: one retained config with every component, ids stable") {
  BuildReport report;
  const Device d = build_device(info(), every_class(), report);
  const std::vector<Message> config = ha_config(d, HaOptions{});
  REQUIRE(config.size() == 1);
  CHECK(config[0].topic == "homeassistant/device/garage_pi/config");
  CHECK(config[0].retain);
  CHECK(config[0].qos == 1);
  const Json j = Json::parse(config[0].payload);
  CHECK(j["device"]["identifiers"] == Json::array({"sr_garage_pi"}));
  CHECK(j["device"]["name"] == "garage pi");
  CHECK(j["origin"]["name"] == "sensor_reporter");
  CHECK(j["availability"][0]["topic"] == "sr/status");
  CHECK(j["availability"][0]["payload_available"] == "ONLINE");
  CHECK(j["availability"][0]["payload_not_available"] == "OFFLINE");
  const Json& c = j["components"];
  CHECK(c.size() == d.entities.size());
  CHECK(c["temp_destination"]["platform"] == "sensor");
  CHECK(c["temp_destination"]["unique_id"] == "sr_garage_pi_temp_destination");
  CHECK(c["temp_destination"]["default_entity_id"] == "sensor.garage_pi_temp_destination");
  CHECK(c["temp_destination"]["unit_of_measurement"] == "°F");
  CHECK_FALSE(c["temp_destination"].contains("object_id"));
  CHECK(c["door_destination"]["payload_on"] == "AJAR");
  CHECK(c["relay_commandsrc"]["platform"] == "switch");
  CHECK(c["relay_commandsrc"]["state_topic"] == "sr/relay/state");
  CHECK(c["relay_togglecommandsrc"]["payload_press"] == "TOGGLE");
  CHECK(c["door_short_press_dest"]["platform"] == "device_automation");
  CHECK(c["door_short_press_dest"]["topic"] == "sr/door/short");
  CHECK_FALSE(c["door_short_press_dest"].contains("payload"));
  CHECK_FALSE(c["door_short_press_dest"].contains("unique_id"));
  CHECK(c["refresh"]["platform"] == "button");
  // The same configuration gives the same bytes: an unchanged config is
  // recognised as such.
  CHECK(ha_config(build_device(info(), every_class(), report), HaOptions{}) == config);
}

TEST_CASE("Home Assistant component mode: one config per entity, each with device, origin and availability") {
  BuildReport report;
  const Device d = build_device(info(), every_class(), report);
  const std::vector<Message> config = ha_config(d, HaOptions{"ha", HaMode::Component, ""});
  REQUIRE(config.size() == d.entities.size());
  CHECK(config[0].topic == "ha/sensor/garage_pi/heartbeat_num_dest/config");
  for (const Message& m : config) {
    CAPTURE(m.topic);
    const Json j = Json::parse(m.payload);
    CHECK(j.contains("device"));
    CHECK(ha_owns_topic(d, HaOptions{"ha", HaMode::Component, ""}, m.topic));
    if (m.topic.starts_with("ha/device_automation/")) continue;
    CHECK(j["availability"][0]["topic"] == "sr/status");
    CHECK(j.contains("origin"));
    CHECK_FALSE(j.contains("platform"));
  }
}

TEST_CASE("ha_owns_topic takes this device's config topics only") {
  Device d;
  d.id = "garage_pi";
  const HaOptions o;
  CHECK(ha_owns_topic(d, o, "homeassistant/device/garage_pi/config"));
  CHECK(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi/x/config"));
  CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/other/x/config"));
  CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/device/other/config"));
  CHECK_FALSE(ha_owns_topic(d, o, "ha/sensor/garage_pi/x/config"));
  CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi/config"));
  CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi/x/y/config"));
  CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi/x/state"));
}

TEST_CASE("ha_cleanup removes what is no longer configured, and nothing else") {
  BuildReport report;
  const Device all = build_device(info(), every_class(), report);
  std::vector<sr::sdk::CatalogueEntry> fewer = every_class();
  fewer.erase(fewer.begin());  // Heartbeat removed
  const Device less = build_device(info(), fewer, report);
  const HaOptions device_mode;
  const HaOptions component_mode{"homeassistant", HaMode::Component, ""};

  SUBCASE("nothing stale: nothing") {
    CHECK(ha_cleanup(ha_config(all, device_mode), ha_config(all, device_mode), all, device_mode).empty());
    CHECK(ha_cleanup({}, ha_config(all, device_mode), all, device_mode).empty());
  }
  SUBCASE("device mode: gone components are sent reduced to their platform first") {
    const auto out = ha_cleanup(ha_config(all, device_mode), ha_config(less, device_mode), less, device_mode);
    REQUIRE(out.size() == 1);
    CHECK(out[0].topic == "homeassistant/device/garage_pi/config");
    const Json j = Json::parse(out[0].payload);
    CHECK(j["components"]["heartbeat_num_dest"] == Json{{"platform", "sensor"}});
    CHECK(j["components"]["heartbeat_str_dest"] == Json{{"platform", "sensor"}});
    CHECK(j["components"]["temp_destination"]["unit_of_measurement"] == "°F");
  }
  SUBCASE("component mode: a removed section's topics are emptied") {
    const auto out = ha_cleanup(ha_config(all, component_mode), ha_config(less, component_mode), less, component_mode);
    REQUIRE(out.size() == 2);
    CHECK(out[0] == Message{"homeassistant/sensor/garage_pi/heartbeat_num_dest/config", ""});
    CHECK(out[1] == Message{"homeassistant/sensor/garage_pi/heartbeat_str_dest/config", ""});
  }
  SUBCASE("switching modes empties the other mode's topics") {
    auto to_device = ha_cleanup(ha_config(all, component_mode), ha_config(all, device_mode), all, device_mode);
    CHECK(to_device.size() == all.entities.size());
    auto to_component = ha_cleanup(ha_config(all, device_mode), ha_config(all, component_mode), all, component_mode);
    REQUIRE(to_component.size() == 1);
    CHECK(to_component[0] == Message{"homeassistant/device/garage_pi/config", ""});
  }
  SUBCASE("garbage found on our topic is deleted; another device's config is left alone") {
    const std::vector<Message> found{{"homeassistant/device/garage_pi/config", "not json"},
                                     {"homeassistant/device/kitchen/config", "{}"}};
    const auto out = ha_cleanup(found, ha_config(all, device_mode), all, device_mode);
    REQUIRE(out.size() == 1);
    CHECK(out[0] == Message{"homeassistant/device/garage_pi/config", ""});
  }
}

TEST_CASE("Homie v4: attributes per topic, enums keep our payloads, /set routes to the command topic") {
  BuildReport report;
  const Device d = build_device(info(), every_class(), report);
  const HomieOptions o;
  const std::vector<Message> a = homie_announce(d, o);
  REQUIRE(!a.empty());
  CHECK(a.front() == Message{"homie/garage-pi/$state", "init"});
  auto value = [&](const std::string& topic) {
    for (const Message& m : a)
      if (m.topic == topic) return m.payload;
    return std::string("<absent>");
  };
  CHECK(value("homie/garage-pi/$homie") == "4.0.0");
  CHECK(value("homie/garage-pi/$name") == "garage pi");
  CHECK(value("homie/garage-pi/$nodes") ==
        "heartbeat,uptime,cmd,door,relay,phone,temp,tag,watch,keys,dash,meter,sensor-reporter");
  // A press that publishes a MAC is a string, not retained.
  CHECK(value("homie/garage-pi/dash/destination1/$datatype") == "string");
  CHECK(value("homie/garage-pi/dash/destination1/$retained") == "false");
  CHECK(value("homie/garage-pi/door/$properties") == "destination,short-press-dest,long-press-dest");
  CHECK(value("homie/garage-pi/door/destination/$datatype") == "enum");
  CHECK(value("homie/garage-pi/door/destination/$format") == "SHUT,AJAR");
  CHECK(value("homie/garage-pi/door/short-press-dest/$retained") == "false");
  CHECK(value("homie/garage-pi/temp/destination/$datatype") == "float");
  CHECK(value("homie/garage-pi/temp/destination/$unit") == "°F");
  CHECK(value("homie/garage-pi/relay/commandsrc/$settable") == "true");
  CHECK(value("homie/garage-pi/relay/commandsrc/$format") == "OFF,ON");
  CHECK(value("homie/garage-pi/sensor-reporter/refresh/$settable") == "true");
  CHECK(value("homie/garage-pi/$state") == "init");
  for (const Message& m : a) CHECK_MESSAGE(m.retain, m.topic);

  const std::vector<HomieRoute> routes = homie_routes(d, o);
  auto route = [&](const std::string& property) {
    for (const HomieRoute& r : routes)
      if (r.property_topic == property) return r;
    FAIL("no route for " << property);
    return HomieRoute{};
  };
  CHECK(route("homie/garage-pi/relay/commandsrc").state_topic == "sr/relay/state");
  CHECK(route("homie/garage-pi/relay/commandsrc").set_topic == "homie/garage-pi/relay/commandsrc/set");
  CHECK(route("homie/garage-pi/relay/commandsrc").command_topic == "sr/relay/cmd");
  CHECK(route("homie/garage-pi/door/destination").set_topic == "");
  CHECK_FALSE(route("homie/garage-pi/door/long-press-dest").retained);
  CHECK(route("homie/garage-pi/sensor-reporter/refresh").command_topic == "sr/refresh");
}

TEST_CASE("Homie v5: one $description whose version holds while the document does") {
  BuildReport report;
  const Device d = build_device(info(), every_class(), report);
  HomieOptions o{5, "homie", 7};
  const std::vector<Message> a = homie_announce(d, o);
  REQUIRE(a.size() == 2);
  CHECK(a[0] == Message{"homie/5/garage-pi/$state", "init"});
  CHECK(a[1].topic == "homie/5/garage-pi/$description");
  const Json j = Json::parse(a[1].payload);
  CHECK(j["homie"] == "5.0");
  CHECK(j["version"] == 7);
  CHECK(j["name"] == "garage pi");
  CHECK(j["nodes"]["temp"]["properties"]["destination"]["datatype"] == "float");
  CHECK(j["nodes"]["door"]["properties"]["short-press-dest"]["datatype"] == "datetime");
  CHECK(j["nodes"]["dash"]["properties"]["destination1"]["datatype"] == "string");
  CHECK(j["nodes"]["temp"]["properties"]["destination"]["unit"] == "°F");
  CHECK(j["nodes"]["door"]["properties"]["short-press-dest"]["datatype"] == "datetime");
  CHECK(j["nodes"]["door"]["properties"]["short-press-dest"]["retained"] == false);
  CHECK(j["nodes"]["relay"]["properties"]["commandsrc"]["settable"] == true);

  CHECK(homie_description_version(a, d, o, 1000) == 7);  // unchanged: kept
  std::vector<sr::sdk::CatalogueEntry> fewer = every_class();
  fewer.pop_back();
  const Device less = build_device(info(), fewer, report);
  CHECK(homie_description_version(a, less, o, 5) == 8);        // changed: grows
  CHECK(homie_description_version(a, less, o, 1000) == 1000);  // ... to the clock when it is ahead
  CHECK(homie_description_version({}, d, o, 1234) == 1234);
  CHECK(homie_value("", o) == std::string(1, '\0'));
  CHECK(homie_value("", HomieOptions{}) == "");
  CHECK(homie_value("21.5", o) == "21.5");
}

TEST_CASE("homie_cleanup deletes a removed section's attributes and values, never $state or live values") {
  BuildReport report;
  const Device all = build_device(info(), every_class(), report);
  std::vector<sr::sdk::CatalogueEntry> fewer = every_class();
  fewer.erase(fewer.begin());  // Heartbeat removed
  const Device less = build_device(info(), fewer, report);
  const HomieOptions o;
  std::vector<Message> found = homie_announce(all, o);
  found.push_back({"homie/garage-pi/heartbeat/num-dest", "1000"});
  found.push_back({"homie/garage-pi/temp/destination", "70.1"});
  found.push_back({"homie/garage-pi/relay/commandsrc/set", "ON"});
  found.push_back({"homie/garage-pi/$state", "lost"});
  const auto out = homie_cleanup(found, homie_announce(less, o), less, o);
  std::vector<std::string> deleted;
  for (const Message& m : out) {
    CHECK(m.payload.empty());
    CHECK(m.retain);
    deleted.push_back(m.topic);
  }
  auto has = [&](const std::string& t) { return std::find(deleted.begin(), deleted.end(), t) != deleted.end(); };
  CHECK(has("homie/garage-pi/heartbeat/$name"));
  CHECK(has("homie/garage-pi/heartbeat/num-dest/$datatype"));
  CHECK(has("homie/garage-pi/heartbeat/num-dest"));
  CHECK(has("homie/garage-pi/relay/commandsrc/set"));
  CHECK_FALSE(has("homie/garage-pi/temp/destination"));
  CHECK_FALSE(has("homie/garage-pi/$state"));
  CHECK_FALSE(has("homie/garage-pi/$nodes"));
  CHECK(homie_cleanup(homie_announce(all, o), homie_announce(all, o), all, o).empty());
}

// ---------------------------------------------------------------------------
// Trees: GoveeSensor's Destination/<device>/<leaf>, devices named at run time.

namespace {

sr::sdk::CatalogueEntry govee(sr::config::ParamList extra = {}) {
  sr::config::ParamList p{{"Destination", "govee"}};
  for (const auto& [key, value] : extra) p.emplace_back(key, value);
  return entry<sr::bt::GoveeSensor>("Sensor_Govee", p);
}

std::vector<const Entity*> of_tree_device(const Device& d, std::string_view device) {
  std::vector<const Entity*> out;
  for (const Entity& e : d.entities)
    if (e.tree_device == device) out.push_back(&e);
  return out;
}

}  // namespace

TEST_CASE("parse_tree: 'tree' and its leaves, each with or without a measure") {
  CHECK_FALSE(parse_tree("temperature").has_value());
  CHECK_FALSE(parse_tree("").has_value());
  CHECK_FALSE(parse_tree("trees a:b").has_value());
  REQUIRE(parse_tree("tree").has_value());
  CHECK(parse_tree("tree")->empty());
  const auto leaves = parse_tree("tree  battery:battery temp_c:temperature raw");
  REQUIRE(leaves.has_value());
  REQUIRE(leaves->size() == 3);
  CHECK((*leaves)[0].name == "battery");
  CHECK((*leaves)[0].measures == "battery");
  CHECK((*leaves)[1].name == "temp_c");
  CHECK((*leaves)[1].measures == "temperature");
  CHECK((*leaves)[2].name == "raw");
  CHECK((*leaves)[2].measures == "");
}

TEST_CASE("a tree device: a sensor per declared leaf, ids from section, device and leaf, units from measures") {
  BuildReport report;
  const TreeDevices seen{{"Sensor_Govee", {"Govee_A4C138000001", "GVH5075_2762"}}};
  const Device d = build_device(info(), {govee()}, report, seen);
  CHECK(report.notes.empty());
  CHECK(report.warnings.empty());
  // Devices in name order whatever order they were seen in, each with its
  // five leaves in declared order, the Refresh button last.
  REQUIRE(d.entities.size() == 11);
  CHECK(d.entities[0].tree_device == "GVH5075_2762");
  CHECK(d.entities[5].tree_device == "Govee_A4C138000001");
  CHECK(d.entities.back().id == "refresh");

  const std::vector<const Entity*> e = of_tree_device(d, "GVH5075_2762");
  REQUIRE(e.size() == 5);
  struct Expected {
    const char* key;
    const char* id;
    const char* name;
    const char* device_class;
    const char* unit;
  };
  const Expected expected[] = {
      {"battery", "sensor_govee_gvh5075_2762_battery", "Sensor_Govee GVH5075_2762 Battery", "battery", "%"},
      {"temp_c", "sensor_govee_gvh5075_2762_temp_c", "Sensor_Govee GVH5075_2762 Temperature", "temperature",
       "°C"},
      {"temp_f", "sensor_govee_gvh5075_2762_temp_f", "Sensor_Govee GVH5075_2762 Temperature °F",
       "temperature", "°F"},
      {"humi", "sensor_govee_gvh5075_2762_humi", "Sensor_Govee GVH5075_2762 Humidity", "humidity", "%"},
      {"rssi", "sensor_govee_gvh5075_2762_rssi", "Sensor_Govee GVH5075_2762 Signal strength",
       "signal_strength", "dBm"},
  };
  for (size_t i = 0; i < 5; ++i) {
    CAPTURE(expected[i].key);
    CHECK(e[i]->section == "Sensor_Govee");
    CHECK(e[i]->key == expected[i].key);
    CHECK(e[i]->id == expected[i].id);
    CHECK(e[i]->name == expected[i].name);
    CHECK(e[i]->device_class == expected[i].device_class);
    CHECK(e[i]->unit == expected[i].unit);
    CHECK(e[i]->component == Component::Sensor);
    CHECK(e[i]->state_class == "measurement");
    CHECK(e[i]->entity_category == "");
    CHECK(e[i]->state_topic == std::string("sr/govee/GVH5075_2762/") + expected[i].key);
    CHECK(e[i]->tree_device_name == "Sensor_Govee GVH5075_2762");
  }

  SUBCASE("DiscoveryName names the devices; ids and topics do not follow names") {
    const Device named = build_device(info(), {govee({{"DiscoveryName", "Govee"}})}, report, seen);
    CHECK(named.entities[1].name == "Govee GVH5075_2762 Temperature");
    CHECK(named.entities[1].id == "sensor_govee_gvh5075_2762_temp_c");
    CHECK(named.trees[0].name == "Govee");
  }
  SUBCASE("a renamed Destination moves the topics, never the ids") {
    sr::sdk::CatalogueEntry moved = govee();
    moved.ios[0].topic = "thermometers";
    const Device m = build_device(info(), {moved}, report, seen);
    CHECK(m.entities[1].id == "sensor_govee_gvh5075_2762_temp_c");
    CHECK(m.entities[1].state_topic == "sr/thermometers/GVH5075_2762/temp_c");
  }
  SUBCASE("devices of a section that is no tree, or not here, are ignored") {
    const Device other = build_device(info(), {govee()}, report, {{"Heartbeat", {"x"}}, {"Gone", {"y"}}});
    CHECK(other.entities.size() == 1);
  }
  SUBCASE("Discovery = no leaves the tree out") {
    const Device off = build_device(info(), {govee({{"Discovery", "no"}})}, report, seen);
    CHECK(off.entities.size() == 1);
    CHECK(off.trees.empty());
  }
}

TEST_CASE("a bare 'tree', or one of bad leaves, is not announced, with a note naming the section") {
  sr::sdk::CatalogueEntry bare = govee();
  bare.ios[0].measures = "tree";
  BuildReport report;
  Device d = build_device(info(), {bare}, report, {{"Sensor_Govee", {"GVH5075_2762"}}});
  CHECK(d.entities.size() == 1);
  CHECK(d.trees.empty());
  REQUIRE(report.notes.size() == 1);
  CHECK(report.notes[0] ==
        "[Sensor_Govee] Destination: publishes a tree of topics named at run time and declares none of its "
        "leaves; not announced");

  bare.ios[0].measures = "tree a/b:battery c:humidity";
  report = {};
  d = build_device(info(), {bare}, report, {{"Sensor_Govee", {"GVH5075_2762"}}});
  REQUIRE(d.entities.size() == 2);
  CHECK(d.entities[0].key == "c");
  REQUIRE(report.notes.size() == 1);
  CHECK(report.notes[0] ==
        "[Sensor_Govee] Destination: tree leaf 'a/b' is not one topic level; not announced");
}

TEST_CASE("tree_device_of: exactly <tree>/<device>/<declared leaf>") {
  BuildReport report;
  const Device d = build_device(info(), every_class(), report);
  CHECK(tree_device_of(d, "sr/govee/GVH5075_2762/temp_c") == TreeDeviceRef{"Govee", "GVH5075_2762"});
  CHECK(tree_device_of(d, "sr/govee/Govee_A4C138000001/rssi") ==
        TreeDeviceRef{"Govee", "Govee_A4C138000001"});
  CHECK_FALSE(tree_device_of(d, "sr/govee/GVH5075_2762/pressure"));
  CHECK_FALSE(tree_device_of(d, "sr/govee/GVH5075_2762"));
  CHECK_FALSE(tree_device_of(d, "sr/govee//temp_c"));
  CHECK_FALSE(tree_device_of(d, "sr/govee/a/b/temp_c"));
  CHECK_FALSE(tree_device_of(d, "sr/goveex/GVH5075_2762/temp_c"));
  CHECK_FALSE(tree_device_of(d, "other/govee/GVH5075_2762/temp_c"));
  CHECK_FALSE(tree_device_of(d, "sr/hb/ms"));
}

TEST_CASE("tree devices as HA components and Homie nodes, and found again in what was sent") {
  BuildReport report;
  const TreeDevices seen{{"Sensor_Govee", {"GVH5075_2762"}}};
  const Device d = build_device(info(), {govee()}, report, seen);
  const Device empty = build_device(info(), {govee()}, report);

  SUBCASE("HA device mode") {
    const std::vector<Message> config = ha_config(d, HaOptions{});
    const Json c = Json::parse(config[0].payload)["components"];
    CHECK(c["sensor_govee_gvh5075_2762_temp_c"] == Json::parse(R"({"platform":"sensor",
        "unique_id":"sr_garage_pi_sensor_govee_gvh5075_2762_temp_c",
        "default_entity_id":"sensor.garage_pi_sensor_govee_gvh5075_2762_temp_c",
        "name":"Sensor_Govee GVH5075_2762 Temperature","state_topic":"sr/govee/GVH5075_2762/temp_c",
        "device_class":"temperature","state_class":"measurement","unit_of_measurement":"°C","qos":1})"));
    CHECK(c["sensor_govee_gvh5075_2762_humi"]["unit_of_measurement"] == "%");
    CHECK(ha_tree_devices(config, empty, HaOptions{}) ==
          std::vector<TreeDeviceRef>{{"Sensor_Govee", "GVH5075_2762"}});
  }
  SUBCASE("HA component mode") {
    const HaOptions component{"homeassistant", HaMode::Component, ""};
    const std::vector<Message> config = ha_config(d, component);
    CHECK(config[1].topic == "homeassistant/sensor/garage_pi/sensor_govee_gvh5075_2762_temp_c/config");
    CHECK(ha_tree_devices(config, empty, component) ==
          std::vector<TreeDeviceRef>{{"Sensor_Govee", "GVH5075_2762"}});
  }
  SUBCASE("Homie v4 and v5") {
    for (int version : {4, 5}) {
      CAPTURE(version);
      const HomieOptions o{version, "homie", 1};
      const std::vector<Message> a = homie_announce(d, o);
      if (version == 4) {
        std::map<std::string, std::string> t;
        for (const Message& m : a) t[m.topic] = m.payload;
        CHECK(t["homie/garage-pi/$nodes"] == "sensor-govee-gvh5075-2762,sensor-reporter");
        CHECK(t["homie/garage-pi/sensor-govee-gvh5075-2762/$name"] == "Sensor_Govee GVH5075_2762");
        CHECK(t["homie/garage-pi/sensor-govee-gvh5075-2762/$properties"] ==
              "battery,temp-c,temp-f,humi,rssi");
        CHECK(t["homie/garage-pi/sensor-govee-gvh5075-2762/temp-c/$name"] == "Temperature");
        CHECK(t["homie/garage-pi/sensor-govee-gvh5075-2762/temp-c/$unit"] == "°C");
        CHECK(t["homie/garage-pi/sensor-govee-gvh5075-2762/temp-c/$datatype"] == "float");
      }
      CHECK(homie_tree_devices(a, empty, o) == std::vector<TreeDeviceRef>{{"Sensor_Govee", "GVH5075_2762"}});
    }
    const std::vector<HomieRoute> routes = homie_routes(d, HomieOptions{});
    CHECK(std::any_of(routes.begin(), routes.end(), [](const HomieRoute& r) {
      return r.state_topic == "sr/govee/GVH5075_2762/humi" &&
             r.property_topic == "homie/garage-pi/sensor-govee-gvh5075-2762/humi";
    }));
  }
}

// ---------------------------------------------------------------------------
// The announcer: a tree device appears, and survives a restart.

namespace {

// A broker as far as the announcer cares: the retained topics, what was
// sent, and what a subscriber got.
struct FakeBroker {
  std::map<std::string, std::string> retained;
  std::vector<Message> sent;
  int refreshes = 0;

  Link link() {
    Link l;
    l.send = [this](const Message& m) {
      sent.push_back(m);
      if (!m.retain) return;
      if (m.payload.empty())
        retained.erase(m.topic);
      else
        retained[m.topic] = m.payload;
    };
    l.subscribe = [](const std::string&) {};
    l.unsubscribe = [](const std::string&) {};
    l.refresh = [this] { ++refreshes; };
    l.deliver = [](const std::string&, std::string_view) {};
    return l;
  }
  std::vector<Message> sent_to(std::string_view prefix) const {
    std::vector<Message> out;
    for (const Message& m : sent)
      if (m.topic.starts_with(prefix)) out.push_back(m);
    return out;
  }
};

Settings settings(Format format, HaMode mode = HaMode::Device, int homie_version = 4) {
  Settings s;
  s.format = format;
  s.prefix = format == Format::Homie ? "homie" : "homeassistant";
  s.mode = mode;
  s.homie_version = homie_version;
  s.birth_topic = "homeassistant/status";
  s.device = info();
  return s;
}

// A start of the daemon: the catalogue, the connection, the read-back of
// what `broker` retains, ended by the probe.
void start(Announcer& a, FakeBroker& broker, const std::vector<sr::sdk::CatalogueEntry>& catalogue) {
  a.set_catalogue(catalogue);
  a.connected();
  for (const auto& [topic, payload] : std::map(broker.retained)) a.on_message(topic, payload, true);
  REQUIRE(a.on_message("sr/discovery/sync", "garage_pi", false));
}

// The entity ids of what `broker` retains that `device` would announce, in
// device or component mode: what HA would show.
std::vector<std::string> ha_entities(const FakeBroker& broker) {
  std::vector<std::string> ids;
  for (const auto& [topic, payload] : broker.retained) {
    const Json j = Json::parse(payload);
    if (!topic.starts_with("homeassistant/device/")) {
      ids.push_back(j.value("unique_id", ""));
      continue;
    }
    for (const auto& [id, component] : j["components"].items())
      if (component.contains("unique_id")) ids.push_back(component["unique_id"]);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool has(const std::vector<std::string>& ids, std::string_view id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

constexpr const char* kTempC = "sr/govee/GVH5075_2762/temp_c";
constexpr const char* kTempId = "sr_garage_pi_sensor_govee_gvh5075_2762_temp_c";

}  // namespace

namespace {

// A device of GoveeSensor's, on a broker that keeps what is retained,
// through a start, its first publication, a restart and a reload.
void tree_device_across_restarts(HaMode mode) {
  sr::sdk::testing::FakeHost fake;
  FakeBroker broker;
  const std::vector<sr::sdk::CatalogueEntry> catalogue{govee(), every_class()[0]};
  {
    Announcer first(fake.host(), settings(Format::HomeAssistant, mode), broker.link());
    start(first, broker, catalogue);
    CHECK_FALSE(has(ha_entities(broker), kTempId));

    // The new device's configs go out before its value (published() runs
    // before the connection sends it); a second value changes nothing.
    broker.sent.clear();
    first.published(kTempC, "21.30");
    CHECK(broker.sent_to("homeassistant/").size() == (mode == HaMode::Device ? 1u : 5u));
    CHECK(has(ha_entities(broker), kTempId));
    CHECK(ha_entities(broker).size() == 8);  // 2 heartbeat, 5 Govee, refresh
    CHECK(fake.logged(SR_LOG_INFO, "discovery: [Sensor_Govee] device GVH5075_2762 appeared"));
    broker.sent.clear();
    first.published(kTempC, "21.40");
    first.published("sr/govee/GVH5075_2762/humi", "44.20");
    first.published("sr/govee/GVH5075_2762/pressure", "1000");  // no declared leaf: no device
    CHECK(broker.sent.empty());
    // HA subscribes to the state only once it has the config: the
    // announcement's refresh (every section, GoveeSensor's last values of
    // every device) repeats the value.
    broker.refreshes = 0;
    fake.advance(std::chrono::seconds(2));
    CHECK(broker.refreshes == 1);
  }
  const std::map<std::string, std::string> before = broker.retained;

  SUBCASE("a restart before any advertisement: nothing removed, nothing changed") {
    broker.sent.clear();
    Announcer second(fake.host(), settings(Format::HomeAssistant, mode), broker.link());
    start(second, broker, catalogue);
    CHECK(broker.retained == before);
    for (const Message& m : broker.sent_to("homeassistant/")) {
      CHECK_MESSAGE(!m.payload.empty(), m.topic);
      CHECK_MESSAGE(
          m.payload.find(R"("sensor_govee_gvh5075_2762_temp_c":{"platform":"sensor"})") == std::string::npos,
          m.topic);
    }
    CHECK(fake.logged(SR_LOG_INFO, "1 device(s) of tree sections found announced on the broker: kept"));
    // Its next value announces nothing more.
    broker.sent.clear();
    second.published(kTempC, "21.50");
    CHECK(broker.sent.empty());
  }
  SUBCASE("a restart without the Govee section removes its devices") {
    Announcer second(fake.host(), settings(Format::HomeAssistant, mode), broker.link());
    start(second, broker, {every_class()[0]});
    CHECK_FALSE(has(ha_entities(broker), kTempId));
    CHECK(ha_entities(broker).size() == 3);
  }
  SUBCASE("a reload without the Govee section removes them; adding it back does not revive them") {
    Announcer second(fake.host(), settings(Format::HomeAssistant, mode), broker.link());
    start(second, broker, catalogue);
    second.set_catalogue({every_class()[0]});
    CHECK_FALSE(has(ha_entities(broker), kTempId));
    CHECK(ha_entities(broker).size() == 3);
    second.set_catalogue(catalogue);
    CHECK(ha_entities(broker).size() == 3);
    second.published(kTempC, "21.30");
    CHECK(ha_entities(broker).size() == 8);
  }
}

}  // namespace

TEST_CASE(
    "Home Assistant device mode: a tree device is announced when it first publishes, kept across a restart") {
  tree_device_across_restarts(HaMode::Device);
}

TEST_CASE(
    "Home Assistant component mode: a tree device is announced when it first publishes, kept across a "
    "restart") {
  tree_device_across_restarts(HaMode::Component);
}

TEST_CASE(
    "Home Assistant: a tree device that publishes before the read-back ends is in the first announcement") {
  sr::sdk::testing::FakeHost fake;
  FakeBroker broker;
  Announcer a(fake.host(), settings(Format::HomeAssistant), broker.link());
  a.set_catalogue({govee()});
  a.published(kTempC, "21.30");  // offline: nothing sent
  CHECK(broker.sent.empty());
  a.connected();
  a.published("sr/govee/Govee_A4C138000001/temp_c", "19.00");  // reading back: nothing sent yet
  CHECK(broker.sent_to("homeassistant/").empty());
  REQUIRE(a.on_message("sr/discovery/sync", "garage_pi", false));
  REQUIRE(broker.sent_to("homeassistant/").size() == 1);
  const std::vector<std::string> ids = ha_entities(broker);
  CHECK(ids.size() == 11);
  CHECK(has(ids, kTempId));
  CHECK(has(ids, "sr_garage_pi_sensor_govee_govee_a4c138000001_temp_c"));
}

TEST_CASE(
    "Homie: a tree device becomes a node when it publishes, its value mirrored, and is kept across a "
    "restart") {
  for (int version : {4, 5}) {
    CAPTURE(version);
    sr::sdk::testing::FakeHost fake;
    FakeBroker broker;
    const std::string base = version == 4 ? "homie/garage-pi" : "homie/5/garage-pi";
    const std::string property = base + "/sensor-govee-gvh5075-2762/temp-c";
    auto announces_node = [&] {
      if (version == 4) return broker.retained.contains(base + "/sensor-govee-gvh5075-2762/$name");
      return Json::parse(broker.retained[base + "/$description"])["nodes"].contains(
          "sensor-govee-gvh5075-2762");
    };
    {
      Announcer first(fake.host(), settings(Format::Homie, HaMode::Device, version), broker.link());
      start(first, broker, {govee()});
      CHECK_FALSE(announces_node());
      first.published(kTempC, "21.30");
      CHECK(announces_node());
      CHECK(broker.retained[base + "/$state"] == "ready");
      // The value reaches the property after the node is announced.
      REQUIRE(!broker.sent.empty());
      CHECK(broker.sent.back() == Message{property, "21.30", true, 1});
    }
    broker.retained[base + "/$state"] = "lost";
    broker.sent.clear();
    Announcer second(fake.host(), settings(Format::Homie, HaMode::Device, version), broker.link());
    start(second, broker, {govee()});
    CHECK(announces_node());
    CHECK(broker.retained[property] == "21.30");  // a live value is never deleted
    for (const Message& m : broker.sent) CHECK_MESSAGE(!m.payload.empty(), m.topic);
    broker.sent.clear();
    second.published(kTempC, "21.50");
    REQUIRE(broker.sent.size() == 1);
    CHECK(broker.sent[0] == Message{property, "21.50", true, 1});
  }
}

TEST_CASE(
    "Format = json: HA reads the envelope's value, Homie mirrors the bare value, an echoed state stays raw") {
  // As the host's catalogue says it: the Format that applies on this connection.
  auto with_format = [](sr::sdk::CatalogueEntry e, const char* format) {
    e.params.emplace_back("Format", format);
    return e;
  };
  const std::vector<sr::sdk::CatalogueEntry> catalogue{
      with_format(entry<sr::heartbeat::Heartbeat>(
                      "Heartbeat", {{"Num-Dest", "hb/ms"}, {"Str-Dest", "hb/text"}, {"Poll", "60"}}),
                  "json"),
      with_format(entry<sr::gpio::RpiGpioActuator>(
                      "Relay", {{"Pin", "18"}, {"CommandSrc", "relay/cmd"}, {"StateDest", "relay/state"}}),
                  "json"),
      with_format(entry<sr::gpio::RpiGpioActuator>("Echo", {{"Pin", "19"}, {"CommandSrc", "echo/cmd"}}),
                  "json"),
      with_format(entry<sr::heartbeat::Heartbeat>(
                      "Plain", {{"Num-Dest", "p/ms"}, {"Str-Dest", "p/text"}, {"Poll", "60"}}),
                  "raw"),
  };
  BuildReport report;
  const Device d = build_device(info(), catalogue, report);
  std::vector<std::string> json_state;
  for (const Entity& e : d.entities) json_state.push_back(e.id + (e.json_state ? " json" : " raw"));
  CHECK(json_state == std::vector<std::string>{"heartbeat_num_dest json", "heartbeat_str_dest json",
                                               "relay_commandsrc json", "echo_commandsrc raw", "plain_num_dest raw",
                                               "plain_str_dest raw", "refresh raw"});

  const Json components = Json::parse(ha_config(d, HaOptions{}).at(0).payload)["components"];
  for (const char* id : {"heartbeat_num_dest", "heartbeat_str_dest", "relay_commandsrc"})
    CHECK_MESSAGE(components[id]["value_template"] == "{{ value_json.value }}", id);
  for (const char* id : {"echo_commandsrc", "plain_num_dest"})
    CHECK_MESSAGE(!components[id].contains("value_template"), id);

  sr::sdk::testing::FakeHost fake;
  FakeBroker broker;
  Announcer homie(fake.host(), settings(Format::Homie), broker.link());
  start(homie, broker, catalogue);
  auto property_of = [&](const std::string& state_topic) {
    for (const HomieRoute& r : homie_routes(d, HomieOptions{}))
      if (r.state_topic == state_topic) return r.property_topic;
    FAIL("no Homie property for " << state_topic);
    return std::string();
  };
  const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1796586242));
  broker.sent.clear();
  homie.published("sr/hb/ms", sr::json_envelope("1500", "ms", at, "Heartbeat"));
  homie.published("sr/hb/text", sr::json_envelope("00:00:01", "", at, "Heartbeat"));
  homie.published("sr/relay/state", sr::json_envelope("ON", "", at, "Relay"));
  homie.published("sr/echo/cmd", "OFF");
  homie.published("sr/p/ms", "7");
  CHECK(broker.sent == std::vector<Message>{{property_of("sr/hb/ms"), "1500", true, 1},
                                            {property_of("sr/hb/text"), "00:00:01", true, 1},
                                            {property_of("sr/relay/state"), "ON", true, 1},
                                            {property_of("sr/echo/cmd"), "OFF", true, 1},
                                            {property_of("sr/p/ms"), "7", true, 1}});
}
