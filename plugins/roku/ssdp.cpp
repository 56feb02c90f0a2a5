// SSDP request and response text; see ssdp.hpp.
#include "ssdp.hpp"

#include <sensor_reporter/text.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace sr::roku {
namespace {

constexpr size_t kMaxHeaders = 64;
constexpr size_t kQuoted = 60;  // bytes of a bad line an error quotes
constexpr size_t kMaxSerial = 32;
constexpr size_t kMaxLocation = 256;

// RFC 7230 tchar: what a header name is made of.
bool is_token_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && sdk::iequals(text.substr(0, prefix.size()), prefix);
}

// The next line of `text` without its CRLF (or bare LF); false at the end.
// `ended`: the line had its LF (the datagram was not cut in it).
bool next_line(std::string_view& text, std::string_view& line, bool& ended) {
  if (text.empty()) return false;
  const size_t end = text.find('\n');
  ended = end != std::string_view::npos;
  line = text.substr(0, end);
  text = ended ? text.substr(end + 1) : std::string_view{};
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return true;
}

// "HTTP/1.1 200 OK" -> 200.
std::optional<int> status_of(std::string_view line) {
  if (!line.starts_with("HTTP/1.") || line.size() < 12 || (line[7] != '0' && line[7] != '1') || line[8] != ' ')
    return std::nullopt;
  const std::string_view code = line.substr(9, 3);
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  if (line.size() > 12 && line[12] != ' ') return std::nullopt;
  return (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
}

}  // namespace

std::string m_search(std::string_view search_target, std::string_view host, std::optional<int> mx) {
  return fmt::format(
      "M-SEARCH * HTTP/1.1\r\n"
      "HOST: {}\r\n"
      "MAN: \"ssdp:discover\"\r\n"
      "{}"
      "ST: {}\r\n"
      "\r\n",
      host, mx ? fmt::format("MX: {}\r\n", std::clamp(*mx, 1, 5)) : "", search_target);
}

std::optional<std::string_view> SsdpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (sdk::iequals(key, name)) return std::string_view(value);
  return std::nullopt;
}

SsdpParse parse_ssdp_response(std::string_view datagram) {
  SsdpParse result;
  auto fail = [&](std::string error) {
    result.error = std::move(error);
    return result;
  };
  if (datagram.size() > kMaxSsdpDatagram)
    return fail(fmt::format("{} bytes, more than an SSDP response has", datagram.size()));
  std::string_view line;
  bool line_ended = false;
  if (!next_line(datagram, line, line_ended)) return fail("empty datagram");
  const auto status = status_of(line);
  if (!status) return fail(fmt::format("'{}' is not an HTTP/1.x status line", sdk::printable(line, kQuoted)));
  SsdpResponse response;
  response.status = *status;
  bool ended = false;
  while (next_line(datagram, line, line_ended)) {
    if (line.empty()) {
      ended = line_ended;  // a body, if any, is not ours to read
      break;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      // Obsolete line folding (RFC 7230 §3.2.4): part of the value before.
      if (response.headers.empty())
        return fail(fmt::format("continuation line '{}' before any header", sdk::printable(line, kQuoted)));
      std::string& value = response.headers.back().second;
      const std::string_view part = sdk::trim(line);
      if (!value.empty() && !part.empty()) value += ' ';
      value += part;
      continue;
    }
    const size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
      return fail(fmt::format("'{}' is not a header line (Name: value)", sdk::printable(line, kQuoted)));
    if (response.header(name)) return fail(fmt::format("header {} appears twice", sdk::printable(name, kQuoted)));
    if (response.headers.size() == kMaxHeaders) return fail(fmt::format("more than {} header lines", kMaxHeaders));
    response.headers.emplace_back(std::string(name), std::string(sdk::trim(line.substr(colon + 1))));
  }
  if (!ended) return fail("no empty line after the headers (cut short?)");
  result.response = std::move(response);
  return result;
}

RokuParse roku_device(const SsdpResponse& response) {
  RokuParse result;
  auto fail = [&](std::string error) {
    result.error = std::move(error);
    return result;
  };
  if (response.status != 200) return fail(fmt::format("status {}, not 200", response.status));
  const auto st = response.header("ST");
  if (!st) return fail("no ST header");
  if (!sdk::iequals(*st, kRokuSearchTarget))
    return fail(fmt::format("ST '{}' is not {}", sdk::printable(*st, kQuoted), kRokuSearchTarget));
  const auto usn = response.header("USN");
  constexpr std::string_view kUsnPrefix = "uuid:roku:ecp:";
  if (!usn) return fail("no USN header");
  const std::string_view serial = istarts_with(*usn, kUsnPrefix) ? usn->substr(kUsnPrefix.size()) : "";
  if (serial.empty() || serial.size() > kMaxSerial || !std::all_of(serial.begin(), serial.end(), is_alnum))
    return fail(fmt::format("USN '{}' is not uuid:roku:ecp:<serial number>", sdk::printable(*usn, kQuoted)));
  const auto location = response.header("LOCATION");
  if (!location) return fail("no LOCATION header");
  const bool printable = std::all_of(location->begin(), location->end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (!istarts_with(*location, "http://") || location->size() <= 7 || location->size() > kMaxLocation || !printable)
    return fail(fmt::format("LOCATION '{}' is not an http:// URL", sdk::printable(*location, kQuoted)));
  result.device = RokuDevice{std::string(serial), std::string(*location)};
  return result;
}

}  // namespace sr::roku
