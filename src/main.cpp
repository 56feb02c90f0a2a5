// sensor_reporter: bridges local sensors and actuators to MQTT.
#include "cli.h"
#include "config.h"
#include "host/app.h"
#include "host/describe.h"
#include "plugin/registry.h"

#include <fmt/format.h>

#include <exception>
#include <variant>

namespace {

int list_plugins(sr::PluginRegistry& registry) {
  auto errors = registry.load_all();
  for (const auto& e : errors) fmt::print(stderr, "warning: {}\n", e.message);
  fmt::print("{}", sr::format_class_list(registry.classes()));
  return 0;
}

int describe(sr::PluginRegistry& registry, const std::string& class_string) {
  auto resolved = registry.resolve(class_string);
  if (auto* error = std::get_if<sr::PluginError>(&resolved)) {
    fmt::print(stderr, "sensor_reporter: {}\n", error->message);
    return error->exit_code;
  }
  const auto& [plugin, warning] = std::get<sr::ResolvedClass>(resolved);
  if (!warning.empty()) fmt::print(stderr, "warning: {}\n", warning);
  fmt::print("{}", sr::format_class_description(plugin));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = sr::parse_cli(argc, argv);
  if (!options) return 64;
  using Mode = sr::CliOptions::Mode;
  try {
    if (options->mode == Mode::Help) {
      sr::print_usage(stdout);
      return 0;
    }
    if (options->mode == Mode::Version) {
      fmt::print("sensor_reporter {} (plugin ABI {}.{})\n", SR_VERSION, SR_ABI_MAJOR, SR_ABI_MINOR);
      return 0;
    }
    sr::PluginRegistry registry(sr::PluginRegistry::default_search_path(options->plugin_dirs));
    switch (options->mode) {
      case Mode::ListPlugins: return list_plugins(registry);
      case Mode::Describe: return describe(registry, options->describe_class);
      case Mode::Check: return sr::run_check(*options, registry);
      default: return sr::run_daemon(*options, registry);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "sensor_reporter: {}\n", e.what());
    return 1;
  }
}
