// The few HCI packets the classic-Bluetooth classes use, encoded and decoded
// without libbluetooth (Bluetooth Core spec vol 4 part E §7.1, §7.7; the
// kernel's raw HCI socket carries them with a leading packet-type byte).
//
// Only commands the kernel lets an unprivileged raw socket send are here
// (net/bluetooth/hci_sock.c, hci_sec_filter: OGF_LINK_CTL Inquiry, Inquiry
// Cancel and Remote Name Request), so SimpleBtSensor and BtRssiSensor need
// the AF_BLUETOOTH address family and no capability.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sr::bt::hci {

constexpr uint16_t kOpInquiry = 0x0401;            // OGF 0x01, OCF 0x0001
constexpr uint16_t kOpInquiryCancel = 0x0402;      // OCF 0x0002
constexpr uint16_t kOpRemoteNameRequest = 0x0419;  // OCF 0x0019

// "A4:C1:38:12:34:56" (either case) → the 6 bytes as HCI sends them (least
// significant first); empty when it is not an address.
std::optional<std::array<uint8_t, 6>> address_bytes(std::string_view address);
// The other way, upper case.
std::string address_text(std::span<const uint8_t, 6> bytes);

// Command packets, packet-type byte (0x01) included.
std::vector<uint8_t> inquiry(uint8_t length_units);  // general inquiry (GIAC), length × 1.28 s
std::vector<uint8_t> inquiry_cancel();
std::vector<uint8_t> remote_name_request(const std::array<uint8_t, 6>& address);

// Events, from a packet that starts with the packet-type byte (0x04).
struct CommandStatus {
  uint8_t status;
  uint16_t opcode;
};
struct InquiryComplete {
  uint8_t status;
};
struct InquiryResponse {
  std::string address;      // upper case
  std::optional<int> rssi;  // dBm; none from a plain Inquiry Result, or 127 (not available)
};
struct NameComplete {
  uint8_t status;
  std::string address;
  std::string name;  // up to the first NUL; at most 248 bytes
};
using Event =
    std::variant<std::monostate, CommandStatus, InquiryComplete, std::vector<InquiryResponse>, NameComplete>;
// monostate: not an event we use, or malformed (short, wrong lengths).
Event decode(std::span<const uint8_t> packet);

// "0x0c (Command Disallowed)" for the statuses worth naming.
std::string status_text(uint8_t status);

}  // namespace sr::bt::hci
