// Unit tests for the Home Assistant discovery serializer
// (plugins/mqtt/ha_discovery): devices made by hand, so each test names the
// exact entity it is about. Topics and retain/QoS are compared exactly,
// payloads parsed back key by key, and one golden payload per mode pins
// the bytes (an unchanged configuration must give the same bytes, or every
// start would look like a change). The clean-up is driven with what a
// broker could hold: our own earlier configs, the other mode's, garbage.
#include "mqtt/ha_discovery.hpp"

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "support/doctest_vector.h"

#include <string>
#include <vector>

namespace doctest {
template <>
struct StringMaker<sr::mqtt::discovery::Message> {
  static String convert(const sr::mqtt::discovery::Message& m) {
    return ("{" + m.topic + " '" + m.payload + "' retain=" + std::to_string(m.retain) +
            " qos=" + std::to_string(m.qos) + "}")
        .c_str();
  }
};
}  // namespace doctest

namespace {

using namespace sr::mqtt::discovery;
using Json = nlohmann::json;

Entity entity(std::string id, std::string name, Component component) {
  Entity e;
  e.id = std::move(id);
  e.name = std::move(name);
  e.component = component;
  return e;
}

Entity temperature() {
  Entity e = entity("temp_destination", "Temp", Component::Sensor);
  e.state_topic = "sr/temp";
  e.device_class = "temperature";
  e.state_class = "measurement";
  e.unit = "°C";
  e.entity_category = "diagnostic";
  e.expire_after = 65;
  return e;
}

Entity exec_output() {
  Entity e = entity("uptime_destination", "Uptime", Component::Sensor);
  e.state_topic = "sr/uptime";
  return e;
}

Entity door() {
  Entity e = entity("door_destination", "Door", Component::BinarySensor);
  e.state_topic = "sr/door";
  e.device_class = "opening";
  e.payload_off = "CLOSED";
  e.payload_on = "OPEN";
  return e;
}

Entity relay() {
  Entity e = entity("relay_commandsrc", "Relay", Component::Switch);
  e.command_topic = "sr/relay/set";
  e.state_topic = "sr/relay/state";
  e.payload_off = "OFF";
  e.payload_on = "ON";
  return e;
}

Entity refresh() {
  Entity e = entity("refresh", "Refresh", Component::Button);
  e.command_topic = "sr/refresh";
  e.payload_press = "ON";
  e.entity_category = "config";
  return e;
}

Entity command_text() {
  Entity e = entity("cmd_commandsrc", "Cmd", Component::Text);
  e.command_topic = "sr/cmd";
  return e;
}

Entity press_event() {
  Entity e = entity("door_short_press_dest", "Door short press", Component::Event);
  e.state_topic = "sr/door/short";
  e.event_type = "short_press";
  return e;
}

Entity press_trigger() {
  Entity e = entity("door_long_press_dest", "Door long press", Component::Trigger);
  e.state_topic = "sr/door/long";
  e.trigger_type = "button_long_press";
  e.trigger_subtype = "button_1";
  return e;
}

Device device(std::vector<Entity> entities) {
  Device d;
  d.id = "garage_pi";
  d.name = "garage-pi";
  d.sw_version = "1.3.0";
  d.availability_topic = "sr/status";
  d.entities = std::move(entities);
  return d;
}

Device every_component() {
  return device({temperature(), exec_output(), door(), relay(), refresh(), command_text(), press_event(),
                 press_trigger()});
}

const HaOptions kDeviceMode{};
const HaOptions kComponentMode{"homeassistant", HaMode::Component, ""};

Json availability_list() {
  return Json::array(
      {{{"topic", "sr/status"}, {"payload_available", "ONLINE"}, {"payload_not_available", "OFFLINE"}}});
}

Json device_block() {
  return {{"identifiers", {"sr_garage_pi"}},
          {"name", "garage-pi"},
          {"manufacturer", "sensor_reporter"},
          {"sw_version", "1.3.0"}};
}

// The components of the one device-mode config for `d`.
Json components(const Device& d, const HaOptions& options = kDeviceMode) {
  const std::vector<Message> config = ha_config(d, options);
  REQUIRE(config.size() == 1);
  return Json::parse(config[0].payload).at("components");
}

// The component-mode config on `topic`.
Json component_config(const std::vector<Message>& config, const std::string& topic) {
  for (const Message& m : config)
    if (m.topic == topic) return Json::parse(m.payload);
  FAIL("no config on " << topic);
  return {};
}

std::vector<std::string> topics(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(m.topic);
  return out;
}

// The keys of a JSON object, in their order in the payload.
std::vector<std::string> keys_in_order(const std::string& payload) {
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(payload);
  std::vector<std::string> out;
  for (const auto& [key, value] : j.items()) out.push_back(key);
  return out;
}

}  // namespace

TEST_CASE("device mode: one retained QoS 1 message on <prefix>/device/<id>/config") {
  const Device d = every_component();
  const std::vector<Message> config = ha_config(d, kDeviceMode);
  REQUIRE(config.size() == 1);
  CHECK(config[0].topic == "homeassistant/device/garage_pi/config");
  CHECK(config[0].retain);
  CHECK(config[0].qos == 1);
  CHECK(ha_config(d, HaOptions{"ha/discovery", HaMode::Device, ""})[0].topic ==
        "ha/discovery/device/garage_pi/config");

  const Json j = Json::parse(config[0].payload);
  CHECK(keys_in_order(config[0].payload) ==
        std::vector<std::string>{"device", "origin", "availability", "components"});
  CHECK(j["device"] == device_block());
  CHECK(j["origin"] == Json{{"name", "sensor_reporter"}, {"sw_version", "1.3.0"}});
  CHECK(j["availability"] == availability_list());
  // qos is not inherited from the root (discovery.md, corrections): only per component.
  CHECK_FALSE(j.contains("qos"));
  // One component per entity, keyed by entity id, in the device's order.
  CHECK(keys_in_order(nlohmann::ordered_json::parse(config[0].payload)["components"].dump()) ==
        std::vector<std::string>{"temp_destination", "uptime_destination", "door_destination",
                                 "relay_commandsrc", "refresh", "cmd_commandsrc", "door_short_press_dest",
                                 "door_long_press_dest"});
  // What device mode shares at the root is not repeated in the components.
  for (const auto& [key, c] : j["components"].items()) {
    CAPTURE(key);
    CHECK_FALSE(c.contains("availability"));
    CHECK_FALSE(c.contains("device"));
    CHECK_FALSE(c.contains("origin"));
    CHECK_FALSE(c.contains("object_id"));
  }
}

TEST_CASE("origin carries support_url only when one is set") {
  const Device d = device({exec_output()});
  HaOptions with_url;
  with_url.origin_url = "https://example.invalid/sensor_reporter";
  CHECK(Json::parse(ha_config(d, with_url)[0].payload)["origin"] ==
        Json{{"name", "sensor_reporter"}, {"sw_version", "1.3.0"}, {"support_url", with_url.origin_url}});
  CHECK_FALSE(Json::parse(ha_config(d, kDeviceMode)[0].payload)["origin"].contains("support_url"));

  with_url.mode = HaMode::Component;
  CHECK(Json::parse(ha_config(d, with_url)[0].payload)["origin"]["support_url"] == with_url.origin_url);
  CHECK_FALSE(Json::parse(ha_config(d, kComponentMode)[0].payload)["origin"].contains("support_url"));
}

TEST_CASE("sensor: state topic, and class, unit, category and expiry only when set") {
  const Json c = components(device({temperature(), exec_output()}));
  CHECK(c["temp_destination"] == Json{{"platform", "sensor"},
                                      {"unique_id", "sr_garage_pi_temp_destination"},
                                      {"default_entity_id", "sensor.garage_pi_temp_destination"},
                                      {"name", "Temp"},
                                      {"state_topic", "sr/temp"},
                                      {"device_class", "temperature"},
                                      {"state_class", "measurement"},
                                      {"unit_of_measurement", "°C"},
                                      {"entity_category", "diagnostic"},
                                      {"expire_after", 65},
                                      {"qos", 1}});
  CHECK(c["uptime_destination"] == Json{{"platform", "sensor"},
                                        {"unique_id", "sr_garage_pi_uptime_destination"},
                                        {"default_entity_id", "sensor.garage_pi_uptime_destination"},
                                        {"name", "Uptime"},
                                        {"state_topic", "sr/uptime"},
                                        {"qos", 1}});
}

TEST_CASE("binary_sensor: state topic and the section's two payloads") {
  const Json c = components(device({door()}))["door_destination"];
  CHECK(c == Json{{"platform", "binary_sensor"},
                  {"unique_id", "sr_garage_pi_door_destination"},
                  {"default_entity_id", "binary_sensor.garage_pi_door_destination"},
                  {"name", "Door"},
                  {"state_topic", "sr/door"},
                  {"payload_on", "OPEN"},
                  {"payload_off", "CLOSED"},
                  {"device_class", "opening"},
                  {"qos", 1}});
}

TEST_CASE("switch: command and state topics; the state it reports is the payload it takes") {
  Entity inverted = relay();
  inverted.payload_off = "LOW";
  inverted.payload_on = "HIGH";
  const Json c = components(device({inverted}))["relay_commandsrc"];
  CHECK(c == Json{{"platform", "switch"},
                  {"unique_id", "sr_garage_pi_relay_commandsrc"},
                  {"default_entity_id", "switch.garage_pi_relay_commandsrc"},
                  {"name", "Relay"},
                  {"command_topic", "sr/relay/set"},
                  {"state_topic", "sr/relay/state"},
                  {"payload_on", "HIGH"},
                  {"payload_off", "LOW"},
                  {"state_on", "HIGH"},
                  {"state_off", "LOW"},
                  {"qos", 1}});
}

TEST_CASE("button: command topic and what a press publishes") {
  const Json c = components(device({refresh()}))["refresh"];
  CHECK(c == Json{{"platform", "button"},
                  {"unique_id", "sr_garage_pi_refresh"},
                  {"default_entity_id", "button.garage_pi_refresh"},
                  {"name", "Refresh"},
                  {"command_topic", "sr/refresh"},
                  {"payload_press", "ON"},
                  {"entity_category", "config"},
                  {"qos", 1}});
}

TEST_CASE("text: command topic, state topic only when there is one") {
  Entity with_state = command_text();
  with_state.id = "cmd2_commandsrc";
  with_state.state_topic = "sr/cmd/out";
  const Json c = components(device({command_text(), with_state}));
  CHECK(c["cmd_commandsrc"] == Json{{"platform", "text"},
                                    {"unique_id", "sr_garage_pi_cmd_commandsrc"},
                                    {"default_entity_id", "text.garage_pi_cmd_commandsrc"},
                                    {"name", "Cmd"},
                                    {"command_topic", "sr/cmd"},
                                    {"qos", 1}});
  CHECK(c["cmd2_commandsrc"]["command_topic"] == "sr/cmd");
  CHECK(c["cmd2_commandsrc"]["state_topic"] == "sr/cmd/out");
}

TEST_CASE("event: every message on the state topic is one event of the entity's type") {
  const Json c = components(device({press_event()}))["door_short_press_dest"];
  CHECK(c["platform"] == "event");
  CHECK(c["unique_id"] == "sr_garage_pi_door_short_press_dest");
  CHECK(c["default_entity_id"] == "event.garage_pi_door_short_press_dest");
  CHECK(c["name"] == "Door short press");
  CHECK(c["state_topic"] == "sr/door/short");
  CHECK(c["event_types"] == Json::array({"short_press"}));
  CHECK(c["qos"] == 1);
  // The template has no Jinja in it: HA renders it to itself, a constant
  // JSON object naming the type, whatever the payload (a timestamp).
  const std::string tpl = c["value_template"];
  CHECK(tpl.find("{{") == std::string::npos);
  CHECK(tpl.find("{%") == std::string::npos);
  CHECK(Json::parse(tpl) == Json{{"event_type", "short_press"}});
  CHECK(c.size() == 8);
}

TEST_CASE("Format = json: HA reads value_json.value wherever a state topic carries the envelope") {
  std::vector<Entity> entities = {temperature(), door(),          relay(),
                                  press_event(), press_trigger(), exec_output()};
  Entity text_with_state = command_text();
  text_with_state.state_topic = "sr/cmd/out";
  entities.push_back(text_with_state);
  for (Entity& e : entities) e.json_state = e.id != "uptime_destination";  // one raw section among them
  const Json c = components(device(entities));
  for (const char* id : {"temp_destination", "door_destination", "relay_commandsrc", "cmd_commandsrc"}) {
    INFO(id);
    CHECK(c[id]["value_template"] == "{{ value_json.value }}");
  }
  CHECK_FALSE(c["uptime_destination"].contains("value_template"));
  // An event's template names its type whatever the payload; a trigger has no payload filter.
  CHECK(Json::parse(c["door_short_press_dest"]["value_template"].get<std::string>()) ==
        Json{{"event_type", "short_press"}});
  CHECK_FALSE(c["door_long_press_dest"].contains("value_template"));
  // Nothing else changes: without the template the config is as before.
  Entity plain = temperature();
  Entity json = temperature();
  json.json_state = true;
  Json with = components(device({json}))["temp_destination"];
  with.erase("value_template");
  CHECK(with == components(device({plain}))["temp_destination"]);
}

TEST_CASE("trigger: a device_automation with no payload filter and none of an entity's keys") {
  const Json c = components(device({press_trigger()}))["door_long_press_dest"];
  CHECK(c == Json{{"platform", "device_automation"},
                  {"automation_type", "trigger"},
                  {"topic", "sr/door/long"},
                  {"type", "button_long_press"},
                  {"subtype", "button_1"}});
}

TEST_CASE(
    "component mode: one retained QoS 1 message per entity on <prefix>/<platform>/<id>/<entity>/config") {
  const Device d = every_component();
  const std::vector<Message> config = ha_config(d, kComponentMode);
  CHECK(topics(config) == std::vector<std::string>{
                              "homeassistant/sensor/garage_pi/temp_destination/config",
                              "homeassistant/sensor/garage_pi/uptime_destination/config",
                              "homeassistant/binary_sensor/garage_pi/door_destination/config",
                              "homeassistant/switch/garage_pi/relay_commandsrc/config",
                              "homeassistant/button/garage_pi/refresh/config",
                              "homeassistant/text/garage_pi/cmd_commandsrc/config",
                              "homeassistant/event/garage_pi/door_short_press_dest/config",
                              "homeassistant/device_automation/garage_pi/door_long_press_dest/config",
                          });
  for (const Message& m : config) {
    CAPTURE(m.topic);
    CHECK(m.retain);
    CHECK(m.qos == 1);
    const Json j = Json::parse(m.payload);
    // Each carries what device mode shares, and no platform (the topic says it).
    CHECK(j["device"] == device_block());
    CHECK(j["origin"] == Json{{"name", "sensor_reporter"}, {"sw_version", "1.3.0"}});
    CHECK_FALSE(j.contains("platform"));
    CHECK_FALSE(j.contains("components"));
    CHECK_FALSE(j.contains("object_id"));
  }
  // The entity's own keys are those of device mode.
  const Json device_mode = components(d);
  for (const Entity& e : d.entities) {
    CAPTURE(e.id);
    const std::string platform(component_name(e.component));
    Json j = component_config(config, "homeassistant/" + platform + "/garage_pi/" + e.id + "/config");
    if (e.component == Component::Trigger) {
      CHECK_FALSE(j.contains("availability"));
      CHECK_FALSE(j.contains("unique_id"));
      CHECK_FALSE(j.contains("qos"));
    } else {
      CHECK(j["availability"] == availability_list());
      j.erase("availability");
    }
    j.erase("device");
    j.erase("origin");
    Json expected = device_mode[e.id];
    expected.erase("platform");
    CHECK(j == expected);
  }
}

TEST_CASE("golden payload, device mode") {
  HaOptions options;
  options.origin_url = "https://example.invalid/sr";
  const Device d = device({temperature(), press_trigger()});
  const std::vector<Message> config = ha_config(d, options);
  REQUIRE(config.size() == 1);
  CHECK(config[0].payload ==
        R"({"device":{"identifiers":["sr_garage_pi"],"name":"garage-pi","manufacturer":"sensor_reporter",)"
        R"("sw_version":"1.3.0"},"origin":{"name":"sensor_reporter","sw_version":"1.3.0",)"
        R"("support_url":"https://example.invalid/sr"},"availability":[{"topic":"sr/status",)"
        R"("payload_available":"ONLINE","payload_not_available":"OFFLINE"}],"components":{)"
        R"("temp_destination":{"platform":"sensor","unique_id":"sr_garage_pi_temp_destination",)"
        R"("default_entity_id":"sensor.garage_pi_temp_destination","name":"Temp","state_topic":"sr/temp",)"
        R"("device_class":"temperature","state_class":"measurement","unit_of_measurement":"°C",)"
        R"("entity_category":"diagnostic","expire_after":65,"qos":1},)"
        R"("door_long_press_dest":{"platform":"device_automation","automation_type":"trigger",)"
        R"("topic":"sr/door/long","type":"button_long_press","subtype":"button_1"}}})");
  // The same device, built again, gives the same bytes.
  CHECK(ha_config(device({temperature(), press_trigger()}), options) == config);
}

TEST_CASE("golden payload, component mode") {
  const Device d = device({door(), press_trigger()});
  const std::vector<Message> config = ha_config(d, kComponentMode);
  REQUIRE(config.size() == 2);
  const std::string device_and_origin =
      R"("device":{"identifiers":["sr_garage_pi"],"name":"garage-pi","manufacturer":"sensor_reporter",)"
      R"("sw_version":"1.3.0"},"origin":{"name":"sensor_reporter","sw_version":"1.3.0"})";
  CHECK(config[0] ==
        Message{"homeassistant/binary_sensor/garage_pi/door_destination/config",
                R"({"unique_id":"sr_garage_pi_door_destination",)"
                R"("default_entity_id":"binary_sensor.garage_pi_door_destination","name":"Door",)"
                R"("state_topic":"sr/door","payload_on":"OPEN","payload_off":"CLOSED",)"
                R"("device_class":"opening","qos":1,"availability":[{"topic":"sr/status",)"
                R"("payload_available":"ONLINE","payload_not_available":"OFFLINE"}],)" +
                    device_and_origin + "}",
                true, 1});
  CHECK(config[1] ==
        Message{"homeassistant/device_automation/garage_pi/door_long_press_dest/config",
                R"({"automation_type":"trigger","topic":"sr/door/long","type":"button_long_press",)"
                R"("subtype":"button_1",)" +
                    device_and_origin + "}",
                true, 1});
  CHECK(ha_config(device({door(), press_trigger()}), kComponentMode) == config);
}

TEST_CASE("the owned filters cover both modes' topics for this device") {
  const Device d = every_component();
  const std::vector<std::string> expected{"homeassistant/device/garage_pi/config",
                                          "homeassistant/+/garage_pi/+/config"};
  CHECK(ha_owned_filters(d, kDeviceMode) == expected);
  CHECK(ha_owned_filters(d, kComponentMode) == expected);
  CHECK(ha_owned_filters(d, HaOptions{"ha", HaMode::Device, ""}) ==
        std::vector<std::string>{"ha/device/garage_pi/config", "ha/+/garage_pi/+/config"});
}

TEST_CASE("ha_owns_topic: this device's config topics in either mode, nothing else") {
  const Device d = every_component();
  for (const HaOptions& o : {kDeviceMode, kComponentMode}) {
    CAPTURE(static_cast<int>(o.mode));
    // Every topic either mode sends is owned.
    for (const Message& m : ha_config(d, kDeviceMode)) CHECK(ha_owns_topic(d, o, m.topic));
    for (const Message& m : ha_config(d, kComponentMode)) CHECK(ha_owns_topic(d, o, m.topic));
    // A platform we do not use, an entity we do not have (yet): still ours.
    CHECK(ha_owns_topic(d, o, "homeassistant/light/garage_pi/gone/config"));

    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/device/kitchen_pi/config"));     // other id
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/kitchen_pi/x/config"));   // other id
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi_2/x/config"));  // id's prefix only
    CHECK_FALSE(ha_owns_topic(d, o, "ha/device/garage_pi/config"));                 // other prefix
    CHECK_FALSE(ha_owns_topic(d, o, "ha/sensor/garage_pi/x/config"));               // other prefix
    CHECK_FALSE(ha_owns_topic(d, o, "x/homeassistant/sensor/garage_pi/x/config"));  // prefix not at the start
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi/config"));      // too short
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi/x/y/config"));  // too deep
    CHECK_FALSE(
        ha_owns_topic(d, o, "homeassistant/device/garage_pi/x/config"));         // device form with a node id
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi/x/state"));  // not a config
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/sensor/garage_pi//config"));  // empty entity id
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant//garage_pi/x/config"));       // empty platform
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant/device/garage_pi/config/extra"));  // too deep
    CHECK_FALSE(ha_owns_topic(d, o, "homeassistant"));
    CHECK_FALSE(ha_owns_topic(d, o, ""));
  }
  HaOptions deep;
  deep.prefix = "site/ha";
  CHECK(ha_owns_topic(d, deep, "site/ha/device/garage_pi/config"));
  CHECK(ha_owns_topic(d, deep, "site/ha/sensor/garage_pi/x/config"));
  CHECK_FALSE(ha_owns_topic(d, deep, "homeassistant/sensor/garage_pi/x/config"));
}

TEST_CASE("clean-up, device mode: a gone component is first sent reduced to its old platform") {
  const Device before = every_component();
  const Device after =
      device({temperature(), exec_output(), door(), refresh(), command_text(), press_event()});
  const std::vector<Message> config = ha_config(after, kDeviceMode);
  const std::vector<Message> out = ha_cleanup(ha_config(before, kDeviceMode), config, after, kDeviceMode);
  REQUIRE(out.size() == 1);
  CHECK(out[0].topic == "homeassistant/device/garage_pi/config");
  CHECK(out[0].retain);
  CHECK(out[0].qos == 1);
  // The first step is the new config plus each gone key as {"platform": ...}:
  // the rest of the device stays as it will be, so HA removes the gone
  // entities and nothing else.
  Json step = Json::parse(out[0].payload);
  Json now = Json::parse(config[0].payload);
  CHECK(step["components"]["relay_commandsrc"] == Json{{"platform", "switch"}});
  CHECK(step["components"]["door_long_press_dest"] == Json{{"platform", "device_automation"}});
  step["components"].erase("relay_commandsrc");
  step["components"].erase("door_long_press_dest");
  CHECK(step == now);
}

TEST_CASE("clean-up, device mode: only keys the found config had and the new one lacks are reduced") {
  const Device d = device({temperature(), door()});
  // Found with a key that has no platform (HA made nothing of it) and a
  // platform that is not a string (echoing it would make HA refuse the
  // whole config): neither is reduced; a real one is.
  Json found = Json::parse(ha_config(d, kDeviceMode)[0].payload);
  found["components"]["no_platform"] = Json{{"name", "x"}};
  found["components"]["odd_platform"] = Json{{"platform", 5}};
  found["components"]["not_an_object"] = "sensor";
  const std::vector<Message> config = ha_config(d, kDeviceMode);
  CHECK(ha_cleanup({Message{config[0].topic, found.dump()}}, config, d, kDeviceMode).empty());

  found["components"]["old_button"] = Json{{"platform", "button"}, {"unique_id", "sr_garage_pi_old_button"}};
  const std::vector<Message> out =
      ha_cleanup({Message{config[0].topic, found.dump()}}, config, d, kDeviceMode);
  REQUIRE(out.size() == 1);
  const Json step = Json::parse(out[0].payload);
  CHECK(step["components"].size() == 3);
  CHECK(step["components"]["old_button"] == Json{{"platform", "button"}});
}

TEST_CASE("clean-up, component mode: a topic the new config lacks gets an empty retained payload") {
  const Device before = every_component();
  const Device after = device({temperature(), exec_output(), door(), relay(), refresh(), command_text()});
  const std::vector<Message> out =
      ha_cleanup(ha_config(before, kComponentMode), ha_config(after, kComponentMode), after, kComponentMode);
  CHECK(out == std::vector<Message>{
                   {"homeassistant/event/garage_pi/door_short_press_dest/config", "", true, 1},
                   {"homeassistant/device_automation/garage_pi/door_long_press_dest/config", "", true, 1},
               });
  // A component whose platform changed: the old platform's topic goes.
  Entity recast = door();
  recast.component = Component::Sensor;
  const std::vector<Message> recast_out =
      ha_cleanup(ha_config(device({door()}), kComponentMode), ha_config(device({recast}), kComponentMode),
                 device({recast}), kComponentMode);
  CHECK(recast_out ==
        std::vector<Message>{{"homeassistant/binary_sensor/garage_pi/door_destination/config", "", true, 1}});
}

TEST_CASE("clean-up, mode switch: the other mode's topics are emptied, both ways") {
  const Device d = every_component();
  SUBCASE("component -> device: every per-component topic") {
    const std::vector<Message> found = ha_config(d, kComponentMode);
    const std::vector<Message> out = ha_cleanup(found, ha_config(d, kDeviceMode), d, kDeviceMode);
    REQUIRE(out.size() == found.size());
    for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == Message{found[i].topic, "", true, 1});
  }
  SUBCASE("device -> component: the device topic") {
    const std::vector<Message> out =
        ha_cleanup(ha_config(d, kDeviceMode), ha_config(d, kComponentMode), d, kComponentMode);
    CHECK(out == std::vector<Message>{{"homeassistant/device/garage_pi/config", "", true, 1}});
  }
}

TEST_CASE("clean-up: garbage found is stale, never a crash") {
  const Device d = device({temperature(), door()});
  const std::vector<Message> config = ha_config(d, kDeviceMode);
  for (const char* garbage :
       {"not json", "[1,2]", "\"a string\"", "42", "null", "{\"components\": 3}", "{"}) {
    CAPTURE(garbage);
    const std::vector<Message> out =
        ha_cleanup({Message{"homeassistant/device/garage_pi/config", garbage}}, config, d, kDeviceMode);
    CHECK(out == std::vector<Message>{{"homeassistant/device/garage_pi/config", "", true, 1}});
  }
  // On a per-component topic no longer configured, garbage goes like anything else...
  CHECK(ha_cleanup({Message{"homeassistant/sensor/garage_pi/gone/config", "not json"}}, config, d,
                   kDeviceMode) ==
        std::vector<Message>{{"homeassistant/sensor/garage_pi/gone/config", "", true, 1}});
  // ...while on a topic the new config holds it is simply overwritten by it.
  const std::vector<Message> component_config = ha_config(d, kComponentMode);
  CHECK(ha_cleanup({Message{component_config[0].topic, "not json"}}, component_config, d, kComponentMode)
            .empty());
}

TEST_CASE("clean-up: empty found payloads are already deleted; other devices' configs are not ours") {
  const Device d = device({temperature(), door()});
  const std::vector<Message> found{
      {"homeassistant/device/garage_pi/config", ""},    {"homeassistant/sensor/garage_pi/gone/config", ""},
      {"homeassistant/device/kitchen_pi/config", "{}"}, {"homeassistant/sensor/kitchen_pi/gone/config", "{}"},
      {"ha/sensor/garage_pi/gone/config", "{}"},
  };
  CHECK(ha_cleanup(found, ha_config(d, kDeviceMode), d, kDeviceMode).empty());
  CHECK(ha_cleanup(found, ha_config(d, kComponentMode), d, kComponentMode).empty());
}

TEST_CASE("clean-up: nothing stale, nothing sent") {
  const Device d = every_component();
  for (const HaOptions& o : {kDeviceMode, kComponentMode}) {
    CAPTURE(static_cast<int>(o.mode));
    CHECK(ha_cleanup({}, ha_config(d, o), d, o).empty());
    CHECK(ha_cleanup(ha_config(d, o), ha_config(d, o), d, o).empty());
  }
  // A component added since: nothing to remove either.
  const Device fewer = device({temperature()});
  CHECK(ha_cleanup(ha_config(fewer, kDeviceMode), ha_config(d, kDeviceMode), d, kDeviceMode).empty());
  CHECK(
      ha_cleanup(ha_config(fewer, kComponentMode), ha_config(d, kComponentMode), d, kComponentMode).empty());
}

TEST_CASE("ha_tree_devices: the tree devices our found configs name by their state topics, in either mode") {
  Device d = device({temperature(), refresh()});
  d.trees.push_back(Tree{"Govee", "Govee", "sr/govee", {{"temp_c", "temperature"}, {"humi", "humidity"}}});
  const Json govee_temp = {{"platform", "sensor"}, {"state_topic", "sr/govee/GVH5075_2762/temp_c"}};
  Json device_config = Json::parse(ha_config(d, kDeviceMode)[0].payload);
  device_config["components"]["govee_gvh5075_2762_temp_c"] = govee_temp;
  device_config["components"]["govee_gvh5075_2762_humi"] = {{"platform", "sensor"},
                                                            {"state_topic", "sr/govee/GVH5075_2762/humi"}};
  device_config["components"]["govee_h5179_1_temp_c"] = {{"platform", "sensor"}};  // reduced: gone
  device_config["components"]["govee_other"] = {{"platform", "sensor"},
                                                {"state_topic", "sr/govee/x/pressure"}};
  const std::vector<TreeDeviceRef> one{{"Govee", "GVH5075_2762"}};

  CHECK(ha_tree_devices({Message{"homeassistant/device/garage_pi/config", device_config.dump()}}, d,
                        kDeviceMode) == one);
  CHECK(ha_tree_devices(
            {Message{"homeassistant/sensor/garage_pi/govee_gvh5075_2762_temp_c/config", govee_temp.dump()}},
            d, kComponentMode) == one);
  SUBCASE("not ours, deleted, garbage, or no tree: nothing") {
    const std::vector<Message> found{
        {"homeassistant/device/kitchen_pi/config", device_config.dump()},
        {"homeassistant/sensor/garage_pi/x/config", ""},
        {"homeassistant/sensor/garage_pi/y/config", "not json"},
        {"homeassistant/device/garage_pi/config", R"({"components":[]})"},
    };
    CHECK(ha_tree_devices(found, d, kDeviceMode).empty());
    const Device no_tree = device({temperature()});
    CHECK(ha_tree_devices({Message{"homeassistant/device/garage_pi/config", device_config.dump()}}, no_tree,
                          kDeviceMode)
              .empty());
  }
}
