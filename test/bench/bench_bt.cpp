// bt: the bt module (GoveeSensor through BlueZ over D-Bus) against the BlueZ
// double (test/support/bluez_double.cpp) on a private dbus-daemon. Two
// figures, one line each, every one next to a floor measured in the same run.
//
// 1. CPU while DEVICES Govee H5075 thermometers (default 10) each advertise
//    every 2 s (staggered evenly) for SECONDS (default 60), after one warm-up
//    round: the daemon (MQTT + one GoveeSensor; DuplicateData, so every
//    advertisement is a PropertiesChanged with RSSI and ManufacturerData and
//    publishes five values), from /proc/PID/task/*/schedstat over the
//    window. Floors over the same window: bench_bt_floor, an sd-bus client
//    that makes the same matches and discovery calls and only reads the same
//    signals, and a second one that also publishes five values per
//    advertisement through libmosquitto (the floor of the whole path); the
//    double, which builds and sends the signals; dbus-daemon, which routes
//    them to all three. The readings arriving at a subscriber are counted.
//    Budget: 0.1 % of one core.
// 2. idle memory the module adds: daemon A = LocalConnection + Heartbeat
//    (Poll 10), daemon B = the same + a GoveeSensor that has seen each of the
//    DEVICES once, each running alone and measured SETTLE s (default 3)
//    after that: private (Private_Clean + Private_Dirty, smaps_rollup), its
//    dirty part, VmRSS, B - A and where it goes by mapping. dbus-daemon and
//    the double map libsystemd too, so its clean pages count as shared, as
//    on a machine where systemd, dbus-daemon and bluetoothd run; the dirty
//    part is B's own whatever else runs, VmRSS counts every page. Budget:
//    +0.5 MB private.
// Usage: bench_bt [SECONDS] [DEVICES] [SETTLE]
#include "bench_common.h"
#include "support/system_bus.h"

#include <thread>

using namespace sr::bench;
namespace t = sr::test;

namespace {

constexpr auto kAdvertisingInterval = 2s;

// bench_common's fail() exits at once; this program owns a dbus-daemon, the
// double, a broker and daemons, so it throws and lets their destructors end
// them (main prints the reason).
[[noreturn]] void bail(const std::string& why, const t::Process* daemon = nullptr) {
  throw std::runtime_error(why + (daemon ? "\n--- daemon output ---\n" + daemon->output() : std::string()));
}

void stop(t::Process& daemon) {
  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(10s);
  if (code != 0)
    bail("exit code " + (code ? std::to_string(*code) : std::string("none within 10 s")), &daemon);
}

std::string device_address(int index) {
  char text[32];
  std::snprintf(text, sizeof text, "A4:C1:38:00:%02X:%02X", index / 256, index % 256);
  return text;
}

// Format A (H5075): 00, the packed value temp*10000 + humidity*10 (big
// endian), battery, 00; `tick` moves the humidity so readings change.
std::string govee_advert(int index, long tick) {
  const long temp_tenths = 180 + index * 5;
  const long humi_tenths = 400 + (tick % 100);
  const long packed = temp_tenths * 1000 + humi_tenths;
  char text[160];
  std::snprintf(text, sizeof text, "adv %s GVH5075_%04X ec88 00%06lx6400 rssi=%d",
                device_address(index).c_str(), index, packed, -60 - index);
  return text;
}

// ---------------------------------------------------------------------------
// 2. idle memory

struct Idle {
  Memory memory;
  std::map<std::string, Mapping> maps;
};

Idle idle_daemon(const t::TempDir& dir, const std::string& name, const std::string& config,
                 const t::SystemBus& bus, const std::function<void(t::Process&)>& until_up, int settle_s) {
  auto daemon = std::make_unique<t::Process>(std::vector<std::string>{t::binary(), dir.write(name, config)},
                                             std::vector<std::string>{bus.env()});
  until_up(*daemon);
  std::this_thread::sleep_for(std::chrono::seconds(settle_s));  // settle, not synchronisation
  Idle idle{memory(daemon->pid()), smaps_by_name(daemon->pid())};
  stop(*daemon);
  return idle;
}

std::string measure_memory(const t::SystemBus& bus, t::BluezDouble& bluez, int devices, int settle_s) {
  t::TempDir dir;
  const std::string base =
      "[Logging]\nLevel = INFO\n\n[Connection_Local]\nClass = local.local_conn.LocalConnection\nName = "
      "local\n\n"
      "[Sensor_Hb]\nClass = heartbeat.heartbeat.Heartbeat\nConnection = local\nPoll = 10\nNum-Dest = HbNum\n"
      "Str-Dest = HbStr\n\n";
  Idle a = idle_daemon(
      dir, "local.ini", base, bus,
      [](t::Process& daemon) {
        if (!daemon.wait_for_output("running 2 sections", 10s)) bail("daemon A did not start", &daemon);
      },
      settle_s);
  Idle b = idle_daemon(
      dir, "govee.ini",
      base +
          "[Sensor_Govee]\nClass = bt.govee_sensor.GoveeSensor\nConnection = local\nDestination = govee\n\n",
      bus,
      [&](t::Process& daemon) {
        if (!daemon.wait_for_output("bt: discovering LE advertisements on hci0", 10s))
          bail("daemon B did not discover", &daemon);
        for (int i = 0; i < devices; ++i)
          if (!bluez.command(govee_advert(i, 0))) bail("the double did not take an advertisement", &daemon);
        if (!t::wait_until(
                [&] {
                  std::string out = daemon.output();
                  size_t n = 0;
                  for (size_t at = out.find("found: publishing to"); at != std::string::npos;
                       at = out.find("found: publishing to", at + 1))
                    ++n;
                  return n >= static_cast<size_t>(devices);
                },
                10s))
          bail("daemon B did not find every device", &daemon);
      },
      settle_s);
  const MappingDelta delta = mapping_delta(a.maps, b.maps);
  char line[1024];
  std::snprintf(
      line, sizeof line,
      "bt idle memory (each alone, %d s after up, + Heartbeat Poll 10; B saw %d devices): private "
      "LocalConnection %.2f MB -> + GoveeSensor %.2f MB = %+.2f MB (private dirty %+.2f MB), VmRSS "
      "%.2f -> %.2f MB = %+.2f MB; B - A by mapping, dirty/private/RSS kB: %s; %ld libraries only B "
      "maps: RSS %ld kB, private %ld kB, dirty %ld kB (floor: daemon A itself; budget: module adds <= "
      "0.5 MB private)",
      settle_s, devices, a.memory.private_mb, b.memory.private_mb, b.memory.private_mb - a.memory.private_mb,
      static_cast<double>(delta.dirty_kb) / 1024, a.memory.rss_mb, b.memory.rss_mb,
      b.memory.rss_mb - a.memory.rss_mb, delta.top.c_str(), delta.only_b_count, delta.only_b.rss_kb,
      delta.only_b.private_kb, delta.only_b.dirty_kb);
  return line;
}

// ---------------------------------------------------------------------------
// 1. CPU under advertisements

std::string measure_cpu(const t::SystemBus& bus, t::BluezDouble& bluez, int seconds, int devices) {
  auto broker = start_broker();
  t::MqttClient client(broker->port());
  if (!client.wait_connected(5s) || !client.subscribe("bt/govee/#", 0)) bail("MQTT client cannot subscribe");
  t::TempDir dir;
  auto daemon = std::make_unique<t::Process>(
      std::vector<std::string>{
          t::binary(),
          dir.write("govee.ini",
                    mqtt_section(broker->port(), "bt", "bench-bt") +
                        "[Sensor_Govee]\nClass = bt.govee_sensor.GoveeSensor\nConnection = mqtt\n"
                        "Destination = govee\n\n")},
      std::vector<std::string>{bus.env()});
  t::Process floor({SR_BENCH_BT_FLOOR}, {bus.env()});
  t::Process mqtt_floor({SR_BENCH_BT_FLOOR, std::to_string(broker->port())}, {bus.env()});
  if (!daemon->wait_for_output("bt: discovering LE advertisements on hci0", 10s))
    bail("the daemon did not discover", daemon.get());
  for (t::Process* p : {&floor, &mqtt_floor})
    if (!p->wait_for_output("discovering", 10s)) bail("a floor client did not discover: " + p->output());

  const auto tick = std::chrono::duration_cast<Clock::duration>(kAdvertisingInterval) / devices;
  long sent = 0;
  auto advertise_until = [&](Clock::time_point start, Clock::time_point end) {
    for (long k = 0;; ++k) {
      const auto at = start + k * tick;
      if (at >= end) return;
      std::this_thread::sleep_until(at);  // the devices' advertising schedule
      if (!bluez.command(govee_advert(static_cast<int>(sent % devices), sent / devices)))
        bail("the double did not take an advertisement", daemon.get());
      ++sent;
    }
  };
  // Warm-up: one round, every device found (topics made, logged once).
  advertise_until(Clock::now(), Clock::now() + kAdvertisingInterval);
  const size_t expected_warm = static_cast<size_t>(sent) * 5;
  if (!client.wait_for([&](const std::vector<t::Received>& all) { return all.size() >= expected_warm; }, 10s))
    bail("the warm-up readings did not arrive", daemon.get());

  const pid_t dbus_pid = bus.pid(), double_pid = bluez.pid();
  const long sent0 = sent;
  const size_t received0 = client.messages().size();
  const double d0 = cpu_times(daemon->pid()).self, f0 = cpu_times(floor.pid()).self,
               m0 = cpu_times(mqtt_floor.pid()).self, b0 = cpu_times(double_pid).self,
               x0 = cpu_times(dbus_pid).self;
  const auto w0 = Clock::now();
  advertise_until(w0, w0 + std::chrono::seconds(seconds));
  const auto w1 = Clock::now();
  const double d1 = cpu_times(daemon->pid()).self, f1 = cpu_times(floor.pid()).self,
               m1 = cpu_times(mqtt_floor.pid()).self, b1 = cpu_times(double_pid).self,
               x1 = cpu_times(dbus_pid).self;
  const long adverts = sent - sent0;
  const size_t expected = received0 + static_cast<size_t>(adverts) * 5;
  client.wait_for([&](const std::vector<t::Received>& all) { return all.size() >= expected; }, 10s);
  const size_t received = client.messages().size() - received0;
  stop(*daemon);
  for (t::Process* p : {&floor, &mqtt_floor}) {
    p->signal(SIGTERM);
    p->wait_exit(5s);
  }

  const double span = std::chrono::duration<double>(w1 - w0).count();
  auto percent = [&](double from, double to) { return 100 * (to - from) / span; };
  auto per_advert = [&](double from, double to) {
    return 1e6 * (to - from) / static_cast<double>(std::max(1L, adverts));
  };
  char line[768];
  std::snprintf(
      line, sizeof line,
      "bt %d Govee devices advertising every %lld s for %.0f s (%ld advertisements, %zu of %ld readings "
      "published): daemon CPU %.3f %% of one core (%.0f us per advertisement); floors, same window: "
      "plain sd-bus client reading the same signals %.3f %% (%.0f us), the same publishing five values "
      "per advertisement with libmosquitto %.3f %% (%.0f us), BlueZ double %.3f %%, dbus-daemon %.3f %% "
      "(budget <= 0.1 %%)",
      devices, static_cast<long long>(std::chrono::seconds(kAdvertisingInterval).count()), span, adverts,
      received, adverts * 5, percent(d0, d1), per_advert(d0, d1), percent(f0, f1), per_advert(f0, f1),
      percent(m0, m1), per_advert(m0, m1), percent(b0, b1), percent(x0, x1));
  return line;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  const int seconds = arg_or(argc, argv, 1, 60);
  const int devices = arg_or(argc, argv, 2, 10);
  const int settle = arg_or(argc, argv, 3, 3);
  std::vector<std::string> lines;
  int code = 0;
  try {
    t::SystemBus bus;
    t::BluezDouble bluez(bus);
    lines.push_back(measure_cpu(bus, bluez, seconds, devices));
    lines.push_back(measure_memory(bus, bluez, devices, settle));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "benchmark failed: %s\n", e.what());
    code = 1;
  }
  for (const auto& line : lines) std::printf("%s\n", line.c_str());
  return code;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
