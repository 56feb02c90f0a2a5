// roku.roku_addr.RokuAddressSensor — polling sensor: where the Roku players
// on the local network are.
//
// Each poll multicasts an SSDP M-SEARCH for roku:ecp (twice, as UDA 1.1
// advises for UDP) and listens for Timeout seconds; every Roku that answers
// is published with its serial number as the destination and its ECP
// address (the LOCATION of its answer, e.g. http://192.168.1.134:8060/) as
// the payload, as the original did: topic <RootTopic>/<serial>. Refresh
// republishes what the last poll found.
//
// Parameters:
//   Poll           seconds between searches (required, more than Timeout)
//   Timeout        seconds each search listens for answers (default 5, 1 to
//                  60); a multicast M-SEARCH's MX (how long a device may
//                  wait before it answers) is one less, at most 5
//   SearchAddress  where the search goes (default 239.255.255.250:1900, the
//                  SSDP group); a unicast address:port asks one player, for
//                  a Roku on another subnet (multicast does not cross
//                  routers)
//
// Decisions:
//  - The search runs on the host's event loop: a UDP socket watched for
//    answers and a timer for the end of the window. The original set a
//    process-wide socket timeout (socket.setdefaulttimeout(10)) and blocked
//    its poll thread for at least 10 s; nothing here blocks or changes
//    anything outside this section.
//  - A poll publishes the Rokus that answered it, each once however often it
//    answered. One that stops answering is logged once and no longer
//    published (the original kept republishing its last address); a poll
//    that finds none is a good poll (there may be none), logged when that
//    changes.
//  - Answers are read strictly (ssdp.hpp): another device's answer, a
//    malformed one or one whose serial would not be a single topic level is
//    ignored with a DEBUG line naming the sender.
//  - A search that cannot be sent (no route to the multicast group: no
//    network yet) fails the poll, so the host backs off.
//
//   [Sensor_Roku]
//   Class = roku.roku_addr.RokuAddressSensor
//   Connection = MQTT
//   Poll = 60
#pragma once

#include "ssdp.hpp"

#include <sensor_reporter/handle.hpp>
#include <sensor_reporter/sdk.hpp>

#include <netinet/in.h>

#include <map>
#include <optional>
#include <string>

namespace sr::roku {

// SearchAddress: "a.b.c.d[:port]" (port 1900 when absent).
struct SearchAddress {
  sockaddr_in address{};
  bool multicast = false;  // 224.0.0.0/4
  std::string host;        // "a.b.c.d:port", the M-SEARCH's HOST
};
std::optional<SearchAddress> parse_search_address(std::string_view text);

class RokuAddressSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "RokuAddressSensor";
  static constexpr const char* path = "roku.roku_addr.RokuAddressSensor";
  static constexpr const char* summary =
      "Publishes the address of every Roku on the network (SSDP search), under its serial number";
  static constexpr sr_param_def params[] = {
      sdk::float_param("Poll").required().min(1).help("seconds between searches; more than Timeout"),
      sdk::float_param("Timeout").fallback("5").min(1).max(60).help(
          "seconds each search listens for answers (MX is one less, at most 5)"),
      sdk::string_param("SearchAddress")
          .fallback("239.255.255.250:1900")
          .pattern("[0-9]{1,3}([.][0-9]{1,3}){3}(:[0-9]{1,5})?", "an IPv4 address with an optional :port")
          .help("where the search goes: the SSDP group, or one player's address[:port] (unicast search)"),
      sdk::end_params};
  // The destinations are the players' serial numbers, known only when they
  // answer: no destination key to declare, so discovery leaves it out.
  static constexpr sr_io_def ios[] = {sdk::end_ios};

  static void check(const sdk::Params& params, sdk::CheckReport& report);

  RokuAddressSensor(sdk::Host host, const sdk::Params& params);
  RokuAddressSensor(const RokuAddressSensor&) = delete;
  RokuAddressSensor& operator=(const RokuAddressSensor&) = delete;

  sdk::PollResult poll();
  void refresh();

 private:
  bool open_socket();  // false: logged why
  void on_readable();
  void on_datagram(std::string_view datagram, const std::string& sender);
  void finish();  // the window is over: publish, log changes, end the poll

  sdk::Host host_;
  std::chrono::nanoseconds window_;
  int mx_;
  SearchAddress target_;
  sdk::UniqueFd socket_;
  sdk::FdWatch watch_;
  sdk::Timer window_end_;
  bool searching_ = false;
  bool polled_ = false;                       // a poll has finished
  std::map<std::string, std::string> found_;  // this search's: serial -> location
  std::map<std::string, std::string> known_;  // the last finished search's
};

}  // namespace sr::roku
