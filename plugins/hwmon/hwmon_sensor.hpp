// hwmon.hwmon_sensor.HwmonSensor — polling sensor: channels of a kernel
// hwmon chip (/sys/class/hwmon: the SoC's cpu_thermal, coretemp, lm75/tmp102,
// sht3x/sht4x, ina2xx, fans, ...), one destination key per quantity.
//
// Parameters:
//   Chip            which chip: its name (cpu_thermal, lm75, sht3x), its
//                   directory (hwmon0), the device it is on (1-0048, I2C bus
//                   1 address 0x48) or a path (/sys/class/hwmon/hwmon0); a
//                   name two chips share is an error listing both
//   TempDest        temperature in °C (°F with TempUnit = F)   [temp channels]
//   HumiDest        relative humidity in %                      [humidity]
//   VoltageDest     voltage in V                                [in]
//   CurrentDest     current in A                                [curr]
//   PowerDest       power in W                                  [power]
//   FanDest         fan speed in rpm                            [fan]
//   Destination     any other channel, in the hwmon ABI's unit (Channel required)
//   <X>Channel      the channel a destination reads: its label as the
//                   chip names it (Package id 0, CPU, vdd) or its name
//                   (temp2, in0); left out: the chip's only channel of
//                   the bracketed kind
//   Poll            seconds between readings (required)
//   TempUnit        C (default) or F
//   Root            sysfs root (default /), for fixture trees in tests
//
// Decisions:
//  - A channel is <kind><n> with a <kind><n>_input file (power also
//    <n>_average); its label is <kind><n>_label. Drivers registered the old
//    way keep their attributes in the chip's device/ directory: read there
//    when the chip's own has no name.
//  - hwmon's units become the usual ones: m°C -> °C, m% -> %, mV -> V,
//    mA -> A, µW -> W; up to 3 decimals (6 for V, A, W and Destination),
//    trailing zeros removed.
//  - Lookup, logging, failures and refresh as IioSensor's (iio_sensor.hpp).
//
//   [Sensor_CPU]
//   Class = hwmon.hwmon_sensor.HwmonSensor
//   Connection = MQTT
//   Chip = cpu_thermal
//   TempDest = pi/cpu_temperature
//   Poll = 30
#pragma once

#include "iio/channel.hpp"
#include "iio/kernel_device.hpp"
#include "iio/kernel_sensor.hpp"

#include <sensor_reporter/sdk.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sr::hwmon {

using iio::OutputKind;

// The destination keys of HwmonSensor, in its table's order.
inline constexpr OutputKind kHwmonOutputs[] = {
    {"TempDest", "TempChannel", "temp", 0.001, 3, true},
    {"HumiDest", "HumiChannel", "humidity", 0.001, 3, false},
    {"VoltageDest", "VoltageChannel", "in", 0.001, 6, false},
    {"CurrentDest", "CurrentChannel", "curr", 0.001, 6, false},
    {"PowerDest", "PowerChannel", "power", 0.000001, 6, false},
    {"FanDest", "FanChannel", "fan", 1, 0, false},
    {"Destination", "Channel", nullptr, 1, 6, false},
};

// One channel of a chip.
struct HwmonChannel {
  std::string name;   // temp1
  std::string kind;   // temp
  std::string label;  // CPU; may be empty
  std::string input;  // full path of the file read
};

// The directory holding the chip's attributes: `dir`, or `dir`/device for
// a driver registered the old way.
std::string attribute_dir(const std::string& dir);

// The channels among `names` (files of `dir`), with their labels, by kind
// then number.
std::vector<HwmonChannel> hwmon_channels(const std::string& dir, const std::set<std::string>& names);

// The channel `spec` names (its label, else its name; a trailing _input is
// dropped); with an empty spec the only channel of `kind`.
iio::ChannelChoice resolve_hwmon_channel(const std::vector<HwmonChannel>& channels, std::string_view spec,
                                         std::string_view kind);

// Finds the chip `spec` names under `root` and the files of each output.
iio::PlanOrError plan_hwmon(const std::string& root, const std::string& spec,
                            const std::vector<iio::Output>& outputs);

class HwmonSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "HwmonSensor";
  static constexpr const char* path = "hwmon.hwmon_sensor.HwmonSensor";
  static constexpr const char* summary =
      "Publishes channels of a kernel hwmon chip (cpu_thermal, lm75, sht3x, ...): temperature, humidity, "
      "voltage, fan speed, ...";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Chip").required().not_empty().help(
          "the hwmon chip: its name (cpu_thermal, lm75), directory (hwmon0), the device it is on (1-0048) "
          "or a path (/sys/class/hwmon/hwmon0)"),
      sdk::string_param("TempDest").help("destination of a temperature (°C, or °F with TempUnit = F)"),
      sdk::string_param("TempChannel")
          .help(
              "the channel TempDest reads: its label (Package id 0) or name (temp2); default: the only one"),
      sdk::string_param("HumiDest").help("destination of a relative humidity (%)"),
      sdk::string_param("HumiChannel").help("the channel HumiDest reads (label or name, e.g. humidity1)"),
      sdk::string_param("VoltageDest").help("destination of a voltage (V)"),
      sdk::string_param("VoltageChannel").help("the channel VoltageDest reads (label or name, e.g. in0)"),
      sdk::string_param("CurrentDest").help("destination of a current (A)"),
      sdk::string_param("CurrentChannel").help("the channel CurrentDest reads (label or name, e.g. curr1)"),
      sdk::string_param("PowerDest").help("destination of a power (W)"),
      sdk::string_param("PowerChannel").help("the channel PowerDest reads (label or name, e.g. power1)"),
      sdk::string_param("FanDest").help("destination of a fan speed (rpm)"),
      sdk::string_param("FanChannel").help("the channel FanDest reads (label or name, e.g. fan1)"),
      sdk::string_param("Destination").help("destination of any other channel, in the hwmon ABI's unit"),
      sdk::string_param("Channel").help("the channel Destination reads (label or name, e.g. energy1)"),
      sdk::float_param("Poll").required().min(0.01).help("seconds between readings"),
      sdk::choice_param("TempUnit", "C|F")
          .fallback("C")
          .help("publish degrees Celsius (C) or Fahrenheit (F)"),
      sdk::string_param("Root").fallback("/").help(
          "sysfs root; chips are read in <Root>/sys/class/hwmon (tests use a fixture tree)"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("TempDest", SR_VALUE_NUMBER, "temperature", "°C").unit_from("TempUnit", "C=°C|F=°F"),
      sdk::publishes("HumiDest", SR_VALUE_NUMBER, "humidity", "%"),
      sdk::publishes("VoltageDest", SR_VALUE_NUMBER, "voltage", "V"),
      sdk::publishes("CurrentDest", SR_VALUE_NUMBER, "current", "A"),
      sdk::publishes("PowerDest", SR_VALUE_NUMBER, "power", "W"),
      sdk::publishes("FanDest", SR_VALUE_NUMBER, "fan speed", "rpm"),
      sdk::publishes("Destination", SR_VALUE_NUMBER, "hwmon channel"),
      sdk::end_ios};

  HwmonSensor(sdk::Host host, const sdk::Params& params);
  static void check(const sdk::Params& params, sdk::CheckReport& report);
  sdk::PollResult poll() { return sensor_.poll(); }
  void refresh() { sensor_.refresh(); }

  const iio::KernelSensor& sensor() const { return sensor_; }

 private:
  iio::KernelSensor sensor_;
};

static_assert(sdk::choice_count(HwmonSensor::params, "TempUnit") == 2);

}  // namespace sr::hwmon
