// A sensor whose factory always fails.
#include <sensor_reporter/sdk.hpp>

#include <stdexcept>

namespace {
class Throwing {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "Throwing";
  static constexpr const char* path = "throwing.throwing.Throwing";
  static constexpr const char* summary = "Fails to create (tests only)";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  Throwing(sr::sdk::Host, const sr::sdk::Params&) { throw std::runtime_error("sensor hardware not found"); }
};
}  // namespace

SR_PLUGIN_MODULE("throwing", "1.0.0", Throwing)
