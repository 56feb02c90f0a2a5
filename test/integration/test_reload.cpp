// SIGHUP reload without a blip: unchanged sections keep running untouched
// (an unchanged MQTT connection keeps its session: no OFFLINE or ONLINE on
// the wire), changed, added and removed sections are rebuilt.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <csignal>

using namespace sr::test;

namespace {

std::string connection(int port) {
  return fmt::format(R"([Connection_MQTT]
Class = mqtt.mqtt_conn.MqttConnection
Name = mqtt
Host = 127.0.0.1
Port = {}
RootTopic = sr
Client = reload
)",
                     port);
}

// Generation g of the file: a fixed heartbeat, plus sensors that come, go
// and change with g.
std::string generation(int port, int g) {
  std::string text = connection(port) + R"(
[Sensor_Steady]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Poll = 1
Num-Dest = steady/num
Str-Dest = steady/str
)";
  if (g % 2 == 0)  // added on even generations, removed on odd ones
    text += fmt::format("\n[Sensor_Even]\nClass = sr_test.test.TestSensor\nConnection = mqtt\nPoll = 60\n"
                        "Destination = even\nValues = gen{}\n",
                        g);
  // Changed every generation: a new value each time.
  text += fmt::format("\n[Sensor_Changing]\nClass = sr_test.test.TestSensor\nConnection = mqtt\nPoll = 60\n"
                      "Destination = changing\nValues = v{}\n",
                      g);
  return text;
}

}  // namespace

TEST_CASE("20 reloads that add, remove and change sensors: no OFFLINE or ONLINE on the wire") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  std::string ini = dir.write("sr.ini", generation(broker.port(), 0));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(observer.wait_for_message("sr/changing", "v0", 10s));
  REQUIRE(count(observer.messages(), "sr/status", "ONLINE") == 1);

  for (int g = 1; g <= 20; ++g) {
    dir.write("sr.ini", generation(broker.port(), g));
    reporter.signal(SIGHUP);
    // The changed sensor was recreated: its first poll publishes the new value.
    REQUIRE_MESSAGE(observer.wait_for_message("sr/changing", fmt::format("v{}", g), 10s), "generation ", g);
    if (g % 2 == 0) REQUIRE(observer.wait_for_message("sr/even", fmt::format("gen{}", g), 10s));
  }
  REQUIRE(reporter.wait_for_output("reloaded:", 1s));

  auto messages = observer.messages();
  CHECK(count(messages, "sr/status", "ONLINE") == 1);
  CHECK(count(messages, "sr/status", "OFFLINE") == 0);
  // The steady heartbeat was never recreated: its uptime never went back.
  REQUIRE(observer.wait_for([](auto& m) {
    return std::any_of(m.begin(), m.end(), [](auto& r) { return r.topic == "sr/steady/num" && std::stol(r.payload) >= 2000; });
  }, 10s));
  long previous = -1;
  for (const auto& m : observer.messages()) {
    if (m.topic != "sr/steady/num") continue;
    CHECK(std::stol(m.payload) >= previous);
    previous = std::stol(m.payload);
  }
  std::string out = reporter.output();
  CHECK(out.find("connected to") == out.rfind("connected to"));  // one connection, never re-established
  CHECK(out.find("reloaded: 4 sections running (2 kept, 1 stopped, 2 created)") != std::string::npos);
  CHECK(out.find("reloaded: 3 sections running (2 kept, 2 stopped, 1 created)") != std::string::npos);

  reporter.signal(SIGTERM);
  REQUIRE(reporter.wait_exit(5s) == 0);
  REQUIRE(observer.wait_for_message("sr/status", "OFFLINE", 5s));
}

TEST_CASE("a reload that changes the connection recreates it and every section using it") {
  Broker broker;
  MqttClient observer(broker.port());
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#"));
  TempDir dir;
  std::string ini = dir.write("sr.ini", generation(broker.port(), 0));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), ini});
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));

  std::string changed = generation(broker.port(), 0);
  changed.replace(changed.find("Client = reload"), 15, "Client = reloaded");
  dir.write("sr.ini", changed);
  reporter.signal(SIGHUP);
  REQUIRE(reporter.wait_for_output("reloaded: 4 sections running (0 kept, 4 stopped, 4 created)", 10s));
  REQUIRE(observer.wait_for([](auto& m) { return count(m, "sr/status", "ONLINE") == 2; }, 10s));
  CHECK(count(observer.messages(), "sr/status", "OFFLINE") == 1);
}
