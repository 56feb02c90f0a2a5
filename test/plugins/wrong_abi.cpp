// A module that claims to be built for plugin ABI 2.0.
#include <sensor_reporter/plugin_abi.h>

extern "C" __attribute__((visibility("default"))) const sr_module_descriptor* SR_PLUGIN_ENTRY(uint32_t,
                                                                                              uint32_t) {
  static const sr_module_descriptor descriptor{2, 0, sizeof(sr_module_descriptor), 0, "wrong_abi", "9.9.9", nullptr};
  return &descriptor;
}
