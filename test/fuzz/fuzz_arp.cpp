// Fuzz target: the ARP table reader of network.arp_sensor.ArpSensor.
//
// Input: the first 17 bytes are the MAC to look for (as the MAC parameter),
// the rest the text of /proc/net/arp (or not).
//
// Invariants:
//  - ok() only when the table starts with the "IP address" header;
//  - present only when the MAC occurs in the table (any case) and ok();
//  - the verdict does not depend on the case of the MAC;
//  - an error names a line without raw control characters;
//  - valid_mac agrees with a reference (17 characters, hex pairs, ':').
#include "network/arp_sensor.hpp"

#include "fuzz_host.h"

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

std::string lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string uppered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool reference_valid_mac(std::string_view mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < 17; ++i) {
    if (i % 3 == 2 ? mac[i] != ':' : !std::isxdigit(static_cast<unsigned char>(mac[i]))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view mac = input.substr(0, 17);
  std::string_view table = input.substr(mac.size());

  FUZZ_CHECK(sr::network::valid_mac(mac) == reference_valid_mac(mac));

  auto lookup = sr::network::arp_table_contains(table, mac);
  if (lookup.ok()) {
    FUZZ_CHECK(table.starts_with("IP address"));
  } else {
    FUZZ_CHECK(!lookup.error.empty());
    for (char c : lookup.error) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  }
  if (lookup.present) {
    FUZZ_CHECK(!mac.empty());
    FUZZ_CHECK(lowered(table).find(lowered(mac)) != std::string::npos);
  }

  for (const std::string& variant : {lowered(mac), uppered(mac)}) {
    auto other = sr::network::arp_table_contains(table, variant);
    FUZZ_CHECK(other.ok() == lookup.ok());
    if (lookup.ok()) FUZZ_CHECK(other.present == lookup.present);
  }
  return 0;
}
