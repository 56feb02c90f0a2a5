// The seed-002 loop as shipped (conf/examples/mqtt_tasmota_co2.ini): a fake
// Tasmota SnifferBuddy publishes JSON telemetry on tele/snifferbuddy/SENSOR,
// MqttSensor reads SCD30.CarbonDioxide, a LocalConnection OnGT rule makes it
// ON/OFF, and MqttActuator switches a fake Tasmota plug on
// cmnd/plug_exhaust/POWER; all through a real mosquitto.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>
#include <memory>

using namespace sr::test;
using namespace std::chrono_literals;

namespace {

// The shipped example with the test broker's port: the file users copy is
// the file under test.
std::string shipped_example(int port) {
  std::string text = read_file(source_dir() + "/conf/examples/mqtt_tasmota_co2.ini");
  const std::string port_line = "Port = 1883\n";
  const size_t at = text.find(port_line);
  REQUIRE(at != std::string::npos);
  return text.replace(at, port_line.size(),
                      fmt::format("Port = {}\nReconnectMin = 0.2\nReconnectMax = 1\n", port));
}

std::string telemetry(int co2) {
  return fmt::format(R"({{"Time":"2022-09-06T08:52:59","ANALOG":{{"A0":542}},)"
                     R"("SCD30":{{"CarbonDioxide":{},"eCO2":787,"Temperature":71.8,"Humidity":61.6,)"
                     R"("DewPoint":57.9}},"TempUnit":"F"}})",
                     co2);
}

std::vector<std::string> payloads(const std::vector<Received>& messages) {
  std::vector<std::string> out;
  for (const Received& m : messages) out.push_back(m.payload);
  return out;
}

const char* const kPower = "cmnd/plug_exhaust/POWER";
const char* const kSensorTopic = "tele/snifferbuddy/SENSOR";

// A broker, the daemon on the shipped example, and one test client playing
// both devices: it publishes the telemetry and records what the plug gets.
struct GrowRoom {
  Broker broker;
  MqttClient tasmota{broker.port()};
  TempDir dir;
  std::unique_ptr<Process> reporter;

  GrowRoom() {
    REQUIRE(tasmota.wait_connected(5s));
    REQUIRE(tasmota.subscribe(kPower));
    REQUIRE(tasmota.subscribe("sensor_reporter/#"));
    reporter = start_reporter(dir, shipped_example(broker.port()));
    // ONLINE follows the SUBSCRIBE to the telemetry topic on the same
    // connection, which the broker handles in order.
    REQUIRE(tasmota.wait_for_message("sensor_reporter/status", "ONLINE", 10s));
  }
};

}  // namespace

TEST_CASE("seed 002: high CO2 from a Tasmota SnifferBuddy switches the Tasmota plug on, low CO2 off") {
  GrowRoom room;
  MqttClient& tasmota = room.tasmota;
  auto& reporter = room.reporter;

  tasmota.publish(kSensorTopic, telemetry(1500));
  REQUIRE(tasmota.wait_for_message(kPower, "on", 5s));
  // The reading itself also reaches MQTT under the root.
  REQUIRE(tasmota.wait_for_message("sensor_reporter/co2", "1500", 5s));

  tasmota.publish(kSensorTopic, telemetry(1200));  // OnGT: not above the threshold
  REQUIRE(tasmota.wait_for([](auto& m) { return count(m, kPower, "off") == 1; }, 5s));

  tasmota.publish(kSensorTopic, telemetry(1201));
  REQUIRE(tasmota.wait_for([](auto& m) { return count(m, kPower, "on") == 2; }, 5s));

  reporter->signal(SIGTERM);
  REQUIRE(reporter->wait_exit(5s) == 0);
  // Only the rule's commands reached the plug, as its payloads: never the
  // raw reading the actuator also hears on sensor_reporter/co2.
  CHECK(payloads(tasmota.messages(kPower)) == std::vector<std::string>{"on", "off", "on"});
  for (const Received& m : tasmota.messages(kPower)) CHECK_FALSE(m.retain);
  CHECK(reporter->output().find("WARNING") == std::string::npos);
  CHECK(reporter->output().find("ERROR") == std::string::npos);
}

TEST_CASE("seed 002: malformed telemetry is one warning naming section, topic and field; the loop goes on") {
  GrowRoom room;
  MqttClient& tasmota = room.tasmota;
  auto& reporter = room.reporter;

  tasmota.publish(kSensorTopic, R"({"SCD30":{"CarbonDioxide":)");
  REQUIRE(reporter->wait_for_output(
      "WARNING [Sensor_CO2] tele/snifferbuddy/SENSOR: no reading for SCD30.CarbonDioxide: the message is not "
      "valid JSON: '{\"SCD30\":{\"CarbonDioxide\":'",
      5s));
  tasmota.publish(kSensorTopic, R"({"SCD30":{"eCO2":1900}})");
  REQUIRE(reporter->wait_for_output(
      "WARNING [Sensor_CO2] tele/snifferbuddy/SENSOR: no reading for SCD30.CarbonDioxide: the message has no "
      "field 'CarbonDioxide'",
      5s));
  // Still listening, and the bad messages switched nothing.
  tasmota.publish(kSensorTopic, telemetry(2000));
  REQUIRE(tasmota.wait_for_message(kPower, "on", 5s));
  CHECK(payloads(tasmota.messages(kPower)) == std::vector<std::string>{"on"});
  CHECK(payloads(tasmota.messages("sensor_reporter/co2")) == std::vector<std::string>{"2000"});

  reporter->signal(SIGTERM);
  REQUIRE(reporter->wait_exit(5s) == 0);
  CHECK(occurrences(reporter->output(), "WARNING") == 2);
  CHECK(reporter->output().find("ERROR") == std::string::npos);
}

TEST_CASE("MqttSensor without Field republishes another device's payload, also on refresh") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + R"(
[Sensor_PlugOnline]
Class = mqtt.mqtt_sensor.MqttSensor
Connection = mqtt
Topic = tele/plug_exhaust/LWT
Destination = plug/online
)");
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));
  observer.publish("tele/plug_exhaust/LWT", "Online");
  REQUIRE(observer.wait_for_message("sr/plug/online", "Online", 5s));
  observer.publish("sr/refresh", "now");
  REQUIRE(observer.wait_for([](auto& m) { return count(m, "sr/plug/online", "Online") == 2; }, 5s));
  reporter->signal(SIGTERM);
  REQUIRE(reporter->wait_exit(5s) == 0);
}
