// Unit tests for the classic-Bluetooth side of bt.so (issue 13): the HCI
// packets (hci_codec.hpp) against byte strings written from the Core spec
// (vol 4 part E §7.1.1, §7.1.19, §7.7.1-2, §7.7.7, §7.7.15, §7.7.33,
// §7.7.38), and BtRssiSensor's counter rule. The classes on a real (virtual)
// controller: the VM tier.
#include "bt/btscan_sensor.hpp"
#include "bt/hci_codec.hpp"

#include "support/doctest_vector.h"

#include <sensor_reporter/testing.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using namespace sr::bt;
using Bytes = std::vector<uint8_t>;

hci::Event decode(const Bytes& packet) { return hci::decode(packet); }

Bytes name_complete(uint8_t status, const std::string& name) {
  Bytes params{status, 0xef, 0xcd, 0xab, 0x70, 0xf3, 0x5c};
  params.insert(params.end(), name.begin(), name.end());
  params.resize(7 + 248, 0);
  Bytes packet{0x04, 0x07, static_cast<uint8_t>(params.size())};
  packet.insert(packet.end(), params.begin(), params.end());
  return packet;
}

}  // namespace

TEST_CASE("addresses convert to HCI byte order and back, either case in, upper case out") {
  auto bytes = hci::address_bytes("5c:f3:70:AB:cd:EF");
  REQUIRE(bytes);
  CHECK(Bytes(bytes->begin(), bytes->end()) == Bytes{0xef, 0xcd, 0xab, 0x70, 0xf3, 0x5c});
  CHECK(hci::address_text(*bytes) == "5C:F3:70:AB:CD:EF");
  CHECK_FALSE(hci::address_bytes("5C:F3:70:AB:CD"));
  CHECK_FALSE(hci::address_bytes("5C-F3-70-AB-CD-EF"));
  CHECK_FALSE(hci::address_bytes("5C:F3:70:AB:CD:EG"));
}

TEST_CASE("commands: inquiry (GIAC, length, unlimited), inquiry cancel, remote name request (R2)") {
  CHECK(hci::inquiry(4) == Bytes{0x01, 0x01, 0x04, 0x05, 0x33, 0x8b, 0x9e, 0x04, 0x00});
  CHECK(hci::inquiry_cancel() == Bytes{0x01, 0x02, 0x04, 0x00});
  CHECK(hci::remote_name_request(*hci::address_bytes("5C:F3:70:AB:CD:EF")) ==
        Bytes{0x01, 0x19, 0x04, 0x0a, 0xef, 0xcd, 0xab, 0x70, 0xf3, 0x5c, 0x02, 0x00, 0x00, 0x00});
}

TEST_CASE("Command Status and Inquiry Complete decode; wrong lengths do not") {
  auto status = decode({0x04, 0x0f, 0x04, 0x0c, 0x01, 0x19, 0x04});
  REQUIRE(std::holds_alternative<hci::CommandStatus>(status));
  CHECK(std::get<hci::CommandStatus>(status).status == 0x0c);
  CHECK(std::get<hci::CommandStatus>(status).opcode == hci::kOpRemoteNameRequest);
  CHECK(std::holds_alternative<std::monostate>(decode({0x04, 0x0f, 0x03, 0x00, 0x01, 0x19})));
  CHECK(std::holds_alternative<std::monostate>(decode({0x04, 0x0f, 0x05, 0x00, 0x01, 0x19, 0x04})));  // short
  auto complete = decode({0x04, 0x01, 0x01, 0x00});
  REQUIRE(std::holds_alternative<hci::InquiryComplete>(complete));
  CHECK(std::get<hci::InquiryComplete>(complete).status == 0);
  CHECK(std::holds_alternative<std::monostate>(decode({0x02, 0x01, 0x01, 0x00})));  // ACL, not an event
  CHECK(std::holds_alternative<std::monostate>(decode({})));
}

TEST_CASE("Remote Name Request Complete: the name up to its NUL, the address, the status") {
  auto event = decode(name_complete(0x00, "Pixel 7"));
  REQUIRE(std::holds_alternative<hci::NameComplete>(event));
  const auto& done = std::get<hci::NameComplete>(event);
  CHECK(done.status == 0);
  CHECK(done.address == "5C:F3:70:AB:CD:EF");
  CHECK(done.name == "Pixel 7");
  auto timeout = decode(name_complete(0x04, ""));
  CHECK(std::get<hci::NameComplete>(timeout).status == 0x04);
  CHECK(hci::status_text(0x04) == "0x04 (Page Timeout)");
  CHECK(hci::status_text(0x3f) == "0x3f");
}

TEST_CASE("inquiry results: plain (no RSSI), with RSSI (14 and 15-byte records), extended") {
  auto plain = decode({0x04, 0x02, 0x0f, 0x01, 0xef, 0xcd, 0xab, 0x70, 0xf3, 0x5c, 0x01, 0x00, 0x00, 0x0c,
                       0x02, 0x5a, 0x00, 0x00});
  REQUIRE(std::holds_alternative<std::vector<hci::InquiryResponse>>(plain));
  auto responses = std::get<std::vector<hci::InquiryResponse>>(plain);
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].address == "5C:F3:70:AB:CD:EF");
  CHECK_FALSE(responses[0].rssi);

  // Two 14-byte records with RSSI -60 and -5.
  Bytes rssi{0x04, 0x22, 29, 0x02};
  for (auto [last, level] : {std::pair<uint8_t, int8_t>{0x01, -60}, {0x02, -5}}) {
    Bytes record{last, 0,    0,    0,    0,    0x11, 0x01,
                 0x00, 0x0c, 0x02, 0x5a, 0x00, 0x00, static_cast<uint8_t>(level)};
    rssi.insert(rssi.end(), record.begin(), record.end());
  }
  responses = std::get<std::vector<hci::InquiryResponse>>(decode(rssi));
  REQUIRE(responses.size() == 2);
  CHECK(responses[0].address == "11:00:00:00:00:01");
  CHECK(responses[0].rssi == -60);
  CHECK(responses[1].rssi == -5);

  Bytes fifteen{0x04, 0x22, 16,   0x01, 0x01, 0,    0,    0,    0,   0x11,
                0x01, 0x00, 0x00, 0x0c, 0x02, 0x5a, 0x00, 0x00, 0xb0};
  CHECK(std::get<std::vector<hci::InquiryResponse>>(decode(fifteen))[0].rssi == -80);

  Bytes extended{0x04, 0x2f, 255,  0x01, 0xef, 0xcd, 0xab, 0x70, 0xf3,
                 0x5c, 0x01, 0x00, 0x0c, 0x02, 0x5a, 0x00, 0x00, 0xc4};
  extended.resize(3 + 255, 0);
  responses = std::get<std::vector<hci::InquiryResponse>>(decode(extended));
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].address == "5C:F3:70:AB:CD:EF");
  CHECK(responses[0].rssi == -60);

  // 127: "not available", as virtual controllers say.
  Bytes unknown{0x04, 0x22, 15, 0x01, 0x01, 0, 0, 0, 0, 0x11, 0x01, 0x00, 0x0c, 0x02, 0x5a, 0x00, 0x00, 0x7f};
  responses = std::get<std::vector<hci::InquiryResponse>>(decode(unknown));
  REQUIRE(responses.size() == 1);
  CHECK_FALSE(responses[0].rssi);

  // A record count that does not divide the bytes: nothing.
  CHECK(std::get<std::vector<hci::InquiryResponse>>(decode({0x04, 0x22, 0x04, 0x02, 0, 0, 0})).empty());
}

TEST_CASE("BtRssiSensor's counters: near needs more than Near, far more than Far, both clamped to Max") {
  RssiCounters c;
  for (int i = 0; i < 2; ++i) c.count(true, -70, 5, 2, 2);
  CHECK(c.near == 2);
  CHECK_FALSE(c.on);  // 2 is not more than Near = 2
  c.count(true, -70, 5, 2, 2);
  CHECK(c.on);
  for (int i = 0; i < 10; ++i) c.count(true, std::nullopt, 5, 2, 2);  // found without RSSI: near
  CHECK(c.near == 5);                                                 // clamped
  c.count(true, 0, 5, 2, 2);  // -1 dBm or above: nothing moves (as the original)
  CHECK(c.near == 5);
  CHECK(c.far == 0);
  for (int i = 0; i < 3; ++i) c.count(false, std::nullopt, 5, 2, 2);
  CHECK(c.near == 2);
  CHECK(c.far == 3);
  CHECK_FALSE(c.on);  // far 3 > near 2 and > Far 2
}

TEST_CASE("SimpleBtSensor and BtRssiSensor check their limits") {
  using Simple = sr::sdk::testing::Instance<SimpleBtSensor>;
  using Rssi = sr::sdk::testing::Instance<BtRssiSensor>;
  CHECK(Simple::check({{"Poll", "30"}, {"Address1", "5C:F3:70:AB:CD:EF"}, {"Destination1", "p"}}).empty());
  auto slow = Simple::check({{"Poll", "25"}, {"Address1", "5C:F3:70:AB:CD:EF"}, {"Destination1", "p"}});
  REQUIRE(slow.size() == 1);
  CHECK(slow[0].key == "Poll");
  CHECK(Rssi::check({{"Poll", "11"}, {"Max", "5"}, {"Near", "2"}, {"Far", "2"}}).empty());
  auto bad = Rssi::check({{"Poll", "10"}, {"Max", "5"}, {"Near", "5"}, {"Far", "6"}});
  REQUIRE(bad.size() == 3);
  CHECK(bad[0].key == "Poll");
  CHECK(bad[1].key == "Near");
  CHECK(bad[2].key == "Far");
}
