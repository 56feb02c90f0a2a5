// End to end: the real binary wires a heartbeat and a test sensor through
// LocalConnection rules to test actuators, which write down exactly what
// they receive.
#include "support/process.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>

using namespace sr::test;

namespace {

size_t count_lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

std::string config(const TempDir& dir) {
  return fmt::format(R"([Logging]
Level = INFO
File = {0}/sr.log

[Connection_Plain]
Class = local.local_conn.LocalConnection
Name = plain

[Connection_Rule]
Class = local.local_conn.LocalConnection
Name = rule
OnGT = 10

[Actuator_Heart]
Class = sr_test.test.TestActuator
Connection = plain
CommandSrc = heartbeat/str
Output = {0}/heart.txt

[Actuator_Temp]
Class = sr_test.test.TestActuator
Connection = rule
CommandSrc = temp
Output = {0}/temp.txt

[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = plain
Poll = 1
Num-Dest = heartbeat/num
Str-Dest = heartbeat/str

[Sensor_Temp]
Class = sr_test.test.TestSensor
Connection = rule
Poll = 0.05
Destination = temp
Values = 5,15,10,25,abc,0,TOGGLE
Level = DEBUG
)",
                     dir.path());
}

}  // namespace

TEST_CASE("heartbeat and a rule-driven sensor reach the actuators with exactly the expected commands") {
  TempDir dir;
  std::string ini = dir.write("sr.ini", config(dir));
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini});

  INFO("daemon output:\n", daemon.output());
  // 7 values at Poll 0.05: done well within the deadline.
  REQUIRE(wait_until([&] { return count_lines(read_file(dir.file("temp.txt"))) >= 6; }, 10s));
  // OnGT = 10: 5 OFF, 15 ON, 10 OFF (not greater), 25 ON, abc refused, 0 OFF, TOGGLE passes.
  CHECK(read_file(dir.file("temp.txt")) == "temp OFF\ntemp ON\ntemp OFF\ntemp ON\ntemp OFF\ntemp TOGGLE\n");
  CHECK(daemon.wait_for_output("[Connection_Rule] reading 'abc' for temp is not a number; nothing forwarded", 5s));

  // Heartbeat: first poll at start, the next one second later; no rule on
  // the plain connection, so the string passes unchanged.
  REQUIRE(wait_until([&] { return count_lines(read_file(dir.file("heart.txt"))) >= 2; }, 10s));
  std::string heart = read_file(dir.file("heart.txt"));
  CHECK(heart.substr(0, 46) == "heartbeat/str 00:00:00\nheartbeat/str 00:00:01\n");

  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(daemon.output().find("stopped") != std::string::npos);

  // [Logging] File gets the same lines; Level = DEBUG applies to its section only.
  std::string log = read_file(dir.file("sr.log"));
  CHECK(log.find("INFO    running 6 sections") != std::string::npos);
  CHECK(log.find("DEBUG   [Sensor_Temp] publish temp = 5") != std::string::npos);
  CHECK(log.find("DEBUG   [Sensor_Heartbeat]") == std::string::npos);
  CHECK(log.find("INFO    stopped") != std::string::npos);
}

TEST_CASE("a sensor that throws on every poll is logged and the others keep running") {
  TempDir dir;
  std::string ini = dir.write("sr.ini", fmt::format(R"([Connection1]
Class = local.local_conn.LocalConnection
Name = local

[Actuator1]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = good
Output = {0}/good.txt

[Sensor_Bad]
Class = sr_test.test.TestSensor
Connection = local
Poll = 0.05
Destination = bad
Values = 1
ThrowOnPoll = yes

[Sensor_Good]
Class = sr_test.test.TestSensor
Connection = local
Poll = 0.05
Destination = good
Values = a,b,c
)",
                                                     dir.path()));
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(wait_until([&] { return count_lines(read_file(dir.file("good.txt"))) >= 3; }, 10s));
  CHECK(read_file(dir.file("good.txt")) == "good a\ngood b\ngood c\n");
  CHECK(daemon.wait_for_output("[Sensor_Bad] poll failed: test sensor failure", 5s));
  // Identical errors are rate-limited: three polls later there is still one
  // line, and the count comes out when the run ends (here: at exit).
  daemon.signal(SIGTERM);
  REQUIRE(daemon.wait_exit(10s) == 0);
  std::string out = daemon.output();
  size_t first = out.find("poll failed: test sensor failure");
  REQUIRE(first != std::string::npos);
  size_t repeats = 0;
  for (size_t pos = 0; (pos = out.find("ERROR   [Sensor_Bad] poll failed", pos)) != std::string::npos; ++pos)
    ++repeats;
  CHECK(repeats == 1);
  CHECK(out.find("[Sensor_Bad] previous message repeated") != std::string::npos);
}
