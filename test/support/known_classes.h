// The classes each module of this tree provides, as the tests expect them
// (written down here, not read from the registry under test). Modules that
// the build did not produce (gpio without libgpiod) are left out.
#pragma once

#include "support/process.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sr::test {

inline bool module_built(const std::string& module) {
  std::string path = plugin_path();
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && std::filesystem::exists(dir + "/" + module + ".so")) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

// Sorted class names of the build's product plugins (plus the test-only
// module's good classes when with_test_modules).
inline std::vector<std::string> known_classes(bool with_test_modules = false) {
  static const std::map<std::string, std::vector<std::string>> product = {
      {"heartbeat", {"Heartbeat"}},
      {"local", {"LocalConnection"}},
      {"mqtt", {"MqttActuator", "MqttConnection", "MqttSensor"}},
      {"exec", {"ExecActuator", "ExecSensor"}},
      {"gpio", {"DhtSensor", "RpiGpioActuator", "RpiGpioSensor"}},
      {"one_wire", {"Ds18x20Sensor"}},
      {"network", {"ArpSensor", "DashSensor"}},
      {"iio", {"IioSensor"}},
      {"hwmon", {"HwmonSensor"}},
      {"roku", {"RokuAddressSensor"}},
      {"energymeter", {"Pafal20ec3gr"}},
      {"openhab_rest", {"OpenhabREST"}},
      {"bt", {"BtRssiSensor", "BtleSensor", "GoveeSensor", "SimpleBtSensor"}},
  };
  std::vector<std::string> names;
  for (const auto& [module, classes] : product)
    if (module_built(module)) names.insert(names.end(), classes.begin(), classes.end());
  if (with_test_modules) names.insert(names.end(), {"TestActuator", "TestFamilies", "TestSensor", "Throwing"});
  if (with_test_modules) names.insert(names.end(), {"PolicyActuator", "PolicySensor"});
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace sr::test
