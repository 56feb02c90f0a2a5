// What DashSensor reads off the wire, apart from any socket: which frames
// count as a button press, and the classic BPF program that makes the
// kernel hand over only those frames.
//
// A button (an Amazon Dash, or anything that wakes up and joins the network
// when pressed) announces itself with an ARP packet (older firmware: a
// request or probe for its gateway) or a DHCP request (DISCOVER/REQUEST from
// client port 68 to server port 67). Either is a press of the button whose
// Ethernet source address it carries. Frames the host sends itself
// (PACKET_OUTGOING) are never presses: the socket sees them when it listens
// on every interface.
//
// The kernel filter (dash_filter) and the classifier (classify_press) agree:
// every frame the classifier counts passes the filter; the filter checks the
// source address, the EtherType and, for IPv4, the UDP ports, and the
// classifier additionally the ARP and BOOTP headers behind them. The fuzz
// target fuzz_dash_frame checks that with a cBPF interpreter.
#pragma once

#include <linux/filter.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sr::network {

using MacAddress = std::array<uint8_t, 6>;

// "aa:bb:cc:dd:ee:ff" (either case) as bytes; nullopt for anything else.
std::optional<MacAddress> parse_mac(std::string_view text);
// Lower case, colon separated.
std::string mac_text(const MacAddress& mac);

enum class PressKind { Arp, Dhcp };
std::string_view press_kind_name(PressKind kind);  // "ARP", "DHCP"

struct Press {
  MacAddress source;
  PressKind kind;
};

// The frame (an Ethernet II frame from its destination address on, as an
// AF_PACKET SOCK_RAW socket reads it) as a press: an ARP packet (Ethernet
// over IPv4, request or reply) or a BOOTP request from UDP port 68 to 67 in
// an unfragmented IPv4 packet. nullopt for anything else, including a
// truncated header. Does not look at the source address.
std::optional<Press> classify_press(std::span<const uint8_t> frame);

// The most addresses one filter can check: each takes four instructions and
// classic BPF's conditional jumps reach at most 255 instructions ahead.
inline constexpr size_t kMaxDashButtons = 48;

// The filter for `macs` (1..kMaxDashButtons of them): accepts (whole) a
// frame that is not outgoing, comes from one of `macs` and is ARP, or IPv4
// UDP from port 68 to 67 and not a fragment; drops everything else.
std::vector<sock_filter> dash_filter(std::span<const MacAddress> macs);

}  // namespace sr::network
