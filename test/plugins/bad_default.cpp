// A class whose parameter table has a default that fails its own type.
#include <sensor_reporter/sdk.hpp>

namespace {
class BadDefault {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "BadDefault";
  static constexpr const char* path = "bad_default.bad.BadDefault";
  static constexpr const char* summary = "Invalid parameter table (tests only)";
  static constexpr sr_param_def params[] = {sr::sdk::float_param("Threshold").fallback("abc"),
                                            sr::sdk::end_params};
  BadDefault(sr::sdk::Host, const sr::sdk::Params&) {}
};
}  // namespace

SR_PLUGIN_MODULE("bad_default", "1.0.0", BadDefault)
