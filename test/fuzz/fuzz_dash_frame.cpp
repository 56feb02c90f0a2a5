// Fuzz target: the frame classifier of network.dash_sensor.DashSensor and
// the kernel filter it attaches (network/dash_frame.hpp), run through a
// classic BPF interpreter written from the kernel's documentation (cbpf.h).
// Every frame on the network reaches the filter; what passes it reaches the
// classifier.
//
// Input: an Ethernet frame, then one control byte (last): its two low bits
// choose the packet type the kernel reports (host, broadcast, multicast,
// outgoing), the next bits how many of up to four buttons the filter
// watches (the frame's own source address is the second button when the
// frame has one).
//
// Invariants:
//  - classify_press never reads outside the frame (ASan) and, for a press,
//    names the frame's source address;
//  - the filter runs to a return (no instruction outside what cbpf.h
//    models, no jump past the end) and accepts the whole frame or nothing;
//  - the filter accepts every press from a watched button that is not
//    outgoing (the kernel never drops a press the classifier would count);
//  - whatever the filter accepts comes from a watched button, is not
//    outgoing, and is ARP or an unfragmented IPv4 UDP datagram from port 68
//    to 67 (checked by a reference reading of the same header fields);
//  - parse_mac(mac_text(m)) == m.
#include "network/dash_frame.hpp"

#include "cbpf.h"
#include "fuzz_host.h"

#include <linux/if_packet.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace {

using namespace sr::network;

constexpr uint32_t kPacketTypes[] = {PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OUTGOING};

unsigned be16(std::span<const uint8_t> f, size_t at) { return static_cast<unsigned>(f[at] << 8 | f[at + 1]); }

// What the filter is meant to pass, read independently of it: the
// EtherType, and for IPv4 the protocol, the fragment offset and the UDP
// ports behind the header length the packet states (the filter checks no
// more; a packet that lies about it is the classifier's to refuse).
bool reference_protocol(std::span<const uint8_t> f) {
  if (f.size() < 14) return false;
  const unsigned type = be16(f, 12);
  if (type == 0x0806) return true;
  if (type != 0x0800 || f.size() < 14 + 10) return false;
  if (f[14 + 9] != 17 || (be16(f, 14 + 6) & 0x1fff) != 0) return false;
  const size_t udp = 14 + static_cast<size_t>(f[14] & 0x0f) * 4;
  return f.size() >= udp + 4 && be16(f, udp) == 68 && be16(f, udp + 2) == 67;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> frame(data, size - 1);
  const uint8_t control = data[size - 1];
  const uint32_t pkttype = kPacketTypes[control & 3];

  std::vector<MacAddress> buttons{{0x44, 0x65, 0x0d, 0x11, 0x22, 0x33}};
  if (frame.size() >= 12) buttons.push_back(MacAddress{frame[6], frame[7], frame[8], frame[9], frame[10], frame[11]});
  buttons.push_back({0x00, 0x11, 0x22, 0x33, 0x44, 0x55});
  buttons.push_back({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  buttons.resize(std::min<size_t>(buttons.size(), 1 + ((control >> 2) & 3)));

  for (const MacAddress& m : buttons) FUZZ_CHECK(parse_mac(mac_text(m)) == m);

  const auto press = classify_press(frame);
  if (press) {
    FUZZ_CHECK(frame.size() >= 14);
    FUZZ_CHECK(std::equal(press->source.begin(), press->source.end(), frame.begin() + 6));
  }
  const uint32_t accepted = sr::test::run_cbpf(dash_filter(buttons), frame, pkttype);
  FUZZ_CHECK(accepted == 0 || accepted >= 0xffff);

  bool watched = false;
  if (frame.size() >= 12)
    for (const MacAddress& m : buttons) watched = watched || std::equal(m.begin(), m.end(), frame.begin() + 6);
  if (press && watched && pkttype != PACKET_OUTGOING) FUZZ_CHECK(accepted > 0);
  if (accepted > 0) {
    FUZZ_CHECK(watched);
    FUZZ_CHECK(pkttype != PACKET_OUTGOING);
    FUZZ_CHECK(reference_protocol(frame));
  }
  return 0;
}
