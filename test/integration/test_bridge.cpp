// Past one broker (issue 17 part 3, docs/deployment.md): the reporter talks
// to an edge mosquitto on its board, which bridges RootTopic to a central
// mosquitto. Readings, the retained status, the Last Will and refresh cross
// the bridge; a central outage loses nothing, because the edge queues for
// the bridge (cleansession false, QoS 1).
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>
#include <set>
#include <string>
#include <vector>

using namespace sr::test;

namespace {

// The edge broker's bridge, as docs/deployment.md shows it.
std::string bridge_to(int central_port) {
  return fmt::format(R"(
connection central
address 127.0.0.1:{}
topic sr/# both 1
cleansession false
remote_clientid edge-board-1
try_private true
notifications false
restart_timeout 1 2
)",
                     central_port);
}

std::string numbers(int from, int to) {
  std::string values;
  for (int i = from; i <= to; ++i) values += (values.empty() ? "" : ",") + std::to_string(i);
  return values;
}

}  // namespace

TEST_CASE("an edge broker bridged to a central one: status, readings, refresh and the Will cross; an outage of the "
          "central broker loses no reading") {
  Broker central;
  MqttClient observer(central.port(), ClientOptions{.id = "central-observer", .persistent = true});
  REQUIRE(observer.wait_connected(5s));
  REQUIRE(observer.subscribe("sr/#", 1));
  Broker edge(bridge_to(central.port()));

  TempDir dir;
  auto reporter = start_reporter(dir, mqtt_section(edge.port(), "QoS = 1") + fmt::format(R"(
[Sensor_Seq]
Class = sr_test.test.TestSensor
Connection = mqtt
Poll = 0.1
Destination = seq
Values = {}
Level = DEBUG
)",
                                                                                         numbers(1, 40)));
  // Status and readings, through the edge and the bridge.
  REQUIRE(observer.wait_for_message("sr/status", "ONLINE", 10s));
  REQUIRE(observer.wait_for_message("sr/seq", "3", 10s));

  // The central broker goes away while the reporter keeps publishing to the edge.
  central.stop();
  REQUIRE(reporter->wait_for_output("publish seq = 20\n", 10s));
  central.start();
  // The bridge reconnects (restart_timeout) and sends what the edge queued.
  REQUIRE(observer.wait_for_message("sr/seq", "40", 20s));
  std::vector<std::string> order;
  std::set<std::string> seen;
  for (const auto& m : observer.messages("sr/seq"))
    if (seen.insert(m.payload).second) order.push_back(m.payload);
  std::vector<std::string> expected;
  for (int i = 1; i <= 40; ++i) expected.push_back(std::to_string(i));
  CHECK(order == expected);  // none lost, first arrivals in order (QoS 1 may repeat one)
  CHECK(reporter->output().find("connection to") == std::string::npos);  // the reporter never noticed

  // Refresh from the central side crosses the bridge the other way.
  observer.clear();
  REQUIRE(observer.publish("sr/refresh", "", 1));
  CHECK(observer.wait_for_message("sr/seq", "40", 10s));

  // The Will: the edge publishes it when the reporter dies, the bridge carries it.
  reporter->signal(SIGKILL);
  reporter->wait_exit(5s);
  CHECK(observer.wait_for([](const auto& m) { return count(m, "sr/status", "OFFLINE") >= 1; }, 10s));
}
