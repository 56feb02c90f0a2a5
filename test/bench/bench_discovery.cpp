// Home Assistant discovery (issue 14), device mode: what announcing puts on
// the wire, what it does to the first readings, and what HA's birth costs.
//
// SENSORS (default 200) sections behind one MQTT connection with `Discovery
// = homeassistant`, `DeviceId = bench`, `DeviceName = Bench`, `DiscoveryMode
// = device`, Poll 3600 (nothing is published but the first readings and
// refreshes). CLASS `heartbeat` (default): heartbeat.heartbeat.Heartbeat,
// two declared outputs each (Num-Dest, Str-Dest), so the config names
// 2 × SENSORS components plus the Refresh button; CLASS `test`: the test
// module's TestSensor (Destination vN, Values valueN, as in bench_refresh),
// which declares no outputs, so its config holds the Refresh button only.
// A subscriber watches <RootTopic>/#, homeassistant/# and floor/# on a
// private broker.
//  1. Messages per start: everything on homeassistant/# (HA's own status
//     aside) from exec until the refresh that follows the announce has
//     arrived; the first start runs against an empty broker, the others find
//     the retained config of the one before.
//  2. First readings: ONLINE on <RootTopic>/status → every section's first
//     values received (the figure: exec → ONLINE spreads by tens of ms on a
//     busy machine), and exec → the same; STARTS (default 10) starts
//     with discovery, alternating with STARTS of the same file without the
//     Discovery keys (the floor), after one unmeasured start with discovery
//     (the empty broker's start of 1).
//  3. Birth CPU: one daemon with discovery, settled (announce and refresh
//     seen). Its idle CPU over IDLE s (default 10; a sleep, the only one: it
//     measures idle over a known wall time); BIRTHS (default 5) refreshes
//     through <RootTopic>/refresh (what a refresh alone costs); then BIRTHS
//     times `online` on homeassistant/status, each waiting for the config and
//     the following refresh on the wire. CPU from /proc/PID/task/*/schedstat
//     (ns), minus the idle rate over the same wall time, total / BIRTHS. The
//     floor, in the same run: a plain libmosquitto client in a thread of its
//     own (thread CPU clock) that receives a trigger and publishes the same
//     bytes (the config payload as received, QoS 1 retained; the last
//     refresh's values, same payloads, topics under floor/) BIRTHS times.
// Usage: bench_discovery [STARTS] [BIRTHS] [SENSORS] [IDLE] [CLASS]
#include "bench_common.h"

#include <time.h>

#include <atomic>
#include <set>
#include <thread>

using namespace sr::bench;
namespace t = sr::test;

namespace {

const std::string kRoot = "disc";
const std::string kConfigTopic = "homeassistant/device/bench/config";
const std::string kBirthTopic = "homeassistant/status";

std::string reporter_config(int port, int sensors, bool heartbeat, bool discovery) {
  std::string config = mqtt_section(port, kRoot, "bench-disc");
  if (discovery)
    config.insert(config.find("\n[Logging]"),
                  "Discovery = homeassistant\nDeviceId = bench\nDeviceName = Bench\nDiscoveryMode = device\n");
  for (int i = 0; i < sensors; ++i) {
    std::string n = std::to_string(i);
    if (heartbeat) {
      config += heartbeat_section(i, 3600);
      continue;
    }
    config += "[Sensor_T" + n + "]\nClass = sr_test.test.TestSensor\nConnection = mqtt\nPoll = 3600\nDestination = v" +
              n + "\nValues = value" + n + "\n\n";
  }
  return config;
}

// Waits until at least `wanted` messages whose topic starts with `prefix`
// have arrived since the last clear(). The predicate runs under the client's
// lock against every arrival, so it only counts, and only what is new.
bool wait_count(t::MqttClient& client, const std::string& prefix, size_t wanted, std::chrono::milliseconds timeout) {
  size_t scanned = 0, count = 0;
  return client.wait_for(
      [&](const std::vector<t::Received>& all) {
        if (all.size() < scanned) scanned = count = 0;
        for (; scanned < all.size(); ++scanned)
          if (all[scanned].topic.starts_with(prefix)) ++count;
        return count >= wanted;
      },
      timeout);
}

// The arrival of the message that completes `wanted` distinct topics under
// `prefix` (waiting for more while duplicates stand in), or nullopt.
std::optional<Clock::time_point> all_distinct(t::MqttClient& client, const std::string& prefix, size_t wanted,
                                              std::chrono::milliseconds timeout) {
  for (size_t count = wanted; count < 2 * wanted; ++count) {
    if (!wait_count(client, prefix, count, timeout)) return std::nullopt;
    std::set<std::string> topics;
    for (const auto& m : client.messages()) {
      if (!m.topic.starts_with(prefix)) continue;
      topics.insert(m.topic);
      if (topics.size() == wanted) return m.at;
    }
  }
  return std::nullopt;
}

std::optional<Clock::time_point> first_at(const t::MqttClient& client, const std::string& topic,
                                          const std::string& payload = "") {
  for (const auto& m : client.messages(topic))
    if (payload.empty() || m.payload == payload) return m.at;
  return std::nullopt;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// The floor of a birth: a plain libmosquitto client (external loop,
// TCP_NODELAY, as the daemon drives its client) that, on each message on
// floor/status, publishes `config` (QoS 1, retained; waits for the PUBACK)
// and `values` (QoS 0, flushed). Run in a thread of its own: its CPU is that
// thread's CPU clock.
struct FloorClient {
  std::atomic<bool> ready{false};
  std::atomic<bool> failed{false};
  double cpu_ms = 0;  // over all births, trigger wait included
  int triggers = 0, config_mid = -1, config_acked = 0;
  bool subscribed = false;

  void run(int port, int births, const std::string& config, const std::vector<t::Received>& values) {
    mosquitto* m = mosquitto_new(nullptr, true, this);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_subscribe_callback_set(m, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<FloorClient*>(self)->subscribed = true;
    });
    mosquitto_message_callback_set(m, [](mosquitto*, void* self, const mosquitto_message*) {
      static_cast<FloorClient*>(self)->triggers++;
    });
    // Called for QoS 0 messages once written too: only the config's PUBACK counts.
    mosquitto_publish_callback_set(m, [](mosquitto*, void* self, int mid) {
      auto* floor = static_cast<FloorClient*>(self);
      if (mid == floor->config_mid) floor->config_acked++;
    });
    auto loop_until = [&](auto done) {
      const auto deadline = Clock::now() + 15s;
      while (!done()) {
        if (Clock::now() > deadline) return false;
        mosquitto_loop(m, 100, 1);
      }
      return true;
    };
    if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_subscribe(m, nullptr, "floor/status", 1) != MOSQ_ERR_SUCCESS ||
        !loop_until([&] { return subscribed; })) {
      failed = true;
      ready = true;
      mosquitto_destroy(m);
      return;
    }
    ready = true;
    const double cpu0 = thread_cpu_ms();
    for (int b = 0; b < births && !failed; ++b) {
      if (!loop_until([&] { return triggers > b; })) failed = true;
      mosquitto_publish(m, &config_mid, "floor/config", static_cast<int>(config.size()), config.data(), 1, true);
      for (const t::Received& v : values)
        mosquitto_publish(m, nullptr, v.topic.c_str(), static_cast<int>(v.payload.size()), v.payload.data(), 0, false);
      if (!loop_until([&] { return !mosquitto_want_write(m) && config_acked > b; })) failed = true;
    }
    cpu_ms = thread_cpu_ms() - cpu0;
    mosquitto_disconnect(m);
    mosquitto_loop(m, 10, 1);
    mosquitto_destroy(m);
  }
};

}  // namespace

static int bench_main(int argc, char** argv) {
  const int starts = arg_or(argc, argv, 1, 10);
  const int births = arg_or(argc, argv, 2, 5);
  const int sensors = arg_or(argc, argv, 3, 200);
  const int idle_s = arg_or(argc, argv, 4, 10);
  const bool heartbeat = argc <= 5 || std::string(argv[5]) != "test";
  const size_t n = static_cast<size_t>(sensors) * (heartbeat ? 2 : 1);  // values per refresh
  const std::string values_prefix = kRoot + (heartbeat ? "/hb" : "/v");

  // The broker, the directory and the running daemon are statics (from
  // when fail() ended the program with std::exit): a failure, now unwound
  // through run_bench, stops and removes them at exit (daemon first).
  static auto broker = start_broker();
  static t::TempDir dir;
  static std::unique_ptr<t::Process> daemon;
  const std::string with_path = dir.write("with.ini", reporter_config(broker->port(), sensors, heartbeat, true));
  const std::string without_path = dir.write("without.ini", reporter_config(broker->port(), sensors, heartbeat, false));

  t::MqttClient wire(broker->port());
  if (!wire.wait_connected(5s) || !wire.subscribe(kRoot + "/#", 0) || !wire.subscribe("homeassistant/#", 1) ||
      !wire.subscribe("floor/#", 1))
    fail("the subscriber cannot subscribe");

  // --- 1 and 2: starts --------------------------------------------------
  std::vector<double> with_exec, with_online, without_exec, without_online, config_after_online;
  size_t first_count = 0, first_bytes = 0, max_count = 0, components = 0;
  std::string config_payload;

  auto one_start = [&](bool discovery, bool measured) {
    wire.clear();
    const auto t0 = Clock::now();
    daemon = start_daemon(discovery ? with_path : without_path);
    if (!wire.wait_for_message(kRoot + "/status", "ONLINE", 10s)) fail("no ONLINE", daemon.get());
    auto readings = all_distinct(wire, values_prefix, n, 10s);
    if (!readings) fail("the first readings did not all arrive", daemon.get());
    const auto online = first_at(wire, kRoot + "/status", "ONLINE");
    if (discovery) {
      // The start is over once the refresh that follows the announce is back.
      if (!wait_count(wire, kConfigTopic, 1, 10s)) fail("no config on " + kConfigTopic, daemon.get());
      if (!wait_count(wire, values_prefix, 2 * n, 10s)) fail("no refresh after the announce", daemon.get());
      size_t count = 0, bytes = 0;
      for (const auto& m : wire.messages()) {
        if (!m.topic.starts_with("homeassistant/") || m.topic == kBirthTopic) continue;
        ++count;
        bytes += m.payload.size();
      }
      if (first_count == 0) {
        first_count = count;
        first_bytes = bytes;
        config_payload = wire.messages(kConfigTopic).back().payload;
        components = occurrences(config_payload, "\"unique_id\"");
      }
      max_count = std::max(max_count, count);
      if (measured) config_after_online.push_back(ms_between(*online, *first_at(wire, kConfigTopic)));
    }
    stop_daemon(*daemon);
    daemon.reset();
    if (!measured) return;
    (discovery ? with_exec : without_exec).push_back(ms_between(t0, *readings));
    (discovery ? with_online : without_online).push_back(ms_between(*online, *readings));
  };
  one_start(true, false);  // the empty broker's start: counted for (1), warms the caches
  for (int s = 0; s < starts; ++s) {
    one_start(false, true);
    one_start(true, true);
  }

  // --- 3: HA's birth ------------------------------------------------------
  wire.clear();
  daemon = start_daemon(with_path);
  if (!wait_count(wire, kConfigTopic, 1, 10s) || !wait_count(wire, values_prefix, 2 * n, 10s))
    fail("the daemon for the births did not settle", daemon.get());
  const pid_t pid = daemon->pid();

  auto i0 = Clock::now();
  double c0 = cpu_times(pid).self;
  std::this_thread::sleep_for(std::chrono::seconds(idle_s));  // idle over a known wall time
  const double idle_wall_s = std::chrono::duration<double>(Clock::now() - i0).count();
  const double idle_cpu_ms = (cpu_times(pid).self - c0) * 1e3;
  const double idle_ms_per_s = idle_cpu_ms / idle_wall_s;

  auto cpu_of = [&](auto&& step) {  // daemon CPU of `step`, idle rate subtracted
    const auto w0 = Clock::now();
    const double before = cpu_times(pid).self;
    step();
    const double after = cpu_times(pid).self;
    return (after - before) * 1e3 - idle_ms_per_s * std::chrono::duration<double>(Clock::now() - w0).count();
  };

  std::vector<double> refresh_ms;
  for (int r = 0; r < births; ++r) {
    refresh_ms.push_back(cpu_of([&] {
      wire.clear();
      wire.publish(kRoot + "/refresh", "", 1);
      if (!all_distinct(wire, values_prefix, n, 10s)) fail("a refresh did not come back", daemon.get());
    }));
  }

  std::vector<double> birth_ms;
  const auto b0 = Clock::now();
  const double birth_cpu0 = cpu_times(pid).self;
  for (int b = 0; b < births; ++b) {
    birth_ms.push_back(cpu_of([&] {
      wire.clear();
      wire.publish(kBirthTopic, "online", 1);
      if (!wait_count(wire, kConfigTopic, 1, 10s)) fail("birth " + std::to_string(b) + ": no config again", daemon.get());
      if (!all_distinct(wire, values_prefix, n, 10s)) fail("birth " + std::to_string(b) + ": no refresh", daemon.get());
    }));
  }
  const double births_wall_s = std::chrono::duration<double>(Clock::now() - b0).count();
  std::vector<t::Received> values;  // the last refresh, under floor/ for the floor client
  for (t::Received m : wire.messages()) {
    if (!m.topic.starts_with(values_prefix)) continue;
    m.topic = "floor/" + m.topic.substr(kRoot.size() + 1);
    values.push_back(std::move(m));
  }
  size_t value_bytes = 0;
  for (const auto& v : values) value_bytes += v.payload.size();
  const double births_total_ms = (cpu_times(pid).self - birth_cpu0) * 1e3 - idle_ms_per_s * births_wall_s;
  const std::string output = daemon->output();
  stop_daemon(*daemon);
  daemon.reset();
  const size_t birth_lines = occurrences(output, "Home Assistant started; announcing again in");
  if (birth_lines != static_cast<size_t>(births))
    fail(std::to_string(birth_lines) + " birth log lines for " + std::to_string(births) + " births");
  std::vector<double> delays;
  for (size_t at = output.find("announcing again in "); at != std::string::npos;
       at = output.find("announcing again in ", at + 1))
    delays.push_back(std::atof(output.c_str() + at + 20));

  // The floor: the same bytes from a plain libmosquitto client.
  FloorClient floor;
  std::thread floor_thread([&] { floor.run(broker->port(), births, config_payload, values); });
  while (!floor.ready) std::this_thread::yield();
  for (int b = 0; b < births && !floor.failed; ++b) {
    wire.clear();
    wire.publish("floor/status", "online", 1);
    if (!wait_count(wire, "floor/config", 1, 15s) || !wait_count(wire, "floor/" + values_prefix.substr(kRoot.size() + 1), values.size(), 15s)) {
      floor.failed = true;
      break;
    }
  }
  floor_thread.join();
  if (floor.failed) fail("the plain libmosquitto floor client did not work");

  const double with_online_p50 = median(with_online), without_online_p50 = median(without_online);
  const double with_exec_p50 = median(with_exec), without_exec_p50 = median(without_exec);
  std::printf(
      "discovery (%d %s, HA device mode): per start %zu message(s) on homeassistant/# for 1 device (%zu bytes, "
      "%zu components; max over %d starts %zu) (budget <= 2 per device); first readings, ONLINE -> all %zu on the "
      "wire p50 %.1f ms with discovery vs %.1f ms without (floor), difference %+.1f ms (exec -> all: %.1f vs %.1f ms, "
      "%+.1f ms; config p50 %.1f ms after ONLINE; %d starts each) (budget <= +50 ms); HA birth: daemon CPU %.2f ms "
      "per birth (total over %d births minus idle, %.1f s wall; median %.2f ms; delays %.1f-%.1f s), of which a "
      "plain refresh of %zu values %.2f ms; idle %.2f ms CPU over %.1f s; floor: plain libmosquitto client "
      "receiving a trigger and publishing the same %zu + %zu bytes in 1 + %zu messages %.2f ms per birth (budget "
      "<= 5 ms)\n",
      sensors, heartbeat ? "Heartbeats" : "TestSensors", first_count, first_bytes, components, 2 * starts + 1,
      max_count, n, with_online_p50, without_online_p50, with_online_p50 - without_online_p50, with_exec_p50,
      without_exec_p50, with_exec_p50 - without_exec_p50, median(config_after_online), starts,
      births_total_ms / births, births, births_wall_s, median(birth_ms), percentile(delays, 0),
      percentile(delays, 100), n, median(refresh_ms), idle_cpu_ms, idle_wall_s, config_payload.size(), value_bytes,
      values.size(), floor.cpu_ms / births);
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
