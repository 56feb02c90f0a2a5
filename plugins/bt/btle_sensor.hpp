// bt.btle_sensor.BtleSensor — polling sensor: presence of Bluetooth LE
// devices by address, from their advertisements through BlueZ.
//
// Every Poll seconds each AddressN is present when BlueZ reported an
// advertisement of it within the last Timeout seconds; DestinationN then gets
// the first of Values (default ON), else the second (OFF). The first poll
// publishes every device, later polls only changes; refresh republishes
// (the second value before the first poll, as the original did).
//
// Parameters:
//   Poll                     seconds between checks; must exceed Timeout
//   Timeout                  seconds an advertisement counts as presence (a
//                            whole number, as in the original)
//   Address1..n              device addresses, either case
//   Destination1..n          where each device's state goes (same numbers)
//   Values                   present,absent (default ON,OFF)
//   Adapter                  hci0, ...; default the first adapter BlueZ lists
//
// Decisions (../shared/reference/bluetooth.md §1.1):
//  - The original ran a blocking active scan of Timeout seconds per poll
//    (root needed). Here discovery runs all the time through BlueZ (no
//    privilege), and a poll looks back Timeout seconds. A poll made before
//    discovery has run Timeout seconds waits until it has (an asynchronous
//    poll), so a device is never called absent before it had the chance to
//    be seen.
//  - While discovery does not run (bluetoothd away, adapter off) a poll
//    publishes nothing and counts as failed (the host's back-off applies):
//    "absent" would be a guess.
//  - Addresses compare case-insensitively (the original needed lower case).
//
//   [Sensor_Phone]
//   Class = bt.btle_sensor.BtleSensor
//   Connection = MQTT
//   Poll = 30
//   Timeout = 10
//   Address1 = A4:C1:38:12:34:56
//   Destination1 = presence/thermometer
#pragma once

#include "advert_source.hpp"

#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sr::bt {

class BtleSensor final : public AdvertListener {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "BtleSensor";
  static constexpr const char* path = "bt.btle_sensor.BtleSensor";
  static constexpr const char* summary =
      "Publishes ON/OFF presence of Bluetooth LE devices from their advertisements";
  static constexpr sr_param_def params[] = {
      sdk::float_param("Poll").required().min(0.01).help("seconds between checks; must exceed Timeout"),
      sdk::int_param("Timeout").required().min(1).help(
          "seconds an advertisement counts as presence (whole seconds)"),
      sdk::string_param("Address")
          .numbered("Destination")
          .pattern("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", "a Bluetooth address such as A4:C1:38:12:34:56")
          .help("Address1, Address2, ...: device addresses, either case"),
      sdk::string_param("Destination")
          .numbered("Address")
          .help("Destination1, Destination2, ...: where each device's state goes"),
      sdk::string_param("Values").fallback("ON,OFF").help("value_when_present,value_when_absent"),
      sdk::string_param("Adapter").fallback("").help("Bluetooth adapter, e.g. hci0; default the first one"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Destination", SR_VALUE_BINARY, "presence", nullptr, "OFF,ON"), sdk::end_ios};

  static void check(const sdk::Params& params, sdk::CheckReport& report);

  BtleSensor(sdk::Host host, const sdk::Params& params);
  ~BtleSensor() override;
  BtleSensor(const BtleSensor&) = delete;
  BtleSensor& operator=(const BtleSensor&) = delete;

  void start();
  sdk::PollResult poll();
  void refresh();
  void on_report(const DeviceState&, unsigned) override {}

 private:
  // Publishes what changed (everything the first time); false when
  // discovery does not run.
  bool evaluate();
  void publish(const WatchedDevice& device);

  sdk::Host host_;
  std::chrono::nanoseconds timeout_;
  std::string present_value_, absent_value_;
  std::string adapter_;
  std::vector<WatchedDevice> devices_;
  std::shared_ptr<AdvertSource> source_;
  sdk::Timer pending_poll_;
};

// Values "ON,OFF" → {"ON", "OFF"}; empty when it is not two values.
std::optional<std::pair<std::string, std::string>> split_values(std::string_view values);

}  // namespace sr::bt
