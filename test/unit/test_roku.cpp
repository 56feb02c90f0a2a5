// Unit tests for roku.roku_addr.RokuAddressSensor: the M-SEARCH it sends and
// the SSDP responses it reads (UDA 1.1 §1.3, Roku's ECP documentation), and
// the class through its trampolines on testing.hpp's FakeHost, searching a
// UDP socket of the test's on 127.0.0.1 (SearchAddress, a unicast search)
// that answers as players would. The multicast search is exercised by
// test/integration/test_wire.cpp in a network namespace.
#include "roku/roku_addr.hpp"
#include "roku/ssdp.hpp"

#include "support/doctest_vector.h"

#include <sensor_reporter/testing.hpp>

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <string>
#include <vector>

namespace {

using namespace sr::roku;
using namespace std::chrono_literals;
using sr::sdk::testing::FakeHost;
using sr::sdk::testing::Instance;

// A player's answer as Roku's ECP documentation shows it.
std::string answer(const std::string& serial, const std::string& location) {
  return "HTTP/1.1 200 OK\r\n"
         "Cache-Control: max-age=3600\r\n"
         "ST: roku:ecp\r\n"
         "Location: " + location + "\r\n"
         "USN: uuid:roku:ecp:" + serial + "\r\n"
         "\r\n";
}

SsdpResponse parsed(std::string_view datagram) {
  SsdpParse p = parse_ssdp_response(datagram);
  REQUIRE_MESSAGE(p.response, p.error);
  return *p.response;
}

std::string roku_error(std::string_view datagram) {
  RokuParse r = roku_device(parsed(datagram));
  CHECK_FALSE(r.device);
  return r.error;
}

// A UDP socket on 127.0.0.1 that takes the sensor's searches and answers.
class FakePlayers {
 public:
  FakePlayers() : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t size = sizeof address;
    REQUIRE(getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The next search, within 5 s; remembers who sent it.
  std::string search() {
    pollfd p{fd_.get(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    char buffer[2048];
    socklen_t size = sizeof from_;
    ssize_t n = recvfrom(fd_.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from_), &size);
    REQUIRE(n > 0);
    return std::string(buffer, static_cast<size_t>(n));
  }
  void say(const std::string& datagram) {
    REQUIRE(sendto(fd_.get(), datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&from_),
                   sizeof from_) == static_cast<ssize_t>(datagram.size()));
  }

 private:
  sr::sdk::UniqueFd fd_;
  unsigned short port_ = 0;
  sockaddr_in from_{};
};

}  // namespace

TEST_CASE("the M-SEARCH: multicast with MX, unicast without (UDA 1.1 §1.3.2)") {
  CHECK(m_search("roku:ecp", "239.255.255.250:1900", 3) ==
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 3\r\nST: roku:ecp\r\n\r\n");
  CHECK(m_search("roku:ecp", "192.168.1.134:1900", std::nullopt) ==
        "M-SEARCH * HTTP/1.1\r\nHOST: 192.168.1.134:1900\r\nMAN: \"ssdp:discover\"\r\nST: roku:ecp\r\n\r\n");
  CHECK(m_search("roku:ecp", "h:1", 9).find("MX: 5\r\n") != std::string::npos);
  CHECK(m_search("roku:ecp", "h:1", 0).find("MX: 1\r\n") != std::string::npos);
}

TEST_CASE("a player's answer gives its serial number and ECP address") {
  RokuParse r = roku_device(parsed(answer("P0A070000007", "http://192.168.1.134:8060/")));
  REQUIRE_MESSAGE(r.device, r.error);
  CHECK(*r.device == RokuDevice{"P0A070000007", "http://192.168.1.134:8060/"});
}

TEST_CASE("header names in any case, LF line ends, folded lines and a body are read as HTTP allows") {
  const SsdpResponse a = parsed(
      "HTTP/1.1 200 OK\nst:   roku:ecp  \nLOCATION: http://10.0.0.5:8060/\nusn: uuid:roku:ecp:YH00AA123456\n"
      "Server: Roku/9.4.0\n  UPnP/1.0\n\nbody");
  CHECK(a.status == 200);
  CHECK(a.header("ST") == "roku:ecp");
  CHECK(a.header("Server") == "Roku/9.4.0 UPnP/1.0");
  CHECK_FALSE(a.header("EXT"));
  CHECK(roku_device(a).device->serial == "YH00AA123456");
  CHECK(parsed("HTTP/1.0 200 OK\r\n\r\n").status == 200);
  CHECK(parsed("HTTP/1.1 404\r\n\r\n").status == 404);
}

TEST_CASE("what is not an SSDP response says why") {
  auto error = [](std::string_view d) {
    SsdpParse p = parse_ssdp_response(d);
    CHECK_FALSE(p.response);
    return p.error;
  };
  CHECK(error("") == "empty datagram");
  CHECK(error("M-SEARCH * HTTP/1.1\r\nST: roku:ecp\r\n\r\n") ==
        "'M-SEARCH * HTTP/1.1' is not an HTTP/1.x status line");
  CHECK(error("NOTIFY * HTTP/1.1\r\n\r\n") == "'NOTIFY * HTTP/1.1' is not an HTTP/1.x status line");
  CHECK(error("HTTP/2.0 200 OK\r\n\r\n") == "'HTTP/2.0 200 OK' is not an HTTP/1.x status line");
  CHECK(error("HTTP/1.1 2x0 OK\r\n\r\n") == "'HTTP/1.1 2x0 OK' is not an HTTP/1.x status line");
  CHECK(error("HTTP/1.1 200 OK\r\nST: roku:ecp\r\n") == "no empty line after the headers (cut short?)");
  CHECK(error("HTTP/1.1 200 OK\r\nST: roku:ecp\r\n\r") == "no empty line after the headers (cut short?)");
  CHECK(error("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n") == "'no colon here' is not a header line (Name: value)");
  CHECK(error("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n") == "'Bad Name: x' is not a header line (Name: value)");
  CHECK(error("HTTP/1.1 200 OK\r\n folded\r\n\r\n") == "continuation line ' folded' before any header");
  CHECK(error("HTTP/1.1 200 OK\r\nST: a\r\nst: b\r\n\r\n") == "header st appears twice");
  CHECK(error("HTTP/1.1 200 OK\r\n\x1b[31m: x\r\n\r\n") == "'\\x1b[31m: x' is not a header line (Name: value)");
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 65; ++i) many += "X" + std::to_string(i) + ": y\r\n";
  CHECK(error(many + "\r\n") == "more than 64 header lines");
  CHECK(error(std::string(kMaxSsdpDatagram + 1, 'x')) == "8193 bytes, more than an SSDP response has");
}

TEST_CASE("an answer that is not a Roku's, or whose serial would not be one topic level, is refused") {
  CHECK(roku_error("HTTP/1.1 500 Oops\r\n\r\n") == "status 500, not 200");
  CHECK(roku_error("HTTP/1.1 200 OK\r\nST: urn:dial-multiscreen-org:service:dial:1\r\n\r\n") ==
        "ST 'urn:dial-multiscreen-org:service:dial:1' is not roku:ecp");
  CHECK(roku_error("HTTP/1.1 200 OK\r\nUSN: x\r\n\r\n") == "no ST header");
  CHECK(roku_error("HTTP/1.1 200 OK\r\nST: roku:ecp\r\n\r\n") == "no USN header");
  CHECK(roku_error(answer("P0A0/7#", "http://x/")) == "USN 'uuid:roku:ecp:P0A0/7#' is not uuid:roku:ecp:<serial number>");
  CHECK(roku_error(answer("", "http://x/")) == "USN 'uuid:roku:ecp:' is not uuid:roku:ecp:<serial number>");
  CHECK(roku_error(answer(std::string(33, 'A'), "http://x/")).starts_with("USN 'uuid:roku:ecp:AAAA"));
  CHECK(roku_error("HTTP/1.1 200 OK\r\nST: roku:ecp\r\nUSN: uuid:roku:ecp:A1\r\n\r\n") == "no LOCATION header");
  CHECK(roku_error(answer("A1", "ftp://x/")) == "LOCATION 'ftp://x/' is not an http:// URL");
  CHECK(roku_error(answer("A1", "http://")) == "LOCATION 'http://' is not an http:// URL");
  CHECK(roku_error(answer("A1", "http://a b/")) == "LOCATION 'http://a b/' is not an http:// URL");
  CHECK(roku_error(answer("A1", "http://" + std::string(250, 'a'))).starts_with("LOCATION 'http://aaa"));
}

TEST_CASE("SearchAddress: an IPv4 address, port 1900 unless given; multicast or not") {
  auto group = parse_search_address("239.255.255.250");
  REQUIRE(group);
  CHECK(group->multicast);
  CHECK(group->host == "239.255.255.250:1900");
  auto player = parse_search_address("192.168.1.134:8060");
  REQUIRE(player);
  CHECK_FALSE(player->multicast);
  CHECK(ntohs(player->address.sin_port) == 8060);
  for (const char* bad : {"", "300.1.1.1", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:", "1.2.3.4:x", "roku.lan"})
    CHECK_MESSAGE(!parse_search_address(bad), bad);
  using Problems = std::vector<sr::sdk::testing::CheckProblem>;
  CHECK(Instance<RokuAddressSensor>::check({{"Poll", "30"}, {"Timeout", "5"}}).empty());
  CHECK(Instance<RokuAddressSensor>::check({{"Poll", "5"}, {"Timeout", "5"}}) ==
        Problems{{SR_LOG_ERROR, "Poll", "must be more than Timeout (5 s): each search listens that long"}});
  CHECK(Instance<RokuAddressSensor>::check({{"Poll", "30"}, {"Timeout", "5"}, {"SearchAddress", "1.2.3.999"}}) ==
        Problems{{SR_LOG_ERROR, "SearchAddress", "'1.2.3.999' is not an IPv4 address with an optional port 1-65535"}});
}

TEST_CASE("a search publishes every player that answered, once; refresh repeats them; the next search updates") {
  FakePlayers players;
  FakeHost host;
  Instance<RokuAddressSensor> roku(host, {{"Poll", "30"}, {"Timeout", "2"}, {"SearchAddress", players.address()}});
  REQUIRE(roku.poll() == SR_POLL_PENDING);
  CHECK(players.search() ==
        "M-SEARCH * HTTP/1.1\r\nHOST: " + players.address() + "\r\nMAN: \"ssdp:discover\"\r\nST: roku:ecp\r\n\r\n");
  players.search();  // the second copy
  players.say(answer("YH00AA000001", "http://10.0.0.5:8060/"));
  players.say("HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n");  // not a Roku
  players.say("garbage");
  players.say(answer("YH00AA000001", "http://10.0.0.5:8060/"));  // answering the second copy
  players.say(answer("X00000000002", "http://10.0.0.6:8060/"));
  REQUIRE(host.run_until([&] { return host.logged(SR_LOG_DEBUG, "Roku X00000000002 answered from 127.0.0.1"); }, 5s));
  CHECK(host.published().empty());  // not before the window ends
  CHECK(host.logged(SR_LOG_DEBUG, "ignored an answer from 127.0.0.1:"));
  CHECK(host.logged(SR_LOG_DEBUG, "ignored a datagram from 127.0.0.1:"));
  host.advance(2s);
  CHECK(host.poll_done_count() == 1);
  CHECK(host.poll_failed_count() == 0);
  CHECK(host.payloads_to("YH00AA000001") == std::vector<std::string>{"http://10.0.0.5:8060/"});
  CHECK(host.payloads_to("X00000000002") == std::vector<std::string>{"http://10.0.0.6:8060/"});
  CHECK(host.logged(SR_LOG_INFO, "found Roku YH00AA000001 at http://10.0.0.5:8060/"));

  host.clear();
  CHECK(roku.refresh() == SR_OK);
  CHECK(host.published().size() == 2);

  // Next search: one moved, one is gone; a late answer to the old search
  // is ignored.
  host.clear();
  REQUIRE(roku.poll() == SR_POLL_PENDING);
  players.search();
  players.search();
  players.say(answer("YH00AA000001", "http://10.0.0.9:8060/"));
  REQUIRE(host.run_until([&] { return host.logged(SR_LOG_DEBUG, "Roku YH00AA000001 answered"); }, 5s));
  host.advance(2s);
  CHECK(host.published().size() == 1);
  CHECK(host.payloads_to("YH00AA000001") == std::vector<std::string>{"http://10.0.0.9:8060/"});
  CHECK(host.logged(SR_LOG_INFO, "Roku YH00AA000001 moved from http://10.0.0.5:8060/ to http://10.0.0.9:8060/"));
  CHECK(host.logged(SR_LOG_INFO, "Roku X00000000002 (http://10.0.0.6:8060/) did not answer"));
  players.say(answer("X00000000002", "http://10.0.0.6:8060/"));
  REQUIRE(host.run_until([&] { return host.logged(SR_LOG_DEBUG, "after the search ended, ignored"); }, 5s));
  host.clear();
  CHECK(roku.refresh() == SR_OK);
  CHECK(host.published().size() == 1);
}

TEST_CASE("a search nobody answers is a good poll that publishes nothing, said once") {
  FakePlayers players;
  FakeHost host;
  Instance<RokuAddressSensor> roku(host, {{"Poll", "30"}, {"Timeout", "1"}, {"SearchAddress", players.address()}});
  for (int i = 0; i < 2; ++i) {
    REQUIRE(roku.poll() == SR_POLL_PENDING);
    host.advance(1s);
  }
  CHECK(host.poll_done_count() == 2);
  CHECK(host.poll_failed_count() == 0);
  CHECK(host.published().empty());
  size_t said = 0;
  for (const auto& line : host.logs()) said += line.text == "no Roku answered";
  CHECK(said == 1);
}

TEST_CASE("a search that cannot be sent fails the poll, naming the address") {
  FakeHost host;
  // The broadcast address without SO_BROADCAST: sendto refuses it at once.
  Instance<RokuAddressSensor> roku(host, {{"Poll", "30"}, {"SearchAddress", "255.255.255.255:9"}});
  CHECK(roku.poll() == SR_ERROR);
  CHECK(host.logged(SR_LOG_ERROR, "cannot send the search to 255.255.255.255:9: Permission denied"));
}
