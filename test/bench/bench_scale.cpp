// Scale (issue 17 part 1): N Heartbeat sections on one MQTT connection, for
// each N in the list (default 100 1000 10000, each at Poll 1; an N written
// as N:P polls every P seconds, e.g. 100000:10).
//
// Per N, the real binary and a private mosquitto:
//   start → ONLINE    from exec to the retained ONLINE at a subscriber
//   start → first     from exec to the first reading of every section
//   delivered         readings received / readings due over WINDOW seconds
//                     (two per section per poll: Num-Dest and Str-Dest)
//   CPU               the daemon's, in % of one core over that window
//   private           Private_Clean + Private_Dirty, total and per section
//   refresh           <RootTopic>/refresh published → all 2N values back
//                     (a second daemon with the sections at Poll 3600, so
//                     no regular poll mixes in)
// Floors, same run: the daemon with 1 section (its fixed cost, private
// memory and idle CPU), so "per section" is (figure − floor) / N; and per N
// a plain libmosquitto client (bench_floor_client) publishing the same 2N
// messages every Poll on its own broker, whose CPU is what sending them
// costs at least: the daemon's CPU is shown as a multiple of it; and the
// time its first round takes from first to last arrival, the least a
// refresh of 2N values can take on this machine.
// Usage: bench_scale [WINDOW] [N[:POLL]]...
#include "bench_common.h"

#include <limits>

using namespace sr::bench;
namespace t = sr::test;

namespace {

struct Figures {
  long sections = 0;
  double poll = 1;
  double online_ms = 0, first_ms = 0, delivered = 0, cpu_percent = 0, private_mb = 0, refresh_ms = 0;
  long refresh_got = 0;
};

Figures measure(long sections, double poll, int window, const t::TempDir& dir) {
  auto broker = start_broker();
  std::string config = mqtt_section(broker->port(), "sc", "bench-scale");
  config.reserve(config.size() + static_cast<size_t>(sections) * 120);
  for (long i = 0; i < sections; ++i) config += heartbeat_section(static_cast<int>(i), poll);
  const std::string path = dir.write("scale.ini", config);

  Figures f;
  f.sections = sections;
  f.poll = poll;
  ArrivalCounter readings(broker->port(), 0, "sc/#", {"sc/hb"});
  t::MqttClient status(broker->port());
  if (!status.wait_connected(5s) || !status.subscribe("sc/status")) fail("status client");
  const auto start = Clock::now();
  auto daemon = start_daemon(path);
  if (!status.wait_for_message("sc/status", "ONLINE", 120s)) fail("no ONLINE", daemon.get());
  f.online_ms = ms_between(start, Clock::now());
  const long first = 2 * sections;
  auto [unused_rate, got] = readings.wait(first, 30s);
  (void)unused_rate;
  if (got < first) fail("first readings: " + std::to_string(got) + " of " + std::to_string(first), daemon.get());
  f.first_ms = ms_between(start, readings.last());

  readings.wait(std::numeric_limits<long>::max(), 200ms);  // the first round has arrived
  readings.reset();
  const CpuTimes before = cpu_times(daemon->pid());
  const auto window_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(window));  // the measured interval
  const CpuTimes after = cpu_times(daemon->pid());
  const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
  auto [rate, in_window] = readings.wait(0, 0ms);
  (void)rate;
  f.delivered = static_cast<double>(in_window) / (2.0 * static_cast<double>(sections) * seconds / poll);
  f.cpu_percent = 100 * (after.self - before.self) / seconds;
  f.private_mb = memory(daemon->pid()).private_mb;

  stop_daemon(*daemon);

  // Refresh, with the same sections at Poll 3600 so no regular poll mixes in
  // after the first readings: all 2N values republished and received.
  std::string quiet = mqtt_section(broker->port(), "sc", "bench-scale");
  for (long i = 0; i < sections; ++i) quiet += heartbeat_section(static_cast<int>(i), 3600);
  readings.reset();
  daemon = start_daemon(dir.write("scale-refresh.ini", quiet));
  if (readings.wait(first, 30s).second < first) fail("first readings before the refresh", daemon.get());
  readings.wait(std::numeric_limits<long>::max(), 500ms);  // until 0.5 s pass with no arrival
  readings.reset();
  const auto asked = Clock::now();
  status.publish("sc/refresh", "", 0);
  f.refresh_got = readings.wait(first, 10s).second;
  f.refresh_ms = ms_between(asked, readings.last());
  stop_daemon(*daemon);
  return f;
}

struct PublisherFloor {
  double cpu_percent = 0, delivered = 0;
  double burst_ms = 0;  // its first round of 2N, first to last arrival
};

// The plain publisher's CPU (% of a core) and delivered ratio over the same
// window, for the same N and Poll; and how long one round of 2N messages
// takes to cross the broker when sent at once: the floor of a refresh.
PublisherFloor publisher_floor(long sections, double poll, int window) {
  auto broker = start_broker();
  ArrivalCounter readings(broker->port(), 0, "sc/#", {"sc/hb"});
  char poll_text[32];
  std::snprintf(poll_text, sizeof poll_text, "%g", poll);
  t::Process publisher(
      {SR_BENCH_FLOOR_CLIENT, std::to_string(broker->port()), std::to_string(sections), "sc", poll_text});
  const long first = 2 * sections;
  if (readings.wait(first, 30s).second < first) fail("plain publisher: first round not received: " + publisher.output());
  PublisherFloor f;
  f.burst_ms = ms_between(readings.first(), readings.last());
  readings.wait(std::numeric_limits<long>::max(), 200ms);
  readings.reset();
  const CpuTimes before = cpu_times(publisher.pid());
  const auto window_start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(window));
  const CpuTimes after = cpu_times(publisher.pid());
  const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
  const long in_window = readings.wait(0, 0ms).second;
  publisher.signal(SIGTERM);
  publisher.wait_exit(5s);
  f.cpu_percent = 100 * (after.self - before.self) / seconds;
  f.delivered = static_cast<double>(in_window) / (2.0 * static_cast<double>(sections) * seconds / poll);
  return f;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  const int window = arg_or(argc, argv, 1, 10);
  std::vector<std::pair<long, double>> runs;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    const auto colon = arg.find(':');
    runs.emplace_back(std::stol(arg.substr(0, colon)), colon == std::string::npos ? 1.0 : std::stod(arg.substr(colon + 1)));
  }
  if (runs.empty()) runs = {{100, 1}, {1000, 1}, {10000, 1}};
  t::TempDir dir;
  const Figures floor = measure(1, 1, window, dir);
  std::printf("scale floor (1 section): start -> ONLINE %.1f ms, CPU %.3f %% of a core, private %.2f MB\n",
              floor.online_ms, floor.cpu_percent, floor.private_mb);
  for (const auto& [sections, poll] : runs) {
    const Figures f = measure(sections, poll, window, dir);
    std::printf(
        "scale N=%ld Poll %g: start -> ONLINE %.0f ms, -> all first readings %.0f ms; delivered %.4f; CPU %.2f %% of a "
        "core (%.2f above the floor); private %.1f MB (%.2f KB per section above the floor); refresh: %ld of %ld "
        "values back in %.0f ms\n",
        f.sections, f.poll, f.online_ms, f.first_ms, f.delivered, f.cpu_percent, f.cpu_percent - floor.cpu_percent,
        f.private_mb, 1024 * (f.private_mb - floor.private_mb) / static_cast<double>(f.sections), f.refresh_got,
        2 * f.sections, f.refresh_ms);
    const PublisherFloor pf = publisher_floor(sections, poll, window);
    std::printf("scale N=%ld Poll %g floor, a plain libmosquitto publisher of the same messages: CPU %.2f %% of a core "
                "(delivered %.4f), the daemon used %.2f x that; one round of %ld sent at once, first to last "
                "arrival %.0f ms (the refresh's floor)\n",
                sections, poll, pf.cpu_percent, pf.delivered, f.cpu_percent / pf.cpu_percent, 2 * sections,
                pf.burst_ms);
  }
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
