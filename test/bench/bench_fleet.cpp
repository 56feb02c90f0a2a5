// Fleet (issue 17 part 2): R reporters (separate processes, 10 Heartbeats
// each: 9 at Poll 1, hb0 at Poll 3600 as the refresh probe; RootTopic
// fleet/rN, Client fleet-N, ReconnectMin 0.5, ReconnectMax 5) on one
// private mosquitto.
//
//   start        first exec → every reporter's ONLINE at a subscriber
//   private      Private_Clean + Private_Dirty of each reporter (median, max)
//   CPU          all reporters together, % of one core over WINDOW seconds
//   broker kill  mosquitto SIGKILLed and started again on the same port:
//                restart → every reporter ONLINE again, and how their
//                reconnects spread (ONLINE arrivals per 250 ms, and the most
//                in any one second: a storm is many in one second)
//   refresh      <root>/refresh published for every reporter → hb0's two
//                values of every reporter back (2 R)
// Floor, same run: one reporter alone (private memory, CPU).
// Usage: bench_fleet [R] [WINDOW]
#include "bench_common.h"

#include <map>

using namespace sr::bench;
namespace t = sr::test;

namespace {

std::string reporter_config(int port, int index) {
  std::string config = "[Connection_MQTT]\nClass = mqtt.mqtt_conn.MqttConnection\nName = mqtt\nHost = 127.0.0.1\n"
                       "Port = " + std::to_string(port) + "\nRootTopic = fleet/r" + std::to_string(index) +
                       "\nClient = fleet-" + std::to_string(index) +
                       "\nReconnectMin = 0.5\nReconnectMax = 5\n\n[Logging]\nLevel = WARNING\n\n";
  // hb0 polls once an hour: its values after the start come from refreshes only.
  config += heartbeat_section(0, 3600);
  for (int i = 1; i < 10; ++i) config += heartbeat_section(i, 1);
  return config;
}

// Arrival time of each reporter's latest ONLINE, by reporter index.
std::map<int, Clock::time_point> online_times(const std::vector<t::Received>& messages) {
  std::map<int, Clock::time_point> at;
  for (const auto& m : messages)
    if (m.payload == "ONLINE" && m.topic.rfind("fleet/r", 0) == 0)
      at[std::stoi(m.topic.substr(7))] = m.at;
  return at;
}

double median_of(std::vector<double> v) { return median(v); }

}  // namespace

static int bench_main(int argc, char** argv) {
  const int count = arg_or(argc, argv, 1, 100);
  const int window = arg_or(argc, argv, 2, 10);
  auto broker = start_broker();
  t::TempDir dir;

  // Floor: one reporter alone.
  double floor_private = 0, floor_cpu = 0;
  {
    auto alone = start_daemon(dir.write("alone.ini", reporter_config(broker->port(), 999999)));
    t::MqttClient watch(broker->port());
    if (!watch.wait_connected(5s) || !watch.subscribe("fleet/r999999/status") ||
        !watch.wait_for_message("fleet/r999999/status", "ONLINE", 10s))
      fail("the floor reporter did not come up", alone.get());
    const CpuTimes before = cpu_times(alone->pid());
    std::this_thread::sleep_for(std::chrono::seconds(window));  // the measured interval
    floor_cpu = 100 * (cpu_times(alone->pid()).self - before.self) / window;
    floor_private = memory(alone->pid()).private_mb;
    stop_daemon(*alone);
  }

  t::MqttClient status(broker->port());
  if (!status.wait_connected(5s) || !status.subscribe("fleet/+/status")) fail("status client");
  std::vector<std::unique_ptr<t::Process>> fleet;
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) fleet.push_back(start_daemon(dir.write("r" + std::to_string(i) + ".ini",
                                                                         reporter_config(broker->port(), i))));
  // (wait_for's predicate runs under the client's lock: it reads its argument.)
  if (!status.wait_for([&](const auto& m) { return static_cast<int>(online_times(m).size()) >= count; }, 120s))
    fail("not every reporter came ONLINE");
  Clock::time_point last_online = start;
  for (const auto& [index, at] : online_times(status.messages())) last_online = std::max(last_online, at);
  const double start_ms = ms_between(start, last_online);

  std::this_thread::sleep_for(2s);  // let the first rounds settle before measuring
  std::vector<double> privates;
  for (const auto& p : fleet) privates.push_back(memory(p->pid()).private_mb);
  std::vector<CpuTimes> before;
  for (const auto& p : fleet) before.push_back(cpu_times(p->pid()));
  std::this_thread::sleep_for(std::chrono::seconds(window));  // the measured interval
  double cpu_seconds = 0;
  for (size_t i = 0; i < fleet.size(); ++i) cpu_seconds += cpu_times(fleet[i]->pid()).self - before[i].self;
  const double cpu_percent = 100 * cpu_seconds / window;

  // Broker kill -9 and restart: every reporter reconnects by itself.
  broker->kill();
  broker->start();
  const auto restarted = Clock::now();
  // A watcher of its own, subscribed at once: `status` comes back only after
  // libmosquitto's 1 s reconnect delay, and then gets every ONLINE sent
  // meanwhile as retained, all stamped with that one instant (this put 41
  // of 100 reporters into one 250 ms bin whatever they did).
  t::MqttClient returns(broker->port());
  if (!returns.wait_connected(5s) || !returns.subscribe("fleet/+/status")) fail("status client after the restart");
  if (!returns.wait_for([&](const auto& m) { return static_cast<int>(online_times(m).size()) >= count; }, 120s))
    fail("not every reporter came back after the broker restart");
  std::map<long, int> per_quarter, per_second;
  Clock::time_point back = restarted;
  for (const auto& [index, at] : online_times(returns.messages())) {
    const double ms = ms_between(restarted, at);
    per_quarter[static_cast<long>(ms / 250)]++;
    per_second[static_cast<long>(ms / 1000)]++;
    back = std::max(back, at);
  }
  int busiest_second = 0;
  for (const auto& [second, n] : per_second) busiest_second = std::max(busiest_second, n);
  std::string histogram;
  for (const auto& [quarter, n] : per_quarter) histogram += " " + std::to_string(quarter * 250) + "ms:" + std::to_string(n);

  // Fleet-wide refresh: 20 values per reporter.
  t::MqttClient values(broker->port());
  if (!values.wait_connected(5s) || !values.subscribe("fleet/+/hb0/#")) fail("values client");
  // The reconnects' own refreshes came before this client subscribed.
  values.clear();
  const auto asked = Clock::now();
  for (int i = 0; i < count; ++i) status.publish("fleet/r" + std::to_string(i) + "/refresh", "", 0);
  const bool all_back =
      values.wait_for([&](const auto& m) { return static_cast<int>(m.size()) >= 2 * count; }, 10s);
  const double refresh_ms = ms_between(asked, Clock::now());
  if (!all_back) fail("the fleet-wide refresh did not bring every hb0 back");

  for (auto& p : fleet) stop_daemon(*p);
  std::printf(
      "fleet of %d reporters (10 Heartbeats each, Poll 1): all ONLINE %.0f ms after the first exec; private per "
      "reporter median %.2f MB, max %.2f MB (floor, one alone: %.2f MB); CPU of all %.2f %% of one core over %d s "
      "(floor, one alone: %.3f %%); broker kill -9 + restart: all back after %.0f ms, reconnects per 250 ms:%s; "
      "busiest second %d of %d; fleet-wide refresh (hb0 of every reporter) %.0f ms\n",
      count, start_ms, median_of(privates), *std::max_element(privates.begin(), privates.end()), floor_private,
      cpu_percent, window, floor_cpu, ms_between(restarted, back), histogram.c_str(), busiest_second, count,
      refresh_ms);
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
