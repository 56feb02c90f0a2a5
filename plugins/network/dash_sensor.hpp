// network.dash_sensor.DashSensor — background sensor: presses of Amazon
// Dash buttons (or any device that joins the network when a button wakes
// it), seen as the ARP or DHCP frames the button sends.
//
// A press of the button with address MACn publishes that address (lower
// case, aa:bb:cc:dd:ee:ff) to Destinationn, as the original did. There is
// no state: refresh publishes nothing.
//
// Parameters:
//   MAC1..n          the buttons' hardware addresses, either case (a bare
//                    MAC is MAC1)
//   Destination1..n  where each button's presses go
//   Interface        the network interface to listen on; default every one
//   Debounce         seconds of quiet that end a press: frames from one
//                    button closer together than this are one press
//                    (default 5; 0: every frame is a press, as the original)
//
// Decisions:
//  - Frames come from an AF_PACKET socket on the host's event loop with a
//    classic BPF filter attached (dash_frame.hpp), so the kernel wakes the
//    daemon only for the buttons' ARP and DHCP frames; no sniffing library,
//    no thread. The socket needs CAP_NET_RAW, which the service unit does
//    not grant: packaging/examples/dash.conf is the drop-in that does (and
//    allows AF_PACKET), described in the README ("Privileges"). Without it
//    the section fails to start with an error that names the drop-in.
//  - A button wakes up, asks DHCP for an address and ARPs for its gateway
//    (several frames within a second or two), then sleeps. The original
//    published every ARP frame, so one press gave several messages (or
//    none, with firmware that only uses DHCP): here the first frame of a
//    burst is the press and the rest of the burst is swallowed.
//  - Addresses are compared as bytes, so the case of MACn does not matter
//    (the original compared strings: only lower case ever matched).
//  - Frames the host itself sends are ignored (they are seen when listening
//    on every interface).
//  - Poll is refused: presses are published as they happen.
//  - An interface that goes away (a USB adapter unplugged) is looked for
//    again every 5 s and listened on again when it is back.
//
//   [Sensor_Dash]
//   Class = network.dash_sensor.DashSensor
//   Connection = MQTT
//   MAC1 = aa:bb:cc:dd:ee:ff
//   Destination1 = buttons/coffee
#pragma once

#include "dash_frame.hpp"

#include <sensor_reporter/handle.hpp>
#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sr::network {

class DashSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "DashSensor";
  static constexpr const char* path = "network.dash_sensor.DashSensor";
  static constexpr const char* summary =
      "Publishes a button's MAC address when it is pressed (Amazon Dash: its ARP or DHCP frames)";
  static constexpr sr_param_def params[] = {
      sdk::string_param("MAC")
          .numbered("Destination")
          .pattern("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", "a MAC address such as aa:bb:cc:dd:ee:ff")
          .help("MAC1, MAC2, ...: the buttons' hardware addresses, aa:bb:cc:dd:ee:ff (any case)"),
      sdk::string_param("Destination")
          .numbered("MAC")
          .help("Destination1, Destination2, ...: where each button's presses go (the payload is its MAC)"),
      sdk::string_param("Interface").fallback("").help("network interface to listen on; default every one"),
      sdk::float_param("Debounce")
          .fallback("5")
          .min(0)
          .max(3600)
          .help("seconds of quiet that end a press (frames closer together are one press); 0: every frame"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {sdk::publishes("Destination", SR_VALUE_STRING, "button"), sdk::end_ios};

  static void check(const sdk::Params& params, sdk::CheckReport& report);

  DashSensor(sdk::Host host, const sdk::Params& params);
  DashSensor(const DashSensor&) = delete;
  DashSensor& operator=(const DashSensor&) = delete;

  void start();

  // One frame as the socket delivered it (public for the unit tests, which
  // feed frames without a socket).
  void on_frame(std::span<const uint8_t> frame);

 private:
  struct Button {
    MacAddress mac;
    std::string destination;
    std::optional<std::chrono::nanoseconds> last_frame_at;  // of this button's frames
  };

  void on_readable();
  bool bind_interface();  // false when the interface is not there (logged)
  void watch_for_interface();

  sdk::Host host_;
  std::vector<Button> buttons_;
  std::string interface_;  // empty: every interface
  std::chrono::nanoseconds debounce_;
  sdk::UniqueFd socket_;
  sdk::FdWatch watch_;
  sdk::Timer rebind_;  // while the interface is gone
};

}  // namespace sr::network
