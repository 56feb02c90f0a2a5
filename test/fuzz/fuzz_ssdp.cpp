// Fuzz target: the SSDP response reader of roku.roku_addr.RokuAddressSensor
// (roku/ssdp.hpp), which reads whatever any device on the network sends to
// its search port.
//
// Input: one UDP datagram.
//
// Invariants:
//  - parse_ssdp_response never throws; it gives a response or a non-empty,
//    printable error, never both;
//  - a response's status is three digits; header names are non-empty
//    tokens, unique ignoring case; values are trimmed and hold no LF;
//  - what follows the empty line (a body) never changes the result;
//  - the response written back canonically ("Name: value" lines, CRLF)
//    reads back to the same status and headers, and to the same Roku
//    verdict;
//  - roku_device gives a device only for status 200, ST roku:ecp, a serial
//    of 1 to 32 letters and digits (one topic level), and an http:// URL of
//    printable characters without spaces, at most 256 long.
#include "roku/ssdp.hpp"

#include "fuzz_host.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace sr::roku;

bool printable_text(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool token(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  return true;
}

std::string canonical(const SsdpResponse& r) {
  const std::string status = std::to_string(r.status);
  std::string text = "HTTP/1.1 " + std::string(3 - status.size(), '0') + status + " X\r\n";
  for (const auto& [name, value] : r.headers) text += name + ": " + value + "\r\n";
  return text + "\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view datagram(reinterpret_cast<const char*>(data), size);
  const SsdpParse p = parse_ssdp_response(datagram);
  FUZZ_CHECK(p.response.has_value() != !p.error.empty());
  if (!p.response) {
    FUZZ_CHECK(printable_text(p.error));
    return 0;
  }
  const SsdpResponse& r = *p.response;
  FUZZ_CHECK(r.status >= 0 && r.status <= 999);
  for (size_t i = 0; i < r.headers.size(); ++i) {
    const auto& [name, value] = r.headers[i];
    FUZZ_CHECK(token(name));
    FUZZ_CHECK(value.find('\n') == std::string::npos);
    FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.back() != ' ' && value.front() != '\t'));
    for (size_t j = 0; j < i; ++j) FUZZ_CHECK(!iequal(r.headers[j].first, name));
    FUZZ_CHECK(r.header(name).has_value());
  }

  // A body changes nothing.
  if (datagram.size() + 5 <= kMaxSsdpDatagram) {
    const SsdpParse with_body = parse_ssdp_response(std::string(datagram) + "body!");
    FUZZ_CHECK(with_body.response.has_value());
    FUZZ_CHECK(with_body.response->headers == r.headers);
  }

  const RokuParse roku = roku_device(r);
  FUZZ_CHECK(roku.device.has_value() != !roku.error.empty());
  if (!roku.device) FUZZ_CHECK(printable_text(roku.error));

  // Written back canonically, read back the same.
  const std::string again = canonical(r);
  if (again.size() <= kMaxSsdpDatagram) {
    const SsdpParse q = parse_ssdp_response(again);
    FUZZ_CHECK(q.response.has_value());
    FUZZ_CHECK(q.response->status == r.status);
    FUZZ_CHECK(q.response->headers == r.headers);
    const RokuParse roku_again = roku_device(*q.response);
    FUZZ_CHECK(roku_again.device == roku.device);
  }

  if (roku.device) {
    const RokuDevice& d = *roku.device;
    FUZZ_CHECK(r.status == 200);
    FUZZ_CHECK(iequal(*r.header("ST"), "roku:ecp"));
    FUZZ_CHECK(!d.serial.empty() && d.serial.size() <= 32);
    for (char c : d.serial) FUZZ_CHECK(std::isalnum(static_cast<unsigned char>(c)));
    FUZZ_CHECK(d.location.size() > 7 && d.location.size() <= 256);
    FUZZ_CHECK(iequal(d.location.substr(0, 7), "http://"));
    for (char c : d.location) FUZZ_CHECK(c > ' ' && c < 0x7f);
  }
  return 0;
}
