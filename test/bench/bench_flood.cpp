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

#include <atomic>
#include <mutex>
#include <thread>

using namespace sr::bench;
namespace t = sr::test;

namespace {

// Counts arrivals per flood without storing them (a recording client would
// be the bottleneck).
class Counter {
 public:
  Counter(int port, int qos) {
    mosq_ = mosquitto_new(nullptr, true, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
      static_cast<Counter*>(self)->connected_ = rc == 0;
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<Counter*>(self)->subscribed_ = true;
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto* c = static_cast<Counter*>(self);
      if (m->topic[3] != 'f' && m->topic[3] != 'p') return;  // fl/flood, fl/plain only
      auto now = Clock::now();
      std::lock_guard lock(c->mutex_);
      if (c->count_++ == 0) c->first_ = now;
      c->last_ = now;
    });
    mosquitto_connect(mosq_, "127.0.0.1", port, 60);
    mosquitto_loop_start(mosq_);
    while (!connected_) std::this_thread::sleep_for(1ms);
    mosquitto_subscribe(mosq_, nullptr, "fl/#", qos);
    while (!subscribed_) std::this_thread::sleep_for(1ms);
  }
  ~Counter() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  void reset() {
    std::lock_guard lock(mutex_);
    count_ = 0;
  }
  // Waits for `expected` arrivals (or 2 s without progress); returns the
  // rate in messages per second and the number that arrived.
  std::pair<double, long> wait(long expected) {
    long seen = -1;
    auto progress = Clock::now();
    for (;;) {
      std::this_thread::sleep_for(5ms);
      std::lock_guard lock(mutex_);
      if (count_ >= expected || Clock::now() - progress > 2s) {
        double seconds = std::chrono::duration<double>(last_ - first_).count();
        return {seconds > 0 ? static_cast<double>(count_ - 1) / seconds : 0, count_};
      }
      if (count_ != seen) {
        seen = count_;
        progress = Clock::now();
      }
    }
  }

 private:
  mosquitto* mosq_;
  std::atomic<bool> connected_{false}, subscribed_{false};
  std::mutex mutex_;
  long count_ = 0;
  Clock::time_point first_, last_;
};

}  // namespace

int main(int argc, char** argv) {
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
    Counter counter(broker->port(), qos);
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
