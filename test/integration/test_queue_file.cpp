// QueueFile with the real binary and a real mosquitto: readings queued
// during an outage survive a SIGKILL of the reporter and arrive once, in
// order, after the restart; a torn or foreign file costs one log line and
// nothing else.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

using namespace sr::test;

namespace {

std::string numbers(int from, int to) {
  std::string values;
  for (int i = from; i <= to; ++i) values += (values.empty() ? "" : ",") + std::to_string(i);
  return values;
}

std::string sequence_sensor(const std::string& destination, const std::string& values) {
  return fmt::format(R"(
[Sensor_{0}]
Class = sr_test.test.TestSensor
Connection = mqtt
Poll = 0.01
Destination = {0}
Values = {1}
Level = DEBUG
)",
                     destination, values);
}

std::vector<std::string> payloads(const MqttClient& observer, const std::string& topic) {
  std::vector<std::string> values;
  for (const auto& m : observer.messages(topic)) values.push_back(m.payload);
  return values;
}

std::vector<std::string> expected(int from, int to) {
  std::vector<std::string> values;
  for (int i = from; i <= to; ++i) values.push_back(std::to_string(i));
  return values;
}

long file_size(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<long>(st.st_size) : -1;
}

// A broker that is down, with a persistent observer session on sr/# (QoS 1)
// that will collect what the reporter sends once the broker is back.
struct Outage {
  Broker broker;
  TempDir dir;
  std::string queue_file = dir.file("mqtt.queue");

  Outage() {
    {
      MqttClient observer(broker.port(), ClientOptions{.id = "observer", .persistent = true});
      REQUIRE(observer.wait_connected(5s));
      REQUIRE(observer.subscribe("sr/#", 1));
    }
    broker.stop();
  }
  std::string connection() const { return mqtt_section(broker.port(), "QoS = 1\nQueueFile = " + queue_file); }
  // Runs a reporter that queues `values` on sr/seq and is killed (SIGKILL).
  void queue_then_kill(int count) {
    auto reporter = start_reporter(dir, connection() + sequence_sensor("seq", numbers(1, count)));
    REQUIRE(reporter->wait_for_output(fmt::format("publish seq = {}\n", count), 10s));
    // The log line comes before the write: the file's last record is the sign.
    const std::string last = "sr/seq" + std::to_string(count);
    REQUIRE(wait_until([&] { return read_file(queue_file).ends_with(last); }, 5s));
    reporter->signal(SIGKILL);
    reporter->wait_exit(5s);
  }
  // Restarts the reporter (its only new reading: sr/end = done, queued
  // behind the old ones), brings the broker back and returns an observer
  // that has seen sr/end.
  std::unique_ptr<MqttClient> restart_and_collect(std::unique_ptr<Process>& reporter) {
    reporter = start_reporter(dir, connection() + sequence_sensor("end", "done"));
    REQUIRE(reporter->wait_for_output("publish end = done", 10s));
    broker.start();
    auto observer = std::make_unique<MqttClient>(broker.port(), ClientOptions{.id = "observer", .persistent = true});
    REQUIRE(observer->wait_connected(5s));
    // QoS 1 through one connection: sr/end comes after every queued seq.
    REQUIRE(observer->wait_for_message("sr/end", "done", 15s));
    return observer;
  }
};

}  // namespace

TEST_CASE("QueueFile: SIGKILL during an outage; after the restart every reading arrives once, in order") {
  Outage outage;
  outage.queue_then_kill(50);
  CHECK(file_size(outage.queue_file) > 50 * 20);

  std::unique_ptr<Process> reporter;
  auto observer = outage.restart_and_collect(reporter);
  CHECK(reporter->output().find("QueueFile " + outage.queue_file +
                                ": 50 message(s) queued before the restart, sent once connected") != std::string::npos);
  CHECK(payloads(*observer, "sr/seq") == expected(1, 50));
  // Delivered and acknowledged: the file is back to its 8-byte header.
  CHECK(wait_until([&] { return file_size(outage.queue_file) == 8; }, 5s));
  reporter->signal(SIGTERM);
  CHECK(reporter->wait_exit(5s) == 0);
  // The broker was down at the start (one WARNING); the file raised none.
  CHECK_MESSAGE(occurrences(reporter->output(), "WARNING") == 1, reporter->output());
}

TEST_CASE("QueueFile: a file torn by a power cut loses only its last record, with one log line") {
  Outage outage;
  outage.queue_then_kill(10);
  const long whole = file_size(outage.queue_file);
  REQUIRE(truncate(outage.queue_file.c_str(), whole - 3) == 0);

  std::unique_ptr<Process> reporter;
  auto observer = outage.restart_and_collect(reporter);
  CHECK(occurrences(reporter->output(), "torn or corrupt record") == 1);
  CHECK(reporter->output().find("[Connection_MQTT] QueueFile " + outage.queue_file + ": cut off ") !=
        std::string::npos);
  CHECK(payloads(*observer, "sr/seq") == expected(1, 9));
}

TEST_CASE("QueueFile: a file that is not a queue is moved aside with one log line, and the reporter runs") {
  Outage outage;
  write_file(outage.queue_file, "{\"not\": \"a queue\"}\n");
  std::unique_ptr<Process> reporter;
  auto observer = outage.restart_and_collect(reporter);
  CHECK(occurrences(reporter->output(), "not a queue file") == 1);
  CHECK(read_file(outage.queue_file + ".corrupt") == "{\"not\": \"a queue\"}\n");
  CHECK(payloads(*observer, "sr/seq").empty());
}

TEST_CASE("QueueFile across a reload that replaces the connection: nothing lost, nothing twice") {
  Outage outage;
  const std::string ini = outage.connection() + sequence_sensor("seq", numbers(1, 5));
  auto reporter = start_reporter(outage.dir, ini);
  REQUIRE(wait_until([&] { return read_file(outage.queue_file).ends_with("sr/seq5"); }, 10s));
  // A changed connection section is stopped and created anew: the file
  // (its lock released first) carries the queue over.
  // (The sensor is created anew too; it now publishes only sr/end.)
  std::string changed = outage.connection() + sequence_sensor("end", "done");
  changed.replace(changed.find("ReconnectMax = 1"), 16, "ReconnectMax = 2");
  write_file(outage.dir.file("sr.ini"), changed);
  reporter->signal(SIGHUP);
  REQUIRE(reporter->wait_for_output("reloaded:", 10s));
  CHECK(reporter->output().find("QueueFile " + outage.queue_file + ": 5 message(s) queued before the restart") !=
        std::string::npos);
  outage.broker.start();
  MqttClient observer(outage.broker.port(), ClientOptions{.id = "observer", .persistent = true});
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.wait_for_message("sr/end", "done", 15s));
  CHECK(wait_until([&] { return file_size(outage.queue_file) == 8; }, 5s));
  CHECK(payloads(observer, "sr/seq") == expected(1, 5));
  reporter->signal(SIGTERM);
  CHECK(reporter->wait_exit(5s) == 0);
}

TEST_CASE("QueueFile in a directory that does not exist: refused at start and by --check, naming line, section and key") {
  Broker broker;
  TempDir dir;
  const std::string missing = dir.file("nowhere");
  auto reporter = start_reporter(dir, mqtt_section(broker.port(), "QueueFile = " + missing + "/mqtt.queue") +
                                          sequence_sensor("seq", "1"));
  CHECK(reporter->wait_exit(10s) == 78);  // EX_CONFIG
  const std::string expected = "sr.ini:10: [Connection_MQTT] QueueFile: directory " + missing + " does not exist";
  CHECK(reporter->output().find(expected) != std::string::npos);
  auto check = run({binary(), "--plugin-dir", test_plugin_dir(), "--check", dir.file("sr.ini")}, {}, 10s);
  CHECK(check.exit_code == 78);
  CHECK(check.err.find(expected) != std::string::npos);
}
