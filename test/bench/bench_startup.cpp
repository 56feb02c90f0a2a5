// Start → retained ONLINE on <RootTopic>/status.
//
// The daemon (one MQTT connection, one heartbeat) is started RUNS times
// (default 20) against one private broker; a subscriber already watching
// `+/status` takes the receive time of ONLINE. Each run uses its own
// RootTopic, so an earlier run's retained message cannot answer. The last
// run also checks that ONLINE is retained (a fresh subscriber gets it).
// Usage: bench_startup [RUNS]
#include "bench_common.h"

#include <csignal>

using namespace sr::bench;
namespace t = sr::test;

static int bench_main(int argc, char** argv) {
  const int runs = arg_or(argc, argv, 1, 20);
  auto broker = start_broker();
  t::TempDir dir;
  t::MqttClient watcher(broker->port());
  if (!watcher.wait_connected(5s) || !watcher.subscribe("+/status", 1)) fail("watcher cannot subscribe");

  std::vector<double> online_ms, logged_ms;
  std::string root;
  for (int run = 0; run < runs; ++run) {
    root = "start" + std::to_string(run);
    std::string config = dir.write("sr.ini", mqtt_section(broker->port(), root, "bench-start") + heartbeat_section(0, 60));
    watcher.clear();
    const auto t0 = Clock::now();
    auto daemon = start_daemon(config);
    const std::string topic = root + "/status";
    if (!watcher.wait_for_message(topic, "ONLINE", 5s)) fail("no ONLINE", daemon.get());
    for (const auto& m : watcher.messages(topic))
      if (m.payload == "ONLINE") online_ms.push_back(ms_between(t0, m.at));
    stop_daemon(*daemon);
  }
  // The status must be retained: a new subscriber gets OFFLINE (the last
  // run has stopped cleanly) as a retained message.
  t::MqttClient late(broker->port());
  bool retained = late.wait_connected(5s) && late.subscribe(root + "/status", 1) &&
                  late.wait_for([](const auto& all) { return !all.empty(); }, 2s) && late.messages()[0].retain;

  std::printf("startup: exec -> ONLINE on <RootTopic>/status p50 %.1f ms, p90 %.1f ms, min %.1f ms, max %.1f ms "
              "(%d runs; status retained: %s)\n",
              median(online_ms), percentile(online_ms, 90), percentile(online_ms, 0), percentile(online_ms, 100), runs,
              retained ? "yes" : "NO");
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
