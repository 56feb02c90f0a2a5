// Unit tests for the kernel-device readers: the SDK's sysfs helpers
// (sensor_reporter/sysfs.hpp), finding a device and its channels
// (plugins/iio), and iio.IioSensor, hwmon.HwmonSensor and gpio.DhtSensor
// through the SDK's trampolines on the SDK's FakeHost, whose run_blocking
// runs the reads on threads of their own, against fixture trees shaped like
// a Raspberry Pi's sysfs (test/data/kernel/<case>/sys/...). The kernel's own
// drivers are the VM tier's (test/vm/guest/tests/60-kernel-sensors.sh).
#include "hwmon/hwmon_sensor.hpp"
#include "iio/channel.hpp"
#include "iio/dht_sensor.hpp"
#include "iio/iio_sensor.hpp"
#include "iio/kernel_device.hpp"

#include "support/doctest_vector.h"
#include "support/process.h"

#include <sensor_reporter/sdk.hpp>
#include <sensor_reporter/sysfs.hpp>
#include <sensor_reporter/testing.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace sr::iio;
using sr::hwmon::HwmonSensor;
using sr::sdk::testing::FakeHost;
using sr::sdk::testing::Instance;
using sr::test::TempDir;
using Values = std::vector<std::pair<std::string, std::string>>;

std::string fixture(const std::string& name) { return sr::test::source_dir() + "/test/data/kernel/" + name; }
const std::string kPi = fixture("pi");
const std::string kIio = kPi + "/sys/bus/iio/devices";
const std::string kHwmon = kPi + "/sys/class/hwmon";

// One poll through the trampoline, run until the host hears it ended
// (the reads run on threads); true when it got a reading.
template <typename T>
bool poll_once(Instance<T>& sensor) {
  FakeHost& host = sensor.host();
  const size_t before = host.poll_done_count(), failed_before = host.poll_failed_count();
  REQUIRE(sensor.poll() == SR_POLL_PENDING);
  REQUIRE_MESSAGE(host.run_until([&] { return host.poll_done_count() == before + 1; }),
                  "the poll never ended");
  return host.poll_failed_count() == failed_before;
}

std::string logs(const FakeHost& host) {
  std::string text;
  for (const auto& line : host.logs())
    text += fmt::format("{} {}\n", sr::sdk::testing::level_name(line.level), line.text);
  return text;
}

// A copy of a fixture tree that a test may change.
struct TreeCopy {
  TempDir dir;
  explicit TreeCopy(const std::string& name) {
    std::filesystem::copy(
        fixture(name), dir.path(),
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  }
  std::string root() const { return dir.path(); }
};

}  // namespace

// ---------------------------------------------------------------------------
// sensor_reporter/sysfs.hpp

TEST_CASE("parse_kernel_number reads what sysfs prints and nothing else") {
  CHECK(sr::sdk::parse_kernel_number("21500\n") == 21500);
  CHECK(sr::sdk::parse_kernel_number("-5300") == -5300);
  CHECK(sr::sdk::parse_kernel_number("0.062500000\n") == 0.0625);
  CHECK(sr::sdk::parse_kernel_number(" 100.653265625 \n") == doctest::Approx(100.653265625));
  CHECK(sr::sdk::parse_kernel_number("-0.5") == -0.5);
  CHECK(sr::sdk::parse_kernel_number("0") == 0);
  for (const char* bad : {"", "\n", "-", ".5", "5.", "+5", "1e3", "0x10", "inf", "nan", "1 2", "abc", "12a",
                          "--1", "1..2", "- 1", "1,5", "123456789012345678901234567890123456789012"}) {
    CAPTURE(bad);
    CHECK_FALSE(sr::sdk::parse_kernel_number(bad).has_value());
  }
}

TEST_CASE("read_small_file keeps the read's errno: a missing file, a driver's EIO, an oversized file") {
  sr::sdk::FileText missing = sr::sdk::read_small_file("/nonexistent/in_temp_input");
  CHECK_FALSE(missing.ok);
  CHECK(missing.error_number == ENOENT);
  CHECK(missing.error == "No such file or directory");
  // The EIO fixtures link /proc/self/mem, whose offset 0 is never mapped.
  sr::sdk::FileText eio =
      sr::sdk::read_small_file(fixture("dht_eio") + "/sys/bus/iio/devices/iio:device0/in_temp_input");
  CHECK_FALSE(eio.ok);
  CHECK(eio.error_number == EIO);
  CHECK(eio.error == "Input/output error");
  TempDir dir;
  sr::sdk::FileText big = sr::sdk::read_small_file(dir.write("big", std::string(200, '1')), 100);
  CHECK_FALSE(big.ok);
  CHECK(big.error_number == 0);
  CHECK(big.error == "larger than 100 bytes");
  CHECK(sr::sdk::read_small_file(dir.write("ok", "21500\n")).text == "21500\n");
}

TEST_CASE("format_trimmed: up to N decimals, no trailing zeros or point, never -0") {
  CHECK(sr::sdk::format_trimmed(25.08, 3) == "25.08");
  CHECK(sr::sdk::format_trimmed(1006.53265625, 3) == "1006.533");
  CHECK(sr::sdk::format_trimmed(1.024, 6) == "1.024");
  CHECK(sr::sdk::format_trimmed(2400, 0) == "2400");
  CHECK(sr::sdk::format_trimmed(-0.0004, 3) == "0");
  CHECK(sr::sdk::format_trimmed(-5.3, 3) == "-5.3");
}

// ---------------------------------------------------------------------------
// Finding a device

TEST_CASE("list_devices reads each device's name, label and parent, ordered by number") {
  std::vector<KernelDevice> devices = list_devices(kIio, "iio:device");
  REQUIRE(devices.size() == 5);
  std::vector<std::string> described;
  for (const KernelDevice& d : devices) described.push_back(describe(d));
  CHECK(described ==
        std::vector<std::string>{"iio:device0 (dht11@4 on dht11@4)", "iio:device1 (dht11@11 on dht11@11)",
                                 "iio:device2 (bme280 on 1-0076)", "iio:device3 (ads1015 on 1-0048)",
                                 "iio:device4 (xadc, label fpga-monitor on xadc)"});
  CHECK(devices[2].dir == kIio + "/iio:device2");
  CHECK(list_devices(fixture("empty") + "/sys/bus/iio/devices", "iio:device").empty());
  // hwmon4 is an old-style driver: its name is in device/.
  std::vector<KernelDevice> chips = list_devices(kHwmon, "hwmon");
  REQUIRE(chips.size() == 7);
  CHECK(chips[4].name == "lm75");
  CHECK(chips[0].parent == "thermal_zone0");
}

TEST_CASE("choose_device: directory, then label, then name, then the device it is on") {
  std::vector<KernelDevice> devices = list_devices(kIio, "iio:device");
  auto chosen = [&](const char* spec) {
    DeviceChoice c = choose_device(devices, spec, "IIO device", kIio);
    INFO(c.error);
    return c.device ? c.device->entry : std::string("none");
  };
  CHECK(chosen("iio:device3") == "iio:device3");
  CHECK(chosen("fpga-monitor") == "iio:device4");
  CHECK(chosen("bme280") == "iio:device2");
  CHECK(chosen(" bme280 ") == "iio:device2");
  CHECK(chosen("1-0048") == "iio:device3");
  CHECK(chosen("BME280") == "none");  // names are the kernel's, compared exactly
  DeviceChoice missing = choose_device(devices, "sht4x", "IIO device", kIio);
  CHECK(missing.error ==
        "no IIO device 'sht4x' in " + kIio +
            "; there are: iio:device0 (dht11@4 on dht11@4), iio:device1 (dht11@11 on dht11@11), iio:device2 "
            "(bme280 on 1-0076), iio:device3 (ads1015 on 1-0048), iio:device4 (xadc, label fpga-monitor on "
            "xadc)");
  DeviceChoice none = choose_device({}, "bme280", "IIO device", "/x/sys/bus/iio/devices");
  CHECK(none.error == "no IIO device 'bme280': /x/sys/bus/iio/devices has none (is the driver loaded?)");
}

TEST_CASE("a name two devices share is an error naming both, and the label or bus address picks one") {
  const std::string dir = fixture("two_bme280") + "/sys/bus/iio/devices";
  std::vector<KernelDevice> devices = list_devices(dir, "iio:device");
  DeviceChoice both = choose_device(devices, "bme280", "IIO device", dir);
  CHECK_FALSE(both.device);
  CHECK(both.error ==
        "more than one IIO device is called 'bme280': iio:device0 (bme280 on 1-0076), iio:device1 (bme280, "
        "label attic on 1-0077); name one by its directory, its label or the device it is on");
  CHECK(choose_device(devices, "1-0077", "IIO device", dir).device->entry == "iio:device1");
  CHECK(choose_device(devices, "attic", "IIO device", dir).device->entry == "iio:device1");
}

TEST_CASE("under_root joins a root and an absolute path without doubled slashes") {
  CHECK(under_root("/", "/sys/bus/iio/devices") == "/sys/bus/iio/devices");
  CHECK(under_root("/tmp/x/", "/sys") == "/tmp/x/sys");
  CHECK(under_root("/tmp/x", "sys") == "/tmp/x/sys");
  CHECK(under_root("", "/sys") == "/sys");
}

// ---------------------------------------------------------------------------
// IIO channels

TEST_CASE(
    "IIO channel names: the in_ prefix and _input/_raw suffix dropped, the type before index and modifier") {
  CHECK(normalize_iio_channel("temp") == "temp");
  CHECK(normalize_iio_channel("in_voltage0_raw") == "voltage0");
  CHECK(normalize_iio_channel(" in_temp_object_input ") == "temp_object");
  CHECK(normalize_iio_channel("") == "");
  CHECK(normalize_iio_channel("../name") == "");
  CHECK(normalize_iio_channel("temp 1") == "");
  CHECK(iio_channel_type("voltage0-voltage1") == "voltage");
  CHECK(iio_channel_type("temp_ambient") == "temp");
  CHECK(iio_channel_type("humidityrelative") == "humidityrelative");
  CHECK(iio_channels(file_names(kIio + "/iio:device3")) ==
        std::vector<std::string>{"voltage0", "voltage0-voltage1", "voltage1", "voltage2", "voltage3"});
}

TEST_CASE("resolve_iio_channel: _input first, else _raw with its own or the type's scale and offset") {
  const std::string bme = kIio + "/iio:device2", ads = kIio + "/iio:device3", xadc = kIio + "/iio:device4";
  ChannelChoice temp = resolve_iio_channel(bme, file_names(bme), "", "temp");
  REQUIRE(temp.files);
  CHECK(*temp.files == ChannelFiles{"temp", bme + "/in_temp_input", "", "", ""});
  ChannelChoice v0 = resolve_iio_channel(ads, file_names(ads), "voltage0", "voltage");
  REQUIRE(v0.files);
  CHECK(*v0.files == ChannelFiles{"voltage0", "", ads + "/in_voltage0_raw", ads + "/in_voltage0_scale", ""});
  ChannelChoice t0 = resolve_iio_channel(xadc, file_names(xadc), "", "temp");
  REQUIRE(t0.files);
  CHECK(*t0.files == ChannelFiles{"temp0", "", xadc + "/in_temp0_raw", xadc + "/in_temp0_scale",
                                  xadc + "/in_temp0_offset"});
  ChannelChoice v1 = resolve_iio_channel(xadc, file_names(xadc), "voltage1", "voltage");
  REQUIRE(v1.files);
  CHECK(v1.files->scale == xadc + "/in_voltage_scale");  // shared by type
  CHECK(v1.files->offset.empty());
}

TEST_CASE("resolve_iio_channel says what the device has when the channel is missing or ambiguous") {
  const std::string ads = kIio + "/iio:device3", bme = kIio + "/iio:device2";
  CHECK(resolve_iio_channel(ads, file_names(ads), "", "voltage").error ==
        "the device has more than one voltage channel (voltage0, voltage0-voltage1, voltage1, voltage2, "
        "voltage3): "
        "say which");
  CHECK(resolve_iio_channel(bme, file_names(bme), "", "voltage").error ==
        "the device has no voltage channel (it has: humidityrelative, pressure, temp)");
  CHECK(resolve_iio_channel(bme, file_names(bme), "temp2", "temp").error ==
        "the device has no channel temp2 (it has: humidityrelative, pressure, temp)");
}

TEST_CASE("read_channel: (raw + offset) x scale, as the IIO ABI says") {
  const std::string xadc = kIio + "/iio:device4";
  ChannelValue t0 = read_channel(
      ChannelFiles{"temp0", "", xadc + "/in_temp0_raw", xadc + "/in_temp0_scale", xadc + "/in_temp0_offset"});
  REQUIRE(t0.ok);
  CHECK(t0.value == doctest::Approx((2708 - 2219) * 123.040771484));
  ChannelValue missing = read_channel(ChannelFiles{"x", xadc + "/in_x_input", "", "", ""});
  CHECK_FALSE(missing.ok);
  CHECK(missing.error_number == ENOENT);
  CHECK(missing.file == xadc + "/in_x_input");
  TempDir dir;
  ChannelValue garbage = read_channel(ChannelFiles{"x", dir.write("in_x_input", "\x1b[31m12\n"), "", "", ""});
  CHECK_FALSE(garbage.ok);
  CHECK(garbage.error_number == 0);
  CHECK(garbage.error == "'\\x1b[31m12' is not a number");
}

// ---------------------------------------------------------------------------
// IioSensor

TEST_CASE(
    "IioSensor's table: every destination key declares its quantity and unit; TempUnit chooses °C or °F") {
  const sr_class_def& def = Instance<IioSensor>::def();
  CHECK(def.kind == SR_KIND_SENSOR);
  CHECK(std::string(def.path) == "iio.iio_sensor.IioSensor");
  std::vector<std::string> ios;
  for (const sr_io_def* io = def.ios; io->key; ++io)
    ios.push_back(fmt::format("{} {} {}", io->key, io->measures, io->unit ? io->unit : "-"));
  CHECK(ios == std::vector<std::string>{"TempDest temperature °C", "HumiDest humidity %",
                                        "PressureDest pressure hPa", "VoltageDest voltage V",
                                        "CurrentDest current A", "IlluminanceDest illuminance lx",
                                        "Destination IIO channel -"});
  CHECK(std::string(def.ios[0].unit_param) == "TempUnit");
  // Each output kind is a destination key of the table, with its channel key.
  for (const OutputKind& kind : kIioOutputs) {
    bool destination = false, channel = false;
    for (const sr_param_def* p = def.params; p->name; ++p) {
      destination = destination || std::string(p->name) == kind.destination_key;
      channel = channel || std::string(p->name) == kind.channel_key;
    }
    CHECK_MESSAGE(destination, kind.destination_key);
    CHECK_MESSAGE(channel, kind.channel_key);
  }
}

TEST_CASE("IioSensor reads a BME280 on a worker: temperature, humidity and pressure in °C, % and hPa") {
  FakeHost host;
  Instance<IioSensor> bme(host, {{"Device", "bme280"},
                                 {"TempDest", "room/t"},
                                 {"HumiDest", "room/h"},
                                 {"PressureDest", "room/p"},
                                 {"Poll", "60"},
                                 {"Root", kPi}});
  CHECK(poll_once(bme));
  INFO(logs(host));
  CHECK(host.payloads_to("room/t") == std::vector<std::string>{"25.08"});
  CHECK(host.payloads_to("room/h") == std::vector<std::string>{"46.333"});
  CHECK(host.payloads_to("room/p") == std::vector<std::string>{"1006.533"});
  CHECK(host.logged(SR_LOG_INFO,
                    "reading iio:device2 (bme280 on 1-0076): temp -> room/t, humidityrelative -> "
                    "room/h, pressure -> room/p"));
  REQUIRE(bme.object().sensor().found());
  // The second poll reads the files found by the first; no second INFO.
  CHECK(poll_once(bme));
  CHECK(host.logs().size() == 1);
  CHECK(host.payloads_to("room/t").size() == 2);
  // refresh republishes without reading.
  host.clear();
  CHECK(bme.refresh() == SR_OK);
  CHECK(host.published().size() == 3);
  CHECK(host.outstanding() == 0);
}

TEST_CASE(
    "IioSensor: raw x scale for an ADS1115 channel, raw + offset for a die sensor, a label, a path, °F") {
  FakeHost host;
  Instance<IioSensor> ads(host, {{"Device", "1-0048"},
                                 {"VoltageDest", "tank/v"},
                                 {"VoltageChannel", "in_voltage0_raw"},
                                 {"Destination", "tank/diff"},
                                 {"Channel", "voltage0-voltage1"},
                                 {"Poll", "1"},
                                 {"Root", kPi}});
  CHECK(poll_once(ads));
  INFO(logs(host));
  CHECK(host.payloads_to("tank/v") == std::vector<std::string>{"1.024"});    // 16384 x 0.0625 mV
  CHECK(host.payloads_to("tank/diff") == std::vector<std::string>{"1029"});  // in the ABI's unit: mV

  FakeHost host2;
  Instance<IioSensor> xadc(host2, {{"Device", "fpga-monitor"},
                                   {"TempDest", "fpga/t"},
                                   {"VoltageDest", "fpga/vccint"},
                                   {"VoltageChannel", "voltage0"},
                                   {"TempUnit", "F"},
                                   {"Poll", "1"},
                                   {"Root", kPi}});
  CHECK(poll_once(xadc));
  // (2708 - 2219) x 123.040771484 m°C = 60.167 °C = 140.3 °F; 1365 x 0.732421875 mV
  CHECK(host2.payloads_to("fpga/t") == std::vector<std::string>{"140.3"});
  CHECK(host2.payloads_to("fpga/vccint") == std::vector<std::string>{"0.999756"});

  FakeHost host3;
  Instance<IioSensor> by_path(
      host3,
      {{"Device", "/sys/bus/iio/devices/iio:device1"}, {"TempDest", "t"}, {"Poll", "1"}, {"Root", kPi}});
  CHECK(poll_once(by_path));
  CHECK(host3.payloads_to("t") == std::vector<std::string>{"-5.3"});
}

TEST_CASE(
    "IioSensor: a device or channel that is not there is an error naming what there is; the poll fails") {
  struct Case {
    Values values;
    std::string error;
  };
  for (const Case& c : {
           Case{{{"Device", "sht4x"}, {"TempDest", "t"}},
                "Device: no IIO device 'sht4x' in " + kIio + "; there are: "},
           Case{{{"Device", "/sys/bus/iio/devices/iio:device9"}, {"TempDest", "t"}},
                "Device: no IIO device at " + kIio + "/iio:device9"},
           Case{{{"Device", "ads1015"}, {"VoltageDest", "v"}},
                "VoltageDest: iio:device3 (ads1015 on 1-0048): the device has more than one voltage channel"},
           Case{{{"Device", "bme280"}, {"TempDest", "t"}, {"TempChannel", "temp_object"}},
                "TempChannel: iio:device2 (bme280 on 1-0076): the device has no channel temp_object (it has: "
                "humidityrelative, pressure, temp)"},
       }) {
    FakeHost host;
    Values values = c.values;
    values.insert(values.end(), {{"Poll", "1"}, {"Root", kPi}});
    Instance<IioSensor> sensor(host, values);
    CHECK_FALSE(poll_once(sensor));
    INFO(logs(host));
    CHECK(host.published().empty());
    REQUIRE(host.logs().size() == 1);
    CHECK(host.logs()[0].level == SR_LOG_ERROR);
    CHECK(host.logs()[0].text.find(c.error) == 0);
  }
  FakeHost host;
  Instance<IioSensor> none(
      host, {{"Device", "bme280"}, {"TempDest", "t"}, {"Poll", "1"}, {"Root", fixture("empty")}});
  CHECK_FALSE(poll_once(none));
  CHECK(host.logged(SR_LOG_ERROR, "Device: no IIO device 'bme280': " + fixture("empty") +
                                      "/sys/bus/iio/devices has none (is the driver loaded?)"));
}

TEST_CASE(
    "IioSensor keeps its files open and reads them anew each poll (pread at offset 0, as sysfs wants)") {
  TreeCopy tree("pi");
  const std::string bme = tree.root() + "/sys/bus/iio/devices/iio:device2";
  FakeHost host;
  Instance<IioSensor> sensor(host,
                             {{"Device", "bme280"}, {"TempDest", "t"}, {"Poll", "1"}, {"Root", tree.root()}});
  CHECK(poll_once(sensor));
  sr::test::write_file(bme + "/in_temp_input", "-12345\n");  // the same file, new content
  CHECK(poll_once(sensor));
  sr::test::write_file(bme + "/in_temp_input", "7\n");
  CHECK(poll_once(sensor));
  CHECK(host.payloads_to("t") == std::vector<std::string>{"25.08", "-12.345", "0.007"});
  CHECK(host.logs().size() == 1);  // looked up once
}

TEST_CASE("IioSensor looks again on every poll for a device that is not there yet, and reads it once it is") {
  TreeCopy tree("pi");
  const std::string devices = tree.root() + "/sys/bus/iio/devices";
  // The driver is not loaded yet: no iio:device2.
  std::filesystem::rename(devices + "/iio:device2", tree.root() + "/later");
  FakeHost host;
  Instance<IioSensor> bme(host,
                          {{"Device", "bme280"}, {"TempDest", "t"}, {"Poll", "1"}, {"Root", tree.root()}});
  CHECK_FALSE(poll_once(bme));
  CHECK_FALSE(poll_once(bme));
  INFO(logs(host));
  CHECK(host.logged(SR_LOG_ERROR, "Device: no IIO device 'bme280' in " + devices));
  CHECK_FALSE(bme.object().sensor().found());
  // It loads, under another number.
  std::filesystem::rename(tree.root() + "/later", devices + "/iio:device7");
  CHECK(poll_once(bme));
  CHECK(host.logged(SR_LOG_INFO, "reading iio:device7 (bme280 on 1-0076): temp -> t"));
  CHECK(bme.object().sensor().found());
  CHECK(host.payloads_to("t") == std::vector<std::string>{"25.08"});
}

TEST_CASE("IioSensor: one channel failing does not stop the others; the poll fails only when none read") {
  TreeCopy tree("pi");
  const std::string bme = tree.root() + "/sys/bus/iio/devices/iio:device2";
  sr::test::write_file(bme + "/in_humidityrelative_input", "oops\n");
  FakeHost host;
  Instance<IioSensor> sensor(
      host,
      {{"Device", "bme280"}, {"TempDest", "t"}, {"HumiDest", "h"}, {"Poll", "1"}, {"Root", tree.root()}});
  CHECK(poll_once(sensor));
  CHECK(host.payloads_to("t") == std::vector<std::string>{"25.08"});
  CHECK(host.payloads_to("h").empty());
  CHECK(
      host.logged(SR_LOG_ERROR, "cannot read " + bme + "/in_humidityrelative_input: 'oops' is not a number"));
  sr::test::write_file(bme + "/in_temp_input", "");
  CHECK_FALSE(poll_once(sensor));
}

TEST_CASE(
    "IioSensor's check and constructor: something to publish, Channel with Destination, channel names") {
  using Problem = sr::sdk::testing::CheckProblem;
  CHECK(Instance<IioSensor>::check({{"Device", "bme280"}, {"Poll", "1"}}) ==
        std::vector<Problem>{{SR_LOG_ERROR, "",
                              "nothing to publish: set one of TempDest, HumiDest, PressureDest, VoltageDest, "
                              "CurrentDest, IlluminanceDest, Destination"}});
  CHECK(
      Instance<IioSensor>::check({{"Device", "x"}, {"Poll", "1"}, {"TempDest", "t"}, {"HumiChannel", "h"}}) ==
      std::vector<Problem>{
          {SR_LOG_WARNING, "HumiChannel", "has no effect without HumiDest (where its readings go)"}});
  CHECK(Instance<IioSensor>::check({{"Device", "x"}, {"Poll", "1"}, {"Destination", "d"}}) ==
        std::vector<Problem>{{SR_LOG_ERROR, "Destination", "needs Channel: the channel to read"}});
  CHECK(Instance<IioSensor>::check(
            {{"Device", "x"}, {"Poll", "1"}, {"TempDest", "t"}, {"TempChannel", "a/b"}}) ==
        std::vector<Problem>{
            {SR_LOG_ERROR, "TempChannel", "'a/b' is not a channel name such as temp or voltage0"}});
  CHECK(Instance<IioSensor>::try_create({{"Device", "x"}, {"Poll", "1"}}) ==
        "nothing to publish: set one of TempDest, HumiDest, PressureDest, VoltageDest, CurrentDest, "
        "IlluminanceDest, Destination");
  CHECK(Instance<IioSensor>::try_create(
            {{"Device", "x"}, {"Poll", "1"}, {"TempDest", "t"}, {"TempChannel", "a b"}}) ==
        "TempChannel 'a b' is not a channel name such as temp or voltage0");
}

// ---------------------------------------------------------------------------
// HwmonSensor

TEST_CASE("HwmonSensor: the SoC's cpu_thermal, an SHT3x by its bus address, an old-style lm75") {
  FakeHost host, host2, host3;
  Instance<HwmonSensor> cpu(host,
                            {{"Chip", "cpu_thermal"}, {"TempDest", "pi/cpu"}, {"Poll", "30"}, {"Root", kPi}});
  CHECK(poll_once(cpu));
  INFO(logs(host));
  CHECK(host.payloads_to("pi/cpu") == std::vector<std::string>{"48.312"});
  CHECK(host.logged(SR_LOG_INFO, "reading hwmon0 (cpu_thermal on thermal_zone0): temp1 -> pi/cpu"));
  Instance<HwmonSensor> sht(host2, {{"Chip", "1-0044"},
                                    {"TempDest", "sht/t"},
                                    {"HumiDest", "sht/h"},
                                    {"TempUnit", "F"},
                                    {"Poll", "30"},
                                    {"Root", kPi}});
  CHECK(poll_once(sht));
  CHECK(host2.payloads_to("sht/t") == std::vector<std::string>{"73.175"});  // 22.875 °C
  CHECK(host2.payloads_to("sht/h") == std::vector<std::string>{"51.25"});
  Instance<HwmonSensor> lm75(host3,
                             {{"Chip", "lm75"}, {"TempDest", "lm75/t"}, {"Poll", "30"}, {"Root", kPi}});
  CHECK(poll_once(lm75));
  CHECK(host3.payloads_to("lm75/t") == std::vector<std::string>{"25.5"});
  CHECK(host3.logged(SR_LOG_INFO, "reading hwmon4 (lm75 on 1-004f): temp1 -> lm75/t"));
}

TEST_CASE("HwmonSensor: a channel by its label or its name; a kind with several channels needs one") {
  FakeHost host;
  Instance<HwmonSensor> core(host, {{"Chip", "coretemp"},
                                    {"TempDest", "pkg"},
                                    {"TempChannel", "Package id 0"},
                                    {"Destination", "core1"},
                                    {"Channel", "temp3_input"},
                                    {"Poll", "1"},
                                    {"Root", kPi}});
  CHECK(poll_once(core));
  INFO(logs(host));
  CHECK(host.payloads_to("pkg") == std::vector<std::string>{"45"});
  CHECK(host.payloads_to("core1") == std::vector<std::string>{"44000"});  // Destination: the file's own unit
  CHECK(host.logged(SR_LOG_INFO, "temp1 (Package id 0) -> pkg, temp3 (Core 1) -> core1"));

  FakeHost host2;
  Instance<HwmonSensor> any(host2, {{"Chip", "coretemp"}, {"TempDest", "t"}, {"Poll", "1"}, {"Root", kPi}});
  CHECK_FALSE(poll_once(any));
  CHECK(host2.logged(SR_LOG_ERROR,
                     "TempDest: hwmon3 (coretemp): the chip has more than one temp channel "
                     "(temp1 (Package id 0), temp2 (Core 0), temp3 (Core 1)): say which"));
  FakeHost host3;
  Instance<HwmonSensor> volt(host3,
                             {{"Chip", "rpi_volt"}, {"VoltageDest", "v"}, {"Poll", "1"}, {"Root", kPi}});
  CHECK_FALSE(poll_once(volt));
  CHECK(host3.logged(SR_LOG_ERROR,
                     "VoltageDest: hwmon1 (rpi_volt): the chip has no in channel (it has: none)"));
  FakeHost host4;
  Instance<HwmonSensor> label(
      host4,
      {{"Chip", "coretemp"}, {"TempDest", "t"}, {"TempChannel", "Core 7"}, {"Poll", "1"}, {"Root", kPi}});
  CHECK_FALSE(poll_once(label));
  CHECK(host4.logged(SR_LOG_ERROR,
                     "TempChannel: hwmon3 (coretemp): the chip has no channel labelled or named 'Core 7'"));
}

TEST_CASE("HwmonSensor: volts, amperes, watts and rpm from an INA219 and a fan") {
  FakeHost host, host2;
  Instance<HwmonSensor> ina(host, {{"Chip", "ina219"},
                                   {"VoltageDest", "bus/v"},
                                   {"VoltageChannel", "vbus"},
                                   {"CurrentDest", "bus/a"},
                                   {"PowerDest", "bus/w"},
                                   {"Poll", "1"},
                                   {"Root", kPi}});
  CHECK(poll_once(ina));
  INFO(logs(host));
  CHECK(host.payloads_to("bus/v") == std::vector<std::string>{"5.012"});
  CHECK(host.payloads_to("bus/a") == std::vector<std::string>{"0.412"});
  CHECK(host.payloads_to("bus/w") == std::vector<std::string>{"2.065"});
  Instance<HwmonSensor> fan(host2, {{"Chip", "pwmfan"}, {"FanDest", "fan"}, {"Poll", "1"}, {"Root", kPi}});
  CHECK(poll_once(fan));
  CHECK(host2.payloads_to("fan") == std::vector<std::string>{"2400"});
}

TEST_CASE("HwmonSensor's table declares each destination's quantity and unit") {
  std::vector<std::string> ios;
  for (const sr_io_def* io = Instance<HwmonSensor>::def().ios; io->key; ++io)
    ios.push_back(fmt::format("{} {} {}", io->key, io->measures, io->unit ? io->unit : "-"));
  CHECK(ios == std::vector<std::string>{"TempDest temperature °C", "HumiDest humidity %",
                                        "VoltageDest voltage V", "CurrentDest current A", "PowerDest power W",
                                        "FanDest fan speed rpm", "Destination hwmon channel -"});
  CHECK(Instance<HwmonSensor>::check({{"Chip", "x"}, {"Poll", "1"}}).size() == 1);
}

// ---------------------------------------------------------------------------
// DhtSensor

TEST_CASE("gpios_pin takes the second big-endian cell of a gpios property") {
  using namespace std::string_literals;
  CHECK(gpios_pin("\0\0\0\x7b\0\0\0\x04\0\0\0\0"s) == 4u);
  CHECK(gpios_pin("\0\0\0\x7b\0\0\0\x11"s) == 17u);
  CHECK(gpios_pin("\0\0\0\x7b\0\0\x01\x02\0\0\0\0"s) == 258u);
  CHECK_FALSE(gpios_pin("\0\0\0\x7b"s));
  CHECK_FALSE(gpios_pin("\0\0\0\x7b\0\0\0\x04\0"s));
  CHECK_FALSE(gpios_pin(""));
}

TEST_CASE("the dht11 device is found from the pin by its device-tree node") {
  DeviceLookup four = find_dht_device(kPi, 4);
  REQUIRE(four.device);
  CHECK(four.device->entry == "iio:device0");
  DeviceLookup seventeen = find_dht_device(kPi, 17);
  REQUIRE(seventeen.device);
  CHECK(seventeen.device->entry == "iio:device1");
  CHECK(find_dht_device(kPi, 5).error ==
        "Pin: no dht11 device on GPIO 5; found iio:device0 (dht11@4 on dht11@4) on GPIO 4, iio:device1 "
        "(dht11@11 on dht11@11) on GPIO 17 (or name one with Device)");
  CHECK(
      find_dht_device(fixture("empty"), 4).error ==
      "Pin: no dht11 IIO device in " + fixture("empty") +
          "/sys/bus/iio/devices: enable the driver with dtoverlay=dht11,gpiopin=4 in config.txt and reboot");
  CHECK(
      find_dht_device(fixture("dht_no_node"), 4).error ==
      "Pin: no dht11 device on GPIO 4; found iio:device0 (dht11 on dht11) on an unknown pin (no device-tree "
      "node) (or name one with Device)");
  // Not every IIO device is a DHT.
  for (const KernelDevice& d : list_devices(kIio, "iio:device"))
    CHECK(is_dht_device(d) == (d.name.substr(0, 5) == "dht11"));
}

TEST_CASE("dht_retry: EIO, ETIMEDOUT and EAGAIN again while attempts and time are left; nothing else") {
  CHECK(dht_retry(EIO, 1, true));
  CHECK(dht_retry(ETIMEDOUT, 2, true));
  CHECK(dht_retry(EAGAIN, 1, true));
  CHECK_FALSE(dht_retry(EIO, kDhtMaxAttempts, true));
  CHECK_FALSE(dht_retry(EIO, 1, false));
  CHECK_FALSE(dht_retry(ENOENT, 1, true));
  CHECK_FALSE(dht_retry(0, 1, true));  // a content error: the same next time
}

namespace {
Values dht(const std::string& root, Values extra = {}) {
  Values values{{"Sensor", "AM2302"},     {"Pin", "4"},  {"TempDest", "temperature"},
                {"HumiDest", "humidity"}, {"Poll", "2"}, {"Root", root}};
  for (auto& [k, v] : extra) {
    bool replaced = false;
    for (auto& entry : values)
      if (entry.first == k) entry.second = v, replaced = true;
    if (!replaced) values.emplace_back(k, v);
  }
  return values;
}
}  // namespace

TEST_CASE("DhtSensor publishes %.1f like the original, °F after the range check, 0.0 and below zero") {
  FakeHost host;
  Instance<DhtSensor> c(host, dht(kPi));
  CHECK(poll_once(c));
  INFO(logs(host));
  CHECK(host.payloads_to("temperature") == std::vector<std::string>{"21.5"});
  CHECK(host.payloads_to("humidity") == std::vector<std::string>{"45.6"});
  CHECK(host.logged(SR_LOG_INFO, "reading iio:device0 (dht11@4 on dht11@4)"));
  host.clear();
  CHECK(c.refresh() == SR_OK);
  CHECK(host.published().size() == 2);

  FakeHost host2;
  Instance<DhtSensor> f(host2, dht(kPi, {{"Pin", "17"}, {"TempUnit", "F"}}));
  CHECK(poll_once(f));
  CHECK(host2.payloads_to("temperature") == std::vector<std::string>{"22.5"});  // -5.3 °C
  CHECK(host2.payloads_to("humidity") == std::vector<std::string>{"81.2"});

  FakeHost host3;
  Instance<DhtSensor> zero(host3, dht(fixture("dht_zero")));
  CHECK(poll_once(zero));
  CHECK(host3.payloads_to("temperature") == std::vector<std::string>{"0.0"});  // the original dropped it
  CHECK(host3.payloads_to("humidity") == std::vector<std::string>{"0.0"});
  CHECK(format_dht(-0.04) == "0.0");
  CHECK(format_dht(-0.05) == "-0.1");
  CHECK(format_dht(125) == "125.0");
}

TEST_CASE("DhtSensor skips a value out of range, with a warning, and keeps the other") {
  FakeHost host;
  Instance<DhtSensor> sensor(host, dht(fixture("dht_range")));
  CHECK_FALSE(poll_once(sensor));
  INFO(logs(host));
  CHECK(host.published().empty());
  CHECK(host.logged(SR_LOG_WARNING, "in_temp_input: 130 °C is outside -40..125 °C; temperature skipped"));
  CHECK(
      host.logged(SR_LOG_WARNING, "in_humidityrelative_input: 101 % is outside 0..100 %; humidity skipped"));
  TreeCopy tree("dht_range");
  sr::test::write_file(tree.root() + "/sys/bus/iio/devices/iio:device0/in_humidityrelative_input", "55000\n");
  FakeHost host2;
  Instance<DhtSensor> one(host2, dht(tree.root()));
  CHECK(poll_once(one));
  CHECK(host2.payloads_to("humidity") == std::vector<std::string>{"55.0"});
  CHECK(host2.payloads_to("temperature").empty());
}

TEST_CASE(
    "DhtSensor retries an EIO read after the sensor's interval, three times at most, then one warning") {
  FakeHost host;
  host.set_log_level(SR_LOG_DEBUG);
  Instance<DhtSensor> sensor(host, dht(fixture("dht_eio"), {{"Poll", "60"}}));
  REQUIRE(sensor.poll() == SR_POLL_PENDING);
  const std::string file = fixture("dht_eio") + "/sys/bus/iio/devices/iio:device0/in_temp_input";
  for (int attempt = 1; attempt <= 2; ++attempt) {
    CAPTURE(attempt);
    REQUIRE(host.run_until([&] { return host.timer_count() == 1; }));
    CHECK(host.logged(SR_LOG_DEBUG,
                      fmt::format("attempt {}: {}: Input/output error; trying again in 2 s", attempt, file)));
    CHECK(host.poll_done_count() == 0);
    host.advance(1999ms);  // not before the sensor's 2 s
    CHECK(host.outstanding() == 0);
    host.advance(1ms);
  }
  REQUIRE(host.run_until([&] { return host.poll_done_count() == 1; }));
  INFO(logs(host));
  CHECK(host.poll_failed_count() == 1);
  CHECK(host.logged(SR_LOG_DEBUG,
                    "attempt 3: " + file + ": Input/output error; giving up until the next poll"));
  CHECK(host.logged(SR_LOG_WARNING,
                    file + ": the sensor's answers were garbled (Input/output error: checksum or "
                           "timing); nothing published"));
  CHECK(host.published().empty());
  // The next poll warns in the same words, which the host's repeat limiting folds.
  host.clear();
  host.set_log_level(SR_LOG_INFO);
  REQUIRE(sensor.poll() == SR_POLL_PENDING);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(host.run_until([&] { return host.timer_count() == 1; }));
    host.advance(2s);
  }
  REQUIRE(host.run_until([&] { return host.poll_done_count() == 1; }));
  CHECK(host.logs().size() == 1);
}

TEST_CASE("DhtSensor retries only while the retry ends before the next poll; a DHT11 after 1 s") {
  FakeHost host;
  host.set_log_level(SR_LOG_DEBUG);
  Instance<DhtSensor> every_3s(host, dht(fixture("dht_eio"), {{"Poll", "3"}}));
  CHECK_FALSE(poll_once(every_3s));  // a retry at 2 s could read until 3.1 s: past the next poll
  CHECK(host.logged(SR_LOG_DEBUG, "attempt 1: "));
  CHECK_FALSE(host.logged(SR_LOG_DEBUG, "attempt 2: "));

  FakeHost host2;
  host2.set_log_level(SR_LOG_DEBUG);
  Instance<DhtSensor> dht11(host2, dht(fixture("dht_eio"), {{"Poll", "3"}, {"Sensor", "DHT11"}}));
  CHECK(dht11.object().retry_delay() == 1s);
  REQUIRE(dht11.poll() == SR_POLL_PENDING);
  REQUIRE(host2.run_until([&] { return host2.timer_count() == 1; }));
  CHECK(host2.logged(SR_LOG_DEBUG, "trying again in 1 s"));
  host2.advance(1s);
  REQUIRE(host2.run_until([&] { return host2.poll_done_count() == 1; }));
  CHECK(host2.logged(SR_LOG_DEBUG, "attempt 2: "));  // at 1 s; a third, at 2 s, could end at 3.1 s
  CHECK_FALSE(host2.logged(SR_LOG_DEBUG, "attempt 3: "));
}

TEST_CASE("DhtSensor: garbage and a missing file are errors, not retried; the device is looked up again") {
  FakeHost host;
  host.set_log_level(SR_LOG_DEBUG);
  Instance<DhtSensor> garbage(host, dht(fixture("dht_garbage"), {{"Poll", "60"}}));
  CHECK_FALSE(poll_once(garbage));
  CHECK(host.logged(SR_LOG_ERROR, "in_temp_input: 'abc' is not a number"));
  CHECK(host.timer_count() == 0);

  TreeCopy tree("dht_unbound");
  FakeHost host2;
  Instance<DhtSensor> unbound(host2, dht(tree.root(), {{"Poll", "60"}}));
  CHECK_FALSE(poll_once(unbound));
  INFO(logs(host2));
  CHECK(host2.logged(SR_LOG_ERROR,
                     "cannot read " + tree.root() +
                         "/sys/bus/iio/devices/iio:device0/in_temp_input: No such file or directory"));
  CHECK(host2.timer_count() == 0);
  // The driver binds again: found, and read.
  sr::test::write_file(tree.root() + "/sys/bus/iio/devices/iio:device0/in_temp_input", "23100\n");
  sr::test::write_file(tree.root() + "/sys/bus/iio/devices/iio:device0/in_humidityrelative_input", "40000\n");
  CHECK(poll_once(unbound));
  CHECK(host2.payloads_to("temperature") == std::vector<std::string>{"23.1"});
  CHECK(host2.logs().size() == 3);  // the error, then "reading ..." twice: looked up again
}

TEST_CASE("DhtSensor without a device tree: the pin cannot be known, Device names the sensor") {
  FakeHost host;
  Instance<DhtSensor> by_pin(host, dht(fixture("dht_no_node")));
  CHECK_FALSE(poll_once(by_pin));
  CHECK(host.logged(SR_LOG_ERROR, "(or name one with Device)"));
  FakeHost host2;
  Values values = dht(fixture("dht_no_node"), {{"Device", "dht11"}});
  Instance<DhtSensor> by_name(host2, values);
  CHECK(poll_once(by_name));
  CHECK(host2.payloads_to("temperature") == std::vector<std::string>{"19.0"});
}

TEST_CASE("DhtSensor's smoothing averages from the first reading on") {
  TreeCopy tree("dht_zero");
  const std::string dev = tree.root() + "/sys/bus/iio/devices/iio:device0";
  FakeHost host;
  Instance<DhtSensor> sensor(host, dht(tree.root(), {{"Smoothing", "yes"}, {"TempUnit", "F"}}));
  for (const char* t : {"20000", "22000", "30000"}) {
    sr::test::write_file(dev + "/in_temp_input", t);
    sr::test::write_file(dev + "/in_humidityrelative_input", "50000");
    CHECK(poll_once(sensor));
  }
  // 20, 21, 24 °C in °F
  CHECK(host.payloads_to("temperature") == std::vector<std::string>{"68.0", "69.8", "75.2"});
  CHECK(host.payloads_to("humidity") == std::vector<std::string>{"50.0", "50.0", "50.0"});
}

TEST_CASE("DhtSensor's table and checks: the INI-era keys; Pin or Device; a poll below 2 s is a warning") {
  using Problem = sr::sdk::testing::CheckProblem;
  std::vector<std::string> names;
  for (const sr_param_def* p = Instance<DhtSensor>::def().params; p->name; ++p) names.emplace_back(p->name);
  CHECK(names == std::vector<std::string>{"Pin", "Sensor", "TempDest", "HumiDest", "Poll", "TempUnit",
                                          "Smoothing", "Device", "Root"});
  CHECK(std::string(Instance<DhtSensor>::def().path) == "gpio.dht_sensor.DhtSensor");
  CHECK(Instance<DhtSensor>::check(
            {{"Sensor", "DHT22"}, {"TempDest", "t"}, {"HumiDest", "h"}, {"Poll", "1"}}) ==
        std::vector<Problem>{
            {SR_LOG_ERROR, "Pin",
             "required: the GPIO the sensor is on (dtoverlay=dht11,gpiopin=N), unless Device is set"},
            {SR_LOG_WARNING, "Poll",
             "the kernel reads a DHT at most every 2 s; faster polls publish the same reading again"}});
  CHECK(Instance<DhtSensor>::check(dht("/")).empty());
  CHECK(Instance<DhtSensor>::try_create(
            {{"Sensor", "DHT22"}, {"TempDest", "t"}, {"HumiDest", "h"}, {"Poll", "1"}}) ==
        "set Pin (or Device): which sensor to read");
  CHECK(Instance<DhtSensor>::try_create(dht("/", {{"Sensor", "DHT21"}})) ==
        "Sensor 'DHT21' is not one of DHT22|AM2302|DHT11");
}
