// The host's Accept, AcceptPattern and MaxRate (issue 18, docs/security.md)
// in the real daemon against a private mosquitto: a refused command never
// reaches the actuator (ExecActuator, MqttActuator, any class), is logged as
// one line naming the source and the section however many arrive, and is
// counted in STATUS=; commands over MaxRate are dropped and counted; a bad
// value is a --check error with its file:line; --describe lists the keys.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/notify_socket.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>

using namespace sr::test;

namespace {

// An actuator on <RootTopic>/<source> that appends each command to
// dir/<file> and has no limits: commands sent to it after others on the same
// link prove that those were handled first.
std::string marker_actuator(const TempDir& dir) {
  return fmt::format(R"(
[Actuator_Marker]
Class = sr_test.test.TestActuator
Connection = mqtt
CommandSrc = marker
Output = {}
)",
                     dir.file("marker.txt"));
}

// Publishes `marker` to sr/marker and waits until the marker actuator has
// it: everything published before on the same client has been handled.
void sync(MqttClient& client, const TempDir& dir, const std::string& marker) {
  REQUIRE(client.publish("sr/marker", marker));
  REQUIRE(wait_until([&] { return read_file(dir.file("marker.txt")).find(marker) != std::string::npos; }, 10s));
}

}  // namespace

TEST_CASE("ExecActuator with Accept runs listed payloads only; refusals are one log line and a count") {
  Broker broker;
  MqttClient commander(broker.port());
  REQUIRE(commander.wait_connected(5s));
  REQUIRE(commander.subscribe("sr/#"));
  TempDir dir;
  const std::string door = write_script(dir, "door.sh", "printf '%s\\n' \"$*\" >> '" + dir.file("ran.txt") + "'\necho \"did $*\"\n");
  const std::string ini = dir.write("sr.ini", mqtt_section(broker.port()) + fmt::format(R"(
[Actuator_Door]
Class = exec.exec_actuator.ExecActuator
Connection = mqtt
Command = {}
CommandSrc = door
ResultsDest = door/result
Accept = open, close
Level = DEBUG
)",
                                                                                      door) +
                                                    marker_actuator(dir));
  NotifySocket systemd(dir.file("notify"));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), ini}, {"NOTIFY_SOCKET=" + dir.file("notify")});
  REQUIRE(commander.wait_for_message("sr/status", "ONLINE", 10s));

  REQUIRE(commander.publish("sr/door", "open"));
  REQUIRE(commander.wait_for_message("sr/door/result", "did open", 10s));
  for (const char* refused : {"reboot", "open ", "OPEN", "open; reboot", "open\nclose", ""})
    REQUIRE(commander.publish("sr/door", refused));
  REQUIRE(commander.publish("sr/door", "close"));
  REQUIRE(commander.wait_for_message("sr/door/result", "did close", 10s));
  // The refused ones came first on the same link: they were handled, and none ran.
  CHECK(read_file(dir.file("ran.txt")) == "open\nclose\n");
  CHECK(count_topic(commander.messages(), "sr/door/result") == 2);

  const std::string line =
      "WARNING [Actuator_Door] refused a command from door on [Connection_MQTT]: its payload is not in Accept";
  CHECK(occurrences(reporter.output(), line) == 1);
  // The payloads only at DEBUG, made printable.
  CHECK(reporter.output().find("[Actuator_Door] the refused payload: 'open\\x0aclose'") != std::string::npos);
  REQUIRE(systemd.wait_for(has("kept from actuators: 6 refused command(s), 0 over MaxRate"), 10s));

  reporter.signal(SIGTERM);
  REQUIRE(reporter.wait_exit(10s) == 0);
  CHECK(reporter.output().find("[Actuator_Door] previous message repeated 5 times: refused a command from door") !=
        std::string::npos);
}

TEST_CASE("MqttActuator with AcceptPattern forwards matching commands only, whole payloads") {
  Broker broker;
  MqttClient commander(broker.port());
  REQUIRE(commander.wait_connected(5s));
  REQUIRE(commander.subscribe("sr/status"));
  REQUIRE(commander.subscribe("cmnd/#"));
  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(broker.port()) + R"(
[Actuator_Dimmer]
Class = mqtt.mqtt_actuator.MqttActuator
Connection = mqtt
CommandSrc = dimmer
Topic = cmnd/dimmer/Dimmer
AcceptPattern = [0-9]|[1-9][0-9]|100
)" + marker_actuator(dir));
  REQUIRE(commander.wait_for_message("sr/status", "ONLINE", 10s));
  for (const char* payload : {"0", "101", "55", "5 5", "-1", "100\n", "abc", "100"}) REQUIRE(commander.publish("sr/dimmer", payload));
  sync(commander, dir, "after dimmer");
  REQUIRE(commander.wait_for_message("cmnd/dimmer/Dimmer", "100", 10s));
  std::vector<std::string> forwarded;
  for (const auto& m : commander.messages("cmnd/dimmer/Dimmer")) forwarded.push_back(m.payload);
  CHECK(forwarded == std::vector<std::string>{"0", "55", "100"});
  CHECK(occurrences(reporter->output(), "[Actuator_Dimmer] refused a command from dimmer on [Connection_MQTT]: its "
                                        "payload is not in AcceptPattern") == 1);
}

TEST_CASE("MaxRate: the excess is dropped and counted, other actuators are unaffected") {
  Broker broker;
  MqttClient commander(broker.port());
  REQUIRE(commander.wait_connected(5s));
  REQUIRE(commander.subscribe("sr/status"));
  TempDir dir;
  // One command per 100 s: deterministic on however slow a machine.
  const std::string ini = dir.write("sr.ini", mqtt_section(broker.port()) + fmt::format(R"(
[Actuator_Siren]
Class = sr_test.test.TestActuator
Connection = mqtt
CommandSrc = siren
Output = {}
MaxRate = 0.01
)",
                                                                                      dir.file("siren.txt")) +
                                                    marker_actuator(dir));
  NotifySocket systemd(dir.file("notify"));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), ini}, {"NOTIFY_SOCKET=" + dir.file("notify")});
  REQUIRE(commander.wait_for_message("sr/status", "ONLINE", 10s));
  for (int i = 1; i <= 5; ++i) REQUIRE(commander.publish("sr/siren", fmt::format("ON{}", i)));
  sync(commander, dir, "after siren");
  CHECK(read_file(dir.file("siren.txt")) == "siren ON1\n");
  CHECK(occurrences(reporter.output(),
                    "WARNING [Actuator_Siren] dropped a command from siren on [Connection_MQTT]: more than MaxRate "
                    "0.01 per second") == 1);
  REQUIRE(systemd.wait_for(has("kept from actuators: 0 refused command(s), 4 over MaxRate"), 10s));
}

TEST_CASE("Accept applies to commands from a LocalConnection rule too") {
  TempDir dir;
  const std::string ini = dir.write("sr.ini", fmt::format(R"([Connection_Local]
Class = local.local_conn.LocalConnection
Name = local

[Sensor_Values]
Class = sr_test.test.TestSensor
Connection = local
Poll = 0.05
Destination = relay
Values = ON,melt,OFF

[Actuator_Relay]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = relay
Output = {}
Accept = ON, OFF
)",
                                                          dir.file("relay.txt")));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(reporter.wait_for_output("[Actuator_Relay] refused a command from relay on [Connection_Local]", 10s));
  REQUIRE(wait_until([&] { return read_file(dir.file("relay.txt")).find("relay OFF") != std::string::npos; }, 10s));
  CHECK(read_file(dir.file("relay.txt")).find("melt") == std::string::npos);
}

TEST_CASE("--check: a bad Accept, AcceptPattern or MaxRate is an error naming file, line, section and key") {
  TempDir dir;
  const std::string ini = dir.write("bad.ini", R"([Connection_Local]
Class = local.local_conn.LocalConnection
Name = local

[Actuator_A]
Class = exec.exec_actuator.ExecActuator
Connection = local
Command = /bin/true
CommandSrc = a
Accept = ON,,OFF
AcceptPattern = ON)|(.*
MaxRate = 0

[Actuator_B]
Class = exec.exec_actuator.ExecActuator
Connection = local
Command = /bin/true
CommandSrc = b
AcceptPattern = .*?
MaxRate = fast
)");
  auto result = run({binary(), "--check", ini});
  CHECK(result.exit_code == 78);
  const std::string expected[] = {
      ini + ":10: [Actuator_A] Accept: item 2 of 3 is empty: write one payload between each two commas",
      ini + ":11: [Actuator_A] AcceptPattern: 'ON)|(.*' is not a POSIX extended regular expression: unmatched ) at "
            "offset 2",
      ini + ":12: [Actuator_A] MaxRate: 0 is not a rate: write commands per second, greater than 0 (0.1 is one "
            "command every 10 s); leave MaxRate out for no limit",
      ini + ":19: [Actuator_B] AcceptPattern: '?' at offset 2 repeats a repetition, which POSIX leaves undefined "
            "(and a run of them takes exponential time to compile): write a group, (a+)*, or one operator",
      ini + ":20: [Actuator_B] MaxRate: 'fast' is not a number",
  };
  for (const auto& line : expected) CHECK_MESSAGE(result.err.find(line + "\n") != std::string::npos, result.err);
}

TEST_CASE("--describe lists Accept, AcceptPattern and MaxRate for every actuator class") {
  for (const char* actuator : {"ExecActuator", "MqttActuator", "TestActuator"}) {
    auto result = run({binary(), "--plugin-dir", test_plugin_dir(), "--describe", actuator});
    REQUIRE(result.exit_code == 0);
    for (const char* key : {"  Accept ", "  AcceptPattern ", "  MaxRate "})
      CHECK_MESSAGE(result.out.find(key) != std::string::npos, actuator << " " << key << "\n" << result.out);
  }
  auto sensor = run({binary(), "--describe", "Heartbeat"});
  CHECK(sensor.out.find("AcceptPattern") == std::string::npos);
}
