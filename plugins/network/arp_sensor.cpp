// network.arp_sensor.ArpSensor — polling sensor: ON/OFF presence of a MAC in
// the kernel ARP table. Parameters MAC, Destination, Poll, ArpTable; the
// decisions and an example section are in arp_sensor.hpp.
//
//   [Sensor_Phone]
//   Class = network.arp_sensor.ArpSensor
//   MAC = aa:bb:cc:dd:ee:ff
//   Destination = presence/phone
//   Poll = 10
#include "arp_sensor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace sr::network {

namespace {

constexpr unsigned kAtfComplete = 0x2;  // ATF_COM, <net/if_arp.h>

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::vector<std::string_view> columns(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool parse_flags(std::string_view text, unsigned& flags) {
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return false;
  auto [ptr, ec] = std::from_chars(text.data() + 2, text.data() + text.size(), flags, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// How much of a bad table line an error quotes (through sdk::printable).
constexpr size_t kQuotedBytes = 60;

}  // namespace

bool valid_mac(std::string_view mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i % 3 == 2) {
      if (mac[i] != ':') return false;
    } else if (!is_hex(mac[i])) {
      return false;
    }
  }
  return true;
}

ArpLookup arp_table_contains(std::string_view table, std::string_view mac) {
  ArpLookup result;
  size_t line_number = 0;
  bool header_seen = false;
  while (!table.empty()) {
    size_t end = table.find('\n');
    std::string_view line = table.substr(0, end);
    table = end == std::string_view::npos ? std::string_view{} : table.substr(end + 1);
    ++line_number;
    if (!header_seen) {
      if (line.substr(0, 10) != "IP address") {
        result.error = fmt::format("line 1 '{}' is not the header 'IP address  HW type  Flags ...'",
                                   sdk::printable(line, kQuotedBytes));
        return result;
      }
      header_seen = true;
      continue;
    }
    auto fields = columns(line);
    if (fields.empty()) continue;
    unsigned flags = 0;
    // IP address, HW type, Flags, HW address, Mask, Device: the first four are what we read.
    if (fields.size() < 4 || !parse_flags(fields[2], flags)) {
      result.error = fmt::format("line {} '{}' is not 'IP  HW-type  0xFLAGS  HW-address ...'", line_number,
                                 sdk::printable(line, kQuotedBytes));
      return result;
    }
    if ((flags & kAtfComplete) && sdk::iequals(fields[3], mac)) result.present = true;
  }
  if (!header_seen) result.error = "the table is empty (not even a header line)";
  return result;
}

// ---------------------------------------------------------------------------

namespace {

// /proc/net/arp is small and generated without blocking. Returns false with
// errno's text in `error`.
bool read_table(const std::string& path, std::string& text, std::string& error) {
  const sdk::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    error = std::strerror(errno);
    return false;
  }
  constexpr size_t kLimit = 4 << 20;  // a table larger than this is not an ARP table
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = std::strerror(errno);
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kLimit) {
      error = fmt::format("larger than {} bytes", kLimit);
      break;
    }
  }
  return error.empty();
}

}  // namespace

ArpSensor::ArpSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      mac_(params.get("MAC")),
      destination_(params.get("Destination")),
      table_(params.get("ArpTable")) {
  if (!valid_mac(mac_))
    throw std::invalid_argument(
        fmt::format("MAC '{}' is not a hardware address like aa:bb:cc:dd:ee:ff", mac_));
  mac_ = sdk::to_lower(mac_);
}

// An unreadable table is a failed poll: the host backs off.
sdk::PollResult ArpSensor::poll() {
  std::string text, error;
  if (!read_table(table_, text, error)) {
    host_.error("cannot read the ARP table {}: {}; state unchanged", table_, error);
    return sdk::PollResult::Failed;
  }
  ArpLookup lookup = arp_table_contains(text, mac_);
  if (!lookup.ok()) {
    host_.error("{} is not an ARP table: {}; state unchanged", table_, lookup.error);
    return sdk::PollResult::Failed;
  }
  if (present_ == lookup.present) return sdk::PollResult::Done;
  present_ = lookup.present;
  host_.info("{} is {}", mac_, lookup.present ? "present" : "absent");
  publish_state();
  return sdk::PollResult::Done;
}

void ArpSensor::refresh() {
  if (present_.has_value()) publish_state();
}

void ArpSensor::publish_state() { host_.publish(destination_, *present_ ? "ON" : "OFF"); }

}  // namespace sr::network
