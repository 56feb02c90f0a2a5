// MQTT command → ExecActuator effect.
//
// An ExecActuator runs bench_stamp (a tiny program that appends its
// argument and a CLOCK_MONOTONIC timestamp to a file). A client publishes
// COMMANDS (default 50) commands one at a time, each after the previous one
// has finished (its ResultsDest message came back), and the latency is the
// timestamp written minus the moment of mosquitto_publish. For scale, the
// same run measures two floors: the MQTT round trip client → broker →
// client, and posix_spawn of bench_stamp by this program.
// Usage: bench_actuator [COMMANDS]
#include "bench_common.h"

#include <spawn.h>
#include <sys/wait.h>

#include <map>
#include <thread>

extern char** environ;

using namespace sr::bench;
namespace t = sr::test;

namespace {

Clock::time_point from_ns(long long ns) { return Clock::time_point(std::chrono::nanoseconds(ns)); }

// "ARG NS" lines of the stamp file, by ARG.
std::map<std::string, long long> stamps(const std::string& path) {
  std::map<std::string, long long> out;
  std::istringstream in(t::read_file(path));
  std::string arg;
  long long ns;
  while (in >> arg >> ns) out[arg] = ns;
  return out;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  const int commands = arg_or(argc, argv, 1, 50);
  auto broker = start_broker();
  t::TempDir dir;
  const std::string stamp_file = dir.file("stamps.txt");
  std::string config = mqtt_section(broker->port(), "act", "bench-actuator") +
                       "[Actuator_Stamp]\nClass = exec.exec_actuator.ExecActuator\nConnection = mqtt\nCommand = " +
                       std::string(SR_BENCH_STAMP) + " " + stamp_file +
                       "\nCommandSrc = cmd\nResultsDest = result\nTimeout = 5\n\n";
  t::MqttClient client(broker->port());
  if (!client.wait_connected(5s) || !client.subscribe("act/#", 0)) fail("client cannot subscribe");
  auto daemon = start_daemon(dir.write("actuator.ini", config));
  if (!client.wait_for_message("act/status", "ONLINE", 10s)) fail("no ONLINE", daemon.get());
  std::this_thread::sleep_for(300ms);

  std::vector<double> effect_ms, round_trip_ms, spawn_ms;
  for (int i = 0; i < commands + 1; ++i) {  // the first command warms up
    client.clear();
    const std::string seq = std::string("c").append(std::to_string(i));
    const auto t0 = Clock::now();
    client.publish("act/cmd", seq, 0);
    if (!client.wait_for(
            [](const std::vector<t::Received>& all) {
              for (const auto& m : all)
                if (m.topic == "act/result") return true;
              return false;
            },
            5s))
      fail("command " + seq + " had no result", daemon.get());
    auto s = stamps(stamp_file);
    if (!s.count(seq)) fail("command " + seq + " left no stamp", daemon.get());
    if (i > 0) effect_ms.push_back(ms_between(t0, from_ns(s[seq])));
    for (const auto& m : client.messages())
      if (m.topic == "act/cmd" && m.payload == seq && i > 0) round_trip_ms.push_back(ms_between(t0, m.at));
    std::this_thread::sleep_for(20ms);
  }
  // Floor: spawning the stamp program directly.
  for (int i = 0; i < commands; ++i) {
    const std::string seq = "direct" + std::to_string(i);
    std::vector<char*> args{const_cast<char*>(SR_BENCH_STAMP), const_cast<char*>(stamp_file.c_str()),
                            const_cast<char*>(seq.c_str()), nullptr};
    const auto t0 = Clock::now();
    pid_t pid;
    if (posix_spawn(&pid, SR_BENCH_STAMP, nullptr, nullptr, args.data(), environ) != 0) fail("posix_spawn");
    int status;
    waitpid(pid, &status, 0);
    spawn_ms.push_back(ms_between(t0, from_ns(stamps(stamp_file)[seq])));
  }
  stop_daemon(*daemon);
  std::printf("actuator (%d MQTT commands -> ExecActuator -> timestamp): effect p50 %.2f ms, p99 %.2f ms "
              "(floors: MQTT round trip p50 %.2f ms, posix_spawn of the stamp p50 %.2f ms)\n",
              commands, percentile(effect_ms, 50), percentile(effect_ms, 99), percentile(round_trip_ms, 50),
              percentile(spawn_ms, 50));
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
