// A class whose parameter table declares a pattern that is not a valid
// POSIX extended regular expression: the loader must refuse the module,
// naming the class and the key.
#include <sensor_reporter/sdk.hpp>

namespace {
class BadPattern {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "BadPattern";
  static constexpr const char* path = "bad_pattern.bad.BadPattern";
  static constexpr const char* summary = "Invalid parameter pattern (tests only)";
  static constexpr sr_param_def params[] = {sr::sdk::string_param("Address").pattern("[0-9", "a number"),
                                            sr::sdk::end_params};
  BadPattern(sr::sdk::Host, const sr::sdk::Params&) {}
};
}  // namespace

SR_PLUGIN_MODULE("bad_pattern", "1.0.0", BadPattern)
