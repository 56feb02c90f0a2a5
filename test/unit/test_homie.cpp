// Unit tests for the Homie serializer (plugins/mqtt/homie): hand-built
// Devices holding every Component, so each mapping is checked without the
// product classes (test_discovery.cpp runs those through it). Exact v4
// topics and payloads in publishing order; the v5 $description read back
// field by field and its version; ids made Homie-safe; the routes between
// our topics and Homie's; what the clean-up deletes and what it never does.
#include "mqtt/homie.hpp"

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "support/doctest_vector.h"

#include <algorithm>
#include <string>
#include <vector>

namespace doctest {
template <>
struct StringMaker<sr::mqtt::discovery::Message> {
  static String convert(const sr::mqtt::discovery::Message& m) {
    return ("{" + m.topic + " = '" + m.payload + "'" + (m.retain ? "" : " not retained") + " qos " +
            std::to_string(m.qos) + "}\n")
        .c_str();
  }
};
}  // namespace doctest

namespace {

using namespace sr::mqtt::discovery;
using Json = nlohmann::json;

Entity entity(std::string section, std::string key, std::string name, Component component) {
  Entity e;
  e.section = std::move(section);
  e.key = std::move(key);
  e.id = sanitize_id(e.section + "_" + e.key);
  e.name = std::move(name);
  e.component = component;
  return e;
}

// One entity of every Component, in sections as build_device groups them,
// the Refresh button last. Section and key spellings need sanitizing.
Device every_component() {
  Device d;
  d.id = "garage_pi";
  d.name = "Garage Pi";
  d.sw_version = "0.1.0";
  d.availability_topic = "sr/status";

  Entity temp = entity("Temp_Sensor.1", "Destination", "Temp Sensor.1", Component::Sensor);
  temp.value_type = SR_VALUE_NUMBER;
  temp.unit = "°C";
  temp.state_topic = "sr/temp";
  d.entities.push_back(temp);
  Entity status = entity("Temp_Sensor.1", "Status_Dest", "Temp status", Component::Sensor);
  status.label = "status";  // as build_device sets it for all but a section's main entity
  status.state_topic = "sr/temp/status";
  d.entities.push_back(status);

  Entity door = entity("Door", "Destination", "Door", Component::BinarySensor);
  door.value_type = SR_VALUE_BINARY;
  door.payload_off = "CLOSED";
  door.payload_on = "OPEN";
  door.state_topic = "sr/door";
  d.entities.push_back(door);
  Entity short_press = entity("Door", "Short_Press-Dest", "Door short press", Component::Trigger);
  short_press.value_type = SR_VALUE_TIMESTAMP;
  short_press.state_topic = "sr/door/short";
  short_press.retained_state = false;
  d.entities.push_back(short_press);
  Entity long_press = entity("Door", "Long_Press-Dest", "Door long press", Component::Event);
  long_press.value_type = SR_VALUE_TIMESTAMP;
  long_press.state_topic = "sr/door/long";
  long_press.retained_state = false;
  d.entities.push_back(long_press);

  Entity relay = entity("Relay", "CommandSrc", "Relay", Component::Switch);
  relay.value_type = SR_VALUE_BINARY;
  relay.payload_off = "OFF";
  relay.payload_on = "ON";
  relay.state_topic = "sr/relay/state";
  relay.command_topic = "sr/relay/cmd";
  d.entities.push_back(relay);
  Entity toggle = entity("Relay", "Toggle", "Relay toggle", Component::Button);
  toggle.value_type = SR_VALUE_COMMAND;
  toggle.payload_press = "TOGGLE";
  toggle.command_topic = "sr/relay/cmd";
  d.entities.push_back(toggle);

  Entity exec = entity("Exec", "Command", "Exec arguments", Component::Text);
  exec.state_topic = "sr/exec/result";
  exec.command_topic = "sr/exec/cmd";
  d.entities.push_back(exec);

  Entity refresh = entity("", "refresh", "Refresh", Component::Button);
  refresh.value_type = SR_VALUE_COMMAND;
  refresh.payload_press = "ON";
  refresh.command_topic = "sr/refresh";
  d.entities.push_back(refresh);
  return d;
}

Message retained(std::string topic, std::string payload) {
  return Message{std::move(topic), std::move(payload)};
}

const HomieOptions kV4{};
const HomieOptions kV5{5, "homie", 42};

std::string payload_of(const std::vector<Message>& messages, const std::string& topic) {
  for (const Message& m : messages)
    if (m.topic == topic) return m.payload;
  return "<absent>";
}

std::vector<std::string> topics_of(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(m.topic);
  return out;
}

const HomieRoute* route_for(const std::vector<HomieRoute>& routes, const std::string& property_topic) {
  for (const HomieRoute& r : routes)
    if (r.property_topic == property_topic) return &r;
  return nullptr;
}

Json description_of(const std::vector<Message>& announce) {
  REQUIRE(announce.size() == 2);
  REQUIRE(announce[1].topic == "homie/5/garage-pi/$description");
  return Json::parse(announce[1].payload);
}

}  // namespace

TEST_CASE("Homie base and $state topics: v4 under the domain, v5 under <domain>/5, ids with '-'") {
  const Device d = every_component();
  CHECK(homie_base(d, kV4) == "homie/garage-pi");
  CHECK(homie_state_topic(d, kV4) == "homie/garage-pi/$state");
  CHECK(homie_base(d, kV5) == "homie/5/garage-pi");
  CHECK(homie_state_topic(d, kV5) == "homie/5/garage-pi/$state");
  HomieOptions other = kV4;
  other.domain = "devices";
  CHECK(homie_base(d, other) == "devices/garage-pi");
  other.version = 5;
  CHECK(homie_base(d, other) == "devices/5/garage-pi");
}

TEST_CASE("Homie v4: every attribute, exact topics and payloads, in publishing order") {
  const std::vector<Message> expected{
      retained("homie/garage-pi/$state", "init"),
      retained("homie/garage-pi/$homie", "4.0.0"),
      retained("homie/garage-pi/$name", "Garage Pi"),
      retained("homie/garage-pi/$nodes", "temp-sensor-1,door,relay,exec,sensor-reporter"),

      // A node is named by its section's main entity (DiscoveryName, else
      // the section), a property by its label when it has one.
      retained("homie/garage-pi/temp-sensor-1/$name", "Temp Sensor.1"),
      retained("homie/garage-pi/temp-sensor-1/$type", "section"),
      retained("homie/garage-pi/temp-sensor-1/$properties", "destination,status-dest"),
      retained("homie/garage-pi/temp-sensor-1/destination/$name", "Temp Sensor.1"),
      retained("homie/garage-pi/temp-sensor-1/destination/$datatype", "float"),
      retained("homie/garage-pi/temp-sensor-1/destination/$unit", "°C"),
      retained("homie/garage-pi/temp-sensor-1/status-dest/$name", "status"),
      retained("homie/garage-pi/temp-sensor-1/status-dest/$datatype", "string"),

      retained("homie/garage-pi/door/$name", "Door"),
      retained("homie/garage-pi/door/$type", "section"),
      retained("homie/garage-pi/door/$properties", "destination,short-press-dest,long-press-dest"),
      retained("homie/garage-pi/door/destination/$name", "Door"),
      retained("homie/garage-pi/door/destination/$datatype", "enum"),
      retained("homie/garage-pi/door/destination/$format", "CLOSED,OPEN"),
      retained("homie/garage-pi/door/short-press-dest/$name", "Door short press"),
      retained("homie/garage-pi/door/short-press-dest/$datatype", "string"),
      retained("homie/garage-pi/door/short-press-dest/$retained", "false"),
      retained("homie/garage-pi/door/long-press-dest/$name", "Door long press"),
      retained("homie/garage-pi/door/long-press-dest/$datatype", "string"),
      retained("homie/garage-pi/door/long-press-dest/$retained", "false"),

      retained("homie/garage-pi/relay/$name", "Relay"),
      retained("homie/garage-pi/relay/$type", "section"),
      retained("homie/garage-pi/relay/$properties", "commandsrc,toggle"),
      retained("homie/garage-pi/relay/commandsrc/$name", "Relay"),
      retained("homie/garage-pi/relay/commandsrc/$datatype", "enum"),
      retained("homie/garage-pi/relay/commandsrc/$format", "OFF,ON"),
      retained("homie/garage-pi/relay/commandsrc/$settable", "true"),
      retained("homie/garage-pi/relay/toggle/$name", "Relay toggle"),
      retained("homie/garage-pi/relay/toggle/$datatype", "enum"),
      retained("homie/garage-pi/relay/toggle/$format", "TOGGLE"),
      retained("homie/garage-pi/relay/toggle/$settable", "true"),
      retained("homie/garage-pi/relay/toggle/$retained", "false"),

      retained("homie/garage-pi/exec/$name", "Exec arguments"),
      retained("homie/garage-pi/exec/$type", "section"),
      retained("homie/garage-pi/exec/$properties", "command"),
      retained("homie/garage-pi/exec/command/$name", "Exec arguments"),
      retained("homie/garage-pi/exec/command/$datatype", "string"),
      retained("homie/garage-pi/exec/command/$settable", "true"),

      retained("homie/garage-pi/sensor-reporter/$name", "sensor_reporter"),
      retained("homie/garage-pi/sensor-reporter/$type", "sensor_reporter"),
      retained("homie/garage-pi/sensor-reporter/$properties", "refresh"),
      retained("homie/garage-pi/sensor-reporter/refresh/$name", "Refresh"),
      retained("homie/garage-pi/sensor-reporter/refresh/$datatype", "enum"),
      retained("homie/garage-pi/sensor-reporter/refresh/$format", "ON"),
      retained("homie/garage-pi/sensor-reporter/refresh/$settable", "true"),
      retained("homie/garage-pi/sensor-reporter/refresh/$retained", "false"),
  };
  const std::vector<Message> announce = homie_announce(every_component(), kV4);
  CHECK(announce == expected);
  // Everything retained at QoS 1; $state=ready is the caller's, after the
  // clean-up; no empty payload (it would delete); $extensions left out.
  for (const Message& m : announce) {
    CHECK_MESSAGE(m.retain, m.topic);
    CHECK_MESSAGE(m.qos == 1, m.topic);
    CHECK_MESSAGE(!m.payload.empty(), m.topic);
    CHECK_MESSAGE(m.payload != "ready", m.topic);
  }
  CHECK(payload_of(announce, "homie/garage-pi/$extensions") == "<absent>");
}

TEST_CASE("Homie v4: attributes are only published when they say something") {
  Device d = every_component();
  d.entities.front().unit.clear();
  const std::vector<Message> announce = homie_announce(d, kV4);
  CHECK(payload_of(announce, "homie/garage-pi/temp-sensor-1/destination/$unit") == "<absent>");
  CHECK(payload_of(announce, "homie/garage-pi/temp-sensor-1/destination/$datatype") == "float");
  CHECK(payload_of(announce, "homie/garage-pi/temp-sensor-1/destination/$settable") == "<absent>");
  CHECK(payload_of(announce, "homie/garage-pi/temp-sensor-1/destination/$retained") == "<absent>");
  CHECK(payload_of(announce, "homie/garage-pi/temp-sensor-1/destination/$format") == "<absent>");
  // A string with a unit keeps it.
  d.entities[1].unit = "ms";
  CHECK(payload_of(homie_announce(d, kV4), "homie/garage-pi/temp-sensor-1/status-dest/$unit") == "ms");
}

TEST_CASE("Homie v5: $state=init, then one $description, read back field by field") {
  const std::vector<Message> announce = homie_announce(every_component(), kV5);
  REQUIRE(announce.size() == 2);
  CHECK(announce[0] == retained("homie/5/garage-pi/$state", "init"));
  CHECK(announce[1].retain);
  CHECK(announce[1].qos == 1);
  const Json j = description_of(announce);
  CHECK(j.size() == 4);
  CHECK(j["homie"] == "5.0");
  CHECK(j["version"] == 42);
  CHECK(j["version"].is_number_integer());
  CHECK(j["name"] == "Garage Pi");

  const Json& nodes = j["nodes"];
  REQUIRE(nodes.is_object());
  std::vector<std::string> node_ids;
  for (auto it = nodes.begin(); it != nodes.end(); ++it) node_ids.push_back(it.key());
  std::sort(node_ids.begin(), node_ids.end());
  CHECK(node_ids == std::vector<std::string>{"door", "exec", "relay", "sensor-reporter", "temp-sensor-1"});

  const Json& temp = nodes["temp-sensor-1"];
  CHECK(temp["name"] == "Temp Sensor.1");
  CHECK(temp["properties"].size() == 2);
  CHECK(temp["properties"]["destination"] ==
        Json{{"name", "Temp Sensor.1"}, {"datatype", "float"}, {"unit", "°C"}});
  CHECK(temp["properties"]["status-dest"] == Json{{"name", "status"}, {"datatype", "string"}});

  const Json& door = nodes["door"];
  CHECK(door["name"] == "Door");
  CHECK(door["properties"].size() == 3);
  CHECK(door["properties"]["destination"] ==
        Json{{"name", "Door"}, {"datatype", "enum"}, {"format", "CLOSED,OPEN"}});
  CHECK(door["properties"]["short-press-dest"] ==
        Json{{"name", "Door short press"}, {"datatype", "datetime"}, {"retained", false}});
  CHECK(door["properties"]["long-press-dest"] ==
        Json{{"name", "Door long press"}, {"datatype", "datetime"}, {"retained", false}});

  const Json& relay = nodes["relay"];
  CHECK(relay["properties"]["commandsrc"] ==
        Json{{"name", "Relay"}, {"datatype", "enum"}, {"format", "OFF,ON"}, {"settable", true}});
  CHECK(relay["properties"]["toggle"] == Json{{"name", "Relay toggle"},
                                              {"datatype", "enum"},
                                              {"format", "TOGGLE"},
                                              {"settable", true},
                                              {"retained", false}});

  CHECK(nodes["exec"]["properties"]["command"] ==
        Json{{"name", "Exec arguments"}, {"datatype", "string"}, {"settable", true}});

  const Json& device_node = nodes["sensor-reporter"];
  CHECK(device_node["name"] == "sensor_reporter");
  CHECK(device_node["properties"].size() == 1);
  CHECK(device_node["properties"]["refresh"] == Json{{"name", "Refresh"},
                                                     {"datatype", "enum"},
                                                     {"format", "ON"},
                                                     {"settable", true},
                                                     {"retained", false}});
}

TEST_CASE("Homie v5: the $description version holds for the same document and moves when it changes") {
  const Device d = every_component();
  const std::vector<Message> first = homie_announce(d, kV5);

  SUBCASE("the same configuration: the found version is kept, whatever the clock says") {
    CHECK(homie_description_version(first, d, kV5, 1000) == 42);
    CHECK(homie_description_version(first, every_component(), kV5, 5) == 42);
    // Serializing twice gives the same bytes: nothing else can change.
    CHECK(homie_announce(d, kV5) == first);
  }
  SUBCASE("a changed entity: a larger version") {
    Device renamed = every_component();
    renamed.entities[2].name = "Front door";
    CHECK(homie_description_version(first, renamed, kV5, 5) == 43);
    CHECK(homie_description_version(first, renamed, kV5, 1000) == 1000);
    Device other_unit = every_component();
    other_unit.entities[0].unit = "°F";
    CHECK(homie_description_version(first, other_unit, kV5, 5) == 43);
  }
  SUBCASE("a removed entity: a larger version") {
    Device fewer = every_component();
    fewer.entities.erase(fewer.entities.begin() + 1);
    CHECK(homie_description_version(first, fewer, kV5, 5) == 43);
  }
  SUBCASE("nothing found, or nothing readable: the clock") {
    CHECK(homie_description_version({}, d, kV5, 1234) == 1234);
    const std::vector<Message> garbage{retained("homie/5/garage-pi/$description", "not json")};
    CHECK(homie_description_version(garbage, d, kV5, 1234) == 1234);
    const std::vector<Message> no_version{retained("homie/5/garage-pi/$description", R"({"homie":"5.0"})")};
    CHECK(homie_description_version(no_version, d, kV5, 1234) == 1234);
    // Another device's document says nothing about ours.
    const std::vector<Message> elsewhere{retained("homie/5/kitchen/$description", first[1].payload)};
    CHECK(homie_description_version(elsewhere, d, kV5, 1234) == 1234);
  }
}

TEST_CASE("Homie ids: '_', '.', upper case and runs of them become single '-', never at either end") {
  Device d;
  d.id = "Garage__Pi_";
  d.name = "Garage";
  d.entities.push_back(entity("_My.Section__Two_", "Dest_1.Value", "x", Component::Sensor));
  d.entities.back().state_topic = "sr/x";
  d.entities.push_back(entity("", "refresh", "Refresh", Component::Button));
  d.entities.back().payload_press = "ON";
  d.entities.back().command_topic = "sr/refresh";
  CHECK(homie_base(d, kV4) == "homie/garage-pi");
  const std::vector<Message> announce = homie_announce(d, kV4);
  CHECK(payload_of(announce, "homie/garage-pi/$nodes") == "my-section-two,sensor-reporter");
  CHECK(payload_of(announce, "homie/garage-pi/my-section-two/$properties") == "dest-1-value");
  CHECK(payload_of(announce, "homie/garage-pi/my-section-two/$name") == "x");
  for (const Message& m : announce) {
    // Every level but the attributes' is [a-z0-9-], without '-' at either end.
    std::string_view rest = m.topic;
    while (!rest.empty()) {
      const std::string_view level = rest.substr(0, rest.find('/'));
      rest = level.size() < rest.size() ? rest.substr(level.size() + 1) : std::string_view{};
      if (level.starts_with('$')) continue;
      CHECK_MESSAGE(!level.empty(), m.topic);
      CHECK_MESSAGE(
          level.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string_view::npos,
          m.topic);
      CHECK_MESSAGE(level.front() != '-', m.topic);
      CHECK_MESSAGE(level.back() != '-', m.topic);
    }
  }
  const Json j = Json::parse(
      payload_of(homie_announce(d, HomieOptions{5, "homie", 1}), "homie/5/garage-pi/$description"));
  CHECK(j["nodes"]["my-section-two"]["properties"].contains("dest-1-value"));
}

TEST_CASE("Homie routes: our topics to Homie's property topics and /set back to our command topics") {
  const Device d = every_component();
  const std::vector<HomieRoute> routes = homie_routes(d, kV4);
  REQUIRE(routes.size() == d.entities.size());
  std::vector<std::string> properties;
  for (const HomieRoute& r : routes) properties.push_back(r.property_topic);
  CHECK(properties == std::vector<std::string>{
                          "homie/garage-pi/temp-sensor-1/destination",
                          "homie/garage-pi/temp-sensor-1/status-dest", "homie/garage-pi/door/destination",
                          "homie/garage-pi/door/short-press-dest", "homie/garage-pi/door/long-press-dest",
                          "homie/garage-pi/relay/commandsrc", "homie/garage-pi/relay/toggle",
                          "homie/garage-pi/exec/command", "homie/garage-pi/sensor-reporter/refresh"});
  auto check_route = [&](const std::string& property, const std::string& state, const std::string& set,
                         const std::string& command, bool is_retained) {
    const HomieRoute* r = route_for(routes, property);
    REQUIRE_MESSAGE(r != nullptr, property);
    CHECK_MESSAGE(r->state_topic == state, property);
    CHECK_MESSAGE(r->set_topic == set, property);
    CHECK_MESSAGE(r->command_topic == command, property);
    CHECK_MESSAGE(r->retained == is_retained, property);
  };
  check_route("homie/garage-pi/temp-sensor-1/destination", "sr/temp", "", "", true);
  check_route("homie/garage-pi/temp-sensor-1/status-dest", "sr/temp/status", "", "", true);
  check_route("homie/garage-pi/door/destination", "sr/door", "", "", true);
  check_route("homie/garage-pi/door/short-press-dest", "sr/door/short", "", "", false);
  check_route("homie/garage-pi/door/long-press-dest", "sr/door/long", "", "", false);
  check_route("homie/garage-pi/relay/commandsrc", "sr/relay/state", "homie/garage-pi/relay/commandsrc/set",
              "sr/relay/cmd", true);
  check_route("homie/garage-pi/relay/toggle", "", "homie/garage-pi/relay/toggle/set", "sr/relay/cmd", false);
  check_route("homie/garage-pi/exec/command", "sr/exec/result", "homie/garage-pi/exec/command/set",
              "sr/exec/cmd", true);
  check_route("homie/garage-pi/sensor-reporter/refresh", "", "homie/garage-pi/sensor-reporter/refresh/set",
              "sr/refresh", false);

  const std::vector<HomieRoute> v5 = homie_routes(d, kV5);
  REQUIRE(v5.size() == routes.size());
  CHECK(v5[5].property_topic == "homie/5/garage-pi/relay/commandsrc");
  CHECK(v5[5].set_topic == "homie/5/garage-pi/relay/commandsrc/set");
}

TEST_CASE("Homie routes say which state topics carry a Format = json envelope, whose value is mirrored") {
  Device d = every_component();
  for (Entity& e : d.entities) e.json_state = e.state_topic == "sr/temp";
  for (const HomieRoute& r : homie_routes(d, kV4))
    CHECK_MESSAGE(r.json == (r.state_topic == "sr/temp"), r.property_topic);
}

TEST_CASE("Homie values: v5 writes an empty string as one 0x00 byte, everything else passes unchanged") {
  CHECK(homie_value("", kV5) == std::string(1, '\0'));
  CHECK(homie_value("", kV5).size() == 1);
  CHECK(homie_value("", kV4) == "");
  CHECK(homie_value("21.5", kV5) == "21.5");
  CHECK(homie_value("OPEN", kV4) == "OPEN");
  CHECK(homie_value(std::string_view("a\0b", 3), kV5) == std::string("a\0b", 3));
}

TEST_CASE("Homie v4 clean-up: what is no longer announced is deleted, live values and $state never") {
  const Device before = every_component();
  Device after = every_component();
  // The Door section is gone; Temp loses its status property.
  after.entities.erase(
      std::remove_if(after.entities.begin(), after.entities.end(),
                     [](const Entity& e) { return e.section == "Door" || e.key == "Status_Dest"; }),
      after.entities.end());
  const std::vector<Message> announce = homie_announce(after, kV4);

  std::vector<Message> found = homie_announce(before, kV4);
  found.front().payload = "lost";  // the Will fired since
  found.push_back(retained("homie/garage-pi/temp-sensor-1/destination", "21.5"));
  found.push_back(retained("homie/garage-pi/temp-sensor-1/status-dest", "ok"));
  found.push_back(retained("homie/garage-pi/door/destination", "OPEN"));
  found.push_back(retained("homie/garage-pi/relay/commandsrc", "ON"));
  found.push_back(retained("homie/garage-pi/exec/command", "ls"));
  found.push_back(retained("homie/garage-pi/relay/commandsrc/set", "OFF"));  // someone's retained command
  found.push_back(retained("homie/garage-pi/$extensions", "org.homie.legacy-stats:0.1.1:[4.x]"));
  found.push_back(retained("homie/kitchen/door/$name", "Door"));  // another device
  // Already deleted: the broker's latest for the topic is empty (found holds
  // one message per topic, the latest).
  for (Message& m : found)
    if (m.topic == "homie/garage-pi/door/$type") m.payload.clear();

  const std::vector<Message> out = homie_cleanup(found, announce, after, kV4);
  for (const Message& m : out) {
    CHECK_MESSAGE(m.payload.empty(), m.topic);
    CHECK_MESSAGE(m.retain, m.topic);
  }
  std::vector<std::string> deleted = topics_of(out);
  std::sort(deleted.begin(), deleted.end());
  CHECK(deleted == std::vector<std::string>{
                       "homie/garage-pi/$extensions",
                       "homie/garage-pi/door/$name",
                       "homie/garage-pi/door/$properties",
                       "homie/garage-pi/door/destination",
                       "homie/garage-pi/door/destination/$datatype",
                       "homie/garage-pi/door/destination/$format",
                       "homie/garage-pi/door/destination/$name",
                       "homie/garage-pi/door/long-press-dest/$datatype",
                       "homie/garage-pi/door/long-press-dest/$name",
                       "homie/garage-pi/door/long-press-dest/$retained",
                       "homie/garage-pi/door/short-press-dest/$datatype",
                       "homie/garage-pi/door/short-press-dest/$name",
                       "homie/garage-pi/door/short-press-dest/$retained",
                       "homie/garage-pi/relay/commandsrc/set",
                       "homie/garage-pi/temp-sensor-1/status-dest",
                       "homie/garage-pi/temp-sensor-1/status-dest/$datatype",
                       "homie/garage-pi/temp-sensor-1/status-dest/$name",
                   });
  // Named once more, so a change to the list above cannot hide them.
  CHECK(std::find(deleted.begin(), deleted.end(), "homie/garage-pi/$state") == deleted.end());
  CHECK(std::find(deleted.begin(), deleted.end(), "homie/garage-pi/temp-sensor-1/destination") ==
        deleted.end());
  CHECK(std::find(deleted.begin(), deleted.end(), "homie/garage-pi/relay/commandsrc") == deleted.end());
}

TEST_CASE("Homie clean-up: nothing stale, nothing deleted") {
  const Device d = every_component();
  SUBCASE("v4: what was announced, with its values") {
    std::vector<Message> found = homie_announce(d, kV4);
    for (const HomieRoute& r : homie_routes(d, kV4))
      if (r.retained) found.push_back(retained(r.property_topic, "x"));
    CHECK(homie_cleanup(found, homie_announce(d, kV4), d, kV4).empty());
  }
  SUBCASE("v5: the document and the values") {
    std::vector<Message> found = homie_announce(d, kV5);
    found.push_back(retained("homie/5/garage-pi/temp-sensor-1/destination", "21.5"));
    found.push_back(retained("homie/5/garage-pi/exec/command", std::string(1, '\0')));
    CHECK(homie_cleanup(found, homie_announce(d, kV5), d, kV5).empty());
  }
  SUBCASE("nothing found") { CHECK(homie_cleanup({}, homie_announce(d, kV4), d, kV4).empty()); }
}

TEST_CASE("Homie v5 clean-up: a removed node's values go, the $description and $state stay") {
  Device after = every_component();
  after.entities.erase(after.entities.begin() + 2, after.entities.begin() + 5);  // the Door section
  const std::vector<Message> found{retained("homie/5/garage-pi/$state", "ready"),
                                   retained("homie/5/garage-pi/$description", "{\"homie\":\"5.0\"}"),
                                   retained("homie/5/garage-pi/door/destination", "OPEN"),
                                   retained("homie/5/garage-pi/temp-sensor-1/destination", "21.5"),
                                   retained("homie/garage-pi/door/destination", "OPEN")};  // v4's tree
  const std::vector<Message> out = homie_cleanup(found, homie_announce(after, kV5), after, kV5);
  CHECK(out == std::vector<Message>{retained("homie/5/garage-pi/door/destination", "")});
}

namespace {

// A GoveeSensor section "Sensor_Govee" shown as "Govee", with its tree
// and one device's two leaves, as build_device makes them.
Device with_tree_device() {
  Device d = every_component();
  d.trees.push_back(
      Tree{"Sensor_Govee", "Govee", "sr/govee", {{"temp_c", "temperature"}, {"humi", "humidity"}}});
  for (const char* leaf : {"temp_c", "humi"}) {
    Entity e = entity("Sensor_Govee", leaf, std::string("Govee GVH5075_2762 ") + leaf, Component::Sensor);
    e.id = sanitize_id(std::string("Sensor_Govee_GVH5075_2762_") + leaf);
    e.value_type = SR_VALUE_NUMBER;
    e.label = leaf;
    e.state_topic = std::string("sr/govee/GVH5075_2762/") + leaf;
    e.tree_device = "GVH5075_2762";
    e.tree_device_name = "Govee GVH5075_2762";
    d.entities.insert(d.entities.end() - 1, e);  // before the Refresh button
  }
  return d;
}

}  // namespace

TEST_CASE(
    "Homie: a tree device is a node of its own, named by section and device; found again by that name") {
  const Device d = with_tree_device();
  const std::vector<Message> a = homie_announce(d, kV4);
  CHECK(payload_of(a, "homie/garage-pi/$nodes") ==
        "temp-sensor-1,door,relay,exec,sensor-govee-gvh5075-2762,sensor-reporter");
  CHECK(payload_of(a, "homie/garage-pi/sensor-govee-gvh5075-2762/$name") == "Govee GVH5075_2762");
  CHECK(payload_of(a, "homie/garage-pi/sensor-govee-gvh5075-2762/$properties") == "temp-c,humi");
  CHECK(payload_of(a, "homie/garage-pi/sensor-govee-gvh5075-2762/humi/$name") == "humi");
  const std::vector<HomieRoute> routes = homie_routes(d, kV4);
  const HomieRoute* route = route_for(routes, "homie/garage-pi/sensor-govee-gvh5075-2762/temp-c");
  REQUIRE(route);
  CHECK(route->state_topic == "sr/govee/GVH5075_2762/temp_c");

  const std::vector<TreeDeviceRef> one{{"Sensor_Govee", "GVH5075_2762"}};
  Device empty = every_component();
  empty.trees = d.trees;
  CHECK(homie_tree_devices(a, empty, kV4) == one);
  CHECK(homie_tree_devices(homie_announce(d, kV5), empty, kV5) == one);
  SUBCASE("a node named like one whose id is not the device's, another device's, or no tree: nothing") {
    const std::vector<Message> found{
        retained("homie/garage-pi/door/$name", "Govee GVH5075_2762"),
        retained("homie/garage-pi/sensor-govee-x/$name", "Govee y"),
        retained("homie/kitchen/sensor-govee-gvh5075-2762/$name", "Govee GVH5075_2762"),
        retained("homie/garage-pi/sensor-govee-gvh5075-2762/$name", "")};
    CHECK(homie_tree_devices(found, empty, kV4).empty());
    CHECK(homie_tree_devices(a, every_component(), kV4).empty());
    CHECK(homie_tree_devices({retained("homie/5/garage-pi/$description", "not json")}, empty, kV5).empty());
  }
}
