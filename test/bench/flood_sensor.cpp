// Module "sr_bench" (benchmarks only): FloodSensor, a sensor that publishes
// as fast as the event loop lets it.
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
#include <sensor_reporter/sdk.hpp>

#include <string>

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
        destination_(params.required("Destination")),
        count_(params.integer("Count")),
        batch_(params.integer("Batch")) {}

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

}  // namespace

SR_PLUGIN_MODULE("sr_bench", "1.0.0", FloodSensor)
