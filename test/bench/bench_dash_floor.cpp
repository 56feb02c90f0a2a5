// bench_dash's floor: the smallest C++ program that does what DashSensor
// does between the wire and the broker: an AF_PACKET socket with the same
// kernel filter (network/dash_frame.hpp's dash_filter) on one interface,
// and for each frame from the button one libmosquitto publish of its MAC.
// Prints "ready" once connected and listening; ends on SIGTERM.
// Usage: bench_dash_floor MAC INTERFACE PORT TOPIC
#include "network/dash_frame.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <mosquitto.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

namespace {
std::atomic<bool> connected{false};
}

int main(int argc, char** argv) {
  if (argc != 5) return 64;
  const auto mac = sr::network::parse_mac(argv[1]);
  if (!mac) return 64;
  const std::string payload = sr::network::mac_text(*mac), topic = argv[4];
  mosquitto_lib_init();
  mosquitto* m = mosquitto_new(("bench-dash-floor-" + std::to_string(getpid())).c_str(), true, nullptr);
  mosquitto_connect_callback_set(m, [](mosquitto*, void*, int rc) { connected = rc == 0; });
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);  // as the daemon's MQTT connection
  if (!m || mosquitto_connect(m, "127.0.0.1", std::stoi(argv[3]), 60) != MOSQ_ERR_SUCCESS) return 1;
  mosquitto_loop_start(m);

  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  std::vector<sock_filter> program = sr::network::dash_filter(std::vector<sr::network::MacAddress>{*mac});
  const sock_fprog filter{static_cast<unsigned short>(program.size()), program.data()};
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(if_nametoindex(argv[2]));
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror("packet socket");
    return 1;
  }
  while (!connected) usleep(1000);
  std::printf("ready\n");
  std::fflush(stdout);
  unsigned char frame[2048];
  for (;;) {
    if (recv(fd, frame, sizeof frame, 0) <= 0) continue;
    mosquitto_publish(m, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 0, false);
  }
}
