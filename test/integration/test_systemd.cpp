// The test plays systemd's part: it listens on a NOTIFY_SOCKET, sets
// WATCHDOG_USEC and reads what the real binary tells it.
#include "support/broker.h"
#include "support/openhab_double.h"
#include "support/notify_socket.h"
#include "support/process.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

using namespace sr::test;

namespace {

size_t count_starting(const std::vector<std::string>& messages, const std::string& prefix) {
  size_t n = 0;
  for (const auto& m : messages) n += m.rfind(prefix, 0) == 0;
  return n;
}

std::string config() {
  return R"([Connection1]
Class = local.local_conn.LocalConnection
Name = local

[Sensor1]
Class = heartbeat.heartbeat.Heartbeat
Connection = local
Poll = 1
Num-Dest = n
Str-Dest = s
)";
}

}  // namespace

TEST_CASE("READY with STATUS, watchdog pings, RELOADING around SIGHUP, STOPPING") {
  TempDir dir;
  NotifySocket notify(dir.file("notify"));
  std::string ini = dir.write("sr.ini", config());
  Process daemon({binary(), ini}, {"NOTIFY_SOCKET=" + dir.file("notify"), "WATCHDOG_USEC=200000"});

  REQUIRE(notify.wait_for([](auto& m) { return count_starting(m, "READY=1") == 1; }, 10s));
  CHECK(notify.messages().front() == "READY=1\nSTATUS=running 2 sections");
  // WATCHDOG_USEC 200 ms: a ping every 100 ms.
  REQUIRE(notify.wait_for([](auto& m) { return count_starting(m, "WATCHDOG=1") >= 3; }, 5s));

  daemon.signal(SIGHUP);
  REQUIRE(notify.wait_for([](auto& m) { return count_starting(m, "READY=1") == 2; }, 10s));
  const auto& messages = notify.messages();
  auto reloading = std::find_if(messages.begin(), messages.end(), [](const std::string& m) {
    return m.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0;
  });
  REQUIRE(reloading != messages.end());
  CHECK(std::stoull(reloading->substr(std::strlen("RELOADING=1\nMONOTONIC_USEC="))) > 0);
  CHECK(messages.back() == "READY=1\nSTATUS=running 2 sections");

  daemon.signal(SIGTERM);
  REQUIRE(notify.wait_for([](auto& m) { return count_starting(m, "STOPPING=1") == 1; }, 5s));
  CHECK(daemon.wait_exit(5s) == 0);
}

TEST_CASE("an abstract NOTIFY_SOCKET works; WATCHDOG_PID naming another process means no pings") {
  TempDir dir;
  const std::string name = fmt::format("@sensor_reporter-test-{}", getpid());
  NotifySocket notify(name);
  std::string ini = dir.write("sr.ini", config());
  Process daemon({binary(), ini}, {"NOTIFY_SOCKET=" + name, "WATCHDOG_USEC=100000", "WATCHDOG_PID=1"});
  REQUIRE(notify.wait_for([](auto& m) { return count_starting(m, "READY=1") == 1; }, 10s));
  // With WATCHDOG_USEC 100 ms the daemon would ping every 50 ms; the watchdog
  // belongs to PID 1 here, so half a second passes without one.
  CHECK_FALSE(notify.wait_for([](auto& m) { return count_starting(m, "WATCHDOG=1") > 0; }, 500ms));
  daemon.signal(SIGTERM);
  REQUIRE(notify.wait_for([](auto& m) { return count_starting(m, "STOPPING=1") == 1; }, 5s));
  CHECK(daemon.wait_exit(5s) == 0);
}

TEST_CASE("no watchdog pings while a plugin blocks the event loop") {
  TempDir dir;
  NotifySocket notify(dir.file("notify"));
  // Every 3 s a poll blocks the loop for 1.5 s.
  std::string ini = dir.write("sr.ini", R"([Sensor_Stuck]
Class = sr_test.test.TestSensor
Poll = 3
Destination = x
Values = 1
BlockFor = 1.5
)");
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini},
                 {"NOTIFY_SOCKET=" + dir.file("notify"), "WATCHDOG_USEC=200000"});
  REQUIRE(notify.wait_for([](auto& m) { return count_starting(m, "READY=1") == 1; }, 10s));
  REQUIRE(notify.wait_for([](auto& m) { return count_starting(m, "WATCHDOG=1") >= 1; }, 10s));
  // Collect the pings over the next blocked stretch: between two polls (3 s
  // apart, each blocking 1.5 s) the loop pings ~15 times, then falls silent.
  std::vector<std::chrono::steady_clock::time_point> pings;
  size_t seen = count_starting(notify.messages(), "WATCHDOG=1");
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 4s) {
    notify.wait_for([&](auto& m) { return count_starting(m, "WATCHDOG=1") > seen; }, 4s);
    size_t now_seen = count_starting(notify.messages(), "WATCHDOG=1");
    for (; seen < now_seen; ++seen) pings.push_back(std::chrono::steady_clock::now());
  }
  // Some gap between consecutive pings covers the 1.5 s block (minus the
  // 100 ms ping period): the stuck loop sent nothing meanwhile.
  auto longest = std::chrono::steady_clock::duration::zero();
  for (size_t i = 1; i < pings.size(); ++i) longest = std::max(longest, pings[i] - pings[i - 1]);
  CHECK(longest >= 1300ms);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit(10s) == 0);
}

TEST_CASE("STATUS shows each MQTT connection's state and queue depth as it changes") {
  Broker broker("", "", /*start_now=*/false);
  TempDir dir;
  NotifySocket notify(dir.file("notify"));
  std::string ini = dir.write("sr.ini", fmt::format(R"([Connection_MQTT]
Class = mqtt.mqtt_conn.MqttConnection
Name = mqtt
Host = 127.0.0.1
Port = {}
RootTopic = sr
ReconnectMin = 0.2

[Sensor1]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Poll = 1
Num-Dest = n
Str-Dest = s
)",
                                                    broker.port()));
  Process daemon({binary(), ini}, {"NOTIFY_SOCKET=" + dir.file("notify")});
  const std::string down =
      fmt::format("[Connection_MQTT] 127.0.0.1:{} unreachable (Connection refused), ", broker.port());
  REQUIRE(notify.wait_for(has(down), 10s));
  CHECK(notify.wait_for(has("queued"), 5s));
  broker.start();
  REQUIRE(notify.wait_for(
      has(fmt::format("STATUS=running 2 sections; [Connection_MQTT] connected to 127.0.0.1:{}",
                      broker.port())),
      10s));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit(5s) == 0);
}

TEST_CASE("STATUS shows the openHAB connection ONLINE with its version, and OFFLINE with the reason") {
  OpenhabDouble openhab("oh4", {"--item", "Uptime:Number", "--item", "UptimeText:String"},
                        /*start_now=*/false);
  TempDir dir;
  NotifySocket notify(dir.file("notify"));
  std::string ini = dir.write("sr.ini", fmt::format(R"([Connection_OH]
Class = openhab_rest.rest_conn.OpenhabREST
Name = openhab
URL = {}
RefreshItem = Refresh
ReconnectMin = 0.1
ReconnectMax = 0.5

[Sensor1]
Class = heartbeat.heartbeat.Heartbeat
Connection = openhab
Poll = 1
Num-Dest = Uptime
Str-Dest = UptimeText
)",
                                                    openhab.url()));
  Process daemon({binary(), ini}, {"NOTIFY_SOCKET=" + dir.file("notify")});
  REQUIRE(notify.wait_for(has("[Connection_OH] OFFLINE: Failed to connect to 127.0.0.1 port"), 10s));
  CHECK(notify.wait_for(has("2 pending"), 5s));  // Uptime and UptimeText
  openhab.start();
  REQUIRE(notify.wait_for(
      has("STATUS=running 2 sections; [Connection_OH] ONLINE: openHAB 4.2.1 at " + openhab.url()), 10s));
  const size_t online_at = notify.messages().size();
  openhab.stop();
  // The host sends STATUS when it changes (the reason may already be the
  // next reconnect's by then).
  CHECK(notify.wait_for(
      [&](const std::vector<std::string>& m) {
        return std::any_of(
            m.begin() + static_cast<std::ptrdiff_t>(online_at), m.end(),
            [](const std::string& s) { return s.find("[Connection_OH] OFFLINE: ") != std::string::npos; });
      },
      10s));

  daemon.signal(SIGTERM);
  // A clean exit is what is checked, not its speed: the stop comes in the
  // middle of a reconnect, and under ASan on a loaded machine it once took
  // longer than 5 s (docs/performance.md measures stop times).
  CHECK(daemon.wait_exit(15s) == 0);
}
