// Payload formats on the wire (Format = raw | json, docs/mqtt.md "Payload
// formats"): the real binary, a real mosquitto and a subscriber that parses
// what arrives. A section's Format over its connection's over raw; the
// envelope's value, unit, time and section; actuator echoes kept raw so they
// still read as commands; a LocalConnection's rules fed bare readings; Home
// Assistant told to read the envelope, Homie given the bare value.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <regex>

using namespace sr::test;
using namespace std::chrono_literals;
using Json = nlohmann::ordered_json;

namespace {

constexpr const char* kMac = "28-0123456789ab";

// A w1_therm reading of 21.5 °C under <dir>/w1 (Ds18x20Sensor's Root).
std::string w1_root(const TempDir& dir) {
  const std::string devices = dir.path() + "/w1/sys/bus/w1/devices/" + kMac;
  std::filesystem::create_directories(devices);
  write_file(devices + "/w1_slave",
             "58 01 4b 46 7f ff 0c 10 c2 : crc=c2 YES\n58 01 4b 46 7f ff 0c 10 c2 t=21500\n");
  return dir.path() + "/w1";
}

std::string last_payload(const MqttClient& client, const std::string& topic) {
  auto messages = client.messages(topic);
  REQUIRE_MESSAGE(!messages.empty(), topic);
  return messages.back().payload;
}

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

// "2026-12-06T19:44:02.123Z" -> the time point; fails the test on any other shape.
std::chrono::system_clock::time_point parse_time(const std::string& text) {
  static const std::regex shape(R"((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z)");
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_match(text, m, shape), text);
  std::tm utc{};
  utc.tm_year = std::stoi(m[1]) - 1900;
  utc.tm_mon = std::stoi(m[2]) - 1;
  utc.tm_mday = std::stoi(m[3]);
  utc.tm_hour = std::stoi(m[4]);
  utc.tm_min = std::stoi(m[5]);
  utc.tm_sec = std::stoi(m[6]);
  return std::chrono::system_clock::from_time_t(timegm(&utc)) + std::chrono::milliseconds(std::stoi(m[7]));
}

// The envelope on `topic`: its keys in order, and a time between `before`
// and now (the host's clock at publish, UTC; whole milliseconds).
Json envelope(const MqttClient& client, const std::string& topic,
              std::chrono::system_clock::time_point before) {
  const std::string payload = last_payload(client, topic);
  INFO(topic << ": " << payload);
  const Json j = Json::parse(payload);  // throws, failing the test, when it is no JSON
  REQUIRE(j.is_object());
  for (const char* key : {"value", "time", "section"}) REQUIRE_MESSAGE(j.contains(key), key);
  const auto at = parse_time(j.at("time").get<std::string>());
  CHECK(at >= std::chrono::floor<std::chrono::milliseconds>(before));
  CHECK(at <= std::chrono::system_clock::now());
  return j;
}

// SIGTERM: exit 0, and nothing went wrong on the way.
void stop_cleanly(Process& reporter) {
  reporter.signal(SIGTERM);
  CHECK(reporter.wait_exit(10s) == 0);
  INFO(reporter.output());
  CHECK(reporter.output().find(" ERROR ") == std::string::npos);
}

// A subscriber to `filters` on the test's broker, connected.
std::unique_ptr<MqttClient> watching(const Broker& broker, std::initializer_list<const char*> filters) {
  auto client = std::make_unique<MqttClient>(broker.port());
  REQUIRE(client->wait_connected(5s));
  for (const char* filter : filters) REQUIRE(client->subscribe(filter, 1));
  return client;
}

// A second MqttConnection next to reporter.h's `mqtt`: its Name is also its
// RootTopic.
std::string second_connection(int port, const std::string& name, const std::string& extra) {
  return fmt::format(
      "\n[Connection_{0}]\nClass = mqtt.mqtt_conn.MqttConnection\nName = {0}\nHost = 127.0.0.1\n"
      "Port = {1}\nRootTopic = {0}\nClient = reporter-{0}\n{2}\n",
      name, port, extra);
}

bool is_integer_text(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

TEST_CASE(
    "Format: a section's own, else its connection's, else raw; envelopes carry value, unit, time, section") {
  Broker broker;
  auto client = watching(broker, {"sr/#", "plain/#"});
  MqttClient& watcher = *client;
  TempDir dir;
  const auto before = std::chrono::system_clock::now();
  // Polls far apart: each sensor's one reading at start is what is checked.
  auto reporter = start_reporter(dir, mqtt_section(broker.port(), "Format = json\nQoS = 1\n") +
                                          second_connection(broker.port(), "plain", "QoS = 1") +
                                          fmt::format(R"(
[Connection_Local]
Class = local.local_conn.LocalConnection
Name = local

[Sensor_Temp]
Class = one_wire.ds18x20_sensor.Ds18x20Sensor
Connection = mqtt, plain
Mac = {mac}
Root = {root}
TempUnit = F
Destination = temp
Poll = 3600

[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Format = raw
Num-Dest = hb/num
Str-Dest = hb/str
Poll = 3600

[Sensor_Text "quoted"]
Class = sr_test.test.TestSensor
Connection = plain, local
Format = JSON
Destination = text
Poll = 3600
Values = he said "hi" \ 007

[Actuator_Echo]
Class = sr_test.test.TestActuator
Connection = mqtt
CommandSrc = relay
Output = {dir}/relay.txt

[Actuator_State]
Class = sr_test.test.TestActuator
Connection = mqtt
CommandSrc = lamp
StateDest = lamp/state
Output = {dir}/lamp.txt

[Actuator_Local]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = text
Output = {dir}/local.txt
)",
                                                      fmt::arg("mac", kMac), fmt::arg("root", w1_root(dir)),
                                                      fmt::arg("dir", dir.path())));
  INFO("daemon log:\n" << reporter->output());
  REQUIRE(watcher.wait_for(
      [](auto& m) {
        for (const char* topic : {"sr/temp", "plain/temp", "sr/hb/num", "sr/hb/str", "plain/text"})
          if (count_topic(m, topic) == 0) return false;
        return true;
      },
      10s));

  SUBCASE("the connection's json for a section that says nothing: a number with the unit TempUnit chose") {
    const Json temp = envelope(watcher, "sr/temp", before);
    CHECK(keys_of(temp) == std::vector<std::string>{"value", "unit", "time", "section"});
    CHECK(temp["value"].is_number());
    CHECK(temp["value"].get<double>() == doctest::Approx(70.7));
    CHECK(last_payload(watcher, "sr/temp").starts_with(R"({"value":70.7,"unit":"°F","time":")"));
    CHECK(temp["section"] == "Sensor_Temp");
    // The same reading through a connection without Format: raw.
    CHECK(last_payload(watcher, "plain/temp") == "70.7");
  }
  SUBCASE("a section's raw wins over its connection's json") {
    CHECK(is_integer_text(last_payload(watcher, "sr/hb/num")));
    CHECK(std::regex_match(last_payload(watcher, "sr/hb/str"), std::regex(R"(\d\d:\d\d:\d\d)")));
  }
  SUBCASE("a section's json wins over its connection's raw: a string, escaped; no unit, no key") {
    const Json text = envelope(watcher, "plain/text", before);
    CHECK(keys_of(text) == std::vector<std::string>{"value", "time", "section"});
    CHECK(text["value"] == R"(he said "hi" \ 007)");
    CHECK(text["section"] == R"(Sensor_Text "quoted")");
    // A LocalConnection takes raw only: its actuator got the bare reading.
    REQUIRE(
        wait_until([&] { return read_file(dir.file("local.txt")) == "text he said \"hi\" \\ 007\n"; }, 10s));
  }
  SUBCASE("an actuator's state: its StateDest in the envelope, its echo raw and never run as a command") {
    REQUIRE(watcher.publish("sr/relay", "ON", 1));
    // The command and the echo.
    REQUIRE(watcher.wait_for([](auto& m) { return count(m, "sr/relay", "ON") == 2; }, 10s));
    REQUIRE(watcher.publish("sr/lamp", "OFF", 1));
    REQUIRE(watcher.wait_for([](auto& m) { return count_topic(m, "sr/lamp/state") == 1; }, 10s));
    const Json state = envelope(watcher, "sr/lamp/state", before);
    CHECK(state.dump() ==
          Json{{"value", "OFF"}, {"time", state["time"]}, {"section", "Actuator_State"}}.dump());
    // The broker handed the daemon its echo before the lamp command, so the
    // echo has been handled (dropped) by now: one line, the real command.
    CHECK(read_file(dir.file("relay.txt")) == "relay ON\n");
    CHECK(read_file(dir.file("lamp.txt")) == "lamp OFF\n");
  }
  SUBCASE("status stays ONLINE, a refresh republishes with a new time") {
    CHECK(last_payload(watcher, "sr/status") == "ONLINE");
    const std::string first = last_payload(watcher, "sr/temp");
    watcher.clear();
    const auto refresh_at = std::chrono::system_clock::now();
    REQUIRE(watcher.publish("sr/refresh", "ON", 1));
    REQUIRE(watcher.wait_for([](auto& m) { return count_topic(m, "sr/temp") == 1; }, 10s));
    const Json again = envelope(watcher, "sr/temp", refresh_at);
    CHECK(again["value"] == Json::parse(first)["value"]);
  }
  stop_cleanly(*reporter);
}

TEST_CASE("Format = json with discovery: Home Assistant reads value_json.value, Homie gets the bare value") {
  Broker broker;
  auto client = watching(broker, {"homeassistant/#", "homie/#", "sr/#", "sr2/#"});
  MqttClient& watcher = *client;
  TempDir dir;
  const auto before = std::chrono::system_clock::now();
  auto reporter = start_reporter(
      dir,
      mqtt_section(broker.port(), "Format = json\nDiscovery = homeassistant\nDeviceId = garage\n") +
          second_connection(broker.port(), "sr2", "Format = json\nDiscovery = homie\nDeviceId = garage") +
          fmt::format(R"(
[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt, sr2
Num-Dest = hb/num
Str-Dest = hb/str
Poll = 3600

[Actuator_Relay]
Class = sr_test.test.TestActuator
Connection = mqtt
CommandSrc = relay
Output = {}/relay.txt
)",
                      dir.path()));

  REQUIRE(watcher.wait_for([](auto& m) { return count_topic(m, "homeassistant/device/garage/config") >= 1; },
                           10s));
  const auto config = nlohmann::json::parse(last_payload(watcher, "homeassistant/device/garage/config"));
  const auto& components = config.at("components");
  auto template_of = [&](const char* id) { return components.at(id).value("value_template", "<none>"); };
  CHECK(template_of("sensor_heartbeat_num_dest") == "{{ value_json.value }}");
  CHECK(components.at("sensor_heartbeat_num_dest").at("unit_of_measurement") == "ms");
  CHECK(template_of("sensor_heartbeat_str_dest") == "{{ value_json.value }}");
  // The relay's state is its echo on the command topic: raw, no template.
  CHECK(components.at("actuator_relay_commandsrc").at("state_topic") == "sr/relay");
  CHECK(template_of("actuator_relay_commandsrc") == "<none>");

  // Homie mirrors after its announcement's refresh; the envelope on sr2 and
  // the property's bare value are the same reading.
  const std::string property = "homie/garage/sensor-heartbeat/num-dest";
  REQUIRE(watcher.wait_for([&](auto& m) { return count_topic(m, property) >= 1; }, 10s));
  const std::string bare = last_payload(watcher, property);
  CHECK(is_integer_text(bare));
  REQUIRE(watcher.wait_for(
      [&](auto& m) {
        return std::any_of(m.begin(), m.end(), [&](const Received& r) {
          return r.topic == "sr2/hb/num" && r.payload.starts_with("{\"value\":" + bare + ",\"unit\":\"ms\",");
        });
      },
      10s));
  const Json num = envelope(watcher, "sr/hb/num", before);
  CHECK(num.value("unit", "<none>") == "ms");
  CHECK(num["section"] == "Sensor_Heartbeat");
  CHECK(std::regex_match(last_payload(watcher, "homie/garage/sensor-heartbeat/str-dest"),
                         std::regex(R"(\d\d:\d\d:\d\d)")));
  stop_cleanly(*reporter);
}
