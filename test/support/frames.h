// Ethernet frames as a Dash button sends them, built from the protocols
// (RFC 826 ARP, RFC 791 IPv4, RFC 768 UDP, RFC 2131/2132 DHCP), for the
// tests and the benchmark that inject them: what a button puts on the wire
// when it wakes up, and near misses that are not presses.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace sr::test::frames {

using Mac = std::array<uint8_t, 6>;
using Ipv4 = std::array<uint8_t, 4>;

inline constexpr Mac kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

inline void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}
template <size_t N>
void put(std::vector<uint8_t>& out, const std::array<uint8_t, N>& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

inline std::vector<uint8_t> ethernet(const Mac& destination, const Mac& source, uint16_t ether_type) {
  std::vector<uint8_t> frame;
  put(frame, destination);
  put(frame, source);
  put16(frame, ether_type);
  return frame;
}

// An ARP request (operation 1) or reply (2) for IPv4 over Ethernet; a
// button's "who has my gateway" is a broadcast request.
inline std::vector<uint8_t> arp(const Mac& source, const Ipv4& sender_ip, const Ipv4& target_ip,
                                uint16_t operation = 1) {
  std::vector<uint8_t> frame = ethernet(kBroadcast, source, 0x0806);
  put16(frame, 1);       // hardware type: Ethernet
  put16(frame, 0x0800);  // protocol type: IPv4
  frame.push_back(6);
  frame.push_back(4);
  put16(frame, operation);
  put(frame, source);
  put(frame, sender_ip);
  put(frame, Mac{});  // target hardware address: unknown
  put(frame, target_ip);
  frame.resize(60, 0);  // minimum frame without FCS: padded
  return frame;
}

inline uint16_t ip_checksum(const uint8_t* header, size_t size) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < size; i += 2) sum += static_cast<uint32_t>(header[i] << 8 | header[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// A UDP datagram in an IPv4 packet in an Ethernet frame. `fragment` is the
// IPv4 flags/fragment-offset word (0: a whole datagram, DF not set).
inline std::vector<uint8_t> udp(const Mac& source, const Mac& destination, const Ipv4& source_ip,
                                const Ipv4& destination_ip, uint16_t source_port, uint16_t destination_port,
                                const std::vector<uint8_t>& payload, uint16_t fragment = 0) {
  std::vector<uint8_t> frame = ethernet(destination, source, 0x0800);
  const size_t ip_at = frame.size();
  frame.push_back(0x45);  // IPv4, 20-byte header
  frame.push_back(0);
  put16(frame, static_cast<uint16_t>(20 + 8 + payload.size()));
  put16(frame, 0x1234);  // identification
  put16(frame, fragment);
  frame.push_back(64);  // TTL
  frame.push_back(17);  // UDP
  put16(frame, 0);      // checksum, below
  put(frame, source_ip);
  put(frame, destination_ip);
  const uint16_t checksum = ip_checksum(frame.data() + ip_at, 20);
  frame[ip_at + 10] = static_cast<uint8_t>(checksum >> 8);
  frame[ip_at + 11] = static_cast<uint8_t>(checksum);
  put16(frame, source_port);
  put16(frame, destination_port);
  put16(frame, static_cast<uint16_t>(8 + payload.size()));
  put16(frame, 0);  // no UDP checksum (allowed over IPv4)
  frame.insert(frame.end(), payload.begin(), payload.end());
  if (frame.size() < 60) frame.resize(60, 0);
  return frame;
}

// A BOOTP/DHCP message (RFC 2131 §2): op 1 (BOOTREQUEST) from a client with
// hardware address `client`, the magic cookie and the options given
// (without the end option, which is added).
inline std::vector<uint8_t> bootp(uint8_t op, const Mac& client, uint32_t xid, const std::vector<uint8_t>& options) {
  std::vector<uint8_t> message;
  message.push_back(op);
  message.push_back(1);  // htype Ethernet
  message.push_back(6);  // hlen
  message.push_back(0);  // hops
  put32(message, xid);
  put16(message, 0);       // secs
  put16(message, 0x8000);  // flags: broadcast
  message.resize(message.size() + 16, 0);  // ciaddr, yiaddr, siaddr, giaddr
  put(message, client);
  message.resize(message.size() + 10 + 64 + 128, 0);  // chaddr padding, sname, file
  put32(message, 0x63825363);
  message.insert(message.end(), options.begin(), options.end());
  message.push_back(255);  // end
  return message;
}

// DHCPDISCOVER (option 53 = 1) as a client sends it: from 0.0.0.0:68 to
// 255.255.255.255:67, broadcast.
inline std::vector<uint8_t> dhcp_discover(const Mac& client, uint32_t xid = 0x3903f326) {
  const std::vector<uint8_t> options{53, 1, 1, 55, 4, 1, 3, 6, 15};
  return udp(client, kBroadcast, Ipv4{0, 0, 0, 0}, Ipv4{255, 255, 255, 255}, 68, 67, bootp(1, client, xid, options));
}

// DHCPREQUEST (option 53 = 3) for `requested`.
inline std::vector<uint8_t> dhcp_request(const Mac& client, const Ipv4& requested, uint32_t xid = 0x3903f326) {
  std::vector<uint8_t> options{53, 1, 3, 50, 4};
  options.insert(options.end(), requested.begin(), requested.end());
  return udp(client, kBroadcast, Ipv4{0, 0, 0, 0}, Ipv4{255, 255, 255, 255}, 68, 67, bootp(1, client, xid, options));
}

}  // namespace sr::test::frames
