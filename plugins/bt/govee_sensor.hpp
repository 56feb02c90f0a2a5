// bt.govee_sensor.GoveeSensor — background sensor: Govee BLE thermometers
// and hygrometers (H5072/H5075/H5129, H5100-H5110/H5174/H5177/GV5179, H5074,
// H5051/H5052/H5071, H5179), read from their advertisements through BlueZ.
//
// For every Govee advertisement it publishes, under
// <Destination>/<device name>/:
//   battery  percent, an integer ("100")
//   temp_c   °C with two decimals ("21.30", "-7.30")
//   temp_f   °F with two decimals ("70.34")
//   humi     % relative humidity with two decimals ("44.20")
//   rssi     dBm, an integer, when the controller reports one
// The device name is its advertised name (GVH5075_2762); a device that
// advertises none is named Govee_<address without colons>. Refresh
// republishes the last values of every device seen.
//
// Parameters:
//   Destination  the root of the topic tree (required)
//   Adapter      hci0, hci1, ...; default the first adapter BlueZ lists
//   MinInterval  seconds; a device's readings are published at most this
//                often, the latest one when the interval ends (default 0:
//                every advertisement, as the original did)
//
// Decisions (../shared/reference/bluetooth.md §1.4, §2):
//  - Devices are recognised by company ID, data length and advertised name
//    (govee_decoder.hpp), not by the A4:C1:38 address prefix the original
//    used: newer Govee devices have other prefixes.
//  - Decoding is correct where the original's was not: negative
//    temperatures, no humidity digits in temp_c, the error bit.
//  - A reading with the sensor-error flag (or out of range) publishes battery
//    and rssi only, and logs one warning per device until it reads well
//    again.
//  - Only the advertising device's fields are published per advertisement
//    (the original republished every device on every advertisement).
//  - RSSI 127 (BlueZ's "unknown"; virtual controllers always say it) is not
//    published.
//
//   [Sensor_Govee]
//   Class = bt.govee_sensor.GoveeSensor
//   Connection = MQTT
//   Destination = govee
#pragma once

#include "advert_source.hpp"
#include "govee_decoder.hpp"

#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace sr::bt {

// A device name usable as one topic level: '/', '+', '#' and control
// characters become '_'; empty becomes Govee_<address without colons>.
std::string govee_topic_name(std::string_view advertised_name, std::string_view address);

class GoveeSensor final : public AdvertListener {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "GoveeSensor";
  static constexpr const char* path = "bt.govee_sensor.GoveeSensor";
  static constexpr const char* summary =
      "Publishes temperature, humidity and battery of Govee Bluetooth thermometers from their advertisements";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Destination")
          .required()
          .help("root of the tree Destination/<device name>/{battery,temp_c,temp_f,humi,rssi}"),
      sdk::string_param("Adapter").fallback("").help("Bluetooth adapter, e.g. hci0; default the first one"),
      sdk::float_param("MinInterval")
          .fallback("0")
          .min(0)
          .help("seconds between two publications of one device; 0: every advertisement"),
      sdk::end_params};
  // A tree, not one value: Destination/<device>/<leaf>, devices named at
  // run time. "tree" and the leaves (leaf:measure) tell discovery so: it
  // announces each device's five readings once the device publishes, and
  // keeps them across restarts (docs/discovery.md).
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Destination", SR_VALUE_NUMBER,
                     "tree battery:battery temp_c:temperature temp_f:temperature_f humi:humidity rssi:rssi"),
      sdk::end_ios};

  GoveeSensor(sdk::Host host, const sdk::Params& params);
  ~GoveeSensor() override;
  GoveeSensor(const GoveeSensor&) = delete;
  GoveeSensor& operator=(const GoveeSensor&) = delete;

  void start();
  void refresh();
  void on_report(const DeviceState& device, unsigned carried) override;

 private:
  struct Fields {
    GoveeFields values;  // temp/humi empty: sensor error
    std::optional<int> rssi;
  };
  struct Device {
    std::string topic;           // Destination/<name>
    Fields last;                 // what was published last
    std::optional<Fields> held;  // newer than `last`, waiting for MinInterval
    std::chrono::nanoseconds published_at{0};
    sdk::Timer release;  // publishes `held` when MinInterval has passed
    bool error_logged = false;
  };

  void publish(Device& device, const Fields& fields);

  sdk::Host host_;
  std::string destination_;
  std::string adapter_;
  std::chrono::nanoseconds min_interval_;
  std::shared_ptr<AdvertSource> source_;
  std::map<std::string, Device> devices_;  // by address
};

}  // namespace sr::bt
