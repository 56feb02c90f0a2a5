// DashSensor's frames: the press classifier and the kernel filter; see
// dash_frame.hpp.
#include "dash_frame.hpp"

#include <linux/if_packet.h>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace sr::network {
namespace {

constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr size_t kEthernetHeader = 14;
constexpr size_t kArpPacket = 28;  // Ethernet/IPv4 ARP
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint16_t kDhcpClientPort = 68;
constexpr uint16_t kDhcpServerPort = 67;
constexpr size_t kBootpFixed = 236;  // BOOTP header up to the options (RFC 2131 §2)
constexpr uint8_t kDhcpMagicCookie[] = {0x63, 0x82, 0x53, 0x63};

uint16_t be16(std::span<const uint8_t> bytes, size_t at) {
  return static_cast<uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_arp_press(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeader + kArpPacket) return false;
  const auto arp = frame.subspan(kEthernetHeader);
  const uint16_t operation = be16(arp, 6);
  // Ethernet (1) over IPv4, 6-byte and 4-byte addresses; request or reply.
  return be16(arp, 0) == 1 && be16(arp, 2) == kEtherTypeIpv4 && arp[4] == 6 && arp[5] == 4 &&
         (operation == 1 || operation == 2);
}

bool is_dhcp_press(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeader + 20) return false;
  const auto ip = frame.subspan(kEthernetHeader);
  const size_t header = static_cast<size_t>(ip[0] & 0x0f) * 4;
  const size_t total = be16(ip, 2);
  // IPv4, a whole datagram (no fragment: neither offset nor more-fragments),
  // UDP, inside what was received (an Ethernet frame may carry padding).
  if (ip[0] >> 4 != 4 || header < 20 || total > ip.size() || total < header + 8 + kBootpFixed + 4) return false;
  if ((be16(ip, 6) & 0x3fff) != 0 || ip[9] != kIpProtoUdp) return false;
  const auto udp = ip.subspan(header, total - header);
  if (be16(udp, 0) != kDhcpClientPort || be16(udp, 2) != kDhcpServerPort) return false;
  const auto bootp = udp.subspan(8);
  // BOOTREQUEST from an Ethernet client, with DHCP's magic cookie.
  return bootp[0] == 1 && bootp[1] == 1 && bootp[2] == 6 &&
         std::equal(std::begin(kDhcpMagicCookie), std::end(kDhcpMagicCookie), bootp.begin() + kBootpFixed);
}

sock_filter statement(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, size_t from, size_t if_true, size_t if_false) {
  // Targets are relative to the next instruction; dash_filter keeps them
  // within reach (kMaxDashButtons).
  return sock_filter{code, static_cast<uint8_t>(if_true - from - 1), static_cast<uint8_t>(if_false - from - 1), k};
}

}  // namespace

std::optional<MacAddress> parse_mac(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddress mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    const int high = hex_digit(text[i * 3]), low = hex_digit(text[i * 3 + 1]);
    if (high < 0 || low < 0 || (i < 5 && text[i * 3 + 2] != ':')) return std::nullopt;
    mac[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return mac;
}

std::string mac_text(const MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

std::string_view press_kind_name(PressKind kind) { return kind == PressKind::Arp ? "ARP" : "DHCP"; }

std::optional<Press> classify_press(std::span<const uint8_t> frame) {
  if (frame.size() < kEthernetHeader) return std::nullopt;
  MacAddress source{};
  std::copy(frame.begin() + 6, frame.begin() + 12, source.begin());
  const uint16_t ether_type = be16(frame, 12);
  if (ether_type == kEtherTypeArp && is_arp_press(frame)) return Press{source, PressKind::Arp};
  if (ether_type == kEtherTypeIpv4 && is_dhcp_press(frame)) return Press{source, PressKind::Dhcp};
  return std::nullopt;
}

std::vector<sock_filter> dash_filter(std::span<const MacAddress> macs) {
  if (macs.empty() || macs.size() > kMaxDashButtons)
    throw std::invalid_argument(fmt::format("a Dash filter takes 1 to {} addresses, not {}", kMaxDashButtons,
                                            macs.size()));
  const size_t protocol = 2 + 4 * macs.size();  // first instruction after the address checks
  const size_t accept = protocol + 12, reject = protocol + 13;
  std::vector<sock_filter> program;
  auto at = [&] { return program.size(); };
  program.push_back(statement(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE));
  program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, at(), reject, at() + 1));
  for (size_t i = 0; i < macs.size(); ++i) {
    const MacAddress& m = macs[i];
    const size_t next = i + 1 < macs.size() ? at() + 4 : reject;
    const uint32_t high = static_cast<uint32_t>(m[0]) << 24 | static_cast<uint32_t>(m[1]) << 16 |
                          static_cast<uint32_t>(m[2]) << 8 | m[3];
    const uint32_t low = static_cast<uint32_t>(m[4]) << 8 | m[5];
    program.push_back(statement(BPF_LD | BPF_W | BPF_ABS, 6));  // source address, bytes 0-3
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, high, at(), at() + 1, next));
    program.push_back(statement(BPF_LD | BPF_H | BPF_ABS, 10));  // bytes 4-5
    program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, low, at(), protocol, next));
  }
  program.push_back(statement(BPF_LD | BPF_H | BPF_ABS, 12));  // EtherType
  program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kEtherTypeArp, at(), accept, at() + 1));
  program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kEtherTypeIpv4, at(), at() + 1, reject));
  program.push_back(statement(BPF_LD | BPF_B | BPF_ABS, kEthernetHeader + 9));  // IP protocol
  program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kIpProtoUdp, at(), at() + 1, reject));
  program.push_back(statement(BPF_LD | BPF_H | BPF_ABS, kEthernetHeader + 6));  // fragment offset
  program.push_back(jump(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, at(), reject, at() + 1));
  program.push_back(statement(BPF_LDX | BPF_B | BPF_MSH, kEthernetHeader));  // X = IP header length
  program.push_back(statement(BPF_LD | BPF_H | BPF_IND, kEthernetHeader));      // UDP source port
  program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kDhcpClientPort, at(), at() + 1, reject));
  program.push_back(statement(BPF_LD | BPF_H | BPF_IND, kEthernetHeader + 2));  // UDP destination port
  program.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, kDhcpServerPort, at(), accept, reject));
  program.push_back(statement(BPF_RET | BPF_K, 0x40000));  // accept: the whole frame
  program.push_back(statement(BPF_RET | BPF_K, 0));        // reject
  return program;
}

}  // namespace sr::network
