// gpio.dht_sensor.DhtSensor — polling sensor (SPEC 7.8, reference §3.7): a
// DHT22, AM2302 or DHT11 read through the kernel's dht11 IIO driver, with the
// INI-era parameters. Served by the gpio module (the class path the INI era
// used); the logic lives here, beside the other IIO readers.
//
// Enable the driver on a Raspberry Pi with `dtoverlay=dht11,gpiopin=<Pin>` in
// config.txt (one line per sensor) and reboot: the sensor appears as
//   /sys/bus/iio/devices/iio:deviceN/in_temp_input              (m°C)
//   /sys/bus/iio/devices/iio:deviceN/in_humidityrelative_input  (m%)
// Each read makes the kernel talk to the sensor (about 25 ms, up to 1 s when
// it does not answer); the driver keeps a good reading for 2 s, so the
// humidity read right after the temperature costs nothing.
//
// Parameters:
//   Pin          the GPIO (BCM numbering, as the original's board.D<Pin>) the
//                sensor's data line is on: gpiopin of the overlay
//   Sensor       DHT22, AM2302 (the same chip) or DHT11 (required, as in the
//                original); sets the pause before a retry (2 s, DHT11 1 s):
//                the kernel tells the data formats apart by itself
//   TempDest     destination of the temperature
//   HumiDest     destination of the relative humidity (%)
//   Poll         seconds between readings (required)
//   TempUnit     C (default) or F
//   Smoothing    publish the mean of the last 5 valid readings (default no)
//   Device       the IIO device instead of the one found from Pin: name,
//                label, iio:deviceN, the device it is on, or a path
//   Root         sysfs root (default /), for fixture trees in tests
//
// Decisions:
//  - The device is found from the pin by the device-tree node the overlay
//    creates: among the IIO devices whose node is compatible "dht11" (or
//    whose driver is dht11), the one whose `gpios` property (of_node/gpios:
//    phandle, pin, flags as big-endian 32-bit cells) names Pin. The node's
//    name (dht11@4, or dht11@0 in older overlays) and the IIO name (which
//    follows the platform device's name) are not relied on. Without a
//    device tree (no of_node) the pin cannot be known: Device says which.
//  - A read that fails with EIO (garbled answer: checksum, lost edges),
//    ETIMEDOUT (no answer) or EAGAIN is retried within the poll, after the
//    sensor's minimum interval (2 s, DHT11 1 s), up to 3 attempts, while the
//    retry would end before the next poll is due even if the sensor does not
//    answer (the driver waits 1.1 s at most). Each failed attempt is
//    a DEBUG line; a poll that gets nothing is one WARNING whose text only
//    depends on the kind of failure, so the host's repeat limiting folds a
//    run of them into a count, and the poll fails (the host backs off).
//  - Temperatures are checked against -40..125 °C in °C, before any
//    conversion (the original checked °F values against the °C range and so
//    dropped everything above 51.7 °C); 0.0 is a valid reading (the original
//    dropped it); humidity against 0..100 %. A value out of range is a
//    WARNING and skips that value only.
//  - Published as "%.1f" like the original ("-0.0" is written "0.0").
//    Smoothing averages in °C over the last 5 valid readings, right from the
//    first (the original divided by 5 from the start), then converts.
//  - refresh republishes the last readings; it does not read the sensor
//    (the original did).
//
//   [Sensor_DHT]
//   Class = gpio.dht_sensor.DhtSensor
//   Connection = MQTT
//   Sensor = AM2302
//   Pin = 4
//   TempDest = garden/temperature
//   HumiDest = garden/humidity
//   Poll = 60
#pragma once

#include "channel.hpp"
#include "iio_sensor.hpp"
#include "kernel_device.hpp"

#include <sensor_reporter/sdk.hpp>
#include <sensor_reporter/sysfs.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sr::iio {

// The pin a device-tree `gpios` property names: the second of its
// big-endian 32-bit cells (phandle, pin, flags). nullopt when it is shorter
// than two cells or not made of whole cells.
std::optional<unsigned> gpios_pin(std::string_view property);

// Whether `device` is driven by the dht11 driver: its device-tree node is
// compatible "dht11", its parent is bound to the driver "dht11", or its name
// says so (dht11, dht11@4, 4.dht11).
bool is_dht_device(const KernelDevice& device);

// The pin of a dht11 device, read from its device-tree node.
std::optional<unsigned> dht_pin(const KernelDevice& device);

// The dht11 device on `pin` under `root` (find_iio_device finds one by name).
DeviceLookup find_dht_device(const std::string& root, unsigned pin);

// One attempt: the device looked up when `dir` is empty, then the
// temperature and, when that worked, the humidity.
struct DhtRead {
  std::string dir;          // the device read
  std::string description;  // "iio:device0 (dht11 on dht11@4)"
  std::string lookup_error;
  ChannelValue temperature;
  ChannelValue humidity;
};
DhtRead read_dht(const std::string& root, std::optional<unsigned> pin, const std::string& spec,
                 std::string dir);

// Whether a failed read is tried again within the poll: a DHT's usual
// failures (EIO: garbled answer; ETIMEDOUT: no answer; EAGAIN) while fewer
// than kDhtMaxAttempts were made and the retry would end before the next
// poll is due (`time_left`). Anything else (a missing file, an unbound
// driver) is not.
inline constexpr int kDhtMaxAttempts = 3;
// The longest a read takes: the driver's start signal (18-20 ms) and its
// wait for an answer (1 s), rounded up.
inline constexpr std::chrono::milliseconds kDhtLongestRead{1100};
bool dht_retry(int error_number, int attempts_made, bool time_left);

// The original's plausible ranges, checked in °C and % before any conversion.
inline constexpr double kDhtMinCelsius = -40;
inline constexpr double kDhtMaxCelsius = 125;

// "%.1f" as the original formats, but never "-0.0".
std::string format_dht(double value);

// Sensor's choices, in the table's order.
enum class DhtModel { Dht22, Am2302, Dht11 };

class DhtSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "DhtSensor";
  static constexpr const char* path = "gpio.dht_sensor.DhtSensor";
  static constexpr const char* summary =
      "Publishes temperature and humidity of a DHT22/AM2302/DHT11 through the kernel's dht11 IIO driver";
  static constexpr sr_param_def params[] = {
      sdk::int_param("Pin").min(0).help(
          "GPIO (BCM) of the data line: the gpiopin of dtoverlay=dht11 (required unless Device is set)"),
      sdk::choice_param("Sensor", "DHT22|AM2302|DHT11")
          .required()
          .help("the sensor: DHT22 and AM2302 are the same chip; DHT11 may be retried sooner"),
      sdk::string_param("TempDest").required().help("destination of the temperature"),
      sdk::string_param("HumiDest").required().help("destination of the relative humidity (%)"),
      sdk::float_param("Poll").required().min(0.01).help(
          "seconds between readings (the kernel reads the sensor at most every 2 s)"),
      sdk::choice_param("TempUnit", "C|F")
          .fallback("C")
          .help("publish degrees Celsius (C) or Fahrenheit (F)"),
      sdk::bool_param("Smoothing").fallback("no").help("publish the mean of the last 5 valid readings"),
      sdk::string_param("Device").help(
          "the IIO device instead of the dht11 device on Pin: name, label, iio:deviceN, the device it is on "
          "or a path"),
      sdk::string_param("Root").fallback("/").help(
          "sysfs root; devices are read in <Root>/sys/bus/iio/devices (tests use a fixture tree)"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("TempDest", SR_VALUE_NUMBER, "temperature", "°C").unit_from("TempUnit", "C=°C|F=°F"),
      sdk::publishes("HumiDest", SR_VALUE_NUMBER, "humidity", "%"), sdk::end_ios};

  DhtSensor(sdk::Host host, const sdk::Params& params);
  static void check(const sdk::Params& params, sdk::CheckReport& report);
  sdk::PollResult poll();
  void refresh();

  std::chrono::nanoseconds retry_delay() const { return retry_delay_; }

 private:
  void start_attempt();
  void on_read(DhtRead read);
  // Publishes what is valid; false when nothing was.
  bool publish(const DhtRead& read);
  void finish(bool ok);

  sdk::Host host_;
  std::string temp_dest_;
  std::string humi_dest_;
  TempUnit unit_;
  bool smoothing_;
  std::optional<unsigned> pin_;
  std::string spec_;
  std::string root_;
  std::chrono::nanoseconds poll_interval_;
  std::chrono::nanoseconds retry_delay_;

  std::string dir_;  // the device found; empty until then and after it went away
  int attempt_ = 0;
  std::chrono::nanoseconds poll_started_{};
  sdk::Timer retry_;
  sdk::MovingAverage temp_average_;
  sdk::MovingAverage humi_average_;
  std::optional<std::string> last_temp_;
  std::optional<std::string> last_humi_;
};

static_assert(sdk::choice_count(DhtSensor::params, "Sensor") == 3);
static_assert(sdk::choice_count(DhtSensor::params, "TempUnit") == 2);

}  // namespace sr::iio
