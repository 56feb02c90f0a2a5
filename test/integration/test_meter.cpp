// energymeter.read_meter_values.Pafal20ec3gr in the real daemon, reading the
// meter double (support/iec_meter_double.cpp: IEC 62056-21 mode C from the
// standard, on a pseudo-terminal) with the real MQTT connection against a
// private mosquitto: a good meter's registers on the wire after a readout
// that switched to 9600 baud; a silent meter, a garbled identification, a
// garbled and a cut data message publish nothing and say why; the
// original's README example (which forgot SerialDevice) is refused by
// --check and runs once SerialDevice names the double, through the openHAB
// double.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/openhab_double.h"
#include "support/original_examples.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

using namespace sr::test;

namespace {

// The meter double on a pty of its own; path() is its SerialDevice.
class MeterDouble {
 public:
  explicit MeterDouble(std::vector<std::string> args = {}) {
    args.insert(args.begin(), SR_TEST_METER_DOUBLE);
    process_ = std::make_unique<Process>(args, std::vector<std::string>{}, true);
    REQUIRE_MESSAGE(process_->wait_for_output("\n", 10s), process_->output());
    const std::string out = process_->stdout_text();
    REQUIRE_MESSAGE(out.starts_with("pty /dev/"), out);
    path_ = out.substr(4, out.find('\n') - 4);
  }
  const std::string& path() const { return path_; }
  Process& process() { return *process_; }
  std::string log() const { return process_->output(); }

 private:
  std::unique_ptr<Process> process_;
  std::string path_;
};

std::string meter_section(const std::string& device, const std::string& connection = "mqtt") {
  return fmt::format(R"(
[Sensor_Meter]
Class = energymeter.read_meter_values.Pafal20ec3gr
Connection = {}
SerialDevice = {}
Poll = 60
Import_Dst = energy/import
Export_Dst = energy/export
)",
                     connection, device);
}

// A second sensor on the same connection: what it publishes after a refresh
// arrives after anything the meter section published before it.
const char* kSentinel = R"(
[Sensor_Sentinel]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Poll = 600
Num-Dest = sentinel/ms
Str-Dest = sentinel/text
)";

void stop(Process& reporter) {
  reporter.signal(SIGTERM);
  CHECK(reporter.wait_exit(10s) == 0);
}

// The readout of a faulty meter: it fails with `error` in the log, and
// nothing reaches the wire (checked behind a refresh and the sentinel).
void check_failed_readout(const std::string& fault, const std::string& error) {
  CAPTURE(fault);
  MeterDouble meter({"--fault", fault});
  WatchedBroker mqtt;
  MqttClient& observer = mqtt.observer;
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(mqtt.broker.port()) + meter_section(meter.path()) + kSentinel);
  INFO("daemon:\n" << reporter->output() << "\nmeter:\n" << meter.log());
  REQUIRE(reporter->wait_for_output("ERROR   [Sensor_Meter] " + meter.path() + ": " + error, 15s));
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));
  observer.clear();
  REQUIRE(observer.publish("sr/refresh", "now"));
  REQUIRE(observer.wait_for([](const auto& m) { return count_topic(m, "sr/sentinel/ms") == 1; }, 10s));
  CHECK(count_topic(observer.messages(), "sr/energy/import") == 0);
  CHECK(count_topic(observer.messages(), "sr/energy/export") == 0);
  stop(*reporter);
}

}  // namespace

TEST_CASE("a good meter: 1.8.0 and 2.8.0 as the original published them, read at 9600 baud; refresh repeats them") {
  MeterDouble meter({"--import", "048162.13", "--export", "035411.79"});
  WatchedBroker mqtt;
  MqttClient& observer = mqtt.observer;
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(mqtt.broker.port()) + meter_section(meter.path()));
  INFO("daemon:\n" << reporter->output() << "\nmeter:\n" << meter.log());
  CHECK(observer.wait_for_message("sr/energy/import", "48162.13", 15s));
  CHECK(observer.wait_for_message("sr/energy/export", "35411.79", 5s));
  // The double saw the whole exchange: sign-on at 300, the option select for
  // its 9600 baud, the port switched before it sent the data.
  CHECK(meter.process().wait_for_output("option select baud=9600", 1s));
  CHECK(meter.process().wait_for_output("data sent", 1s));
  CHECK(meter.log().find("did not switch") == std::string::npos);
  CHECK(reporter->output().find("INFO    [Sensor_Meter] meter /PAF5EC3gr00006 on " + meter.path() +
                                " offers up to 9600 baud") != std::string::npos);
  // Refresh: the values again, without a second readout.
  observer.clear();
  REQUIRE(observer.publish("sr/refresh", "now"));
  CHECK(observer.wait_for(
      [](const auto& m) { return count(m, "sr/energy/import", "48162.13") == 1 && count(m, "sr/energy/export", "35411.79") == 1; },
      10s));
  stop(*reporter);
  CHECK(occurrences(meter.log(), "sign-on") == 1);
}

TEST_CASE("a silent meter: nothing published, the error says to check the optical head") {
  check_failed_readout("silent", "the meter did not answer the sign-on within 3 s (is the optical head on the "
                                 "meter's LED?)");
}

TEST_CASE("a garbled identification: nothing published, the error quotes it log-safe") {
  check_failed_readout("garbled-identification",
                       "identification '/P\\x13F5EC\\x7f3gr00006' has no three-letter manufacturer after '/'");
}

TEST_CASE("a data message garbled in transit: the block check catches it, nothing published") {
  check_failed_readout("bad-bcc", "block check character 0x");
}

TEST_CASE("a meter that stops in the middle of its data message: nothing published") {
  check_failed_readout("cut", "the meter stopped sending after");
}

TEST_CASE("a meter without 2.8.0: the import is published, the missing export is a warning") {
  MeterDouble meter({"--fault", "no-export"});
  WatchedBroker mqtt;
  MqttClient& observer = mqtt.observer;
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(mqtt.broker.port()) + meter_section(meter.path()) + kSentinel);
  INFO("daemon:\n" << reporter->output() << "\nmeter:\n" << meter.log());
  CHECK(observer.wait_for_message("sr/energy/import", "48162.13", 15s));
  CHECK(reporter->wait_for_output("WARNING [Sensor_Meter] no 2.8.0 register in the readout", 5s));
  observer.clear();
  REQUIRE(observer.publish("sr/refresh", "now"));
  REQUIRE(observer.wait_for([](const auto& m) { return count_topic(m, "sr/sentinel/ms") == 1; }, 10s));
  CHECK(count_topic(observer.messages(), "sr/energy/export") == 0);
  stop(*reporter);
}

TEST_CASE("the original's README example: refused without SerialDevice, runs with it against openHAB") {
  // energymeter/README.md of the INI era, as written (reference Appendix A.7).
  const std::string pafal = R"(
[SensorPafal]
Class = energymeter.read_meter_values.Pafal20ec3gr
Connection = openHAB
Poll = 60
Import_Dst = Energy_ImportedTotalkWh
Export_Dst = Energy_ExportedTotalkWh
Level = INFO
)";
  OpenhabDouble openhab("oh3.3", {"--item", "Test_Refresh:Switch", "--item", "Energy_ImportedTotalkWh:Number",
                                  "--item", "Energy_ExportedTotalkWh:Number"});
  std::string text = original_openhab_head(openhab.url()) + pafal;
  TempDir dir;
  auto check = run({binary(), "--check", dir.write("pafal.ini", text)});
  CHECK(check.exit_code == 78);
  CHECK(check.err.find("[SensorPafal] SerialDevice: required key is missing") != std::string::npos);

  MeterDouble meter;
  text.replace(text.find("Poll = 60"), 9, "Poll = 60\nSerialDevice = " + meter.path());
  auto reporter = start_reporter(dir, text, "pafal_fixed.ini");
  INFO("daemon:\n" << reporter->output() << "\nmeter:\n" << meter.log() << "\nopenHAB:\n" << openhab.log());
  auto imported = openhab.wait_requests("PUT", "/rest/items/Energy_ImportedTotalkWh/state", 1);
  REQUIRE(imported.size() == 1);
  CHECK(imported[0]["body"] == "48162.13");
  auto exported = openhab.wait_requests("PUT", "/rest/items/Energy_ExportedTotalkWh/state", 1);
  REQUIRE(exported.size() == 1);
  CHECK(exported[0]["body"] == "35411.79");
  stop(*reporter);
}
