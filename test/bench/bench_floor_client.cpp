// The floors of the benchmarks that compare the daemon with a bare MQTT
// client through Debian's libmosquitto (so: libstdc++, libmosquitto and the
// OpenSSL it always links). Ends on SIGTERM.
//
//   bench_floor_client PORT
//       bench_idle's memory floor: connected and idle, as the daemon is.
//   bench_floor_client PORT N ROOT POLL
//       bench_scale's CPU floor: every POLL seconds, in one burst, the 2N
//       messages N Heartbeats publish (ROOT/hbI/num and ROOT/hbI/str with
//       payloads of their size), QoS 0, on one thread: the work no reporter
//       can avoid, so what the daemon spends above it is its own.
#include <mosquitto.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

uint64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

int publish_forever(mosquitto* m, long sections, const std::string& root, double poll) {
  std::vector<std::string> topics;
  topics.reserve(static_cast<size_t>(2 * sections));
  for (long i = 0; i < sections; ++i) {
    topics.push_back(root + "/hb" + std::to_string(i) + "/num");
    topics.push_back(root + "/hb" + std::to_string(i) + "/str");
  }
  const auto period_ms = static_cast<uint64_t>(poll * 1000);
  const uint64_t start = now_ms();
  uint64_t next = start;
  for (;;) {
    const uint64_t now = now_ms();
    if (now < next) {
      if (int rc = mosquitto_loop(m, static_cast<int>(next - now), 1); rc != MOSQ_ERR_SUCCESS) return 1;
      continue;
    }
    // The payloads a Heartbeat sends: its uptime in ms and as HH:MM:SS.
    const uint64_t up = now - start;
    char num[24], str[24];
    const int num_len = std::snprintf(num, sizeof num, "%llu", static_cast<unsigned long long>(up));
    const int str_len = std::snprintf(str, sizeof str, "%02llu:%02llu:%02llu",
                                      static_cast<unsigned long long>(up / 3600000),
                                      static_cast<unsigned long long>(up / 60000 % 60),
                                      static_cast<unsigned long long>(up / 1000 % 60));
    for (size_t i = 0; i < topics.size(); i += 2) {
      mosquitto_publish(m, nullptr, topics[i].c_str(), num_len, num, 0, false);
      mosquitto_publish(m, nullptr, topics[i + 1].c_str(), str_len, str, 0, false);
    }
    next += period_ms;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 5) return 64;
  mosquitto_lib_init();
  const std::string id = "bench-floor-" + std::to_string(getpid());
  mosquitto* m = mosquitto_new(id.c_str(), true, nullptr);
  if (!m || mosquitto_connect(m, "127.0.0.1", std::stoi(argv[1]), 60) != MOSQ_ERR_SUCCESS) return 1;
  int rc = 0;
  if (argc == 5)
    rc = publish_forever(m, std::stol(argv[2]), argv[3], std::stod(argv[4]));
  else
    mosquitto_loop_forever(m, -1, 1);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();
  return rc;
}
