// The host's failure policy and ABI 1.2 routing, against the real binary and
// a real mosquitto: a failing sensor backs off (one line when it starts, one
// when it recovers), a poll that never ends times out, a reload that removes
// the last actuator of a source unsubscribes it on the broker, absolute
// topics work (and are refused, once, to a connection module older than
// 1.2), start-up publishes each reading once, and a module installed after
// start is found on SIGHUP.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <chrono>
#include <csignal>

using namespace sr::test;

namespace {

// A broker that logs every SUBSCRIBE and UNSUBSCRIBE to a file, as
// "<client> <qos> <filter>" and "<client> <filter>". (mosquitto 2.0 writes
// those lines only with every log type on; its stdout is block-buffered in a
// pipe, a log file is flushed per line.)
struct LoggingBroker {
  TempDir log_dir;
  std::string log_path = log_dir.file("broker.log");
  Broker broker{"", "log_dest file " + log_path + "\nlog_type all\n"};
  std::string log() const { return read_file(log_path); }
  int port() const { return broker.port(); }
};

std::string old_plugin_dir() { return test_plugin_dir() + "/old"; }

}  // namespace

namespace {

// async: the polls end through poll_done(ok) (ABI 1.2 poll_end), as the
// exec and 1-Wire sensors' do, rather than by returning SR_ERROR.
void check_backoff(bool async) {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + R"(
[Sensor_Failing]
Class = sr_test.policy.PolicySensor
Connection = mqtt
Poll = 0.1
Destination = failing
FailPolls = 4
)" + std::string(async ? "Async = yes\n" : ""));
  REQUIRE(reporter->wait_for_output("[Sensor_Failing] poll 1", 10s));
  const auto first_poll = std::chrono::steady_clock::now();
  REQUIRE(reporter->wait_for_output("recovered after 4 failures", 20s));
  const auto recovered = std::chrono::steady_clock::now();
  REQUIRE(observer.wait_for_message("sr/failing", "5", 5s));
  std::string out = reporter->output();
  CHECK(occurrences(out, "failing, backing off") == 1);
  CHECK(occurrences(out, "recovered after") == 1);
  // Polls 1 and 2 one tick apart, then 2, 4 and 8 ticks: 15 ticks of 0.1 s
  // from poll 1 to poll 5 (without back-off it would be 4).
  CHECK(recovered - first_poll >= 1400ms);
  // Recovered: polled every tick again.
  REQUIRE(observer.wait_for_message("sr/failing", "8", 5s));
  CHECK(occurrences(reporter->output(), "failing, backing off") == 1);
}

}  // namespace

TEST_CASE("a sensor failing 4 polls backs off with one line and recovers with one line") { check_backoff(false); }

TEST_CASE("an asynchronous poll that ends as failed counts toward the back-off the same way") {
  check_backoff(true);
}

TEST_CASE("a poll that never ends times out after 10 x Poll and counts as a failure") {
  Broker broker;
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + R"(
[Sensor_Hanging]
Class = sr_test.policy.PolicySensor
Connection = mqtt
Poll = 0.2
Destination = hanging
Hang = yes
)");
  REQUIRE(reporter->wait_for_output("[Sensor_Hanging] poll 1", 10s));
  const auto first_poll = std::chrono::steady_clock::now();
  REQUIRE(reporter->wait_for_output("poll did not end within 2 s; counted as a failed poll", 10s));
  CHECK(std::chrono::steady_clock::now() - first_poll >= 1800ms);
  // The sensor is polled again (the hung poll no longer blocks it); the
  // second timeout in a row starts the back-off.
  REQUIRE(reporter->wait_for_output("[Sensor_Hanging] poll 2", 10s));
  REQUIRE(reporter->wait_for_output("failing, backing off", 10s));
  CHECK(occurrences(reporter->output(), "poll did not end within") == 1);
}

TEST_CASE("a reload that removes the last actuator of a source unsubscribes it on the broker") {
  LoggingBroker broker;
  MqttClient commander(broker.port());
  REQUIRE(commander.wait_connected(5s));
  TempDir dir;
  auto actuator = [&](const std::string& section, const std::string& output) {
    return fmt::format(
        "\n[{}]\nClass = sr_test.policy.PolicyActuator\nConnection = mqtt\nCommandSrc = cmd/a\n"
        "Output = {}\n",
        section, dir.file(output));
  };
  const std::string both =
      mqtt_section(broker.port()) + actuator("Actuator_A", "a.txt") + actuator("Actuator_B", "b.txt");
  auto reporter = start_reporter(dir, both);
  REQUIRE(wait_until([&] { return broker.log().find("reporter 0 sr/cmd/a") != std::string::npos; }, 10s));
  REQUIRE(commander.publish("sr/cmd/a", "ONE"));
  REQUIRE(wait_until([&] { return read_file(dir.file("b.txt")) == "cmd/a ONE\n"; }, 10s));
  CHECK(read_file(dir.file("a.txt")) == "cmd/a ONE\n");

  // A goes; B still wants cmd/a: the subscription stays.
  dir.write("sr.ini", mqtt_section(broker.port()) + actuator("Actuator_B", "b.txt"));
  size_t mark = reporter->output().size();
  reporter->signal(SIGHUP);
  REQUIRE(reporter->wait_for_output("reloaded:", 10s, mark));
  REQUIRE(commander.publish("sr/cmd/a", "TWO"));
  REQUIRE(wait_until([&] { return read_file(dir.file("b.txt")) == "cmd/a ONE\ncmd/a TWO\n"; }, 10s));
  CHECK(read_file(dir.file("a.txt")) == "cmd/a ONE\n");
  CHECK(broker.log().find("reporter sr/cmd/a") == std::string::npos);

  // B goes too: nobody wants cmd/a, and the broker hears so.
  dir.write("sr.ini", mqtt_section(broker.port()) +
                          "\n[Sensor_Keep]\nClass = heartbeat.heartbeat.Heartbeat\n"
                          "Connection = mqtt\nPoll = 60\nNum-Dest = n\nStr-Dest = s\n");
  mark = reporter->output().size();
  reporter->signal(SIGHUP);
  REQUIRE(reporter->wait_for_output("reloaded:", 10s, mark));
  REQUIRE(wait_until([&] { return broker.log().find("reporter sr/cmd/a") != std::string::npos; }, 10s));
  CHECK(occurrences(broker.log(), "reporter sr/cmd/a") == 1);
}

TEST_CASE("an actuator that unsubscribes is left out, and the broker hears of it") {
  LoggingBroker broker;
  MqttClient commander(broker.port());
  REQUIRE(commander.wait_connected(5s));
  TempDir dir;
  std::string flag = dir.write("unsubscribe-now", "");
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + fmt::format(R"(
[Actuator_Once]
Class = sr_test.policy.PolicyActuator
Connection = mqtt
CommandSrc = cmd/once
Output = {}
UnsubscribeFile = {}
)",
                                                                                dir.file("once.txt"), flag));
  REQUIRE(wait_until([&] { return broker.log().find("reporter 0 sr/cmd/once") != std::string::npos; }, 10s));
  REQUIRE(commander.publish("sr/cmd/once", "FIRST"));
  REQUIRE(reporter->wait_for_output("unsubscribed from cmd/once", 10s));
  REQUIRE(wait_until([&] { return broker.log().find("reporter sr/cmd/once") != std::string::npos; }, 10s));
  CHECK(read_file(dir.file("once.txt")) == "cmd/once FIRST\n");
}

TEST_CASE("absolute topics: published and subscribed outside RootTopic") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("#"));
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + fmt::format(R"(
[Sensor_Absolute]
Class = sr_test.policy.PolicySensor
Connection = mqtt
Poll = 60
Destination = elsewhere/reading
Absolute = yes

[Sensor_Relative]
Class = sr_test.policy.PolicySensor
Connection = mqtt
Poll = 60
Destination = relative/reading

[Actuator_Absolute]
Class = sr_test.policy.PolicyActuator
Connection = mqtt
CommandSrc = elsewhere/cmd
Absolute = yes
Output = {}
)",
                                                                                dir.file("abs.txt")));
  REQUIRE(observer.wait_for_message("elsewhere/reading", "1", 10s));
  REQUIRE(observer.wait_for_message("sr/relative/reading", "1", 10s));
  CHECK(count_topic(observer.messages(), "sr/elsewhere/reading") == 0);
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));
  // The relative topic of the same name is not the actuator's.
  REQUIRE(observer.publish("sr/elsewhere/cmd", "WRONG"));
  REQUIRE(observer.publish("elsewhere/cmd", "ON"));
  REQUIRE(wait_until([&] { return !read_file(dir.file("abs.txt")).empty(); }, 10s));
  REQUIRE(observer.publish("elsewhere/cmd", "OFF"));
  REQUIRE(wait_until(
      [&] { return read_file(dir.file("abs.txt")) == "elsewhere/cmd ON\nelsewhere/cmd OFF\n"; }, 10s));
}

TEST_CASE(
    "a connection module declaring ABI 1.1 gets no absolute topic and none of its 1.2 members is called") {
  TempDir dir;
  std::string ini = dir.write("sr.ini", fmt::format(R"(
[Connection_Old]
Class = old_connection.old.OldConnection
Name = old

[Sensor_Absolute]
Class = sr_test.policy.PolicySensor
Connection = old
Poll = 0.1
Destination = whole/topic
Absolute = yes

[Sensor_Relative]
Class = sr_test.policy.PolicySensor
Connection = old
Poll = 60
Destination = under/root

[Actuator_Absolute]
Class = sr_test.policy.PolicyActuator
Connection = old
CommandSrc = whole/cmd
Absolute = yes
Output = {}

[Actuator_Relative]
Class = sr_test.policy.PolicyActuator
Connection = old
CommandSrc = rel/cmd
Output = {}
)",
                                                    dir.file("a.txt"), dir.file("r.txt")));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), "--plugin-dir", old_plugin_dir(), ini});
  REQUIRE(reporter.wait_for_output("old: publish under/root = 1 flags 0", 10s));
  REQUIRE(reporter.wait_for_output("[Sensor_Absolute] poll 3", 10s));
  std::string out = reporter.output();
  CHECK(occurrences(out, "has no absolute topics") == 1);
  CHECK(out.find("plugin ABI 1.1") != std::string::npos);
  CHECK(out.find("old: publish whole/topic") == std::string::npos);
  CHECK(out.find("old: subscribe rel/cmd") != std::string::npos);
  CHECK(out.find("old: subscribe whole/cmd") == std::string::npos);
  CHECK(out.find("subscribing to whole/cmd was refused") != std::string::npos);
  CHECK(out.find("1.2 member called") == std::string::npos);
  reporter.signal(SIGTERM);
  REQUIRE(reporter.wait_exit(5s) == 0);
  CHECK(reporter.output().find("1.2 member called") == std::string::npos);
}

TEST_CASE("start-up publishes each reading once: the first connect does not refresh what the queue sent") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + R"(
[Sensor_Once]
Class = sr_test.test.TestSensor
Connection = mqtt
Poll = 60
Destination = once
Values = first,second

[Sensor_Clock]
Class = sr_test.policy.PolicySensor
Connection = mqtt
Poll = 0.1
Destination = clock
)");
  REQUIRE(observer.wait_for_message("sr/once", "first", 10s));
  // Several clock ticks after the connect: a refresh would long have come.
  REQUIRE(observer.wait_for_message("sr/clock", "5", 10s));
  CHECK(count(observer.messages(), "sr/once", "first") == 1);
  CHECK(count(observer.messages(), "sr/clock", "1") == 1);

  // The count does see a second copy when one is sent: a refresh asked for.
  REQUIRE(observer.publish("sr/refresh", "now"));
  REQUIRE(observer.wait_for([](auto& m) { return count(m, "sr/once", "first") == 2; }, 10s));
}

TEST_CASE("a module missing at start and installed later is found on SIGHUP") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  TempDir plugins;
  std::string ini = dir.write("sr.ini", mqtt_section(broker.port()) + R"(
[Sensor_Late]
Class = sr_test.test.TestSensor
Connection = mqtt
Poll = 60
Destination = late
Values = here
)");
  Process reporter({binary(), "--keep-going", "--plugin-dir", plugins.path(), ini});
  REQUIRE(reporter.wait_for_output("running 1 section", 10s));
  CHECK(reporter.output().find("cannot find plugin module 'sr_test'") != std::string::npos);
  REQUIRE(symlink((test_plugin_dir() + "/sr_test.so").c_str(), plugins.file("sr_test.so").c_str()) == 0);
  reporter.signal(SIGHUP);
  REQUIRE(reporter.wait_for_output("reloaded:", 10s));
  REQUIRE(observer.wait_for_message("sr/late", "here", 10s));
}

TEST_CASE("a section whose start() fails is destroyed and named; the rest keeps running") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + R"(
[Sensor_Broken]
Class = sr_test.policy.PolicySensor
Connection = mqtt
Poll = 0.1
Destination = broken
FailStart = yes

[Sensor_Fine]
Class = sr_test.policy.PolicySensor
Connection = mqtt
Poll = 0.1
Destination = fine
)");
  REQUIRE(reporter->wait_for_output("[Sensor_Broken] start failed; section destroyed", 10s));
  REQUIRE(reporter->wait_for_output("running 2 sections", 10s));
  REQUIRE(observer.wait_for_message("sr/fine", "3", 10s));
  std::string out = reporter->output();
  CHECK(out.find("[Sensor_Broken] poll") == std::string::npos);
  CHECK(count_topic(observer.messages(), "sr/broken") == 0);
  CHECK(out.find("start failed: start fails on purpose") != std::string::npos);
}

TEST_CASE("STATUS= counts failed commands and the sensors backing off") {
  Broker broker;
  MqttClient commander(broker.port());
  REQUIRE(commander.wait_connected(5s));
  REQUIRE(commander.subscribe("sr/status"));
  TempDir dir;
  // systemd's notification socket, played by the test.
  std::string socket_path = dir.file("notify");
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  std::string ini = dir.write("sr.ini", mqtt_section(broker.port()) + fmt::format(R"(
[Sensor_Failing]
Class = sr_test.policy.PolicySensor
Connection = mqtt
Poll = 0.1
Destination = failing
FailPolls = 1000

[Actuator_Cmd]
Class = sr_test.policy.PolicyActuator
Connection = mqtt
CommandSrc = cmd
Output = {}
)",
                                                                                  dir.file("out.txt")));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), ini}, {"NOTIFY_SOCKET=" + socket_path});
  // ONLINE follows the reporter's SUBSCRIBE on the same link: once it is
  // seen, the broker routes sr/cmd to the reporter.
  REQUIRE(commander.wait_for_message("sr/status", "ONLINE", 10s));
  REQUIRE(commander.publish("sr/cmd", "FAIL"));
  REQUIRE(reporter.wait_for_output("the command FAIL fails", 10s));
  std::string matched;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (matched.empty() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 500) <= 0) continue;
    char buffer[4096];
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    std::string message(buffer, n > 0 ? static_cast<size_t>(n) : 0);
    if (message.find("failed: 1 command(s), 0 refresh(es), 0 publish(es)") != std::string::npos &&
        message.find("1 backing off") != std::string::npos)
      matched = message;
  }
  close(fd);
  CHECK_MESSAGE(!matched.empty(), reporter.output());
}
