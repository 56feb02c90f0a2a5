// Idle cost: MQTT + 1 heartbeat + 10 exec sensors (`echo 1`), all Poll 10.
//
// INSTANCES daemons (default 3) run side by side against one private broker,
// each with its own RootTopic and client id, and each is measured on its own
// over SECONDS (default 60) after a 3 s settling time: VmRSS, VmHWM, private
// memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) at the
// end, CPU seconds of the daemon over the window (schedstat), and those
// of its reaped children (the echo processes) separately. Medians over the
// instances are printed. "alone": the private memory of the last daemon
// after the others stopped, when no sibling shares its executable's pages.
// Floors, measured the same way in the same run: mosquitto_sub (C, Debian's
// libmosquitto) and bench_floor_client (the smallest C++ program connected
// through Debian's libmosquitto), both idle on the same broker.
// Usage: bench_idle [SECONDS] [INSTANCES]
#include "bench_common.h"

#include <thread>

using namespace sr::bench;
namespace t = sr::test;

static int bench_main(int argc, char** argv) {
  const int seconds = arg_or(argc, argv, 1, 60);
  const int instances = arg_or(argc, argv, 2, 3);
  auto broker = start_broker();
  t::TempDir dir;
  t::MqttClient watcher(broker->port());
  if (!watcher.wait_connected(5s) || !watcher.subscribe("#", 0)) fail("watcher cannot subscribe");

  std::vector<std::unique_ptr<t::Process>> daemons;
  for (int i = 0; i < instances; ++i) {
    std::string root = "idle" + std::to_string(i);
    std::string config = mqtt_section(broker->port(), root, "bench-idle" + std::to_string(i)) + heartbeat_section(0, 10);
    for (int s = 0; s < 10; ++s)
      config += "[Sensor_Exec" + std::to_string(s) + "]\nClass = exec.exec_sensor.ExecSensor\nConnection = mqtt\n"
                "Script = echo 1\nDestination = exec" + std::to_string(s) + "\nPoll = 10\n\n";
    daemons.push_back(start_daemon(dir.write("idle" + std::to_string(i) + ".ini", config)));
  }
  t::Process mosquitto_sub({"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker->port()), "-t",
                            "bench/floor"});
  t::Process floor_client({SR_BENCH_FLOOR_CLIENT, std::to_string(broker->port())});
  for (int i = 0; i < instances; ++i) {
    std::string last = "idle" + std::to_string(i) + "/exec9";
    if (!watcher.wait_for_message(last, "1", 10s)) fail("no reading from " + last, daemons[i].get());
  }
  std::this_thread::sleep_for(3s);

  std::vector<CpuTimes> before;
  for (auto& d : daemons) before.push_back(cpu_times(d->pid()));
  const auto start = Clock::now();
  std::this_thread::sleep_until(start + std::chrono::seconds(seconds));
  std::vector<double> cpu, child_cpu, rss, hwm, priv, anon;
  for (int i = 0; i < instances; ++i) {
    CpuTimes after = cpu_times(daemons[i]->pid());
    Memory m = memory(daemons[i]->pid());
    cpu.push_back(after.self - before[i].self);
    child_cpu.push_back(after.children - before[i].children);
    rss.push_back(m.rss_mb);
    hwm.push_back(m.hwm_mb);
    priv.push_back(m.private_mb);
    anon.push_back(m.anon_mb);
  }
  Memory sub_memory = memory(mosquitto_sub.pid());
  Memory floor_memory = memory(floor_client.pid());
  size_t readings = watcher.messages().size();
  // The daemons share their executable, plugin and libfmt pages with each
  // other, which hides those pages from "private" above. Once the others
  // have stopped, the last one's pages are its own: private memory of a
  // daemon that runs alone (libraries other processes here also map, such
  // as libc, libstdc++ and libmosquitto, stay shared).
  for (size_t i = 0; i + 1 < daemons.size(); ++i) stop_daemon(*daemons[i]);
  const double private_alone = memory(daemons.back()->pid()).private_mb;
  stop_daemon(*daemons.back());

  std::printf("idle (MQTT + 1 heartbeat + 10 exec sensors, Poll 10, %d s, median of %d daemons): VmRSS %.2f MB, "
              "VmHWM %.2f MB, private %.2f MB (anonymous %.2f MB; alone %.2f MB), CPU %.3f s per %d s "
              "(+ %.3f s in the echo children; %zu readings seen); floors: mosquitto_sub VmRSS %.2f MB, private "
              "%.2f MB; C++ libmosquitto client VmRSS %.2f MB, private %.2f MB\n",
              seconds, instances, median(rss), median(hwm), median(priv), median(anon), private_alone, median(cpu), seconds,
              median(child_cpu), readings, sub_memory.rss_mb, sub_memory.private_mb, floor_memory.rss_mb,
              floor_memory.private_mb);
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
