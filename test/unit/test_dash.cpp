// Unit tests for network.dash_sensor.DashSensor: which frames are presses
// (frames built from the RFCs by support/frames.h), the kernel filter run
// through a cBPF interpreter written from the kernel's documentation
// (fuzz/cbpf.h) against the same frames, and the class through its
// trampolines on testing.hpp's FakeHost (frames fed to on_frame, a manual
// clock for Debounce). The AF_PACKET socket itself is exercised by
// test/integration/test_wire.cpp inside a network namespace.
#include "network/dash_frame.hpp"
#include "network/dash_sensor.hpp"

#include "fuzz/cbpf.h"
#include "support/doctest_vector.h"
#include "support/frames.h"

#include <sensor_reporter/testing.hpp>

#include <doctest/doctest.h>

#include <linux/if_packet.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

using namespace sr::network;
using namespace std::chrono_literals;
using sr::sdk::testing::FakeHost;
using sr::sdk::testing::Instance;
namespace f = sr::test::frames;

constexpr f::Mac kButton{0x44, 0x65, 0x0d, 0xa1, 0xb2, 0xc3};  // an Amazon OUI
constexpr f::Mac kOther{0x44, 0x65, 0x0d, 0xa1, 0xb2, 0xc4};
constexpr f::Ipv4 kButtonIp{192, 168, 1, 77}, kGateway{192, 168, 1, 1};

MacAddress mac(const f::Mac& m) { return MacAddress(m); }

uint32_t filter_verdict(const std::vector<f::Mac>& macs, const std::vector<uint8_t>& frame,
                        uint32_t pkttype = PACKET_BROADCAST) {
  std::vector<MacAddress> addresses(macs.begin(), macs.end());
  return sr::test::run_cbpf(dash_filter(addresses), frame, pkttype);
}

std::span<const uint8_t> bytes(const std::vector<uint8_t>& frame) { return frame; }

}  // namespace

TEST_CASE("parse_mac reads six hex bytes in either case; mac_text writes lower case") {
  CHECK(parse_mac("44:65:0D:a1:B2:c3") == mac(kButton));
  CHECK(mac_text(mac(kButton)) == "44:65:0d:a1:b2:c3");
  for (const char* bad : {"", "44:65:0d:a1:b2", "44:65:0d:a1:b2:c3:00", "44-65-0d-a1-b2-c3", "44:65:0d:a1:b2:cg",
                          "4465:0da1:b2c3::", " 44:65:0d:a1:b2:c3"})
    CHECK_MESSAGE(!parse_mac(bad), bad);
}

TEST_CASE("ARP requests and replies and DHCP requests from a client are presses, of their source") {
  auto request = classify_press(f::arp(kButton, kButtonIp, kGateway));
  REQUIRE(request);
  CHECK(request->source == mac(kButton));
  CHECK(request->kind == PressKind::Arp);
  // A probe (sender 0.0.0.0) and a reply count too.
  CHECK(classify_press(f::arp(kButton, f::Ipv4{}, kButtonIp))->kind == PressKind::Arp);
  CHECK(classify_press(f::arp(kButton, kButtonIp, kGateway, 2))->kind == PressKind::Arp);
  auto discover = classify_press(f::dhcp_discover(kButton));
  REQUIRE(discover);
  CHECK(discover->source == mac(kButton));
  CHECK(discover->kind == PressKind::Dhcp);
  CHECK(classify_press(f::dhcp_request(kButton, kButtonIp))->kind == PressKind::Dhcp);
}

TEST_CASE("near misses are no presses") {
  CHECK_FALSE(classify_press(f::arp(kButton, kButtonIp, kGateway, 3)));  // RARP request
  auto arp = f::arp(kButton, kButtonIp, kGateway);
  CHECK_FALSE(classify_press(std::span(arp).first(14 + 27)));  // cut short
  arp[14 + 4] = 8;                                              // hardware address length
  CHECK_FALSE(classify_press(arp));
  // DNS from the button, a DHCP reply to it, a fragment, no magic cookie.
  CHECK_FALSE(classify_press(f::udp(kButton, f::kBroadcast, kButtonIp, kGateway, 5353, 53, std::vector<uint8_t>(300))));
  CHECK_FALSE(classify_press(f::udp(kButton, f::kBroadcast, kGateway, kButtonIp, 67, 68,
                                    f::bootp(2, kButton, 1, {53, 1, 2}))));
  CHECK_FALSE(classify_press(f::udp(kButton, f::kBroadcast, f::Ipv4{}, f::Ipv4{255, 255, 255, 255}, 68, 67,
                                    f::bootp(1, kButton, 1, {53, 1, 1}), 0x2000)));
  auto discover = f::dhcp_discover(kButton);
  discover[14 + 20 + 8 + 236] = 0;  // magic cookie
  CHECK_FALSE(classify_press(discover));
  auto long_ip = f::dhcp_discover(kButton);
  long_ip[14 + 2] = 0x10;  // IPv4 total length beyond the frame
  CHECK_FALSE(classify_press(long_ip));
  CHECK_FALSE(classify_press(f::ethernet(f::kBroadcast, kButton, 0x86dd)));  // IPv6, header only
  CHECK_FALSE(classify_press(std::vector<uint8_t>(13, 0xff)));
  CHECK_FALSE(classify_press(std::vector<uint8_t>{}));
}

TEST_CASE("the kernel filter passes exactly the buttons' ARP and DHCP client frames, never outgoing ones") {
  const std::vector<f::Mac> buttons{kButton, {0x00, 0x11, 0x22, 0x33, 0x44, 0x55}};
  CHECK(filter_verdict(buttons, f::arp(kButton, kButtonIp, kGateway)) > 60);
  CHECK(filter_verdict(buttons, f::dhcp_discover(kButton)) > 300);
  CHECK(filter_verdict(buttons, f::dhcp_request(buttons[1], kButtonIp)) > 300);
  CHECK(filter_verdict(buttons, f::arp(kButton, kButtonIp, kGateway), PACKET_HOST) > 0);
  CHECK(filter_verdict(buttons, f::arp(kButton, kButtonIp, kGateway), PACKET_OUTGOING) == 0);
  CHECK(filter_verdict(buttons, f::arp(kOther, kButtonIp, kGateway)) == 0);
  // Same first four bytes, other last two: the second comparison decides.
  CHECK(filter_verdict(buttons, f::dhcp_discover(kOther)) == 0);
  CHECK(filter_verdict(buttons, f::udp(kButton, f::kBroadcast, kButtonIp, kGateway, 5353, 53, {1, 2, 3})) == 0);
  CHECK(filter_verdict(buttons, f::udp(kButton, f::kBroadcast, kButtonIp, kGateway, 68, 68, {1, 2, 3})) == 0);
  CHECK(filter_verdict(buttons, f::udp(kButton, f::kBroadcast, f::Ipv4{}, f::Ipv4{255, 255, 255, 255}, 68, 67,
                                       f::bootp(1, kButton, 1, {}), 0x0001)) == 0);  // a later fragment
  CHECK(filter_verdict(buttons, f::ethernet(f::kBroadcast, kButton, 0x86dd)) == 0);
  CHECK(filter_verdict(buttons, std::vector<uint8_t>(10, 0)) == 0);  // shorter than a header
}

TEST_CASE("every frame the classifier counts passes the filter: the filter is a superset") {
  const std::vector<f::Mac> buttons{kButton};
  for (const auto& frame : {f::arp(kButton, kButtonIp, kGateway), f::arp(kButton, kButtonIp, kGateway, 2),
                            f::dhcp_discover(kButton), f::dhcp_request(kButton, kButtonIp)}) {
    REQUIRE(classify_press(frame));
    CHECK(filter_verdict(buttons, frame) > 0);
  }
}

TEST_CASE("the filter reaches its last address with the most buttons a section takes, and no further") {
  std::vector<f::Mac> buttons;
  for (size_t i = 0; i < kMaxDashButtons; ++i) buttons.push_back({0x02, 0, 0, 0, 0, static_cast<uint8_t>(i)});
  CHECK(filter_verdict(buttons, f::arp(buttons.back(), kButtonIp, kGateway)) > 0);
  CHECK(filter_verdict(buttons, f::dhcp_discover(buttons.front())) > 0);
  CHECK(filter_verdict(buttons, f::dhcp_discover(kButton)) == 0);
  std::vector<MacAddress> too_many(kMaxDashButtons + 1);
  CHECK_THROWS_AS(dash_filter(too_many), std::invalid_argument);
  CHECK_THROWS_AS(dash_filter({}), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// The class

TEST_CASE("a press publishes the button's MAC, lower case, to its destination") {
  FakeHost host;
  Instance<DashSensor> dash(host, {{"MAC1", "44:65:0D:A1:B2:C3"},
                                   {"Destination1", "buttons/coffee"},
                                   {"MAC2", "00:11:22:33:44:55"},
                                   {"Destination2", "buttons/tide"}});
  dash.object().on_frame(bytes(f::arp(kButton, kButtonIp, kGateway)));
  dash.object().on_frame(bytes(f::dhcp_discover({0x00, 0x11, 0x22, 0x33, 0x44, 0x55})));
  dash.object().on_frame(bytes(f::arp(kOther, kButtonIp, kGateway)));  // nobody's
  CHECK(host.payloads_to("buttons/coffee") == std::vector<std::string>{"44:65:0d:a1:b2:c3"});
  CHECK(host.payloads_to("buttons/tide") == std::vector<std::string>{"00:11:22:33:44:55"});
  CHECK(host.published().size() == 2);
  CHECK(host.logged(SR_LOG_INFO, "44:65:0d:a1:b2:c3 pressed (ARP)"));
  CHECK(host.logged(SR_LOG_INFO, "00:11:22:33:44:55 pressed (DHCP)"));
  // Stateless: a refresh has nothing to say.
  host.clear();
  CHECK(dash.refresh() == SR_OK);
  CHECK(host.published().empty());
}

TEST_CASE("a burst of frames is one press; quiet for Debounce ends it") {
  FakeHost host;
  Instance<DashSensor> dash(host, {{"MAC1", "44:65:0d:a1:b2:c3"}, {"Destination1", "coffee"}, {"Debounce", "2"}});
  auto frame = [&](const std::vector<uint8_t>& f) { dash.object().on_frame(bytes(f)); };
  // Wake-up: DISCOVER, REQUEST, an ARP for the gateway, 0.4 s apart.
  frame(f::dhcp_discover(kButton));
  host.advance(400ms);
  frame(f::dhcp_request(kButton, kButtonIp));
  host.advance(400ms);
  frame(f::arp(kButton, kButtonIp, kGateway));
  CHECK(host.payloads_to("coffee").size() == 1);
  // 1.9 s after the last frame: still the same press (the window slides).
  host.advance(1900ms);
  frame(f::arp(kButton, kButtonIp, kGateway));
  CHECK(host.payloads_to("coffee").size() == 1);
  CHECK(host.logged(SR_LOG_DEBUG, "same press"));
  // 2 s of quiet: the next frame is a new press.
  host.advance(2s);
  frame(f::dhcp_discover(kButton));
  CHECK(host.payloads_to("coffee").size() == 2);
}

TEST_CASE("Debounce = 0 publishes every frame, as the original did") {
  FakeHost host;
  Instance<DashSensor> dash(host, {{"MAC1", "44:65:0d:a1:b2:c3"}, {"Destination1", "coffee"}, {"Debounce", "0"}});
  for (int i = 0; i < 3; ++i) dash.object().on_frame(bytes(f::arp(kButton, kButtonIp, kGateway)));
  CHECK(host.payloads_to("coffee").size() == 3);
}

TEST_CASE("check: no Poll, at least one button, no button twice, not too many") {
  using Problems = std::vector<sr::sdk::testing::CheckProblem>;
  CHECK(Instance<DashSensor>::check({{"MAC1", "44:65:0d:a1:b2:c3"}, {"Destination1", "a"}}).empty());
  CHECK(Instance<DashSensor>::check({{"MAC1", "44:65:0d:a1:b2:c3"}, {"Destination1", "a"}, {"Poll", "0"}}).empty());
  CHECK(Instance<DashSensor>::check({{"MAC1", "44:65:0d:a1:b2:c3"}, {"Destination1", "a"}, {"Poll", "10"}}) ==
        Problems{{SR_LOG_ERROR, "Poll",
                  "DashSensor is not polled: presses are published as they happen; remove Poll"}});
  CHECK(Instance<DashSensor>::check({{"MAC1", "44:65:0d:a1:b2:c3"},
                                     {"Destination1", "a"},
                                     {"MAC2", "44:65:0D:A1:B2:C3"},
                                     {"Destination2", "b"}}) ==
        Problems{{SR_LOG_ERROR, "MAC2", "the same button as MAC1"}});
  CHECK(Instance<DashSensor>::check({}) ==
        Problems{{SR_LOG_ERROR, "", "no MAC1/Destination1: this sensor would listen for no button"}});
  Instance<DashSensor>::Values many;
  for (size_t i = 1; i <= kMaxDashButtons + 1; ++i) {
    many.emplace_back(fmt::format("MAC{}", i), fmt::format("02:00:00:00:00:{:02x}", i));
    many.emplace_back(fmt::format("Destination{}", i), "d");
  }
  CHECK(Instance<DashSensor>::check(many) ==
        Problems{{SR_LOG_ERROR, "", "49 buttons; one section listens for at most 48"}});
}

TEST_CASE("start: without CAP_NET_RAW the error names the drop-in; with it, a missing interface is waited for") {
  FakeHost host;
  Instance<DashSensor> dash(
      host, {{"MAC1", "44:65:0d:a1:b2:c3"}, {"Destination1", "coffee"}, {"Interface", "sr-no-such0"}});
  if (geteuid() != 0) {
    CHECK(dash.start() == SR_ERROR);
    CHECK(host.logged(SR_LOG_ERROR, "cannot open a packet socket: Operation not permitted (DashSensor needs "
                                    "CAP_NET_RAW: as a service, install the drop-in packaging/examples/dash.conf"));
    return;
  }
  REQUIRE(dash.start() == SR_OK);
  CHECK(host.logged(SR_LOG_WARNING, "interface sr-no-such0 is not there; looking for it every 5 s"));
  CHECK(host.logged(SR_LOG_INFO, "listening for 44:65:0d:a1:b2:c3 on sr-no-such0"));
  CHECK(host.watch_count() == 1);
  CHECK(host.timer_count() == 1);
  host.advance(5s);  // still not there: no second warning
  CHECK(host.timer_count() == 1);
}
