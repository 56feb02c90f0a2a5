// A module that needs a symbol nobody provides: dlopen(RTLD_NOW) must fail.
#include <sensor_reporter/plugin_abi.h>

extern "C" int sensor_reporter_no_such_function();

extern "C" __attribute__((visibility("default"))) const sr_module_descriptor* SR_PLUGIN_ENTRY(uint32_t,
                                                                                              uint32_t) {
  return sensor_reporter_no_such_function() ? nullptr : nullptr;
}
