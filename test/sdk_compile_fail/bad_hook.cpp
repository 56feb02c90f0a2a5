// Compiled twice by check.sh: with -DSR_GOOD_HOOK it must build; without,
// the SDK must refuse the poll hook whose signature it cannot call (it used
// to be ignored silently, so the sensor never published).
#include <sensor_reporter/sdk.hpp>

class BadPoll {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "BadPoll";
  static constexpr const char* path = "bad.BadPoll";
  static constexpr const char* summary = "a poll hook with a wrong signature";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  BadPoll(sr::sdk::Host, const sr::sdk::Params&) {}
#ifdef SR_GOOD_HOOK
  void poll() {}
#else
  void poll(int times) { (void)times; }
#endif
};

SR_PLUGIN_MODULE("bad", "1.0.0", BadPoll)
