// Malformed payloads (binary, 1 MiB, empty, invalid UTF-8) sent to every
// actuator class this machine can create, over MQTT and through a
// LocalConnection rule: each is handled (run, recorded or refused with one
// log line) and the rest of the daemon is unaffected.
//
// RpiGpioActuator needs a GPIO chip; its command parser is covered with the
// fake backend in test/unit/test_gpio.cpp ("a bad command is logged and
// changes nothing") and on a real gpio-sim chip by the VM tier (test/vm).
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

using namespace sr::test;
using namespace std::chrono_literals;

namespace {

struct Payload {
  const char* name;
  std::string bytes;
};

// Every byte value but NUL (a NUL cannot be an exec argument; see below).
std::string binary_without_nul() {
  std::string bytes;
  for (int b = 1; b < 256; ++b) bytes += static_cast<char>(b);
  return bytes;
}
const std::string kMiB(1024 * 1024, 'x');
const std::string kInvalidUtf8 = "\xC3\x28 \xF0\x28\x8C\x28 \xFF\xFE\xFD";

std::vector<Payload> hostile_payloads() {
  return {{"binary", binary_without_nul()}, {"1 MiB", kMiB}, {"empty", ""}, {"invalid UTF-8", kInvalidUtf8}};
}

std::string payload_connection(int port) {
  return fmt::format(R"([Connection_MQTT]
Class = mqtt.mqtt_conn.MqttConnection
Name = mqtt
Host = 127.0.0.1
Port = {}
RootTopic = sr
Client = payloads
QoS = 1
ReconnectMin = 0.2
ReconnectMax = 1
)",
                     port);
}

std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
  return write_script(dir, name, body);
}

// What ExecActuator makes of a payload: its whitespace-separated words
// (the C locale's isspace), each as one argument.
std::vector<std::string> words(const std::string& payload) {
  std::vector<std::string> out;
  std::string word;
  for (char c : payload) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (line.find(needle) != std::string::npos) out.push_back(line);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::vector<std::string> payloads_on(const std::vector<Received>& messages, const std::string& topic) {
  std::vector<std::string> out;
  for (const auto& m : messages)
    if (m.topic == topic) out.push_back(m.payload);
  return out;
}

// One clear log line: printable (no control bytes that split or forge
// lines), valid UTF-8, and short enough to read.
bool clear_line(const std::string& line) {
  if (line.size() > 1024) return false;
  for (size_t i = 0; i < line.size();) {
    auto c = static_cast<unsigned char>(line[i]);
    if (c < 0x20 || c == 0x7F) return false;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > line.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(line[i + k]) >> 6) != 0x2) return false;
    i += len;
  }
  return true;
}

}  // namespace

TEST_CASE("hostile payloads over MQTT reach TestActuator byte for byte and ExecActuator as literal words") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#", 1));
  TempDir dir;
  // Writes its arguments one per line to args.bin (words never hold a newline) and prints their number.
  std::string args_script = script(dir, "args.sh", fmt::format("printf '%s\\n' \"$@\" >> {}/args.bin\necho \"$#\"\n", dir.path()));
  auto reporter = std::make_unique<Process>(std::vector<std::string>{
      binary(), "--plugin-dir", test_plugin_dir(), dir.write("sr.ini", payload_connection(broker.port()) + fmt::format(R"(
[Actuator_Record]
Class = sr_test.test.TestActuator
Connection = mqtt
CommandSrc = rec
StateDest = rec/state
Output = {0}/rec.txt

[Actuator_Exec]
Class = exec.exec_actuator.ExecActuator
Connection = mqtt
Command = {1}
CommandSrc = exec
ResultsDest = exec/result

[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Poll = 1
Num-Dest = hb/num
Str-Dest = hb/str
)",
                                                                                                     dir.path(), args_script))});
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));

  auto payloads = hostile_payloads();
  for (const auto& p : payloads) {
    REQUIRE(observer.publish("sr/rec", p.bytes, 1));
    REQUIRE(observer.publish("sr/exec", p.bytes, 1));
  }
  // A plain command after the hostile ones: both actuators still work.
  REQUIRE(observer.publish("sr/rec", "ON", 1));
  REQUIRE(observer.publish("sr/exec", "still here", 1));
  REQUIRE(observer.wait_for_message("sr/rec/state", "ON", 15s));
  REQUIRE(observer.wait_for([](auto& m) { return payloads_on(m, "sr/exec/result").size() == 5; }, 15s));

  SUBCASE("TestActuator records every payload exactly and publishes it as its state") {
    std::string expected_file;
    for (const auto& p : payloads) expected_file += "rec " + p.bytes + "\n";
    expected_file += "rec ON\n";
    CHECK(read_file(dir.file("rec.txt")) == expected_file);
    // An empty command leaves no state to publish (TestActuator's rule).
    CHECK(payloads_on(observer.messages(), "sr/rec/state") ==
          std::vector<std::string>{payloads[0].bytes, kMiB, kInvalidUtf8, "ON"});
  }
  SUBCASE("ExecActuator runs the words as literal arguments; a 1 MiB word is refused with one error line") {
    // binary: its words; 1 MiB: execve refuses (E2BIG), ERROR; empty: no
    // argument; invalid UTF-8: three words, bytes untouched.
    CHECK(payloads_on(observer.messages(), "sr/exec/result") ==
          std::vector<std::string>{std::to_string(words(payloads[0].bytes).size()), "ERROR", "0", "3", "2"});
    std::string expected_args;
    // printf with no argument still prints its format once: the empty command's line.
    for (const auto& payload : {payloads[0].bytes, std::string(), kInvalidUtf8, std::string("still here")}) {
      for (const auto& w : words(payload)) expected_args += w + '\n';
      if (words(payload).empty()) expected_args += '\n';
    }
    CHECK(read_file(dir.file("args.bin")) == expected_args);
    std::string out = reporter->output();
    CHECK(lines_with(out, "ERROR").size() == 1);
    CHECK(lines_with(out, "[Actuator_Exec] cannot run").size() == 1);
    CHECK(out.find(fmt::format("ERROR   [Actuator_Exec] cannot run '{}': Argument list too long\n", args_script)) !=
          std::string::npos);
  }
  SUBCASE("the rest keeps running: heartbeats go on, nothing else is logged, SIGTERM exits 0") {
    size_t beats = observer.messages("sr/hb/num").size();
    REQUIRE(observer.wait_for([&](auto& m) { return payloads_on(m, "sr/hb/num").size() > beats; }, 5s));
    std::string out = reporter->output();
    CHECK(occurrences(out, "WARNING") == 0);
    CHECK(occurrences(out, "ERROR") == 1);  // the 1 MiB word above
    reporter->signal(SIGTERM);
    CHECK(reporter->wait_exit(10s) == 0);
    CHECK(observer.wait_for_message("sr/status", "OFFLINE", 5s));
  }
}

TEST_CASE("hostile readings under a LocalConnection OnGT rule are refused and forward nothing") {
  TempDir dir;
  // Readings come from ExecSensor scripts: the only sensor whose output can
  // carry arbitrary bytes. Stdout is capped at 64 KiB by ExecSensor.
  std::string sections;
  struct Reading {
    std::string name;
    std::string printf_arg;  // what the script prints, as a printf format
  };
  std::vector<Reading> readings{
      {"empty", ""},
      {"utf8", "\\303\\050\\377\\376"},  // invalid UTF-8
      {"big", ""},                       // 1 MiB, printed by head -c
  };
  for (const auto& r : readings) {
    std::string body = r.name == "big" ? "head -c 1048576 /dev/zero | tr '\\0' 'x'\n"
                                       : fmt::format("printf '{}'\n", r.printf_arg);
    std::string path = script(dir, r.name + ".sh", body);
    sections += fmt::format(
        "\n[Sensor_{0}]\nClass = exec.exec_sensor.ExecSensor\nConnection = rule\nScript = {1}\nDestination = "
        "{0}\nPoll = 60\n\n[Actuator_{0}]\nClass = sr_test.test.TestActuator\nConnection = rule\nCommandSrc = "
        "{0}\nOutput = {2}/{0}.txt\n",
        r.name, path, dir.path());
  }
  std::string ini = dir.write("sr.ini", fmt::format(R"([Connection_Rule]
Class = local.local_conn.LocalConnection
Name = rule
OnGT = 10

[Actuator_Good]
Class = sr_test.test.TestActuator
Connection = rule
CommandSrc = good
Output = {0}/good.txt

[Sensor_Good]
Class = sr_test.test.TestSensor
Connection = rule
Poll = 0.05
Destination = good
Values = 5,15
{1})",
                                                    dir.path(), sections));
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(daemon.wait_for_output("[Connection_Rule] reading '' for empty is not a number; nothing forwarded\n", 10s));
  REQUIRE(daemon.wait_for_output(" for utf8 is not a number; nothing forwarded\n", 10s));
  REQUIRE(daemon.wait_for_output(" for big is not a number; nothing forwarded\n", 10s));
  REQUIRE(wait_until([&] { return read_file(dir.file("good.txt")) == "good OFF\ngood ON\n"; }, 10s));
  std::string out = daemon.output();
  // One error line per refused reading, nothing forwarded to their actuators.
  CHECK(lines_with(out, "[Connection_Rule] reading").size() == 3);
  for (const auto& r : readings) CHECK(read_file(dir.file(r.name + ".txt")) == "");
  CHECK(out.find(fmt::format("WARNING [Sensor_big] '{}/big.sh' wrote 1048576 bytes to stdout; published the first 65536, dropped 983040", dir.path())) !=
        std::string::npos);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit(10s) == 0);
}

// Payload text quoted in a log line goes through sdk::printable (control
// bytes and invalid UTF-8 as \xNN, cut after 64 bytes), and an ExecActuator
// refuses a payload with a NUL byte instead of running a cut-short argument.
TEST_CASE("a hostile payload in a log line is escaped and bounded, a NUL never reaches exec silently") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#", 1));
  TempDir dir;
  std::string args_script = script(dir, "args.sh", fmt::format("printf '%s\\n' \"$@\" >> {}/args.bin\necho \"$#\"\n", dir.path()));
  std::string binary_reading = script(dir, "binary.sh", "printf 'A\\nFORGED\\033[31m\\001B'\n");
  std::string big_reading = script(dir, "big.sh", "head -c 100000 /dev/zero | tr '\\0' 'y'\n");
  std::string ini = dir.write("sr.ini", payload_connection(broker.port()) + fmt::format(R"(
[Connection_Rule]
Class = local.local_conn.LocalConnection
Name = rule
OnGT = 10

[Actuator_Exec]
Class = exec.exec_actuator.ExecActuator
Connection = mqtt
Command = {0}
CommandSrc = exec
ResultsDest = exec/result

[Sensor_Binary]
Class = exec.exec_sensor.ExecSensor
Connection = rule
Script = {1}
Destination = binary
Poll = 60

[Sensor_Big]
Class = exec.exec_sensor.ExecSensor
Connection = rule
Script = {2}
Destination = big
Poll = 60
)",
                                                                                  args_script, binary_reading,
                                                                                  big_reading));
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));
  REQUIRE(daemon.wait_for_output(" for binary is not a number; nothing forwarded\n", 10s));
  REQUIRE(daemon.wait_for_output(" for big is not a number; nothing forwarded\n", 10s));

  // A payload with a NUL byte: the argument cannot be passed as sent, so the
  // command must not run with a truncated one; ERROR and one error line.
  REQUIRE(observer.publish("sr/exec", std::string("rm\0-rf", 6) + " ok", 1));
  REQUIRE(observer.wait_for([](auto& m) { return payloads_on(m, "sr/exec/result").size() == 1; }, 10s));
  CHECK(payloads_on(observer.messages(), "sr/exec/result") == std::vector<std::string>{"ERROR"});
  CHECK(read_file(dir.file("args.bin")) == "");
  CHECK(lines_with(daemon.output(), "[Actuator_Exec]").size() == 1);

  std::string out = daemon.output();
  // The reading "A\nFORGED..." must not start a line of its own: it appears
  // only inside quotes (the refresh after connecting may log it a second
  // time, as a "previous message repeated" count).
  REQUIRE_FALSE(lines_with(out, "FORGED").empty());
  for (const auto& line : lines_with(out, "FORGED")) CHECK(line.find("reading 'A\\x0aFORGED\\x1b[31m\\x01B'") != std::string::npos);
  CHECK(out.find("\nFORGED") == std::string::npos);
  for (const auto& line : lines_with(out, "[Connection_Rule]")) {
    CAPTURE(line.substr(0, 200));
    CHECK(clear_line(line));
  }
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit(10s) == 0);
}
