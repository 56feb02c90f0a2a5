// The kernel-device classes in the real daemon: IioSensor, HwmonSensor and
// DhtSensor reading fixture trees shaped like a Raspberry Pi's sysfs
// (test/data/kernel, through their Root key), their readings on a real
// mosquitto; and the original's README example for DhtSensor (reference
// Appendix A.10: openHAB REST, an AM2302 on pin 7, °F) against the openHAB
// double, with a fixture standing in for the sensor. The kernel's own
// drivers are the VM tier's (test/vm/guest/tests/60-kernel-sensors.sh).
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/openhab_double.h"
#include "support/original_examples.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <signal.h>

#include <filesystem>
#include <string>

using namespace sr::test;
using namespace std::chrono_literals;

namespace {

std::string fixture(const std::string& name) { return source_dir() + "/test/data/kernel/" + name; }

// A private broker and a client that hears everything under sr/.
struct Wire {
  Broker broker;
  MqttClient client{broker.port()};
  Wire() {
    REQUIRE(client.wait_connected(5s));
    REQUIRE(client.subscribe("sr/#"));
  }
};

void stop(Process& reporter) {
  reporter.signal(SIGTERM);
  CHECK(reporter.wait_exit(5s) == 0);
}

}  // namespace

TEST_CASE("IioSensor, HwmonSensor and DhtSensor publish what the drivers' files say, on MQTT") {
  Wire wire;
  MqttClient& client = wire.client;
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(wire.broker.port()) + fmt::format(R"(
[Sensor_Room]
Class = iio.iio_sensor.IioSensor
Connection = mqtt
Device = bme280
TempDest = room/temperature
HumiDest = room/humidity
PressureDest = room/pressure
Poll = 60
Root = {0}

[Sensor_Tank]
Class = iio.iio_sensor.IioSensor
Connection = mqtt
Device = 1-0048
VoltageDest = tank/voltage
VoltageChannel = voltage0
Poll = 60
Root = {0}

[Sensor_CPU]
Class = hwmon.hwmon_sensor.HwmonSensor
Connection = mqtt
Chip = cpu_thermal
TempDest = pi/cpu
TempUnit = F
Poll = 60
Root = {0}

[Sensor_Garden]
Class = gpio.dht_sensor.DhtSensor
Connection = mqtt
Sensor = DHT22
Pin = 17
TempDest = garden/temperature
HumiDest = garden/humidity
Poll = 60
Root = {0}
)",
                                                                                     fixture("pi")));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"sr/room/temperature", "25.08"}, {"sr/room/humidity", "46.333"}, {"sr/room/pressure", "1006.533"},
      {"sr/tank/voltage", "1.024"},     {"sr/pi/cpu", "118.962"},       {"sr/garden/temperature", "-5.3"},
      {"sr/garden/humidity", "81.2"}};
  for (const auto& [topic, payload] : expected) {
    CAPTURE(topic);
    CHECK_MESSAGE(client.wait_for_message(topic, payload, 10s), reporter->output());
  }
  CHECK(reporter->wait_for_output(
      "[Sensor_Room] reading iio:device2 (bme280 on 1-0076): temp -> room/temperature, "
      "humidityrelative -> room/humidity, pressure -> room/pressure",
      1s));
  CHECK(reporter->wait_for_output("[Sensor_Garden] reading iio:device1 (dht11@11 on dht11@11)", 1s));
  // A refresh republishes every destination's reading without reading again.
  client.clear();
  REQUIRE(client.publish("sr/refresh", "now"));
  for (const auto& [topic, payload] : expected) CHECK(client.wait_for_message(topic, payload, 5s));
  stop(*reporter);
  CHECK(reporter->output().find("ERROR") == std::string::npos);
}

TEST_CASE("a device that is not there: the error lists what there is, the other sections go on") {
  Wire wire;
  MqttClient& client = wire.client;
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(wire.broker.port()) + fmt::format(R"(
[Sensor_Missing]
Class = iio.iio_sensor.IioSensor
Connection = mqtt
Device = sht4x
TempDest = gone
Poll = 60
Root = {0}

[Sensor_Board]
Class = hwmon.hwmon_sensor.HwmonSensor
Connection = mqtt
Chip = sht3x
TempDest = board/t
HumiDest = board/h
Poll = 60
Root = {0}
)",
                                                                                     fixture("pi")));
  CHECK(client.wait_for_message("sr/board/t", "22.875", 10s));
  CHECK(client.wait_for_message("sr/board/h", "51.25", 5s));
  CHECK(reporter->wait_for_output(
      "ERROR   [Sensor_Missing] Device: no IIO device 'sht4x' in " + fixture("pi") +
          "/sys/bus/iio/devices; there are: iio:device0 (dht11@4 on dht11@4), iio:device1 (dht11@11 on "
          "dht11@11), "
          "iio:device2 (bme280 on 1-0076), iio:device3 (ads1015 on 1-0048), iio:device4 (xadc, label "
          "fpga-monitor on xadc)",
      5s));
  stop(*reporter);
}

TEST_CASE("the original's DhtSensor example runs: openHAB, an AM2302 on pin 7, °F, a fixture as the sensor") {
  // The pi fixture with its first DHT moved to pin 7.
  TempDir tree;
  std::filesystem::copy(
      fixture("pi"), tree.path(),
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  const std::string gpios = tree.path() + "/sys/firmware/devicetree/base/dht11@4/gpios";
  std::filesystem::remove(gpios);
  write_file(gpios, std::string("\0\0\0\x7b\0\0\0\x07\0\0\0\0", 12));

  OpenhabDouble openhab(
      "oh2", {"--item", "Test_Refresh:Switch", "--item", "temperature:Number", "--item", "humidity:Number"});
  // gpio/README.md lines 36-57 of the INI era, word for word but for the
  // URL (the double's) and Root (the fixture).
  const std::string ini = original_openhab_head(openhab.url()) + fmt::format(R"(
[Sensor1]
Class = gpio.dht_sensor.DhtSensor
Connection = openHAB
Poll = 2
Sensor = AM2302
Pin = 7
HumiDest = humidity
TempDest = temperature
TempUnit = F
Smoothing = False
Level = DEBUG
Root = {}
)",
                                                                             tree.path());
  TempDir dir;
  auto check = run({binary(), "--check", dir.write("gpio_readme.ini", ini)});
  CHECK(check.exit_code == 0);
  CHECK(check.err == "");
  auto reporter = start_reporter(dir, ini);
  auto temperature = openhab.wait_requests("PUT", "/rest/items/temperature/state", 1);
  REQUIRE_MESSAGE(!temperature.empty(), reporter->output());
  CHECK(temperature[0]["body"] == "70.7");  // 21.5 °C
  auto humidity = openhab.wait_requests("PUT", "/rest/items/humidity/state", 1);
  REQUIRE(!humidity.empty());
  CHECK(humidity[0]["body"] == "45.6");
  CHECK(reporter->wait_for_output("[Sensor1] reading iio:device0 (dht11@4 on dht11@4)", 1s));
  stop(*reporter);
}
