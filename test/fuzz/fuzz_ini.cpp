// Fuzz target: the INI layer and the plan built from it.
//
// Input: the text of a configuration file. It goes through
// sr::config::parse_text, then build_plan against the real plugin modules
// (found on SR_FUZZ_PLUGIN_PATH, colon separated; run-fuzzers.sh builds them),
// once strict and once with --keep-going. Classes that create nothing outside
// the process are then created from each planned component through their
// module's create(), as the runtime would.
//
// Invariants (beyond "no crash, no sanitizer report"):
//  - every Section has a line > 0; every Entry a line > 0 within the text, a
//    non-empty trimmed key without '=' or ':', unique per section (any case);
//  - no duplicate section names; [DEFAULT] never among the sections;
//  - diagnostics carry a line within the text, errors and warnings sorted;
//  - a line longer than 198 characters is always an error at that line;
//  - every planned parameter value passes check_value against its own
//    definition and every required parameter is there (the table is the one
//    source of truth);
//  - a plan's kinds match the section prefixes and are in creation order;
//  - --keep-going never has more errors than the strict plan, and they agree
//    on the components when the strict plan is valid;
//  - a planned component of a side-effect-free class either creates, or fails
//    with a sentence (not a bare library message such as "stod").
#include "config/ini_file.h"
#include "config/param_check.h"
#include "config/plan.h"
#include "plugin/registry.h"
#include "util/text.h"

#include "fuzz_host.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace {

using sr::fuzz::FuzzHost;

std::unique_ptr<sr::PluginRegistry> registry;

std::vector<std::string> plugin_path() {
  const char* env = std::getenv("SR_FUZZ_PLUGIN_PATH");
  if (!env) env = std::getenv("SENSOR_REPORTER_PLUGIN_PATH");
  std::vector<std::string> dirs;
  if (env)
    for (auto& dir : sr::split_trimmed(env, ':'))
      if (!dir.empty()) dirs.push_back(dir);
  return dirs;
}

int kind_from_name(std::string_view name) {
  if (name.starts_with("Connection")) return SR_KIND_CONNECTION;
  if (name.starts_with("Sensor")) return SR_KIND_SENSOR;
  if (name.starts_with("Actuator")) return SR_KIND_ACTUATOR;
  return 0;
}

int creation_rank(sr_kind kind) { return kind == SR_KIND_CONNECTION ? 0 : kind == SR_KIND_ACTUATOR ? 1 : 2; }

bool is_trimmed(std::string_view text) { return sr::trim(text) == text; }

void check_parse(const sr::config::ParseResult& parsed, std::string_view text) {
  // Lines as the parser counts them: split on '\n'; a final line without one counts too.
  int line_count = 0;
  for (size_t pos = 0; pos < text.size();) {
    auto end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++line_count;
    if (line_count == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > 198) {
      bool reported = false;
      for (const auto& d : parsed.errors) reported |= d.line == line_count;
      FUZZ_CHECK(reported);
    }
  }

  const auto& ini = parsed.ini;
  auto check_entries = [&](const sr::config::Section& section) {
    for (size_t i = 0; i < section.entries.size(); ++i) {
      const auto& entry = section.entries[i];
      FUZZ_CHECK(entry.line > 0 && entry.line <= line_count);
      FUZZ_CHECK(entry.line >= section.line);
      FUZZ_CHECK(!entry.key.empty() && is_trimmed(entry.key));
      FUZZ_CHECK(entry.key.find_first_of("=:") == std::string::npos);
      for (size_t j = 0; j < i; ++j) FUZZ_CHECK(!sr::config::iequals(section.entries[j].key, entry.key));
      FUZZ_CHECK(section.find(entry.key) == &entry);
    }
  };
  std::set<std::string> names;
  for (const auto& section : ini.sections) {
    FUZZ_CHECK(section.line > 0 && section.line <= line_count);
    FUZZ_CHECK(section.name != "DEFAULT");
    FUZZ_CHECK(names.insert(section.name).second);
    FUZZ_CHECK(ini.find_section(section.name) == &section);
    check_entries(section);
  }
  FUZZ_CHECK(ini.defaults.line >= 0 && ini.defaults.line <= line_count);
  check_entries(ini.defaults);

  for (const auto* list : {&parsed.errors, &parsed.warnings}) {
    for (size_t i = 0; i < list->size(); ++i) {
      const auto& d = (*list)[i];
      FUZZ_CHECK(d.line >= 0 && d.line <= line_count);
      FUZZ_CHECK(!d.message.empty());
      if (i) FUZZ_CHECK((*list)[i - 1].line <= d.line);
      (void)d.to_string();
    }
  }
  for (const auto& d : parsed.errors) FUZZ_CHECK(d.severity == sr::config::Severity::Error);
  for (const auto& d : parsed.warnings) FUZZ_CHECK(d.severity == sr::config::Severity::Warning);
}

// `key` is a member of the numbered family `def`: its name and a number
// without a leading zero.
bool is_member(const sr_param_def& def, std::string_view key) {
  const std::string_view name = def.name;
  if (!(def.flags & SR_PARAM_NUMBERED) || key.size() <= name.size() || key.compare(0, name.size(), name) != 0)
    return false;
  const std::string_view digits = key.substr(name.size());
  return digits[0] != '0' && digits.find_first_not_of("0123456789") == std::string_view::npos;
}

void check_plan(const sr::config::Plan& plan, const sr::config::ParseResult& parsed) {
  FUZZ_CHECK(plan.exit_code() == 0 || plan.exit_code() == 69 || plan.exit_code() == 78);
  FUZZ_CHECK(plan.errors.size() >= parsed.errors.size());
  for (size_t i = 1; i < plan.errors.size(); ++i) FUZZ_CHECK(plan.errors[i - 1].line <= plan.errors[i].line);
  for (size_t i = 0; i < plan.components.size(); ++i) {
    const auto& c = plan.components[i];
    if (i) FUZZ_CHECK(creation_rank(plan.components[i - 1].kind) <= creation_rank(c.kind));
    const auto* section = parsed.ini.find_section(c.section);
    FUZZ_CHECK(section && section->line == c.line);
    FUZZ_CHECK(kind_from_name(c.section) == c.kind);
    FUZZ_CHECK(c.plugin.def && c.plugin.module && c.plugin.def->kind == static_cast<uint32_t>(c.kind));
    for (const auto& n : c.connections) FUZZ_CHECK(!n.empty() && is_trimmed(n));
    if (c.kind != SR_KIND_SENSOR) FUZZ_CHECK(c.poll_seconds == 0);

    // Every value against its definition: the class table first, then the
    // common keys of the kind (what build_plan validated against).
    std::vector<const sr_param_def*> table;
    for (const sr_param_def& p : c.plugin.params) table.push_back(&p);
    for (const sr_param_def& p : sr::config::common_params(c.kind)) {
      bool shadowed = false;
      for (const auto* q : table) shadowed |= sr::config::iequals(q->name, p.name);
      if (!shadowed) table.push_back(&p);
    }
    for (const auto* def : table) {
      std::optional<std::string_view> value;
      for (const auto& [key, v] : c.params)
        if (key == def->name) value = v;
      if (def->flags & SR_PARAM_REQUIRED) FUZZ_CHECK(value.has_value());
      if (value) {
        FUZZ_CHECK(is_trimmed(*value));
        FUZZ_CHECK(!sr::config::check_value(*def, *value));
      }
    }
    // A numbered family (SR_PARAM_NUMBERED: MAC1, MAC2, ...) is planned
    // under its members' names, each a value of the family's definition.
    for (const auto& [key, v] : c.params) {
      const sr_param_def* known = nullptr;
      for (const auto* def : table)
        if (key == def->name || is_member(*def, key)) known = def;
      FUZZ_CHECK(known);
      if (known && is_member(*known, key)) FUZZ_CHECK(!sr::config::check_value(*known, v));
    }
  }
}

// Classes whose constructor touches no device, file or network.
bool side_effect_free(const sr_class_def& def) {
  // Their constructors only read parameters: sockets, ports and files are
  // opened by start() or poll(), which the target never calls.
  static const std::set<std::string_view> classes = {
      "LocalConnection", "Heartbeat",    "ArpSensor",  "Ds18x20Sensor",     "ExecSensor",
      "ExecActuator",    "DashSensor",   "RokuAddressSensor", "Pafal20ec3gr"};
  return classes.count(def.name) > 0;
}

void create_components(const sr::config::Plan& plan) {
  for (const auto& c : plan.components) {
    if (!side_effect_free(*c.plugin.def)) continue;
    FuzzHost host;
    host.section = c.section;
    std::vector<sr_param_value> values;
    for (const auto& [key, value] : c.params) values.push_back({key.data(), value.data()});
    char error[512] = "";
    void* instance =
        c.plugin.def->create(FuzzHost::api(), host.ctx(), values.data(), values.size(), error, sizeof error);
    if (instance) {
      c.plugin.def->destroy(instance);
      continue;
    }
    // A create error reaches the operator as "[Section] cannot create: ...":
    // it must explain itself. A message without a space is a library's
    // (std::stod's "stod"), i.e. an exception the table should have prevented.
    std::string_view message = error;
    if (message.find(' ') == std::string_view::npos)
      std::fprintf(stderr, "[%s] %s: create failed with '%s'\n", c.section.c_str(), c.plugin.def->name,
                   error);
    FUZZ_CHECK(message.find(' ') != std::string_view::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto dirs = plugin_path();
  if (dirs.empty()) {
    std::fprintf(stderr, "fuzz_ini: set SR_FUZZ_PLUGIN_PATH to the plugin module directories\n");
    std::exit(2);
  }
  registry = std::make_unique<sr::PluginRegistry>(dirs);
  auto problems = registry->load_all();
  for (const auto& p : problems) std::fprintf(stderr, "fuzz_ini: %s\n", p.message.c_str());
  if (!problems.empty() || registry->classes().empty()) {
    std::fprintf(stderr, "fuzz_ini: the plugin modules did not all load\n");
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = sr::config::parse_text(text, "fuzz.ini");
  check_parse(parsed, text);

  auto strict = sr::config::build_plan(parsed, *registry, false);
  check_plan(strict, parsed);
  auto lenient = sr::config::build_plan(parsed, *registry, true);
  check_plan(lenient, parsed);
  FUZZ_CHECK(!lenient.plugin_unavailable);
  FUZZ_CHECK(lenient.errors.size() <= strict.errors.size());
  if (strict.ok()) {
    FUZZ_CHECK(lenient.ok());
    FUZZ_CHECK(lenient.components.size() == strict.components.size());
    for (size_t i = 0; i < strict.components.size(); ++i)
      FUZZ_CHECK(sr::config::same_definition(strict.components[i], lenient.components[i]));
    create_components(strict);
  }
  return 0;
}
