// network.arp_sensor.ArpSensor — polling sensor (SPEC 7.7).
//
// Presence of a device on the local network: ON when its MAC address is in
// the kernel's ARP table, else OFF. The state is published at start (first
// poll) and then only when it changes; refresh republishes it.
//
// Parameters:
//   MAC          hardware address aa:bb:cc:dd:ee:ff, either case
//   Destination  where ON/OFF goes
//   Poll         seconds between checks (required, >= 0.01)
//   ArpTable     the table to read (default /proc/net/arp), for tests
//
// Decisions:
//  - The table is read directly (the original ran `arp -n`). Only rows whose
//    Flags have ATF_COM (0x2, a complete entry) count. An incomplete entry
//    (Flags 0x0, HW address 00:00:00:00:00:00: the kernel asked and nobody
//    answered) means absent. A stale entry still has 0x2 and counts as
//    present until the kernel drops it, as with `arp -n`.
//  - /proc/net/arp is generated in memory and never blocks, so it is read on
//    the loop, not on a worker.
//  - A table that cannot be read or is not an ARP table (no header line, a
//    row without the four first columns or with a non-hex Flags) logs an
//    error naming the file and publishes nothing: the last state stands, as
//    the original left it on an `arp` failure. Before the first good read a
//    refresh publishes nothing.
//
//   [Sensor_Phone]
//   Class = network.arp_sensor.ArpSensor
//   Connection = MQTT
//   MAC = aa:bb:cc:dd:ee:ff
//   Destination = presence/phone
//   Poll = 10
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sr::network {

// ---------------------------------------------------------------------------
// Pure logic, shared with the unit tests and fuzz targets.

// True for six two-digit hex bytes separated by ':' (either case).
bool valid_mac(std::string_view mac);

// Whether `mac` has a complete entry in the text of /proc/net/arp, or why
// the text is not an ARP table (`error` set, `present` meaningless).
struct ArpLookup {
  bool present = false;
  std::string error;
  bool ok() const { return error.empty(); }
};
// `mac` is compared case-insensitively.
ArpLookup arp_table_contains(std::string_view table, std::string_view mac);

// ---------------------------------------------------------------------------
// The plugin class

class ArpSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "ArpSensor";
  static constexpr const char* path = "network.arp_sensor.ArpSensor";
  static constexpr const char* summary =
      "Publishes ON/OFF when a MAC address appears in or leaves the ARP table";
  static constexpr sr_param_def params[] = {
      sdk::string_param("MAC")
          .required()
          .pattern("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", "a MAC address such as aa:bb:cc:dd:ee:ff")
          .help("hardware address to look for, aa:bb:cc:dd:ee:ff (any case)"),
      sdk::string_param("Destination").required().help("destination of ON (present) / OFF (absent)"),
      sdk::float_param("Poll").required().min(0.01).help("seconds between checks of the ARP table (> 0)"),
      sdk::string_param("ArpTable").fallback("/proc/net/arp").help("the ARP table to read"), sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Destination", SR_VALUE_BINARY, "presence", nullptr, "OFF,ON"), sdk::end_ios};

  ArpSensor(sdk::Host host, const sdk::Params& params);
  sdk::PollResult poll();
  void refresh();

 private:
  void publish_state();

  sdk::Host host_;
  std::string mac_;
  std::string destination_;
  std::string table_;
  std::optional<bool> present_;  // unknown until the first good read
};

}  // namespace sr::network
