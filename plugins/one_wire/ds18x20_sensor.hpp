// one_wire.ds18x20_sensor.Ds18x20Sensor — polling sensor (SPEC 7.6).
//
// Reads a DS18x20 thermometer through the kernel's w1_therm driver: the file
// <Root>/sys/bus/w1/devices/<Mac>/w1_slave, whose two lines look like
//   50 01 4b 46 7f ff 0c 10 1c : crc=1c YES
//   50 01 4b 46 7f ff 0c 10 1c t=21000
// and publishes the temperature to Destination on every poll.
//
// Parameters:
//   Mac          1-Wire id as the kernel names the device, FF-SSSSSSSSSSSS in hex
//                (e.g. 28-0123456789ab); upper case is accepted and lowered
//   Destination  where readings go
//   Poll         seconds between readings (required, >= 0.01)
//   TempUnit     C (default) or F
//   Smoothing    publish the mean of the last 5 valid readings (default no)
//   Root         sysfs root (default /), so tests can use a fixture tree
//
// Decisions (the INI-era Python at HEAD differs, see the reference notes):
//  - Nothing is published for a failed CRC (NO), a missing, unreadable,
//    empty, truncated or malformed file, or a value outside the DS18B20 range
//    -55..125 °C. Each is logged naming the file: an unreadable, empty or
//    malformed file as an error (wrong Mac, driver not loaded), a CRC failure,
//    a truncated file or an implausible value as a warning (bus noise). The
//    host's repeat limiting keeps a dead sensor from flooding the log.
//  - 85000 (85 °C) is the scratchpad's power-on value: a sensor that lost
//    power and was read before converting reports it with a good CRC. It is
//    accepted only when the previous valid reading was within 5 °C of it (a
//    sensor really at 85 °C gets there gradually); otherwise, and always as
//    the first reading, it is logged and dropped.
//  - Exactly 0 °C is a valid reading (the original dropped it).
//  - The range check is on °C, before conversion (the original checked the
//    °F value against the °C range); smoothing averages °C, then converts.
//  - Smoothing is right from the first sample: the mean of the readings seen
//    so far, up to the last 5 (the original divided by 5 from the start).
//  - Readings are published with up to 3 decimals, trailing zeros and a
//    trailing point removed: 21.5, -5, 0, 21.062, 70.7 (°F). w1_therm reports
//    millidegrees, so 3 decimals loses nothing in °C.
//  - The read runs on a worker (a real conversion takes ~750 ms); poll()
//    returns Pending and the result is handled on the loop.
//  - refresh republishes the last published value; nothing before the first.
//
//   [Sensor_Boiler]
//   Class = one_wire.ds18x20_sensor.Ds18x20Sensor
//   Connection = MQTT
//   Mac = 28-0123456789ab
//   Destination = boiler/temperature
//   Poll = 60
//   TempUnit = C
//   Smoothing = no
#pragma once

#include <sensor_reporter/sdk.hpp>
#include <sensor_reporter/sysfs.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sr::one_wire {

// ---------------------------------------------------------------------------
// Pure logic, shared with the unit tests and fuzz targets.

enum class W1Error {
  None,
  Empty,      // zero bytes
  Truncated,  // ends before the second line is complete (every line ends in '\n')
  Malformed,  // not the w1_therm format
  CrcFailed,  // line 1 ends in "NO"
};

// The outcome of parsing one w1_slave file: millidegrees Celsius, or why not
// (error != None, with a one-line explanation in `detail`).
struct W1Parse {
  W1Error error = W1Error::None;
  std::int32_t millidegrees = 0;
  std::string detail;
  bool ok() const { return error == W1Error::None; }
};

// Parses the text of a w1_slave file as w1_therm writes it: two lines, each
// nine hex bytes; the first ends ": crc=XX YES" or "... NO", the second
// "t=<millidegrees>" (may be negative). A CRC failure is reported as such even
// when the second line is missing.
W1Parse parse_w1_slave(std::string_view text);

// DS18B20 (and DS18S20, DS1822) measuring range in millidegrees Celsius.
inline constexpr std::int32_t kMinMillidegrees = -55000;
inline constexpr std::int32_t kMaxMillidegrees = 125000;
// The scratchpad's power-on value.
inline constexpr std::int32_t kPowerOnMillidegrees = 85000;
// How close the previous valid reading must be for 85000 to be believed.
inline constexpr std::int32_t kPowerOnTolerance = 5000;

enum class Plausibility { Valid, OutOfRange, PowerOnValue };

// Whether a parsed reading may be published, given the previous valid one.
Plausibility check_reading(std::int32_t millidegrees, std::optional<std::int32_t> previous_valid);

// TempUnit's choices, in the table's order (C|F).
enum class TempUnit { Celsius, Fahrenheit };
double convert(double celsius, TempUnit unit);

// Up to 3 decimals, no trailing zeros, no trailing point, never "-0".
inline std::string format_temperature(double value) { return sdk::format_trimmed(value, 3); }

// The SDK's (sensor_reporter/sysfs.hpp), shared with the IIO, hwmon and DHT sensors.
using sdk::MovingAverage;

// True for FF-SSSSSSSSSSSS (2 + 12 hex digits, either case).
bool valid_w1_id(std::string_view id);

using sdk::FileText;
using sdk::read_small_file;

// ---------------------------------------------------------------------------
// The plugin class

class Ds18x20Sensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "Ds18x20Sensor";
  static constexpr const char* path = "one_wire.ds18x20_sensor.Ds18x20Sensor";
  static constexpr const char* summary =
      "Publishes the temperature of a DS18x20 1-Wire thermometer (kernel w1_therm)";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Mac")
          .required()
          .pattern("[0-9A-Fa-f]{2}-[0-9A-Fa-f]{12}", "a 1-Wire id such as 28-0123456789ab")
          .help("1-Wire id as in /sys/bus/w1/devices, e.g. 28-0123456789ab"),
      sdk::string_param("Destination").required().help("destination of the temperature readings"),
      sdk::float_param("Poll").required().min(0.01).help(
          "seconds between readings (> 0; a conversion takes ~0.75 s)"),
      sdk::choice_param("TempUnit", "C|F")
          .fallback("C")
          .help("publish degrees Celsius (C) or Fahrenheit (F)"),
      sdk::bool_param("Smoothing").fallback("no").help("publish the mean of the last 5 valid readings"),
      sdk::string_param("Root").fallback("/").help(
          "sysfs root; the file read is <Root>/sys/bus/w1/devices/<Mac>/w1_slave"),
      sdk::end_params};
  // The unit is the one TempUnit selects (°C when it says nothing else).
  static constexpr sr_io_def ios[] = {sdk::publishes("Destination", SR_VALUE_NUMBER, "temperature", "°C")
                                          .unit_from("TempUnit", "C=°C|F=°F"),
                                      sdk::end_ios};

  Ds18x20Sensor(sdk::Host host, const sdk::Params& params);
  sdk::PollResult poll();
  void refresh();

  const std::string& file() const { return file_; }

 private:
  // False when the file gave no reading (the poll failed).
  bool on_read(const FileText& file);

  sdk::Host host_;
  std::string destination_;
  std::string file_;
  TempUnit unit_;
  bool smoothing_;
  MovingAverage average_;
  std::optional<std::int32_t> previous_valid_;
  std::optional<std::string> last_published_;
};

static_assert(sdk::choice_count(Ds18x20Sensor::params, "TempUnit") == 2);

}  // namespace sr::one_wire
