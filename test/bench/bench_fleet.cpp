// Fleet (issue 17 part 2): R reporters (separate processes, 10 Heartbeats
// each: 9 at Poll 1, hb0 at Poll 3600 as the refresh probe; RootTopic
// fleet/rN, Client fleet-N, ReconnectMin 0.5, ReconnectMax 5) on one
// private mosquitto.
//
//   start        first exec → every reporter's ONLINE at a subscriber
//   private      Private_Clean + Private_Dirty of each reporter (median, max)
//   CPU          all reporters together, % of one core over WINDOW seconds
//   broker kill  mosquitto SIGKILLed and started again on the same port:
//                restart → every reporter connected again (the time on its
//                own "reconnected to" log line), and how their reconnects
//                spread (per 250 ms, and the most in any one second: a storm
//                is many in one second)
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
                       "\nReconnectMin = 0.5\nReconnectMax = 5\n"
                       // Its "reconnected to" line times its return (below).
                       "Level = INFO\n\n[Logging]\nLevel = WARNING\n\n";
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

// The instant of the daemon log line that holds `at`: its timestamp,
// "YYYY-MM-DD HH:MM:SS.mmm" in local time (src/log/logger.cpp).
std::optional<std::chrono::system_clock::time_point> line_time(const std::string& output, size_t at) {
  const size_t begin = output.rfind('\n', at);
  const char* line = output.c_str() + (begin == std::string::npos ? 0 : begin + 1);
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(line, "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  return std::chrono::system_clock::from_time_t(std::mktime(&tm)) + std::chrono::milliseconds(ms);
}

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

  // Every client of this program is made before the fleet: libmosquitto's
  // own loop uses select(2), which takes no descriptor above 1023, and
  // 1,000 reporters' output pipes take those (a client made after them never
  // connected).
  t::MqttClient status(broker->port());
  if (!status.wait_connected(5s) || !status.subscribe("fleet/+/status")) fail("status client");
  t::MqttClient values(broker->port());
  if (!values.wait_connected(5s) || !values.subscribe("fleet/+/hb0/#")) fail("values client");
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

  // Broker kill -9 and restart: every reporter reconnects by itself. Each
  // one's own log times its return (the "reconnected to" line, just before
  // its ONLINE): a watcher client could not, since at 1,000 reporters its
  // own connection waited over 30 s in the broker's full accept queue, and
  // one that reconnects gets every earlier ONLINE as retained, all stamped
  // with that one instant.
  std::vector<size_t> marks;
  for (const auto& p : fleet) marks.push_back(p->output().size());
  broker->kill();
  const auto restarted_wall = std::chrono::system_clock::now();
  broker->start();
  std::vector<double> back_ms;
  for (size_t i = 0; i < fleet.size(); ++i) {
    if (!fleet[i]->wait_for_output("] reconnected to ", 120s, marks[i]))
      fail("reporter " + std::to_string(i) + " did not come back within 120 s of the broker restart", fleet[i].get());
    const std::string output = fleet[i]->output();
    const auto at = line_time(output, output.find("] reconnected to ", marks[i]));
    if (!at) fail("reporter " + std::to_string(i) + ": no timestamp on its reconnect line", fleet[i].get());
    back_ms.push_back(std::chrono::duration<double, std::milli>(*at - restarted_wall).count());
  }
  std::map<long, int> per_quarter, per_second;
  double back = 0;
  for (double ms : back_ms) {
    per_quarter[static_cast<long>(ms / 250)]++;
    per_second[static_cast<long>(ms / 1000)]++;
    back = std::max(back, ms);
  }
  int busiest_second = 0;
  for (const auto& [second, n] : per_second) busiest_second = std::max(busiest_second, n);
  std::string histogram;
  for (const auto& [quarter, n] : per_quarter) histogram += " " + std::to_string(quarter * 250) + "ms:" + std::to_string(n);

  std::printf(
      "fleet of %d reporters (10 Heartbeats each, Poll 1): all ONLINE %.0f ms after the first exec; private per "
      "reporter median %.2f MB, max %.2f MB (floor, one alone: %.2f MB); CPU of all %.2f %% of one core over %d s "
      "(floor, one alone: %.3f %%); broker kill -9 + restart: all back after %.0f ms, reconnects per 250 ms:%s; "
      "busiest second %d of %d\n",
      count, start_ms, median_of(privates), *std::max_element(privates.begin(), privates.end()), floor_private,
      cpu_percent, window, floor_cpu, back, histogram.c_str(), busiest_second, count);
  std::fflush(stdout);

  // Fleet-wide refresh: hb0's two values of every reporter. Both clients
  // reconnect by themselves (1 s) and subscribe again.
  if (!status.wait_connected(30s) || !values.wait_connected(30s))
    fail("the benchmark's clients did not reconnect after the broker restart");
  // Until 0.5 s pass with no hb0 value: the reconnects' own refreshes are in.
  for (size_t seen = 0; seen != values.messages().size();) {
    seen = values.messages().size();
    std::this_thread::sleep_for(500ms);
  }
  values.clear();
  const auto asked = Clock::now();
  for (int i = 0; i < count; ++i) status.publish("fleet/r" + std::to_string(i) + "/refresh", "", 0);
  const bool all_back =
      values.wait_for([&](const auto& m) { return static_cast<int>(m.size()) >= 2 * count; }, 10s);
  const double refresh_ms = ms_between(asked, Clock::now());
  if (!all_back) fail("the fleet-wide refresh did not bring every hb0 back");
  for (auto& p : fleet) stop_daemon(*p);
  std::printf("fleet of %d: fleet-wide refresh (hb0 of every reporter) %.0f ms\n", count, refresh_ms);
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
