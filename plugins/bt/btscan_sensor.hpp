// bt.btscan_sensor.SimpleBtSensor and bt.btscan_sensor.BtRssiSensor —
// polling sensors: presence of classic (BR/EDR) Bluetooth devices, which
// need not be discoverable, by asking the controller directly (HciChannel).
//
// SimpleBtSensor: each poll asks every AddressN for its name (a Remote Name
// Request, one device after the other, each waiting up to 25 s as the
// original's lookup_name did); an answer is ON at DestinationN, none OFF.
// The first poll publishes every device, later ones only changes; refresh
// republishes what is known (nothing before the first answer).
//   Poll             seconds, more than 25
//   Address1..n      device addresses, either case (a bare Address is
//                    Address1, as the original's README wrote it)
//   Destination1..n  where each device's ON/OFF goes
//   Adapter          default hci0
//
// BtRssiSensor (deprecated in the original, kept for its configurations):
// each poll runs a 5.12 s inquiry and looks for Address among the answers.
// Two counters move within [0, Max]: not found → far+1, near−1; found with
// an RSSI below −1 dBm (or with none, or 127: "not available") → near+1,
// far−1; found at −1 dBm or
// above changes nothing (as the original). near > far and near > Near → ON;
// far > near and far > Far → OFF. The first poll publishes the state (OFF
// until proven near), later polls only changes; refresh republishes it.
//   Poll        seconds, more than 10
//   Address     the device's address
//   Destination where ON/OFF goes
//   Max, Near, Far  whole numbers; Max must exceed Near and Far
//   Adapter     default hci0
//
// Decisions (../shared/reference/bluetooth.md §1.2-1.3):
//  - Raw HCI commands the kernel allows without a capability (hci_codec.hpp);
//    the service needs AF_BLUETOOTH (plugins/bt/README.md, "Privileges").
//  - BtRssiSensor does not write the inquiry mode (which needs CAP_NET_RAW
//    and which the original got backwards): the kernel sets the controller to
//    report RSSI when it can; an answer without RSSI counts as near.
//  - A request the controller refuses, or a socket that cannot be opened,
//    fails the poll (logged, the host backs off) and publishes nothing.
//
//   [Sensor_Phone]
//   Class = bt.btscan_sensor.SimpleBtSensor
//   Connection = MQTT
//   Poll = 60
//   Address1 = 5C:F3:70:AB:CD:EF
//   Destination1 = presence/phone
#pragma once

#include "advert_source.hpp"
#include "hci_channel.hpp"

#include <sensor_reporter/sdk.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sr::bt {

// The counter rule of BtRssiSensor, apart for the unit tests: moves the
// counters and the state after one inquiry.
struct RssiCounters {
  int near = 0, far = 0;
  bool on = false;
  void count(bool found, std::optional<int> rssi, int max, int near_limit, int far_limit);
};

class SimpleBtSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "SimpleBtSensor";
  static constexpr const char* path = "bt.btscan_sensor.SimpleBtSensor";
  static constexpr const char* summary =
      "Publishes ON/OFF presence of classic Bluetooth devices by asking each for its name";
  static constexpr sr_param_def params[] = {
      sdk::float_param("Poll").required().help(
          "seconds between checks; more than 25 (each device may take 25 s)"),
      sdk::string_param("Address")
          .numbered("Destination")
          .pattern("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", "a Bluetooth address such as 5C:F3:70:AB:CD:EF")
          .help("Address1, Address2, ...: device addresses, either case"),
      sdk::string_param("Destination")
          .numbered("Address")
          .help("Destination1, Destination2, ...: where each device's ON/OFF goes"),
      sdk::string_param("Adapter").fallback("hci0").help("Bluetooth adapter"), sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Destination", SR_VALUE_BINARY, "presence", nullptr, "OFF,ON"), sdk::end_ios};

  static void check(const sdk::Params& params, sdk::CheckReport& report);

  SimpleBtSensor(sdk::Host host, const sdk::Params& params);
  ~SimpleBtSensor();
  SimpleBtSensor(const SimpleBtSensor&) = delete;
  SimpleBtSensor& operator=(const SimpleBtSensor&) = delete;

  void start();
  sdk::PollResult poll();
  void refresh();

 private:
  void ask(size_t index);  // the name request of devices_[index], then the next

  sdk::Host host_;
  std::string adapter_;
  std::vector<WatchedDevice> devices_;
  std::shared_ptr<HciChannel> channel_;
  bool failed_ = false;  // this poll had a request fail
};

class BtRssiSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "BtRssiSensor";
  static constexpr const char* path = "bt.btscan_sensor.BtRssiSensor";
  static constexpr const char* summary =
      "Publishes ON/OFF when a classic Bluetooth device is near, from repeated inquiries (deprecated)";
  static constexpr sr_param_def params[] = {
      sdk::float_param("Poll").required().help("seconds between inquiries; more than 10"),
      sdk::string_param("Address")
          .required()
          .pattern("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", "a Bluetooth address such as 5C:F3:70:AB:CD:EF")
          .help("the device's address, either case"),
      sdk::string_param("Destination").required().help("where ON (near) / OFF (far) goes"),
      sdk::int_param("Max").required().min(1).help("the counters' ceiling; more than Near and Far"),
      sdk::int_param("Near").required().min(0).help("near count above which the device is ON"),
      sdk::int_param("Far").required().min(0).help("far count above which the device is OFF"),
      sdk::string_param("Adapter").fallback("hci0").help("Bluetooth adapter"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Destination", SR_VALUE_BINARY, "presence", nullptr, "OFF,ON"), sdk::end_ios};

  static void check(const sdk::Params& params, sdk::CheckReport& report);

  BtRssiSensor(sdk::Host host, const sdk::Params& params);
  ~BtRssiSensor();
  BtRssiSensor(const BtRssiSensor&) = delete;
  BtRssiSensor& operator=(const BtRssiSensor&) = delete;

  void start();
  sdk::PollResult poll();
  void refresh();

 private:
  sdk::Host host_;
  std::string address_;
  std::string destination_;
  int max_, near_limit_, far_limit_;
  RssiCounters counters_;
  bool published_ = false;
  std::string adapter_;
  std::shared_ptr<HciChannel> channel_;
};

}  // namespace sr::bt
