// Discovery on the wire: the real binary against a real mosquitto, a test
// client in Home Assistant's or a Homie controller's place. What a consumer
// gets (topics, JSON, retain flags), when it gets it again (connect, HA's
// birth, a broker restart), what is removed (reload, restart with fewer
// sections) and what never is (a clean stop).
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>

using namespace sr::test;
using Json = nlohmann::json;

namespace {

constexpr const char* kDeviceTopic = "homeassistant/device/garage/config";

const std::string kSections = R"(
[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Poll = 60
Num-Dest = hb/num
Str-Dest = hb/str

[Sensor_Uptime]
Class = exec.exec_sensor.ExecSensor
Connection = mqtt
Script = echo up
Destination = uptime
Poll = 60
DiscoveryName = System uptime
)";

std::string actuator(const TempDir& dir) {
  return fmt::format(R"(
[Actuator_Relay]
Class = sr_test.test.TestActuator
Connection = mqtt
CommandSrc = relay/set
Output = {}/commands.txt
)",
                     dir.path());
}

std::string discovery(const std::string& extra = "") {
  return "Discovery = homeassistant\nDeviceId = garage\nDeviceName = Garage Pi\n" + extra;
}

// The retained messages a consumer connecting now would get under `filter`.
std::vector<Received> retained(int port, const std::string& filter, size_t at_least) {
  MqttClient late(port);
  REQUIRE(late.wait_connected(5s));
  REQUIRE(late.subscribe(filter, 1));
  late.wait_for([&](const std::vector<Received>& m) { return m.size() >= at_least; }, 5s);
  std::vector<Received> out;
  for (const Received& r : late.messages())
    if (r.retain) out.push_back(r);
  return out;
}

Json last_json(const MqttClient& client, const std::string& topic) {
  auto messages = client.messages(topic);
  REQUIRE(!messages.empty());
  return Json::parse(messages.back().payload);
}

}  // namespace

TEST_CASE("Home Assistant device mode: one retained config naming every entity, then the states") {
  Broker broker;
  MqttClient ha(broker.port());
  REQUIRE(ha.wait_connected(5s));
  REQUIRE(ha.subscribe("homeassistant/#", 1));
  REQUIRE(ha.subscribe("sr/#", 1));
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port(), discovery()) + kSections + actuator(dir));

  REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, kDeviceTopic) >= 1; }, 10s));
  const Json config = last_json(ha, kDeviceTopic);
  CHECK(config["device"]["identifiers"] == Json::array({"sr_garage"}));
  CHECK(config["device"]["name"] == "Garage Pi");
  CHECK(config["device"]["manufacturer"] == "sensor_reporter");
  CHECK(config["origin"]["name"] == "sensor_reporter");
  CHECK(config["availability"] == Json::parse(R"([{"topic":"sr/status","payload_available":"ONLINE",
                                                   "payload_not_available":"OFFLINE"}])"));
  const Json& c = config["components"];
  CHECK(c.size() == 5);
  CHECK(c["sensor_heartbeat_num_dest"] == Json::parse(R"({"platform":"sensor",
      "unique_id":"sr_garage_sensor_heartbeat_num_dest","default_entity_id":"sensor.garage_sensor_heartbeat_num_dest",
      "name":"Sensor_Heartbeat","state_topic":"sr/hb/num","device_class":"duration","state_class":"measurement",
      "unit_of_measurement":"ms","entity_category":"diagnostic","qos":1})"));
  CHECK(c["sensor_heartbeat_str_dest"]["name"] == "Sensor_Heartbeat Str");
  CHECK(c["sensor_uptime_destination"]["name"] == "System uptime");
  CHECK(c["sensor_uptime_destination"]["state_topic"] == "sr/uptime");
  CHECK(c["actuator_relay_commandsrc"]["platform"] == "switch");
  CHECK(c["actuator_relay_commandsrc"]["command_topic"] == "sr/relay/set");
  CHECK(c["refresh"]["command_topic"] == "sr/refresh");

  // The states follow the config (HA subscribes to them only once it has
  // read it): a heartbeat published after the config.
  REQUIRE(ha.wait_for(
      [](auto& m) {
        auto config_at = std::find_if(m.begin(), m.end(), [](auto& r) { return r.topic == kDeviceTopic; });
        return std::any_of(config_at, m.end(), [](auto& r) { return r.topic == "sr/hb/num"; });
      },
      10s));
  auto messages = retained(broker.port(), "homeassistant/#", 1);
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].topic == kDeviceTopic);
  CHECK(messages[0].qos == 1);
  // The probe that ends the read-back is not retained and not left behind.
  CHECK(retained(broker.port(), "sr/discovery/#", 0).empty());
  CHECK(reporter->output().find("discovery: announced 5 entities to homeassistant (1 message(s))") != std::string::npos);

  SUBCASE("a clean stop leaves the config in place") {
    reporter->signal(SIGTERM);
    REQUIRE(reporter->wait_exit(5s) == 0);
    auto after = retained(broker.port(), "homeassistant/#", 1);
    REQUIRE(after.size() == 1);
    CHECK(after[0].payload == messages[0].payload);
  }
  SUBCASE("HA's birth announces again, after at most 5 s; its going away does not") {
    ha.clear();
    REQUIRE(ha.publish("homeassistant/status", "offline"));
    REQUIRE(ha.publish("homeassistant/status", "online"));
    REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, kDeviceTopic) >= 1; }, 8s));
    REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, "sr/hb/num") >= 1; }, 5s));
    CHECK(count_topic(ha.messages(), kDeviceTopic) == 1);
    CHECK(reporter->output().find("Home Assistant started; announcing again in") != std::string::npos);
  }
  SUBCASE("a broker restart (retained messages lost) announces again") {
    ha.clear();
    broker.stop();
    std::remove((broker.dir().path() + "/mosquitto.db").c_str());  // as a broker without persistence
    broker.start();
    // What HA receives once the broker is back, live or (resubscribing
    // late) retained; only then is a late consumer's view settled.
    REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, kDeviceTopic) >= 1; }, 15s));
    auto again = retained(broker.port(), "homeassistant/#", 1);
    REQUIRE(again.size() == 1);
    CHECK(again[0].payload == messages[0].payload);
  }
}

TEST_CASE("Home Assistant: a reload publishes only what changed and removes what went; ids survive renames") {
  Broker broker;
  MqttClient ha(broker.port());
  REQUIRE(ha.wait_connected(5s));
  REQUIRE(ha.subscribe("homeassistant/#", 1));
  TempDir dir;
  const std::string ini = dir.write("sr.ini", mqtt_section(broker.port(), discovery()) + kSections + actuator(dir));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, kDeviceTopic) >= 1; }, 10s));
  const Json before = last_json(ha, kDeviceTopic);

  SUBCASE("removing a section: its components go in two steps") {
    ha.clear();
    dir.write("sr.ini", mqtt_section(broker.port(), discovery()) + kSections);
    reporter.signal(SIGHUP);
    REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, kDeviceTopic) >= 2; }, 10s));
    auto sent = ha.messages(kDeviceTopic);
    const Json removal = Json::parse(sent[0].payload);
    CHECK(removal["components"]["actuator_relay_commandsrc"] == Json::parse(R"({"platform":"switch"})"));
    const Json now = Json::parse(sent[1].payload);
    CHECK_FALSE(now["components"].contains("actuator_relay_commandsrc"));
    CHECK(now["components"].size() == 4);
    auto kept = retained(broker.port(), "homeassistant/#", 1);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].payload == sent[1].payload);
  }
  SUBCASE("renaming a destination keeps every unique_id; an unchanged reload sends nothing") {
    ha.clear();
    std::string renamed = kSections;
    renamed.replace(renamed.find("hb/num"), 6, "heartbeat/ms");
    dir.write("sr.ini", mqtt_section(broker.port(), discovery()) + renamed + actuator(dir));
    reporter.signal(SIGHUP);
    REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, kDeviceTopic) >= 1; }, 10s));
    const Json after = last_json(ha, kDeviceTopic);
    CHECK(after["components"]["sensor_heartbeat_num_dest"]["state_topic"] == "sr/heartbeat/ms");
    for (const auto& [key, value] : before["components"].items())
      CHECK(after["components"][key].value("unique_id", "") == value.value("unique_id", ""));

    // A reload with nothing changed, then a refresh: the reporter handles
    // them in order on one connection, so a config sent for the reload
    // would reach the broker before the refreshed heartbeat.
    REQUIRE(ha.subscribe("sr/#", 1));
    ha.clear();
    const size_t from = reporter.output().size();
    reporter.signal(SIGHUP);
    REQUIRE(reporter.wait_for_output("reloaded", 10s, from));
    REQUIRE(ha.publish("sr/refresh", "now", 1));
    REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, "sr/heartbeat/ms") >= 1; }, 10s));
    CHECK(count_topic(ha.messages(), kDeviceTopic) == 0);
  }
}

TEST_CASE("Home Assistant component mode: a restart with fewer sections deletes the retained leftovers") {
  Broker broker;
  TempDir dir;
  const std::string mode = discovery("DiscoveryMode = component\n");
  {
    auto first = start_reporter(dir, mqtt_section(broker.port(), mode) + kSections + actuator(dir));
    REQUIRE(first->wait_for_output("discovery: announced 5 entities", 10s));
    first->signal(SIGTERM);
    REQUIRE(first->wait_exit(5s) == 0);
  }
  auto before = retained(broker.port(), "homeassistant/#", 5);
  REQUIRE(before.size() == 5);
  CHECK(std::any_of(before.begin(), before.end(), [](auto& r) {
    return r.topic == "homeassistant/switch/garage/actuator_relay_commandsrc/config";
  }));

  MqttClient ha(broker.port());
  REQUIRE(ha.wait_connected(5s));
  REQUIRE(ha.subscribe("homeassistant/#", 1));
  auto second = start_reporter(dir, mqtt_section(broker.port(), mode) + kSections);
  REQUIRE(ha.wait_for_message("homeassistant/switch/garage/actuator_relay_commandsrc/config", "", 10s));
  REQUIRE(ha.wait_for([](auto& m) { return count_topic(m, "homeassistant/button/garage/refresh/config") >= 2; }, 10s));
  CHECK(second->output().find("discovery: announced 4 entities") != std::string::npos);
  auto after = retained(broker.port(), "homeassistant/#", 4);
  CHECK(after.size() == 4);
  CHECK(std::none_of(after.begin(), after.end(), [](auto& r) { return r.topic.find("actuator_relay") != std::string::npos; }));
  for (const Received& r : after) {
    const Json j = Json::parse(r.payload);
    CHECK(j["availability"][0]["topic"] == "sr/status");
    CHECK(j["device"]["identifiers"] == Json::array({"sr_garage"}));
  }
}

TEST_CASE("Homie v4: init, attributes, ready; values mirrored; /set reaches the actuator; Will lost") {
  Broker broker;
  MqttClient controller(broker.port());
  REQUIRE(controller.wait_connected(5s));
  REQUIRE(controller.subscribe("homie/#", 1));
  TempDir dir;
  auto reporter = start_reporter(
      dir, mqtt_section(broker.port(), "Discovery = homie\nDeviceId = garage\nDeviceName = Garage Pi\n") + kSections +
               actuator(dir));
  REQUIRE(controller.wait_for_message("homie/garage/$state", "ready", 10s));
  auto m = controller.messages();
  auto index = [&](const std::string& topic, const std::string& payload) {
    for (size_t i = 0; i < m.size(); ++i)
      if (m[i].topic == topic && m[i].payload == payload) return static_cast<long>(i);
    return -1L;
  };
  CHECK(index("homie/garage/$state", "init") >= 0);
  CHECK(index("homie/garage/$state", "init") < index("homie/garage/$homie", "4.0.0"));
  CHECK(index("homie/garage/$homie", "4.0.0") < index("homie/garage/$state", "ready"));
  CHECK(index("homie/garage/$nodes", "sensor-heartbeat,sensor-uptime,actuator-relay,sensor-reporter") >= 0);
  CHECK(index("homie/garage/sensor-heartbeat/num-dest/$datatype", "float") >= 0);
  CHECK(index("homie/garage/sensor-heartbeat/num-dest/$unit", "ms") >= 0);
  CHECK(index("homie/garage/actuator-relay/commandsrc/$settable", "true") >= 0);
  // Values appear on the property topics, retained as the convention says.
  REQUIRE(controller.wait_for_message("homie/garage/sensor-uptime/destination", "up", 10s));
  REQUIRE(controller.wait_for([](auto& all) { return count_topic(all, "homie/garage/sensor-heartbeat/num-dest") >= 1; }, 10s));

  REQUIRE(controller.publish("homie/garage/actuator-relay/commandsrc/set", "ON", 1));
  REQUIRE(controller.wait_for_message("homie/garage/actuator-relay/commandsrc", "ON", 10s));
  CHECK(read_file(dir.path() + "/commands.txt") == "relay/set ON\n");

  SUBCASE("a crash: the broker sets $state lost") {
    reporter->signal(SIGKILL);
    REQUIRE(controller.wait_for_message("homie/garage/$state", "lost", 10s));
  }
  SUBCASE("a clean stop: $state disconnected, then status OFFLINE") {
    REQUIRE(controller.subscribe("sr/status", 1));
    reporter->signal(SIGTERM);
    REQUIRE(reporter->wait_exit(5s) == 0);
    REQUIRE(controller.wait_for_message("homie/garage/$state", "disconnected", 5s));
    REQUIRE(controller.wait_for_message("sr/status", "OFFLINE", 5s));
  }
}

TEST_CASE("Homie v5: one $description; a restart with the same sections keeps its version") {
  Broker broker;
  TempDir dir;
  const std::string section =
      mqtt_section(broker.port(), "Discovery = homie\nHomieVersion = 5\nDeviceId = garage\n") + kSections;
  Json first;
  {
    MqttClient controller(broker.port());
    REQUIRE(controller.wait_connected(5s));
    REQUIRE(controller.subscribe("homie/5/#", 1));
    auto reporter = start_reporter(dir, section);
    REQUIRE(controller.wait_for_message("homie/5/garage/$state", "ready", 10s));
    first = last_json(controller, "homie/5/garage/$description");
    CHECK(first["homie"] == "5.0");
    CHECK(first["nodes"]["sensor-heartbeat"]["properties"]["num-dest"]["datatype"] == "float");
    CHECK(first["nodes"]["sensor-reporter"]["properties"]["refresh"]["settable"] == true);
    reporter->signal(SIGTERM);
    REQUIRE(reporter->wait_exit(5s) == 0);
  }
  MqttClient controller(broker.port());
  REQUIRE(controller.wait_connected(5s));
  REQUIRE(controller.subscribe("homie/5/#", 1));
  auto reporter = start_reporter(dir, section);
  REQUIRE(controller.wait_for([](auto& m) { return count(m, "homie/5/garage/$state", "ready") >= 1; }, 10s));
  CHECK(last_json(controller, "homie/5/garage/$description")["version"] == first["version"]);
}
