// Fan-out: 200 heartbeats at Poll 1 (400 messages a second, QoS 0).
//
// Per run (RUNS, default 3): the daemon starts, settles for 2 s, then for
// SECONDS (default 30) a subscriber records every message and the daemon's
// CPU time is taken before and after. Figures, medians over the runs:
//   delivered/expected: per heartbeat, the Num-Dest values (uptime in ms)
//     seen in the window span round(span / 1 s) + 1 ticks, each with a num
//     and a str message; a skipped or lost tick (or half of one) counts as
//     missing;
//   CPU %: daemon utime + stime over the window / window length;
//   jitter p99: |inter-arrival − 1 s| of each heartbeat's num messages at
//     the subscriber, 99th percentile over all heartbeats and ticks;
//   machine noise p99 (the control): a thread of this program sleeps to
//     absolute 10 ms ticks over the same window; 99th percentile of how late
//     it wakes. On a busy machine this floor, not the daemon, dominates.
// Usage: bench_fanout [SECONDS] [RUNS] [HEARTBEATS]
#include "bench_common.h"

#include <time.h>

#include <map>
#include <thread>

using namespace sr::bench;
namespace t = sr::test;

namespace {

struct Figures {
  double ratio = 0, jitter_p99 = 0, jitter_p50 = 0, payload_jitter_p99 = 0;
};

// Delivered/expected and inter-arrival jitter of the heartbeats' messages
// received up to `stop` (str messages up to 500 ms after their last num).
Figures analyse(const std::vector<t::Received>& messages, Clock::time_point stop, int heartbeats, int seconds) {
  struct Seen {
    std::vector<long> uptime_ms;
    std::vector<Clock::time_point> at;
    std::vector<Clock::time_point> str_at;
  };
  std::map<std::string, Seen> per_sensor;
  for (const auto& m : messages) {
    auto slash = m.topic.rfind('/');
    std::string sensor = m.topic.substr(0, slash);
    if (m.topic.compare(slash, std::string::npos, "/num") == 0 && m.at <= stop) {
      per_sensor[sensor].uptime_ms.push_back(std::atol(m.payload.c_str()));
      per_sensor[sensor].at.push_back(m.at);
    } else if (m.topic.compare(slash, std::string::npos, "/str") == 0) {
      per_sensor[sensor].str_at.push_back(m.at);
    }
  }
  double expected = 0, delivered = 0;
  std::vector<double> jitter, payload_jitter;
  for (auto& [name, seen] : per_sensor) {
    if (seen.uptime_ms.empty()) continue;
    auto [lo, hi] = std::minmax_element(seen.uptime_ms.begin(), seen.uptime_ms.end());
    expected += 2 * (std::round(static_cast<double>(*hi - *lo) / 1000.0) + 1);
    // A str belongs to the window when it follows the first num in it and
    // is not later than shortly after the last.
    size_t str = std::count_if(seen.str_at.begin(), seen.str_at.end(), [&](Clock::time_point at) {
      return at >= seen.at.front() && at <= seen.at.back() + 500ms;
    });
    delivered += static_cast<double>(seen.uptime_ms.size() + str);
    for (size_t k = 1; k < seen.at.size(); ++k) {
      jitter.push_back(std::abs(ms_between(seen.at[k - 1], seen.at[k]) - 1000.0));
      payload_jitter.push_back(std::abs(static_cast<double>(seen.uptime_ms[k] - seen.uptime_ms[k - 1]) - 1000.0));
    }
  }
  // Heartbeats never heard of at all count as fully missing.
  expected += 2.0 * seconds * static_cast<double>(heartbeats - static_cast<int>(per_sensor.size()));
  return Figures{expected > 0 ? delivered / expected : 0, percentile(jitter, 99), percentile(jitter, 50),
                 percentile(payload_jitter, 99)};
}

// The floor: the same messages from a plain libmosquitto client at exact
// absolute 1 s ticks, until `until`.
void plain_bursts(int port, int heartbeats, Clock::time_point until) {
  mosquitto* m = mosquitto_new(nullptr, true, nullptr);
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) fail("plain publisher cannot connect");
  const auto start = Clock::now();
  for (auto tick = start; tick < until; tick += 1s) {
    std::this_thread::sleep_until(tick);
    const std::string uptime = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(tick - start).count());
    for (int i = 0; i < heartbeats; ++i) {
      const std::string base = "fan/hb" + std::to_string(i);
      mosquitto_publish(m, nullptr, (base + "/num").c_str(), static_cast<int>(uptime.size()), uptime.data(), 0, false);
      mosquitto_publish(m, nullptr, (base + "/str").c_str(), static_cast<int>(uptime.size()), uptime.data(), 0, false);
    }
    while (mosquitto_want_write(m)) mosquitto_loop_write(m, 1);
    mosquitto_loop_misc(m);
  }
  mosquitto_disconnect(m);
  mosquitto_destroy(m);
}

}  // namespace

static int bench_main(int argc, char** argv) {
  const int seconds = arg_or(argc, argv, 1, 30);
  const int runs = arg_or(argc, argv, 2, 3);
  const int heartbeats = arg_or(argc, argv, 3, 200);
  auto broker = start_broker();
  t::TempDir dir;
  std::string config = mqtt_section(broker->port(), "fan", "bench-fanout");
  for (int i = 0; i < heartbeats; ++i) config += heartbeat_section(i, 1);
  const std::string config_path = dir.write("fanout.ini", config);

  std::vector<double> ratios, cpu_percent, jitter_p99, jitter_p50, payload_jitter_p99, noise_p99;
  std::vector<double> floor_ratio, floor_p99;
  for (int run = 0; run < runs; ++run) {
    t::MqttClient watcher(broker->port());
    if (!watcher.wait_connected(5s) || !watcher.subscribe("fan/#", 0)) fail("watcher cannot subscribe");
    auto daemon = start_daemon(config_path);
    if (!daemon->wait_for_output("running", 10s)) fail("daemon did not start", daemon.get());
    std::this_thread::sleep_for(2s);
    watcher.clear();
    CpuTimes before = cpu_times(daemon->pid());
    const auto start = Clock::now();
    std::vector<double> lateness;
    std::thread control([&] {
      timespec tick{};
      clock_gettime(CLOCK_MONOTONIC, &tick);
      while (Clock::now() < start + std::chrono::seconds(seconds) - 20ms) {
        tick.tv_nsec += 10'000'000;
        if (tick.tv_nsec >= 1'000'000'000) {
          tick.tv_nsec -= 1'000'000'000;
          tick.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, nullptr);
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        lateness.push_back(static_cast<double>(now.tv_sec - tick.tv_sec) * 1e3 +
                           static_cast<double>(now.tv_nsec - tick.tv_nsec) / 1e6);
      }
    });
    std::this_thread::sleep_until(start + std::chrono::seconds(seconds));
    control.join();
    noise_p99.push_back(percentile(lateness, 99));
    CpuTimes after = cpu_times(daemon->pid());
    const auto stop = Clock::now();
    // Let the str half of the last tick arrive too (str messages are only
    // counted up to 500 ms after their heartbeat's last num in the window).
    std::this_thread::sleep_for(600ms);
    auto messages = watcher.messages();
    stop_daemon(*daemon);

    Figures daemon_figures = analyse(messages, stop, heartbeats, seconds);
    ratios.push_back(daemon_figures.ratio);
    cpu_percent.push_back(100.0 * (after.self - before.self) / std::chrono::duration<double>(stop - start).count());
    jitter_p99.push_back(daemon_figures.jitter_p99);
    jitter_p50.push_back(daemon_figures.jitter_p50);
    payload_jitter_p99.push_back(daemon_figures.payload_jitter_p99);

    // The floor, same window length, daemon stopped.
    watcher.clear();
    const auto floor_start = Clock::now();
    plain_bursts(broker->port(), heartbeats, floor_start + std::chrono::seconds(seconds));
    const auto floor_stop = Clock::now();
    std::this_thread::sleep_for(600ms);
    Figures floor_figures = analyse(watcher.messages(), floor_stop, heartbeats, seconds);
    floor_ratio.push_back(floor_figures.ratio);
    floor_p99.push_back(floor_figures.jitter_p99);
  }
  std::printf("fan-out (%d heartbeats, Poll 1, QoS 0, %d s, median of %d runs): delivered/expected %.4f, CPU %.2f %%, "
              "inter-arrival jitter p99 %.2f ms (p50 %.2f ms; at publish, from the uptime payloads: p99 %.0f ms; "
              "machine noise p99 %.2f ms; floor: plain libmosquitto bursts at exact ticks, jitter p99 %.2f ms, "
              "delivered %.4f)\n",
              heartbeats, seconds, runs, median(ratios), median(cpu_percent), median(jitter_p99), median(jitter_p50),
              median(payload_jitter_p99), median(noise_p99), median(floor_p99), median(floor_ratio));
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
