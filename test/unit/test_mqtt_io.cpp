// MqttSensor and MqttActuator through the module's own trampolines, and the
// JSON field reader they rely on: what reaches the host for each message,
// command and malformed input.
#include "host/envelope.h"
#include "mqtt/json_field.hpp"
#include "mqtt/mqtt_actuator.hpp"
#include "mqtt/mqtt_sensor.hpp"

#include <sensor_reporter/testing.hpp>

#include <doctest/doctest.h>

using sr::mqtt::envelope_value;
using sr::mqtt::extract_field;
using sr::mqtt::FieldError;
using sr::mqtt::MqttActuator;
using sr::mqtt::MqttSensor;
using sr::sdk::testing::FakeHost;
using sr::sdk::testing::Instance;
using sr::sdk::testing::LogLine;
using sr::sdk::testing::Published;
using sr::sdk::testing::Subscription;

namespace {

// Seed 002: what a SnifferBuddy (Tasmota with an SCD30) publishes on
// tele/snifferbuddy/SENSOR.
const std::string kTasmota =
    R"({"Time":"2022-09-06T08:52:59","ANALOG":{"A0":542},)"
    R"("SCD30":{"CarbonDioxide":814,"eCO2":787,"Temperature":71.8,"Humidity":61.6,"DewPoint":57.9},"TempUnit":"F"})";

std::string value_of(std::string_view payload, std::string_view path) {
  auto result = extract_field(payload, path);
  REQUIRE_MESSAGE(std::holds_alternative<std::string>(result), std::get<FieldError>(result).why);
  return std::get<std::string>(result);
}

std::string error_of(std::string_view payload, std::string_view path) {
  auto result = extract_field(payload, path);
  REQUIRE(std::holds_alternative<FieldError>(result));
  return std::get<FieldError>(result).why;
}

}  // namespace

TEST_CASE("extract_field reads a Tasmota telemetry value as JSON wrote it") {
  CHECK(value_of(kTasmota, "SCD30.CarbonDioxide") == "814");
  CHECK(value_of(kTasmota, "SCD30.Temperature") == "71.8");
  CHECK(value_of(kTasmota, "TempUnit") == "F");
  CHECK(value_of(kTasmota, "ANALOG.A0") == "542");
  CHECK(value_of(R"({"a":{"on":true}})", "a.on") == "true");
  CHECK(value_of(R"({"v":-0.5e3})", "v") == "-500.0");
}

TEST_CASE("extract_field names what is wrong instead of throwing") {
  CHECK(error_of("{\"SCD30\":", "SCD30.CarbonDioxide") == "is not valid JSON");
  CHECK(error_of("", "SCD30") == "is not valid JSON");
  CHECK(error_of("814", "SCD30") == "has no field (the value above 'SCD30' is not an object)");
  CHECK(error_of(kTasmota, "SCD30.CO2") == "has no field 'CO2'");
  CHECK(error_of(kTasmota, "SCD40.CarbonDioxide") == "has no field 'SCD40'");
  CHECK(error_of(kTasmota, "TempUnit.x") == "has no field (the value above 'x' is not an object)");
  CHECK(error_of(kTasmota, "SCD30") == "holds object, not a value");
  CHECK(error_of(R"({"a":[1,2]})", "a") == "holds array, not a value");
  CHECK(error_of(R"({"a":null})", "a") == "holds null, not a value");
}

TEST_CASE("envelope_value gives back the reading of a Format = json envelope exactly as it was published") {
  const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1796586242));
  for (const std::string reading :
       {"21.50", "1e5", "-0", "007", "nan", "ON", "", "00:01:05", "say \"hi\", then {}", "back\\slash",
        "line\nbreak", "°C", "9007199254740993"}) {
    const std::string envelope = sr::json_envelope(reading, "°F", at, "Sensor \"1\"");
    INFO(envelope);
    CHECK(envelope_value(envelope) == reading);
  }
  // Anything else passes unchanged: a raw reading, another device's JSON.
  CHECK(envelope_value("21.5") == "21.5");
  CHECK(envelope_value(kTasmota) == kTasmota);
  CHECK(envelope_value(R"({"value":)") == R"({"value":)");
  CHECK(envelope_value(R"({"value":[1,2]})") == R"({"value":[1,2]})");
  // MqttSensor's Field = value reads another reporter's envelope (as JSON's shortest form).
  CHECK(value_of(sr::json_envelope("21.50", "°C", at, "S"), "value") == "21.5");
}

TEST_CASE("MqttSensor listens to its whole topic and publishes one JSON field as its reading") {
  FakeHost host;
  Instance<MqttSensor> sensor(
      host,
      {{"Topic", "tele/snifferbuddy/SENSOR"}, {"Field", "SCD30.CarbonDioxide"}, {"Destination", "co2"}});
  CHECK(host.subscriptions() ==
        std::vector<Subscription>{{"tele/snifferbuddy/SENSOR", SR_SUBSCRIBE_ABSOLUTE}});
  CHECK(sensor.refresh() == SR_OK);
  CHECK(host.published().empty());  // nothing heard yet: nothing to repeat

  CHECK(sensor.command("tele/snifferbuddy/SENSOR", kTasmota) == SR_OK);
  CHECK(host.published() == std::vector<Published>{{"co2", "814", 0}});
  CHECK(sensor.refresh() == SR_OK);
  CHECK(host.payloads_to("co2") == std::vector<std::string>{"814", "814"});
  CHECK(host.logs().empty());
}

TEST_CASE("MqttSensor: a malformed message or a missing field is one warning, and the last reading stays") {
  FakeHost host;
  Instance<MqttSensor> sensor(
      host,
      {{"Topic", "tele/snifferbuddy/SENSOR"}, {"Field", "SCD30.CarbonDioxide"}, {"Destination", "co2"}});
  REQUIRE(sensor.command("tele/snifferbuddy/SENSOR", kTasmota) == SR_OK);
  host.clear();

  CHECK(sensor.command("tele/snifferbuddy/SENSOR", "{\"SCD30\":{") == SR_OK);
  CHECK(sensor.command("tele/snifferbuddy/SENSOR", R"({"SCD30":{"eCO2":787}})") == SR_OK);
  CHECK(host.published().empty());
  CHECK(host.logs() ==
        std::vector<LogLine>{
            {SR_LOG_WARNING,
             "tele/snifferbuddy/SENSOR: no reading for SCD30.CarbonDioxide: the message is not valid JSON: "
             "'{\"SCD30\":{'"},
            {SR_LOG_WARNING,
             "tele/snifferbuddy/SENSOR: no reading for SCD30.CarbonDioxide: the message has no field "
             "'CarbonDioxide': '{\"SCD30\":{\"eCO2\":787}}'"}});
  CHECK(sensor.refresh() == SR_OK);
  CHECK(host.payloads_to("co2") == std::vector<std::string>{"814"});
}

TEST_CASE("MqttSensor without Field publishes the payload itself") {
  FakeHost host;
  Instance<MqttSensor> sensor(host, {{"Topic", "tele/plug/LWT"}, {"Destination", "plug/online"}});
  CHECK(sensor.command("tele/plug/LWT", "Offline") == SR_OK);
  CHECK(sensor.command("tele/plug/LWT", "{not json") == SR_OK);
  CHECK(host.payloads_to("plug/online") == std::vector<std::string>{"Offline", "{not json"});
}

TEST_CASE("MqttActuator maps commands to payloads on its whole topic, case-insensitively") {
  FakeHost host;
  Instance<MqttActuator> plug(host, {{"CommandSrc", "co2"},
                                     {"Topic", "cmnd/plug_fillerup/POWER"},
                                     {"Payloads", "ON=on, OFF = off,TOGGLE=toggle"}});
  CHECK(host.subscriptions() == std::vector<Subscription>{{"co2", 0}});
  CHECK(plug.command("co2", "ON") == SR_OK);
  CHECK(plug.command("co2", " off ") == SR_OK);
  CHECK(plug.command("co2", "Toggle") == SR_OK);
  CHECK(host.published() ==
        std::vector<Published>{{"cmnd/plug_fillerup/POWER", "on", SR_PUBLISH_ABSOLUTE},
                               {"cmnd/plug_fillerup/POWER", "off", SR_PUBLISH_ABSOLUTE},
                               {"cmnd/plug_fillerup/POWER", "toggle", SR_PUBLISH_ABSOLUTE}});
  // The rule's own input, heard through MQTT on <RootTopic>/co2: not for the plug.
  CHECK(plug.command("co2", "1200") == SR_OK);
  CHECK(host.published().size() == 3);
  CHECK(host.logs() == std::vector<LogLine>{{SR_LOG_DEBUG,
                                             "command '1200' is not in Payloads; not forwarded to "
                                             "cmnd/plug_fillerup/POWER"}});
  CHECK(plug.refresh() == SR_OK);
  CHECK(host.published().size() == 3);  // no state of its own
}

TEST_CASE("MqttActuator without Payloads forwards every command unchanged") {
  FakeHost host;
  Instance<MqttActuator> plug(host, {{"CommandSrc", "say"}, {"Topic", "cmnd/speaker/Say"}});
  CHECK(plug.command("say", "hello world") == SR_OK);
  CHECK(host.published() == std::vector<Published>{{"cmnd/speaker/Say", "hello world", SR_PUBLISH_ABSOLUTE}});
}

TEST_CASE("MqttActuator refuses a malformed Payloads in --check and at create") {
  using Problems = std::vector<sr::sdk::testing::CheckProblem>;
  const auto with = [](const char* payloads) {
    return Instance<MqttActuator>::check({{"CommandSrc", "c"}, {"Topic", "t"}, {"Payloads", payloads}});
  };
  CHECK(with("ON=on, OFF=off").empty());
  CHECK(with("ON=on, OFF") == Problems{{SR_LOG_ERROR, "Payloads", "'OFF' is not COMMAND=payload"}});
  CHECK(with("=on") == Problems{{SR_LOG_ERROR, "Payloads", "'=on' is not COMMAND=payload"}});
  CHECK(with("ON=on,on=1") == Problems{{SR_LOG_ERROR, "Payloads", "command on is mapped twice"}});
  CHECK(Instance<MqttActuator>::try_create({{"CommandSrc", "c"}, {"Topic", "t"}, {"Payloads", "ON"}}) ==
        "Payloads: 'ON' is not COMMAND=payload");
}
