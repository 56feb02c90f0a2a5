// Two modules, twin_a and twin_b (TWIN_MODULE), built from this file so that
// both provide a class TwinSensor: the case where a Class string whose module
// is missing cannot be resolved by its class name alone (SPEC 3.3).
#include <sensor_reporter/sdk.hpp>

namespace {

class TwinSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "TwinSensor";
  static constexpr const char* path = TWIN_MODULE ".twin.TwinSensor";
  static constexpr const char* summary = "Does nothing; its name is in two modules (tests only)";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  TwinSensor(sr::sdk::Host, const sr::sdk::Params&) {}
};

}  // namespace

SR_PLUGIN_MODULE(TWIN_MODULE, "1.0.0", TwinSensor)
