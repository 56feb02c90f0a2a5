// dash: a Dash button press on the wire -> the MQTT message at a subscriber,
// through network.dash_sensor.DashSensor in the real daemon. Issue 16's
// budget: press -> MQTT publish <= 2 ms.
//
// In a network namespace of its own (support/netns.h; root, else it says so
// and exits 77): a veth pair, mosquitto on the namespace's loopback, the
// daemon with MQTT and a DashSensor on one end (Debounce 0), and, on the
// same end, the floor: bench_dash_floor, the smallest program doing the
// same (an AF_PACKET socket with the same kernel filter, one libmosquitto
// publish per frame), watching another button. PRESSES times (default
// 200), alternately for the daemon's button and the floor's, an ARP frame
// goes onto the other end of the pair through a packet socket; the latency
// is from just before sendto to the subscriber's on_message (the broker's
// hop to the subscriber is in both figures). The MQTT round trip client ->
// broker -> client is printed for scale.
// Usage: bench_dash [PRESSES]
#include "bench_common.h"
#include "support/frames.h"
#include "support/netns.h"

#include <linux/if_packet.h>
#include <sys/socket.h>

using namespace sr::bench;
namespace t = sr::test;
namespace f = sr::test::frames;

namespace {

constexpr f::Mac kDaemonButton{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr f::Mac kFloorButton{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

class Injector {
 public:
  explicit Injector(const std::string& interface) : fd_(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)) {
    address_.sll_family = AF_PACKET;
    address_.sll_ifindex = static_cast<int>(t::interface_index(interface));
    address_.sll_halen = 6;
    if (fd_ < 0 || address_.sll_ifindex == 0) fail("cannot open a packet socket on " + interface);
  }
  ~Injector() { close(fd_); }
  void send(const std::vector<uint8_t>& frame) {
    if (sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&address_), sizeof address_) !=
        static_cast<ssize_t>(frame.size()))
      fail("sendto on the veth pair");
  }

 private:
  int fd_;
  sockaddr_ll address_{};
};

// One press: the frame on the wire, then the message at the subscriber.
double press(t::MqttClient& client, Injector& wire, const f::Mac& button, const std::string& topic,
             const t::Process* daemon) {
  client.clear();
  const auto frame = f::arp(button, {10, 77, 1, 9}, {10, 77, 1, 1});
  const auto t0 = Clock::now();
  wire.send(frame);
  if (!client.wait_for([&](const auto& all) { return !all.empty(); }, 5s)) fail("no message on " + topic, daemon);
  const auto messages = client.messages();
  if (messages.size() != 1 || messages[0].topic != topic) fail("unexpected message on " + messages[0].topic, daemon);
  return ms_between(t0, messages[0].at);
}

}  // namespace

static int bench_main(int argc, char** argv) {
  const int presses = arg_or(argc, argv, 1, 200);
  std::string why;
  if (!t::enter_new_netns(why)) {
    std::printf("dash: skipped: needs a network namespace of its own: %s\n", why.c_str());
    return 77;
  }
  t::ip({"link", "add", "sr-da", "type", "veth", "peer", "name", "sr-db"});
  t::ip({"link", "set", "sr-da", "up"});
  t::ip({"link", "set", "sr-db", "up"});

  // The broker sends with TCP_NODELAY (mosquitto's set_tcp_nodelay; the
  // daemon and the floor do on their side): presses follow each other within
  // a millisecond here, and Nagle's algorithm on the broker's socket to the
  // subscriber would hold each message until the previous one's delayed ACK,
  // about 40 ms, which is neither the daemon's time nor the floor's.
  auto broker = std::make_unique<t::Broker>("", "persistence false\nautosave_on_changes false\nset_tcp_nodelay true\n");
  t::TempDir dir;
  t::MqttClient client(broker->port());
  if (!client.wait_connected(5s) || !client.subscribe("dash/#", 0) || !client.subscribe("floor/press", 0) ||
      !client.subscribe("rt/x", 0))
    fail("client cannot subscribe");
  const std::string config = mqtt_section(broker->port(), "dash", "bench-dash") +
                             "[Sensor_Dash]\nClass = network.dash_sensor.DashSensor\nConnection = mqtt\nMAC1 = " +
                             "02:00:00:00:00:01\nDestination1 = press\nInterface = sr-da\nDebounce = 0\n";
  auto daemon = start_daemon(dir.write("dash.ini", config));
  if (!daemon->wait_for_output("listening for 02:00:00:00:00:01 on sr-da", 10s)) fail("daemon not listening", daemon.get());
  if (!client.wait_for_message("dash/status", "ONLINE", 10s)) fail("daemon not connected", daemon.get());
  t::Process floor({SR_BENCH_DASH_FLOOR, "02:00:00:00:00:02", "sr-da", std::to_string(broker->port()), "floor/press"});
  if (!floor.wait_for_output("ready", 10s)) fail("floor program not ready: " + floor.output());

  Injector wire("sr-db");
  std::vector<double> daemon_ms, floor_ms, round_trip_ms;
  for (int i = 0; i < presses + 10; ++i) {  // the first ten warm up
    const double by_daemon = press(client, wire, kDaemonButton, "dash/press", daemon.get());
    const double by_floor = press(client, wire, kFloorButton, "floor/press", daemon.get());
    client.clear();
    const auto t1 = Clock::now();
    client.publish("rt/x", "x", 0);
    if (!client.wait_for([](const auto& all) { return !all.empty(); }, 5s)) fail("no round trip");
    if (i >= 10) {
      daemon_ms.push_back(by_daemon);
      floor_ms.push_back(by_floor);
      round_trip_ms.push_back(ms_between(t1, client.messages()[0].at));
    }
  }
  stop_daemon(*daemon);
  std::printf("dash (%d presses, ARP frame on a veth pair -> AF_PACKET + kernel filter -> MQTT -> subscriber): "
              "daemon p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms; floor (bench_dash_floor: same socket and "
              "filter, one libmosquitto publish) p50 %.3f ms, p90 %.3f ms, p99 %.3f ms; MQTT round trip p50 %.3f ms "
              "(budget: press -> publish <= 2 ms)\n",
              presses, percentile(daemon_ms, 50), percentile(daemon_ms, 90), percentile(daemon_ms, 99),
              percentile(daemon_ms, 100), percentile(floor_ms, 50), percentile(floor_ms, 90), percentile(floor_ms, 99),
              percentile(round_trip_ms, 50));
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
