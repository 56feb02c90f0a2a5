// HCI packets for the classic classes; see hci_codec.hpp.
#include "hci_codec.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace sr::bt::hci {
namespace {

constexpr uint8_t kCommandPacket = 0x01;
constexpr uint8_t kEventPacket = 0x04;

constexpr uint8_t kEvInquiryComplete = 0x01;
constexpr uint8_t kEvInquiryResult = 0x02;
constexpr uint8_t kEvRemoteNameComplete = 0x07;
constexpr uint8_t kEvCommandStatus = 0x0f;
constexpr uint8_t kEvInquiryResultRssi = 0x22;
constexpr uint8_t kEvExtendedInquiryResult = 0x2f;

std::vector<uint8_t> command(uint16_t opcode, std::initializer_list<uint8_t> params) {
  std::vector<uint8_t> packet{kCommandPacket, static_cast<uint8_t>(opcode & 0xff),
                              static_cast<uint8_t>(opcode >> 8), static_cast<uint8_t>(params.size())};
  packet.insert(packet.end(), params.begin(), params.end());
  return packet;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RSSI is a signed byte, -127..+20 dBm; 127 means "not available" (what
// virtual controllers always send).
std::optional<int> rssi_of(uint8_t byte) {
  if (byte == 127) return std::nullopt;
  return static_cast<int8_t>(byte);
}

std::string address_at(std::span<const uint8_t> bytes) { return address_text(bytes.first<6>()); }

// Inquiry Result (14-byte records) and Inquiry Result with RSSI (14 bytes,
// or 15 with the old Page_Scan_Mode byte): the kernel tells the two RSSI
// layouts apart by size the same way (hci_inquiry_result_with_rssi_evt).
std::vector<InquiryResponse> inquiry_results(std::span<const uint8_t> params, bool with_rssi) {
  std::vector<InquiryResponse> out;
  if (params.empty()) return out;
  size_t count = params[0];
  std::span<const uint8_t> records = params.subspan(1);
  if (count == 0) return out;
  size_t size = records.size() / count;
  if (records.size() % count != 0 || size < 14 || size > 15 || (!with_rssi && size != 14)) return out;
  for (size_t i = 0; i < count; ++i) {
    std::span<const uint8_t> record = records.subspan(i * size, size);
    InquiryResponse response{address_at(record), std::nullopt};
    if (with_rssi) response.rssi = rssi_of(record[size - 1]);
    out.push_back(std::move(response));
  }
  return out;
}

}  // namespace

std::optional<std::array<uint8_t, 6>> address_bytes(std::string_view address) {
  if (address.size() != 17) return std::nullopt;
  std::array<uint8_t, 6> bytes{};
  for (size_t i = 0; i < 6; ++i) {
    int high = hex_digit(address[i * 3]), low = hex_digit(address[i * 3 + 1]);
    if (high < 0 || low < 0 || (i < 5 && address[i * 3 + 2] != ':')) return std::nullopt;
    bytes[5 - i] = static_cast<uint8_t>(high << 4 | low);
  }
  return bytes;
}

std::string address_text(std::span<const uint8_t, 6> bytes) {
  return fmt::format("{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", bytes[5], bytes[4], bytes[3], bytes[2],
                     bytes[1], bytes[0]);
}

std::vector<uint8_t> inquiry(uint8_t length_units) {
  // LAP 0x9E8B33: the General Inquiry Access Code; 0 responses: unlimited.
  return command(kOpInquiry, {0x33, 0x8b, 0x9e, length_units, 0x00});
}

std::vector<uint8_t> inquiry_cancel() { return command(kOpInquiryCancel, {}); }

std::vector<uint8_t> remote_name_request(const std::array<uint8_t, 6>& a) {
  // Page_Scan_Repetition_Mode R2 and no clock offset, as hcitool and PyBluez
  // send when nothing is known of the device.
  return command(kOpRemoteNameRequest, {a[0], a[1], a[2], a[3], a[4], a[5], 0x02, 0x00, 0x00, 0x00});
}

Event decode(std::span<const uint8_t> packet) {
  if (packet.size() < 3 || packet[0] != kEventPacket || packet[2] != packet.size() - 3) return {};
  std::span<const uint8_t> params = packet.subspan(3);
  switch (packet[1]) {
    case kEvCommandStatus:
      if (params.size() != 4) return {};
      return CommandStatus{params[0], static_cast<uint16_t>(params[2] | params[3] << 8)};
    case kEvInquiryComplete:
      if (params.size() != 1) return {};
      return InquiryComplete{params[0]};
    case kEvInquiryResult: return inquiry_results(params, false);
    case kEvInquiryResultRssi: return inquiry_results(params, true);
    case kEvExtendedInquiryResult: {
      // Num_Responses (always 1), BD_ADDR, 5 bytes, Clock_Offset... RSSI at
      // offset 14, then 240 bytes of extended inquiry data.
      if (params.size() < 15 || params[0] != 1) return {};
      return std::vector<InquiryResponse>{{address_at(params.subspan(1)), rssi_of(params[14])}};
    }
    case kEvRemoteNameComplete: {
      if (params.size() < 7) return {};
      std::span<const uint8_t> name = params.subspan(7, std::min<size_t>(params.size() - 7, 248));
      const auto* text = reinterpret_cast<const char*>(name.data());
      return NameComplete{params[0], address_at(params.subspan(1)),
                          std::string(text, strnlen(text, name.size()))};
    }
    default: return {};
  }
}

std::string status_text(uint8_t status) {
  const char* name = nullptr;
  switch (status) {
    case 0x02: name = "Unknown Connection Identifier"; break;
    case 0x04: name = "Page Timeout"; break;
    case 0x08: name = "Connection Timeout"; break;
    case 0x0c: name = "Command Disallowed"; break;
    case 0x0d: name = "Rejected: Limited Resources"; break;
    case 0x12: name = "Invalid HCI Command Parameters"; break;
    case 0x22: name = "LMP Response Timeout"; break;
    default: break;
  }
  return name ? fmt::format("0x{:02x} ({})", status, name) : fmt::format("0x{:02x}", status);
}

}  // namespace sr::bt::hci
