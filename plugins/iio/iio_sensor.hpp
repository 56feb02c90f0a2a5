// iio.iio_sensor.IioSensor — polling sensor: channels of a kernel IIO device
// (BME280/BMP280, DPS310, SHT4x, HDC1080, ADS1115, TSL2561, ... any driver
// under /sys/bus/iio/devices), one destination key per quantity.
//
// Parameters:
//   Device            which IIO device: its name (bme280), its label, its
//                     directory (iio:device0), the device it is on (1-0076:
//                     I2C bus 1, address 0x76) or a path
//                     (/sys/bus/iio/devices/iio:device0); a name two devices
//                     share is an error listing both
//   TempDest          temperature in °C (°F with TempUnit = F)      [channel temp]
//   HumiDest          relative humidity in %                         [humidityrelative]
//   PressureDest      pressure in hPa                                [pressure]
//   VoltageDest       voltage in V                                   [voltage]
//   CurrentDest       current in A                                   [current]
//   IlluminanceDest   illuminance in lx                              [illuminance]
//   Destination       any other channel, in the IIO ABI's unit (Channel required)
//   <X>Channel        the channel a destination reads, as the files name it
//                     (voltage0 for in_voltage0_raw, temp_object for
//                     in_temp_object_input); left out: the device's only
//                     channel of the bracketed type
//   Poll              seconds between readings (required)
//   TempUnit          C (default) or F
//   Root              sysfs root (default /), for fixture trees in tests
//
// Decisions:
//  - A channel reads in_<channel>_input when the driver offers it, else
//    (in_<channel>_raw + offset) x scale as the IIO ABI defines it, with the
//    channel's own _scale/_offset or the ones it shares (in_voltage_scale).
//    Scale and offset are read on every poll: a driver may change them (gain).
//  - The IIO ABI's units become the usual ones: m°C -> °C, m% -> %,
//    kPa -> hPa, mV -> V, mA -> A; published with up to 3 decimals (6 for V
//    and A and for Destination), trailing zeros removed.
//  - The device and channels are looked up on the first poll (on a worker),
//    their files opened and logged once at INFO; each later poll reads them
//    with one pread at offset 0 (sysfs answers anew). They are looked up
//    again after a read says the device is gone (ENODEV, ENOENT):
//    iio:deviceN numbers can change across a driver reload. A device or channel that is not there is an error
//    naming what there is; the poll fails, so the host backs off.
//  - Each poll reads every channel on a worker (a driver may convert for
//    tens of ms); a channel that fails is logged naming its file and errno
//    text; the poll fails only when no channel gave a reading.
//  - refresh republishes each destination's last reading.
//
//   [Sensor_Room]
//   Class = iio.iio_sensor.IioSensor
//   Connection = MQTT
//   Device = bme280
//   TempDest = room/temperature
//   HumiDest = room/humidity
//   PressureDest = room/pressure
//   Poll = 60
#pragma once

#include "kernel_device.hpp"
#include "kernel_sensor.hpp"

#include <sensor_reporter/sdk.hpp>

namespace sr::iio {

// The destination keys of IioSensor, in its table's order.
inline constexpr OutputKind kIioOutputs[] = {
    {"TempDest", "TempChannel", "temp", 0.001, 3, true},
    {"HumiDest", "HumiChannel", "humidityrelative", 0.001, 3, false},
    {"PressureDest", "PressureChannel", "pressure", 10, 3, false},
    {"VoltageDest", "VoltageChannel", "voltage", 0.001, 6, false},
    {"CurrentDest", "CurrentChannel", "current", 0.001, 6, false},
    {"IlluminanceDest", "IlluminanceChannel", "illuminance", 1, 3, false},
    {"Destination", "Channel", nullptr, 1, 6, false},
};

// The IIO device `spec` names under `root` (Device's forms: name, label,
// iio:deviceN, the device it is on, or a path); errors start "Device: ".
DeviceLookup find_iio_device(const std::string& root, std::string_view spec);

// Finds the device `spec` names under `root` and the files of each output.
PlanOrError plan_iio(const std::string& root, const std::string& spec, const std::vector<Output>& outputs);

class IioSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "IioSensor";
  static constexpr const char* path = "iio.iio_sensor.IioSensor";
  static constexpr const char* summary =
      "Publishes channels of a kernel IIO device (BME280, DPS310, ADS1115, ...): temperature, humidity, "
      "pressure, voltage, ...";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Device").required().not_empty().help(
          "the IIO device: its name (bme280), label, directory (iio:device0), the device it is on (1-0076) "
          "or a path (/sys/bus/iio/devices/iio:device0)"),
      sdk::string_param("TempDest").help("destination of the temperature (°C, or °F with TempUnit = F)"),
      sdk::string_param("TempChannel")
          .help("the channel TempDest reads (default: the device's only temp channel)"),
      sdk::string_param("HumiDest").help("destination of the relative humidity (%)"),
      sdk::string_param("HumiChannel").help("the channel HumiDest reads (default: humidityrelative)"),
      sdk::string_param("PressureDest").help("destination of the pressure (hPa)"),
      sdk::string_param("PressureChannel").help("the channel PressureDest reads (default: pressure)"),
      sdk::string_param("VoltageDest").help("destination of a voltage (V)"),
      sdk::string_param("VoltageChannel")
          .help("the channel VoltageDest reads, e.g. voltage0 (default: the device's only voltage channel)"),
      sdk::string_param("CurrentDest").help("destination of a current (A)"),
      sdk::string_param("CurrentChannel")
          .help("the channel CurrentDest reads (default: the only current channel)"),
      sdk::string_param("IlluminanceDest").help("destination of the illuminance (lx)"),
      sdk::string_param("IlluminanceChannel")
          .help("the channel IlluminanceDest reads (default: illuminance)"),
      sdk::string_param("Destination").help("destination of any other channel, in the IIO ABI's unit"),
      sdk::string_param("Channel").help("the channel Destination reads, e.g. proximity or concentration_co2"),
      sdk::float_param("Poll").required().min(0.01).help("seconds between readings"),
      sdk::choice_param("TempUnit", "C|F")
          .fallback("C")
          .help("publish degrees Celsius (C) or Fahrenheit (F)"),
      sdk::string_param("Root").fallback("/").help(
          "sysfs root; devices are read in <Root>/sys/bus/iio/devices (tests use a fixture tree)"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("TempDest", SR_VALUE_NUMBER, "temperature", "°C").unit_from("TempUnit", "C=°C|F=°F"),
      sdk::publishes("HumiDest", SR_VALUE_NUMBER, "humidity", "%"),
      sdk::publishes("PressureDest", SR_VALUE_NUMBER, "pressure", "hPa"),
      sdk::publishes("VoltageDest", SR_VALUE_NUMBER, "voltage", "V"),
      sdk::publishes("CurrentDest", SR_VALUE_NUMBER, "current", "A"),
      sdk::publishes("IlluminanceDest", SR_VALUE_NUMBER, "illuminance", "lx"),
      sdk::publishes("Destination", SR_VALUE_NUMBER, "IIO channel"),
      sdk::end_ios};

  IioSensor(sdk::Host host, const sdk::Params& params);
  static void check(const sdk::Params& params, sdk::CheckReport& report);
  sdk::PollResult poll() { return sensor_.poll(); }
  void refresh() { sensor_.refresh(); }

  const KernelSensor& sensor() const { return sensor_; }

 private:
  KernelSensor sensor_;
};

static_assert(sdk::choice_count(IioSensor::params, "TempUnit") == 2);

}  // namespace sr::iio
