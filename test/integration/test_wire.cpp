// The network classes on a wire of the test's own: the whole test runs in a
// network namespace it creates (support/netns.h), with veth pairs in it and
// mosquitto on its loopback, so nothing touches the machine's network and
// everything goes when the test ends. Needs root (CAP_SYS_ADMIN for the
// namespace, CAP_NET_RAW for the frames); without it the test says why and
// exits 77 (SKIP).
//
// network.dash_sensor.DashSensor: frames a button sends (support/frames.h,
// built from the RFCs) are put on one end of a veth pair through a packet
// socket; the daemon, listening on every interface, hears them arrive on
// the other end through its AF_PACKET socket and kernel filter and
// publishes. Without CAP_NET_RAW (an unprivileged user, as the service
// unit runs it) the section fails with the drop-in's name; with the
// capability alone (what packaging/examples/dash.conf grants) it works.
//
// roku.roku_addr.RokuAddressSensor: the SSDP responder double
// (support/ssdp_responder.cpp) runs in a second namespace, behind the veth
// pair, as a player on another machine would; the daemon's multicast search
// crosses the link, the double checks it against UDA 1.1 and answers.
//
// The original's README examples for both classes run against the openHAB
// double.
#define DOCTEST_CONFIG_IMPLEMENT
#include "support/broker.h"
#include "support/frames.h"
#include "support/mqtt_client.h"
#include "support/netns.h"
#include "support/openhab_double.h"
#include "support/original_examples.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace sr::test;
namespace f = sr::test::frames;

namespace {

constexpr f::Mac kCoffee{0x44, 0x65, 0x0d, 0x11, 0x22, 0x33};
constexpr f::Mac kTide{0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
constexpr f::Mac kStranger{0x44, 0x65, 0x0d, 0x11, 0x22, 0x34};
constexpr f::Ipv4 kButtonIp{10, 77, 1, 9}, kGateway{10, 77, 1, 1};

// A veth pair in the test's namespace, both ends up; deleted with it.
class VethPair {
 public:
  VethPair(std::string a, std::string b) : a_(std::move(a)), b_(std::move(b)) {
    ip({"link", "add", a_, "type", "veth", "peer", "name", b_});
    ip({"link", "set", a_, "up"});
    ip({"link", "set", b_, "up"});
  }
  ~VethPair() {
    try {
      ip({"link", "del", a_});  // takes its peer along, wherever it is
    } catch (...) {
      // Gone already: its peer's namespace ended.
    }
  }
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

 private:
  std::string a_, b_;
};

// A packet socket on one interface: puts whole Ethernet frames on the wire.
class Injector {
 public:
  explicit Injector(const std::string& interface) : fd_(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)) {
    REQUIRE_MESSAGE(fd_ >= 0, "socket(AF_PACKET): " << std::strerror(errno));
    address_.sll_family = AF_PACKET;
    address_.sll_ifindex = static_cast<int>(interface_index(interface));
    address_.sll_halen = 6;
    REQUIRE(address_.sll_ifindex > 0);
  }
  ~Injector() { close(fd_); }
  void send(const std::vector<uint8_t>& frame) {
    REQUIRE(sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&address_),
                   sizeof address_) == static_cast<ssize_t>(frame.size()));
  }

 private:
  int fd_;
  sockaddr_ll address_{};
};

std::string dash_section(const std::string& connection, const std::string& extra = "") {
  return fmt::format(R"(
[Sensor_Dash]
Class = network.dash_sensor.DashSensor
Connection = {}
MAC1 = 44:65:0D:11:22:33
Destination1 = buttons/coffee
MAC2 = 00:11:22:33:44:55
Destination2 = buttons/tide
{}
)",
                     connection, extra);
}

// roku/README.md's sensor section (Appendix A.21), on `connection`.
std::string original_roku_section(const std::string& connection) {
  return fmt::format(R"(
[Sensor1]
Class = roku.roku_addr.RokuAddressSensor
Connection = {}
Poll = 30
)",
                     connection);
}

void stop(Process& reporter) {
  reporter.signal(SIGTERM);
  CHECK(reporter.wait_exit(10s) == 0);
}

// The daemon as the service unit runs it: an unprivileged user, no new
// privileges, no capability but those in `capabilities` ("" or "net_raw").
std::unique_ptr<Process> start_unprivileged(const TempDir& dir, const std::string& ini_text,
                                            const std::string& capabilities) {
  const std::string ini = dir.write("sr.ini", ini_text);
  REQUIRE(chmod(dir.path().c_str(), 0755) == 0);
  REQUIRE(chmod(ini.c_str(), 0644) == 0);
  std::vector<std::string> argv{find_tool("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
                                "--no-new-privs"};
  if (capabilities.empty()) {
    argv.insert(argv.end(), {"--inh-caps=-all", "--bounding-set=-all"});
  } else {
    argv.insert(argv.end(), {"--inh-caps=+" + capabilities, "--ambient-caps=+" + capabilities,
                             "--bounding-set=-all,+" + capabilities});
  }
  argv.insert(argv.end(), {"--", binary(), ini});
  return std::make_unique<Process>(argv);
}

// The SSDP responder double in a namespace of its own, on the far end of a
// veth pair: 10.77.0.1 here (va), 10.77.0.2 there (vb).
class FarSide {
 public:
  explicit FarSide(std::vector<std::string> devices) : link_("sr-va", "sr-vb") {
    std::vector<std::string> argv{SR_TEST_SSDP_RESPONDER, "--own-netns", "--interface", "sr-vb"};
    for (const auto& d : devices) argv.insert(argv.end(), {"--device", d});
    responder_ = std::make_unique<Process>(argv, std::vector<std::string>{}, true);
    REQUIRE_MESSAGE(responder_->wait_for_output("netns ", 10s), responder_->output());
    const pid_t pid = responder_->pid();
    ip({"link", "set", "sr-vb", "netns", std::to_string(pid)});
    ip({"addr", "add", "10.77.0.2/24", "dev", "sr-vb"}, pid);
    ip({"link", "set", "sr-vb", "up"}, pid);
    ip({"link", "set", "lo", "up"}, pid);
    ip({"addr", "add", "10.77.0.1/24", "dev", "sr-va"});
    // Multicast leaves this side through the link, as it would through a
    // LAN's interface.
    ip({"route", "add", "224.0.0.0/4", "dev", "sr-va"});
    REQUIRE(responder_->write_stdin("go\n"));
    REQUIRE_MESSAGE(responder_->wait_for_output("listening", 10s), responder_->output());
  }
  // The pair goes first, at once (a namespace's devices go some time after
  // its last process), so the next test can make it again.
  ~FarSide() {
    try {
      ip({"link", "del", link_.a()});
    } catch (...) {
      // Already gone.
    }
    responder_.reset();
  }
  Process& responder() { return *responder_; }
  void command(const std::string& line) {
    const size_t before = occurrences(responder_->output(), "\nok");
    REQUIRE(responder_->write_stdin(line + "\n"));
    REQUIRE(wait_until([&] { return occurrences(responder_->output(), "\nok") > before; }, 5s));
  }

 private:
  VethPair link_;
  std::unique_ptr<Process> responder_;
};

}  // namespace

TEST_CASE("DashSensor: ARP and DHCP frames from the buttons are presses; nothing else is") {
  VethPair wire("sr-da", "sr-db");
  WatchedBroker mqtt;
  MqttClient& observer = mqtt.observer;
  TempDir dir;
  // Every interface, every frame a press: the outgoing copy of what the
  // injector sends on sr-db must not count twice.
  auto reporter = start_reporter(dir, mqtt_section(mqtt.broker.port()) + dash_section("mqtt", "Debounce = 0"));
  INFO("daemon:\n" << reporter->output());
  REQUIRE(reporter->wait_for_output("INFO    [Sensor_Dash] listening for 44:65:0d:11:22:33, 00:11:22:33:44:55 on "
                                    "every interface",
                                    10s));
  Injector inject(wire.b());
  // Not presses: a stranger's ARP, the button's DNS query, a DHCP reply
  // to the button, an IPv6 frame from it.
  inject.send(f::arp(kStranger, kButtonIp, kGateway));
  inject.send(f::udp(kCoffee, f::kBroadcast, kButtonIp, kGateway, 40000, 53, std::vector<uint8_t>(40, 1)));
  inject.send(f::udp(kCoffee, f::kBroadcast, kGateway, kButtonIp, 67, 68, f::bootp(2, kCoffee, 7, {53, 1, 2})));
  inject.send(f::ethernet(f::kBroadcast, kCoffee, 0x86dd));
  // Presses.
  inject.send(f::arp(kCoffee, kButtonIp, kGateway));
  inject.send(f::dhcp_discover(kTide));
  REQUIRE(observer.wait_for(
      [](const auto& m) { return count_topic(m, "sr/buttons/coffee") == 1 && count_topic(m, "sr/buttons/tide") == 1; },
      10s));
  CHECK(count(observer.messages(), "sr/buttons/coffee", "44:65:0d:11:22:33") == 1);
  CHECK(count(observer.messages(), "sr/buttons/tide", "00:11:22:33:44:55") == 1);
  CHECK(reporter->output().find("INFO    [Sensor_Dash] 44:65:0d:11:22:33 pressed (ARP)") != std::string::npos);
  CHECK(reporter->output().find("INFO    [Sensor_Dash] 00:11:22:33:44:55 pressed (DHCP)") != std::string::npos);
  // A refresh has nothing to say for a button; a press behind it is the
  // next message, and nothing was counted twice before it.
  REQUIRE(observer.publish("sr/refresh", "now"));
  inject.send(f::arp(kCoffee, kButtonIp, kGateway));
  REQUIRE(observer.wait_for([](const auto& m) { return count_topic(m, "sr/buttons/coffee") == 2; }, 10s));
  CHECK(count_topic(observer.messages(), "sr/buttons/tide") == 1);
  stop(*reporter);
}

TEST_CASE("DashSensor: a button's wake-up burst is one press (Debounce), on the interface it names") {
  VethPair wire("sr-da", "sr-db");
  WatchedBroker mqtt("sr/buttons/#");
  MqttClient& observer = mqtt.observer;
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(mqtt.broker.port()) + dash_section("mqtt", "Interface = sr-da"));
  INFO("daemon:\n" << reporter->output());
  REQUIRE(reporter->wait_for_output("listening for 44:65:0d:11:22:33, 00:11:22:33:44:55 on sr-da", 10s));
  Injector inject(wire.b());
  inject.send(f::dhcp_discover(kCoffee));
  inject.send(f::dhcp_request(kCoffee, kButtonIp));
  inject.send(f::arp(kCoffee, kButtonIp, kGateway));
  inject.send(f::arp(kCoffee, kButtonIp, kGateway));
  inject.send(f::arp(kTide, kButtonIp, kGateway));  // the other button, after the burst
  REQUIRE(observer.wait_for([](const auto& m) { return count_topic(m, "sr/buttons/tide") == 1; }, 10s));
  CHECK(count_topic(observer.messages(), "sr/buttons/coffee") == 1);
  stop(*reporter);
}

TEST_CASE("DashSensor: an unprivileged daemon is told about the drop-in; CAP_NET_RAW alone is enough") {
  if (find_tool("setpriv").empty()) {
    MESSAGE("setpriv not found (util-linux): the unprivileged runs are left out");
    return;
  }
  VethPair wire("sr-da", "sr-db");
  WatchedBroker mqtt;
  MqttClient& observer = mqtt.observer;
  const std::string config = mqtt_section(mqtt.broker.port()) + dash_section("mqtt");
  {
    TempDir dir;
    auto reporter = start_unprivileged(dir, config, "");
    INFO("daemon:\n" << reporter->output());
    CHECK(reporter->wait_for_output(
        "ERROR   [Sensor_Dash] start failed: cannot open a packet socket: Operation not permitted (DashSensor needs "
        "CAP_NET_RAW: as a service, install the drop-in packaging/examples/dash.conf; see the README, "
        "\"Privileges\")",
        10s));
    // The rest keeps running.
    CHECK(observer.wait_for_message("sr/status", "ONLINE", 10s));
    stop(*reporter);
  }
  TempDir dir;
  auto reporter = start_unprivileged(dir, config, "net_raw");
  INFO("daemon:\n" << reporter->output());
  REQUIRE(reporter->wait_for_output("listening for", 10s));
  Injector(wire.b()).send(f::arp(kCoffee, kButtonIp, kGateway));
  CHECK(observer.wait_for_message("sr/buttons/coffee", "44:65:0d:11:22:33", 10s));
  stop(*reporter);
}

TEST_CASE("RokuAddressSensor: a multicast search across the link finds the players on the far side") {
  FarSide far({"YH00AA000001=http://10.77.0.2:8060/", "X00000000002=http://10.77.0.3:8060/"});
  WatchedBroker mqtt;
  MqttClient& observer = mqtt.observer;
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(mqtt.broker.port()) + R"(
[Sensor_Roku]
Class = roku.roku_addr.RokuAddressSensor
Connection = mqtt
Poll = 2
Timeout = 1
)");
  INFO("daemon:\n" << reporter->output() << "\nresponder:\n" << far.responder().output());
  CHECK(observer.wait_for_message("sr/YH00AA000001", "http://10.77.0.2:8060/", 10s));
  CHECK(observer.wait_for_message("sr/X00000000002", "http://10.77.0.3:8060/", 5s));
  // The search as UDA 1.1 wants it: the double discarded none.
  CHECK(far.responder().output().find("search from 10.77.0.1:") != std::string::npos);
  CHECK(far.responder().output().find("st=roku:ecp mx=1") != std::string::npos);
  CHECK(far.responder().output().find("discarded") == std::string::npos);

  // One player leaves, another comes, and a non-Roku device and garbage
  // answer too: the next searches say so and publish only the players.
  far.command("remove X00000000002");
  far.command("add Z00000000003=http://10.77.0.4:8060/");
  far.command("junk");
  CHECK(reporter->wait_for_output("INFO    [Sensor_Roku] Roku X00000000002 (http://10.77.0.3:8060/) did not answer",
                                  10s));
  CHECK(observer.wait_for_message("sr/Z00000000003", "http://10.77.0.4:8060/", 10s));
  CHECK(reporter->wait_for_output("INFO    [Sensor_Roku] found Roku Z00000000003 at http://10.77.0.4:8060/", 5s));
  stop(*reporter);
  // Each poll publishes each player once, however many copies of the search
  // it answered (two per poll).
  const size_t searches = occurrences(far.responder().output(), "search from");
  const size_t published = count_topic(observer.messages(), "sr/YH00AA000001");
  CHECK(published >= 2);
  CHECK(published * 2 <= searches);
}

TEST_CASE("the original's README examples: Dash through openHAB runs; Roku's names a missing connection") {
  VethPair wire("sr-da", "sr-db");
  OpenhabDouble openhab("oh3.3", {"--item", "Test_Refresh:Switch", "--item", "bounty:String", "--item",
                                  "tide:String"});
  // network/README.md (reference Appendix A.19), as written but for the URL.
  const std::string dash = original_openhab_head(openhab.url()) + R"(
[Sensor5]
Class = network.dash_sensor.DashSensor
Connection = openHAB
MAC1 = aa:bb:cc:dd:ee:ff
Destination1 = bounty
MAC2 = 00:11:22:33:44:55
Destination2 = tide
Level = DEBUG
)";
  TempDir dir;
  auto reporter = start_reporter(dir, dash, "dash.ini");
  INFO("daemon:\n" << reporter->output() << "\nopenHAB:\n" << openhab.log());
  REQUIRE(reporter->wait_for_output("listening for aa:bb:cc:dd:ee:ff, 00:11:22:33:44:55", 10s));
  Injector(wire.b()).send(f::arp({0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, kButtonIp, kGateway));
  auto bounty = openhab.wait_requests("PUT", "/rest/items/bounty/state", 1);
  REQUIRE(bounty.size() == 1);
  CHECK(bounty[0]["body"] == "aa:bb:cc:dd:ee:ff");
  stop(*reporter);

  // roku/README.md (Appendix A.21): Connection = MQTT, but the only
  // connection is named openHAB.
  const std::string roku = original_openhab_head(openhab.url()) + original_roku_section("MQTT");
  auto check = run({binary(), "--check", dir.write("roku.ini", roku)});
  CHECK(check.exit_code == 78);
  CHECK(check.err.find("[Sensor1] Connection: no connection is named 'MQTT'") != std::string::npos);
}

TEST_CASE("the original's Roku example, its connection named as it meant, finds a player through openHAB") {
  FarSide far({"YH00AA000001=http://10.77.0.2:8060/"});
  OpenhabDouble openhab("oh3.3", {"--item", "Test_Refresh:Switch", "--item", "YH00AA000001:String"});
  TempDir dir;
  auto reporter = start_reporter(dir, original_openhab_head(openhab.url()) + original_roku_section("openHAB"));
  INFO("daemon:\n" << reporter->output() << "\nresponder:\n" << far.responder().output());
  auto found = openhab.wait_requests("PUT", "/rest/items/YH00AA000001/state", 1);
  REQUIRE(found.size() == 1);
  CHECK(found[0]["body"] == "http://10.77.0.2:8060/");
  CHECK(far.responder().output().find("st=roku:ecp mx=4") != std::string::npos);
  stop(*reporter);
}

int main(int argc, char** argv) {
  std::string why;
  if (!enter_new_netns(why)) {
    std::printf("SKIP: test_wire needs a network namespace of its own: %s\n", why.c_str());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
