// Refresh of 200 values: a client publishes <RootTopic>/refresh and times
// until all 200 sensors' values are back on the wire.
//
// 200 TestSensors (test module sr_test), each with one value and Poll 3600,
// so nothing else is published. REFRESHES (default 20) refreshes, 100 ms
// apart; p50/p99 of (last value received − refresh published), and of the
// first value. The floor, taken between the refreshes: a plain libmosquitto
// client (bench_common.h) publishing 200 messages in a burst, p50/p99 of
// (last received − first publish).
// Usage: bench_refresh [REFRESHES] [VALUES]
#include "bench_common.h"

#include <set>
#include <thread>

using namespace sr::bench;
namespace t = sr::test;

static int bench_main(int argc, char** argv) {
  const int refreshes = arg_or(argc, argv, 1, 20);
  const int values = arg_or(argc, argv, 2, 200);
  auto broker = start_broker();
  t::TempDir dir;
  std::string config = mqtt_section(broker->port(), "ref", "bench-refresh");
  for (int i = 0; i < values; ++i) {
    std::string n = std::to_string(i);
    config += "[Sensor_T" + n + "]\nClass = sr_test.test.TestSensor\nConnection = mqtt\nPoll = 3600\nDestination = v" +
              n + "\nValues = value" + n + "\n\n";
  }
  t::MqttClient client(broker->port());
  if (!client.wait_connected(5s) || !client.subscribe("ref/#", 0)) fail("client cannot subscribe");
  auto daemon = start_daemon(dir.write("refresh.ini", config));
  // The predicate runs under the client's lock, against every arrival: it
  // only counts (a set of topics per arrival would slow the receiver down
  // and inflate the figure). Distinct topics are checked afterwards.
  auto all_back = [&](size_t expected) {
    for (size_t wanted = expected; wanted < 2 * expected; ++wanted) {
      if (!client.wait_for([&](const std::vector<t::Received>& all) { return all.size() >= wanted; }, 10s))
        return false;
      std::set<std::string> topics;
      for (const auto& m : client.messages())
        if (m.topic != "ref/status" && m.topic != "ref/refresh" && m.topic != "ref/plain") topics.insert(m.topic);
      if (topics.size() >= expected) return true;
    }
    return false;
  };
  if (!all_back(values)) fail("the first values did not all arrive", daemon.get());
  std::this_thread::sleep_for(500ms);

  PlainPublisher plain(broker->port(), 0);
  std::vector<double> last_ms, first_ms, plain_ms;
  for (int r = 0; r < refreshes; ++r) {
    client.clear();
    const auto t0 = Clock::now();
    client.publish("ref/refresh", "", 0);
    if (!all_back(values)) fail("refresh " + std::to_string(r) + ": not every value came back", daemon.get());
    auto messages = client.messages();
    Clock::time_point first = Clock::time_point::max(), last = Clock::time_point::min();
    for (const auto& m : messages) {
      if (m.topic == "ref/status" || m.topic == "ref/refresh") continue;
      first = std::min(first, m.at);
      last = std::max(last, m.at);
    }
    last_ms.push_back(ms_between(t0, last));
    first_ms.push_back(ms_between(t0, first));
    std::this_thread::sleep_for(50ms);

    client.clear();
    const auto p0 = Clock::now();
    plain.flood(values, "ref/plain");
    if (!client.wait_for([&](const std::vector<t::Received>& all) { return all.size() >= static_cast<size_t>(values); },
                         10s))
      fail("the plain burst did not arrive");
    plain_ms.push_back(ms_between(p0, client.messages().back().at));
    std::this_thread::sleep_for(50ms);
  }
  stop_daemon(*daemon);
  std::printf("refresh of %d values (%d refreshes): all back p50 %.2f ms, p99 %.2f ms (first value p50 %.2f ms; "
              "floor: plain libmosquitto burst of %d, all received p50 %.2f ms, p99 %.2f ms)\n",
              values, refreshes, percentile(last_ms, 50), percentile(last_ms, 99), percentile(first_ms, 50), values,
              percentile(plain_ms, 50), percentile(plain_ms, 99));
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
