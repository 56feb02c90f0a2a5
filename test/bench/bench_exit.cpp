// SIGTERM → process exited, with the broker up (the connection publishes
// OFFLINE and waits for it to be written, and acknowledged at QoS 1) and
// with the broker down (killed -9 after the daemon connected; the daemon has
// logged the loss). Configuration: MQTT + 10 heartbeats at Poll 1.
// RUNS (default 10) per case; the exit moment comes from a pidfd.
// Usage: bench_exit [RUNS]
#include "bench_common.h"

#include <csignal>
#include <thread>

using namespace sr::bench;
namespace t = sr::test;

static int bench_main(int argc, char** argv) {
  const int runs = arg_or(argc, argv, 1, 10);
  auto broker = start_broker();
  t::TempDir dir;
  auto config_for = [&](int qos) {
    std::string config = mqtt_section(broker->port(), "ex", "bench-exit", qos);
    for (int i = 0; i < 10; ++i) config += heartbeat_section(i, 1);
    return dir.write("exit" + std::to_string(qos) + ".ini", config);
  };
  auto measure = [&](const std::string& config, bool broker_down) {
    if (!broker->running()) broker->start();
    auto daemon = start_daemon(config);
    if (!daemon->wait_for_output("connected to", 10s)) fail("daemon did not connect", daemon.get());
    std::this_thread::sleep_for(300ms);
    if (broker_down) {
      broker->kill();
      if (!daemon->wait_for_output("lost", 10s)) fail("daemon did not notice the broker was gone", daemon.get());
      std::this_thread::sleep_for(100ms);
    }
    const auto t0 = Clock::now();
    daemon->signal(SIGTERM);
    const auto exited = wait_exit_precisely(*daemon, 10s);
    if (auto code = daemon->wait_exit(1s); !code || *code != 0) fail("unclean exit", daemon.get());
    return ms_between(t0, exited);
  };
  std::vector<double> up0, up1, down;
  const std::string qos0 = config_for(0), qos1 = config_for(1);
  for (int run = 0; run < runs; ++run) {
    up0.push_back(measure(qos0, false));
    up1.push_back(measure(qos1, false));
    down.push_back(measure(qos1, true));
  }
  std::printf("exit (SIGTERM -> exited, MQTT + 10 heartbeats, %d runs each): broker up QoS 0 p50 %.2f ms (max %.2f), "
              "QoS 1 p50 %.2f ms (max %.2f); broker down p50 %.2f ms (max %.2f)\n",
              runs, median(up0), percentile(up0, 100), median(up1), percentile(up1, 100), median(down),
              percentile(down, 100));
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
