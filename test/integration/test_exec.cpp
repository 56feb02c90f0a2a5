// exec.exec_sensor.ExecSensor and exec.exec_actuator.ExecActuator in the real
// daemon, with the real MQTT connection against a private mosquitto: what
// the commands print arrives on the wire, commands published on MQTT run with
// their words as arguments (never through a shell), a slow command does not
// hold up MQTT, and SIGTERM ends the daemon promptly even while a child hangs.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>

using namespace sr::test;

namespace {

std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
  return write_script(dir, name, body);
}

size_t index_of(const std::vector<Received>& messages, const std::string& topic, const std::string& payload) {
  auto it = std::find_if(messages.begin(), messages.end(),
                         [&](const Received& m) { return m.topic == topic && m.payload == payload; });
  return static_cast<size_t>(it - messages.begin());
}

pid_t read_pid(const std::string& file) {
  std::string text = read_file(file);
  return text.empty() ? -1 : static_cast<pid_t>(std::stol(text));
}

// The daemon's orphaned grandchildren are reparented to us, so a zombie is
// reaped here instead of being mistaken for a survivor.
void become_subreaper() { REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0); }

bool group_gone(pid_t pgid) {
  while (waitpid(-pgid, nullptr, WNOHANG) > 0) {
  }
  return kill(-pgid, 0) == -1 && errno == ESRCH;
}

}  // namespace

TEST_CASE(
    "ExecSensor publishes its command's output to <RootTopic>/<Destination>; a missing program stops "
    "nothing") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + R"(
[Sensor_Echo]
Class = exec.exec_sensor.ExecSensor
Connection = mqtt
Script = echo  hello   from	exec
Destination = exec/out
Poll = 60

[Sensor_Missing]
Class = exec.exec_sensor.ExecSensor
Connection = mqtt
Script = /no/such/program --flag
Destination = exec/missing
Poll = 60
)");
  REQUIRE(observer.wait_for_message("sr/exec/out", "hello from exec", 10s));
  REQUIRE(reporter->wait_for_output(
      "[Sensor_Missing] cannot run '/no/such/program': No such file or directory", 5s));
  // Still running: a refresh is answered with the cached reading.
  size_t before = observer.messages("sr/exec/out").size();
  observer.publish("sr/refresh", "");
  REQUIRE(observer.wait_for([&](auto& m) { return count_topic(m, "sr/exec/out") > before; }, 5s));
  CHECK(observer.messages("sr/exec/out").back().payload == "hello from exec");
  CHECK(observer.messages("sr/exec/missing").empty());
  reporter->signal(SIGTERM);
  CHECK(reporter->wait_exit(5s) == 0);
}

TEST_CASE("ExecActuator: a command on MQTT runs the script with the payload's words as literal arguments") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  std::string args = script(dir, "args.sh",
                            "for arg in \"$@\"; do printf '%s\\n' \"$arg\"; done > '" + dir.file("args.txt") +
                                "'\necho \"got $# $2\"\n");
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + fmt::format(R"(
[Actuator_Exec]
Class = exec.exec_actuator.ExecActuator
Connection = mqtt
Command = {} fixed
CommandSrc = exec/cmd
ResultsDest = exec/result

[Actuator_Missing]
Class = exec.exec_actuator.ExecActuator
Connection = mqtt
Command = /no/such/program
CommandSrc = missing/cmd
ResultsDest = missing/result
)",
                                                                                args));
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));
  // Subscriptions are made before ONLINE is published, so the command is not lost.
  std::string payload = "one ; touch " + dir.file("x") + " | $(touch " + dir.file("y") + ")";
  REQUIRE(observer.publish("sr/exec/cmd", payload));
  REQUIRE(observer.wait_for_message("sr/exec/result", "got 8 one", 10s));
  CHECK(read_file(dir.file("args.txt")) ==
        "fixed\none\n;\ntouch\n" + dir.file("x") + "\n|\n$(touch\n" + dir.file("y") + ")\n");
  CHECK_FALSE(std::filesystem::exists(dir.file("x")));
  CHECK_FALSE(std::filesystem::exists(dir.file("y")));

  REQUIRE(observer.publish("sr/exec/cmd", "NA"));
  REQUIRE(observer.wait_for_message("sr/exec/result", "got 1", 10s));
  CHECK(read_file(dir.file("args.txt")) == "fixed\n");

  REQUIRE(observer.publish("sr/missing/cmd", "anything"));
  REQUIRE(observer.wait_for_message("sr/missing/result", "ERROR", 10s));
  CHECK(reporter->wait_for_output(
      "[Actuator_Missing] cannot run '/no/such/program': No such file or directory", 5s));
  // And the daemon goes on serving the other actuator.
  REQUIRE(observer.publish("sr/exec/cmd", "again"));
  REQUIRE(observer.wait_for_message("sr/exec/result", "got 2 again", 10s));
  // ExecActuator has no state: refresh publishes nothing for it.
  size_t results = observer.messages("sr/exec/result").size();
  observer.publish("sr/refresh", "");
  REQUIRE(reporter->wait_for_output("refresh requested", 5s));
  // A later command's result, delivered in order after anything the refresh
  // could have caused, is the only new result.
  observer.publish("sr/exec/cmd", "last");
  REQUIRE(observer.wait_for_message("sr/exec/result", "got 2 last", 10s));
  CHECK(observer.messages("sr/exec/result").size() == results + 1);
}

TEST_CASE("a slow ExecActuator command blocks neither MQTT nor other sensors") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  std::string slow = script(dir, "slow.sh", "touch '" + dir.file("started") + "'\nsleep 2\necho slow-done\n");
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + fmt::format(R"(
[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Poll = 1
Num-Dest = hb/num
Str-Dest = hb/str

[Actuator_Slow]
Class = exec.exec_actuator.ExecActuator
Connection = mqtt
Command = {}
CommandSrc = slow/cmd
ResultsDest = slow/result
)",
                                                                                slow));
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));
  REQUIRE(observer.publish("sr/slow/cmd", ""));
  REQUIRE(wait_until([&] { return std::filesystem::exists(dir.file("started")); }, 5s));
  size_t beats_at_start = observer.messages("sr/hb/num").size();
  // A refresh while the command runs is answered at once.
  observer.publish("sr/refresh", "");
  REQUIRE(observer.wait_for([&](auto& m) { return count_topic(m, "sr/hb/num") > beats_at_start; }, 1500ms));
  REQUIRE(observer.wait_for_message("sr/slow/result", "slow-done", 10s));
  auto messages = observer.messages();
  size_t result_at = index_of(messages, "sr/slow/result", "slow-done");
  size_t beats_during = 0;
  for (size_t i = 0; i < result_at; ++i)
    if (messages[i].topic == "sr/hb/num") ++beats_during;
  beats_during -= beats_at_start;
  // The refresh, plus at least one 1 s poll inside the 2 s the command took.
  CHECK(beats_during >= 2);
  CHECK(reporter->output().find("Connection_MQTT] disconnected") == std::string::npos);
}

TEST_CASE(
    "SIGTERM while a child hangs and ignores SIGTERM: the daemon exits within about a second, the group is "
    "gone") {
  become_subreaper();
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  std::string pid_file = dir.file("pid");
  std::string stubborn = script(dir, "stubborn.sh",
                                "trap '' TERM\nsleep 100 &\necho $$ > '" + pid_file + ".new'\nmv '" +
                                    pid_file + ".new' '" + pid_file + "'\nsleep 100\n");
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + fmt::format(R"(
[Sensor_Hang]
Class = exec.exec_sensor.ExecSensor
Connection = mqtt
Script = {}
Destination = hang
Poll = 60
)",
                                                                                stubborn));
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));
  REQUIRE(wait_until([&] { return read_pid(pid_file) > 0; }, 10s));
  pid_t pgid = read_pid(pid_file);
  REQUIRE(kill(-pgid, 0) == 0);

  auto signalled = std::chrono::steady_clock::now();
  reporter->signal(SIGTERM);
  auto code = reporter->wait_exit(5s);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - signalled;
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(took.count() < 1.5);
  CHECK(wait_until([&] { return group_gone(pgid); }, 5s));
  CHECK(observer.wait_for_message("sr/status", "OFFLINE", 5s));
  CHECK(observer.messages("sr/hang").empty());
}
