// Fuzz target: `Class` resolution (PluginRegistry::resolve) over the real
// plugin modules, found on SR_FUZZ_PLUGIN_PATH (colon separated;
// run-fuzzers.sh builds them).
//
// Input: a Class string, dotted ("heartbeat.heartbeat.Heartbeat") or bare.
//
// Invariants:
//  - a resolved class is named exactly like the last dotted component of the
//    trimmed string (or the whole of a bare one) and passes check_class; it
//    comes from the module the first component names, or, with a warning,
//    from another one (the named module does not exist), and then its
//    canonical path resolves to the same class without a warning;
//  - a failure has exit code 69 (module unavailable) or 78 (configuration)
//    and a message;
//  - resolving the same string again gives the same answer (the registry
//    caches loaded and failed modules).
#include "plugin/registry.h"
#include "util/text.h"

#include "fuzz_host.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace {

std::unique_ptr<sr::PluginRegistry> registry;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* env = std::getenv("SR_FUZZ_PLUGIN_PATH");
  if (!env) env = std::getenv("SENSOR_REPORTER_PLUGIN_PATH");
  std::vector<std::string> dirs;
  if (env)
    for (auto& dir : sr::split_trimmed(env, ':'))
      if (!dir.empty()) dirs.push_back(dir);
  if (dirs.empty()) {
    std::fprintf(stderr, "fuzz_class: set SR_FUZZ_PLUGIN_PATH to the plugin module directories\n");
    std::exit(2);
  }
  registry = std::make_unique<sr::PluginRegistry>(dirs);
  auto problems = registry->load_all();
  for (const auto& p : problems) std::fprintf(stderr, "fuzz_class: %s\n", p.message.c_str());
  if (!problems.empty() || registry->classes().empty()) std::exit(2);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto first = registry->resolve(text);
  auto again = registry->resolve(text);
  FUZZ_CHECK(first.index() == again.index());

  if (auto* error = std::get_if<sr::PluginError>(&first)) {
    FUZZ_CHECK(error->exit_code == 69 || error->exit_code == 78);
    FUZZ_CHECK(!error->message.empty());
    const auto& repeated = std::get<sr::PluginError>(again);
    FUZZ_CHECK(repeated.exit_code == error->exit_code && repeated.message == error->message);
    return 0;
  }
  const auto& [found, warning] = std::get<sr::ResolvedClass>(first);
  const auto& repeated = std::get<sr::ResolvedClass>(again);
  FUZZ_CHECK(found.def == repeated.plugin.def && warning == repeated.warning);
  FUZZ_CHECK(found.module && found.def && found.def->name);
  FUZZ_CHECK(sr::check_class(*found.def, found.params).empty());

  std::string_view trimmed = sr::trim(text);
  auto first_dot = trimmed.find('.');
  if (first_dot == std::string_view::npos) {
    FUZZ_CHECK(trimmed == found.def->name);
    FUZZ_CHECK(warning.empty());
  } else {
    FUZZ_CHECK(trimmed.substr(trimmed.rfind('.') + 1) == found.def->name);
    FUZZ_CHECK((trimmed.substr(0, first_dot) == found.module->name) == warning.empty());
    auto canonical = registry->resolve(sr::canonical_path(found));
    const auto* direct = std::get_if<sr::ResolvedClass>(&canonical);
    FUZZ_CHECK(direct && direct->plugin.def == found.def && direct->warning.empty());
  }
  return 0;
}
