// Flood: how fast the daemon pushes a sensor's readings through, as a ratio
// to a plain libmosquitto publisher measured in the same run.
//
// For QoS 0 and QoS 1: the daemon runs a FloodSensor (module sr_bench) that
// publishes COUNT messages, BATCH per loop round (default 1: one publish per
// round, as independent sensors would), each time the benchmark publishes
// <RootTopic>/refresh. The plain publisher is a libmosquitto client in this
// program driven the same way as the daemon drives its client (external
// loop, TCP_NODELAY): mosquitto_publish COUNT times, then mosquitto_loop
// until everything is written (and acknowledged at QoS 1). A subscriber (its
// own thread, QoS as tested) counts arrivals; a flood's rate is
// (COUNT − 1) / (last arrival − first arrival). The two alternate RUNS times
// (default 5); the figure is median(daemon rate) / median(plain rate).
// Usage: bench_flood [COUNT] [RUNS] [BATCH]
#include "bench_common.h"


using namespace sr::bench;
namespace t = sr::test;

static int bench_main(int argc, char** argv) {
  const long count = arg_or(argc, argv, 1, 20000);
  const int runs = arg_or(argc, argv, 2, 5);
  const int batch = arg_or(argc, argv, 3, 1);
  auto broker = start_broker();
  t::TempDir dir;
  std::string line = "flood (" + std::to_string(count) + " messages, batch " + std::to_string(batch) + ", median of " +
                     std::to_string(runs) + " runs):";
  for (int qos : {0, 1}) {
    std::string config = mqtt_section(broker->port(), "fl", "bench-flood", qos) +
                         "[Sensor_Flood]\nClass = sr_bench.bench.FloodSensor\nConnection = mqtt\nDestination = flood\n"
                         "Count = " + std::to_string(count) + "\nBatch = " + std::to_string(batch) + "\n\n";
    ArrivalCounter counter(broker->port(), qos, "fl/#", {"fl/flood", "fl/plain"});
    t::MqttClient trigger(broker->port());
    if (!trigger.wait_connected(5s)) fail("trigger client cannot connect");
    auto daemon = start_daemon(dir.write("flood.ini", config));
    if (!daemon->wait_for_output("flood of", 60s)) fail("the first flood did not finish", daemon.get());
    counter.wait(count);  // the first flood (on CONNACK) only warms up
    PlainPublisher plain(broker->port(), qos);

    std::vector<double> daemon_rate, plain_rate;
    long daemon_lost = 0, plain_lost = 0;
    for (int run = 0; run < runs; ++run) {
      counter.reset();
      trigger.publish("fl/refresh", "", 0);
      auto [rate, got] = counter.wait(count);
      daemon_rate.push_back(rate);
      daemon_lost += count - got;

      counter.reset();
      plain.flood(count);
      auto [plain_r, plain_got] = counter.wait(count);
      plain_rate.push_back(plain_r);
      plain_lost += count - plain_got;
    }
    stop_daemon(*daemon);
    char part[256];
    std::snprintf(part, sizeof part, " QoS %d: daemon %.0f msg/s, plain %.0f msg/s, ratio %.2f (lost %ld/%ld);", qos,
                  median(daemon_rate), median(plain_rate), median(daemon_rate) / median(plain_rate), daemon_lost,
                  plain_lost);
    line += part;
  }
  line.pop_back();
  std::printf("%s\n", line.c_str());
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
