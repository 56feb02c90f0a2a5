// SSDP as RokuAddressSensor speaks it (UPnP Device Architecture 1.1 §1.3,
// "Discovery: Search"; Roku's External Control Protocol documents the
// search target roku:ecp): the M-SEARCH request it multicasts, and the
// unicast responses it reads back. Pure functions over text, shared with
// the unit tests and the fuzz target fuzz_ssdp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sr::roku {

inline constexpr const char* kSsdpGroup = "239.255.255.250";
inline constexpr unsigned short kSsdpPort = 1900;
inline constexpr std::string_view kRokuSearchTarget = "roku:ecp";

// The M-SEARCH datagram for `search_target` sent to `host` ("a.b.c.d:port"):
// with `mx` (devices answer within that many seconds, 1 to 5) a multicast
// search; without, a unicast search of one device, which UDA 1.1 sends
// without MX.
std::string m_search(std::string_view search_target, std::string_view host, std::optional<int> mx);

// An SSDP response: an HTTP/1.x status line and header fields, without a
// body. Header names are compared case-insensitively.
struct SsdpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // name as sent, value trimmed
  // The value of the header `name`; nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const;
};

// What a datagram is: a response, or why not (a sentence, log-safe).
struct SsdpParse {
  std::optional<SsdpResponse> response;
  std::string error;
};
// The largest datagram read as a response; anything longer is no SSDP.
inline constexpr size_t kMaxSsdpDatagram = 8192;
SsdpParse parse_ssdp_response(std::string_view datagram);

// A Roku as its response names it: the serial number from USN
// (uuid:roku:ecp:<serial>) and the LOCATION URL of its ECP service.
struct RokuDevice {
  std::string serial;    // letters and digits only, so it is one topic level
  std::string location;  // "http://192.168.1.134:8060/"
  bool operator==(const RokuDevice&) const = default;
};
struct RokuParse {
  std::optional<RokuDevice> device;
  std::string error;  // why the response is no Roku's answer
};
// A 200 response whose ST is roku:ecp, whose USN is uuid:roku:ecp:<serial>
// (1 to 32 letters and digits) and whose LOCATION is an http:// URL of at
// most 256 printable characters without spaces.
RokuParse roku_device(const SsdpResponse& response);

}  // namespace sr::roku
