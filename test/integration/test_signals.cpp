// Signals on the real binary: SIGTERM/SIGINT stop cleanly, SIGHUP reloads or
// keeps the running configuration, a slow poll is skipped with one warning.
#include "support/process.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>

using namespace sr::test;

namespace {

std::string heartbeat_config(const TempDir& dir, const std::string& extra = "") {
  return fmt::format(R"([Connection1]
Class = local.local_conn.LocalConnection
Name = local

[Actuator1]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = beat
Output = {}/beat.txt

[Sensor1]
Class = heartbeat.heartbeat.Heartbeat
Connection = local
Poll = 1
Num-Dest = beat
Str-Dest = beat_str
{})",
                     dir.path(), extra);
}

std::vector<long> beats(const TempDir& dir) {
  std::vector<long> values;
  std::string text = read_file(dir.file("beat.txt"));
  size_t pos = 0;
  while ((pos = text.find("beat ", pos)) != std::string::npos) {
    pos += 5;
    values.push_back(std::stol(text.substr(pos)));
  }
  return values;
}

}  // namespace

TEST_CASE("SIGTERM and SIGINT stop the daemon cleanly with exit code 0") {
  for (int signo : {SIGTERM, SIGINT}) {
    TempDir dir;
    Process daemon({binary(), "--plugin-dir", test_plugin_dir(), dir.write("sr.ini", heartbeat_config(dir))});
    REQUIRE(daemon.wait_for_output("running 3 sections", 10s));
    daemon.signal(signo);
    auto code = daemon.wait_exit(5s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(daemon.output().find(signo == SIGTERM ? "SIGTERM: stopping" : "SIGINT: stopping") != std::string::npos);
    CHECK(daemon.output().find("INFO    stopped") != std::string::npos);
  }
}

TEST_CASE("SIGHUP with a broken file logs every problem and keeps the running configuration") {
  TempDir dir;
  std::string ini = dir.write("sr.ini", heartbeat_config(dir));
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(wait_until([&] { return beats(dir).size() >= 2; }, 10s));

  dir.write("sr.ini", heartbeat_config(dir, "Retain = maybe\nBogus\n"));
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_output("reload failed with 2 errors; the running configuration stays as it was", 10s));
  std::string out = daemon.output();
  CHECK(out.find(fmt::format("{}:17: [Sensor1] Retain: 'maybe' is not a boolean", ini)) != std::string::npos);
  CHECK(out.find(fmt::format("{}:18: expected '[section]' or 'key = value'", ini)) != std::string::npos);

  // The old heartbeat keeps counting from its original start: not reset.
  size_t seen = beats(dir).size();
  REQUIRE(wait_until([&] { return beats(dir).size() >= seen + 1; }, 10s));
  auto values = beats(dir);
  for (size_t i = 1; i < values.size(); ++i) CHECK(values[i] > values[i - 1]);
  CHECK(values.back() >= 2000);
  CHECK(out.find("reloaded:") == std::string::npos);

  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit(5s) == 0);
}

TEST_CASE("SIGHUP with a valid file rebuilds the changed sections and keeps the others") {
  TempDir dir;
  std::string ini = dir.write("sr.ini", heartbeat_config(dir));
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(wait_until([&] { return beats(dir).size() >= 2; }, 10s));

  // Rename the heartbeat's destination: the new section must be the one running.
  std::string next = heartbeat_config(dir);
  next.replace(next.find("Num-Dest = beat"), 15, "Num-Dest = other");
  dir.write("sr.ini", next);
  daemon.signal(SIGHUP);
  REQUIRE(daemon.wait_for_output("reloaded: 3 sections running (2 kept, 1 stopped, 1 created)", 10s));
  size_t lines = beats(dir).size();
  // After the reload nothing goes to `beat` any more.
  daemon.signal(SIGTERM);
  REQUIRE(daemon.wait_exit(5s) == 0);
  CHECK(beats(dir).size() == lines);
}

TEST_CASE("a poll still running when the next is due is skipped with one warning") {
  TempDir dir;
  std::string ini = dir.write("sr.ini", fmt::format(R"([Sensor1]
Class = sr_test.test.TestSensor
Poll = 0.2
PollDuration = 0.7
Destination = slow
Values = 1,2,3
)"));
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(daemon.wait_for_output("the slow poll ended", 10s));
  std::string out = daemon.output();
  size_t end = out.find("the slow poll ended");
  size_t warnings = 0;
  for (size_t pos = 0; (pos = out.find("still running", pos)) != std::string::npos && pos < end; ++pos) ++warnings;
  CHECK(warnings == 1);
  // 0.7 s of poll at 0.2 s intervals: 3 ticks skipped (0.2, 0.4, 0.6).
  CHECK(out.find("the slow poll ended; 3 poll(s) were skipped") != std::string::npos);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit(5s) == 0);
}
