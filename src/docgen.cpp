// sensor_reporter-docgen: prints the generated part of sensor_reporter.ini(5)
// (every class on the plugin path, from its parameter table). Not installed;
// packaging/man/generate.sh and the man page drift test use it.
#include "host/describe.h"
#include "plugin/registry.h"

#include <fmt/format.h>

int main(int argc, char** argv) {
  std::vector<std::string> dirs(argv + 1, argv + argc);
  sr::PluginRegistry registry(sr::PluginRegistry::default_search_path(dirs));
  for (const auto& error : registry.load_all()) fmt::print(stderr, "warning: {}\n", error.message);
  fmt::print("{}", sr::format_man_classes(registry.classes()));
  return 0;
}
