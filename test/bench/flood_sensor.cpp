// Module "sr_bench" (benchmarks only): FloodSensor, a sensor that publishes
// as fast as the event loop lets it, and RateSensor, one that publishes at a
// fixed rate.
//
// On every refresh (the MQTT connection asks for one on each CONNACK, and a
// client can publish <RootTopic>/refresh) it publishes Count messages to
// Destination, payloads "0".."Count-1": Batch of them per loop round, from a
// zero-delay one-shot timer that re-arms itself, so the loop serves the MQTT
// socket (EPOLLOUT, acknowledgements) between rounds like it would for real
// sensors. A refresh during a flood is ignored. When done it logs
// "flood of N done in X ms" (INFO).
//
//   [Sensor_Flood]
//   Class = sr_bench.bench.FloodSensor
//   Connection = mqtt
//   Destination = flood
//   Count = 20000
//   Batch = 1
//
// RateSensor publishes Rate readings per second from the moment it starts:
// an incrementing counter ("0", "1", ...) to its Items in turn (round-robin).
// A repeating timer fires every 1/Rate s (at least 1 ms apart) and publishes
// every reading due by then, so a late loop round catches up and the count
// stays Rate x elapsed time.
//
//   [Sensor_Rate]
//   Class = sr_bench.bench.RateSensor
//   Connection = openhab
//   Items = R0 R1 R2
//   Rate = 1000
#include <sensor_reporter/sdk.hpp>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

class FloodSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "FloodSensor";
  static constexpr const char* path = "sr_bench.bench.FloodSensor";
  static constexpr const char* summary = "Publishes Count messages as fast as the loop allows on refresh (benchmarks only)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("Destination").required().help("where the messages go"),
      sr::sdk::int_param("Count").fallback("10000").min(1).help("messages per flood"),
      sr::sdk::int_param("Batch").fallback("1").min(1).help("messages published per loop round"),
      sr::sdk::end_params};

  FloodSensor(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host),
        destination_(params.get("Destination")),
        count_(params.get<long long>("Count")),
        batch_(params.get<long long>("Batch")) {}

  void refresh() {
    if (remaining_ > 0) return;
    remaining_ = count_;
    started_ = host_.now();
    step_ = host_.add_timer(std::chrono::nanoseconds(0), {}, [this] { round(); });
  }

 private:
  void round() {
    for (long long i = 0; i < batch_ && remaining_ > 0; ++i, --remaining_)
      host_.publish(destination_, std::to_string(count_ - remaining_));
    if (remaining_ > 0) {
      step_ = host_.add_timer(std::chrono::nanoseconds(0), {}, [this] { round(); });
      return;
    }
    host_.info("flood of {} done in {:.1f} ms", count_,
               std::chrono::duration<double, std::milli>(host_.now() - started_).count());
  }

  sr::sdk::Host host_;
  std::string destination_;
  long long count_;
  long long batch_;
  long long remaining_ = 0;
  std::chrono::nanoseconds started_{};
  sr::sdk::Timer step_;
};

class RateSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "RateSensor";
  static constexpr const char* path = "sr_bench.bench.RateSensor";
  static constexpr const char* summary =
      "Publishes a counter at Rate readings/s to Items in turn (benchmarks only)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("Items").required().help("destinations, separated by spaces or commas"),
      sr::sdk::float_param("Rate").fallback("1000").min(1).max(100000).help("readings per second"),
      sr::sdk::end_params};

  RateSensor(sr::sdk::Host host, const sr::sdk::Params& params) : host_(host), rate_(params.get<double>("Rate")) {
    std::string list = params.get("Items");
    std::replace(list.begin(), list.end(), ',', ' ');
    std::istringstream words(list);
    for (std::string word; words >> word;) items_.push_back(word);
    if (items_.empty()) throw std::runtime_error("Items is empty");
  }

  void start() {
    started_ = host_.now();
    const auto period = std::max<std::chrono::nanoseconds>(
        std::chrono::milliseconds(1), std::chrono::nanoseconds(static_cast<long long>(1e9 / rate_)));
    tick_ = host_.add_timer(period, period, [this] { tick(); });
  }

 private:
  void tick() {
    const auto due =
        static_cast<long long>(std::chrono::duration<double>(host_.now() - started_).count() * rate_);
    for (; published_ < due; ++published_)
      host_.publish(items_[static_cast<size_t>(published_) % items_.size()], std::to_string(published_));
  }

  sr::sdk::Host host_;
  double rate_;
  std::vector<std::string> items_;
  long long published_ = 0;
  std::chrono::nanoseconds started_{};
  sr::sdk::Timer tick_;
};

}  // namespace

SR_PLUGIN_MODULE("sr_bench", "1.0.0", FloodSensor, RateSensor)
