#include "config/plan.h"

#include "config/param_check.h"
#include "util/text.h"

#include <sensor_reporter/sdk.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace sr::config {
namespace {

using sdk::bool_param;
using sdk::choice_param;
using sdk::float_param;
using sdk::int_param;
using sdk::string_param;

constexpr const char* kLevels = "DEBUG|INFO|WARNING|ERROR|CRITICAL";

constexpr sr_param_def kConnectionCommon[] = {
    string_param("Class").required().help("plugin class, e.g. mqtt.mqtt_conn.MqttConnection"),
    string_param("Name").required().help("connection name that sensors and actuators list in Connection"),
    choice_param("Level", kLevels).help("log level of this section")};
constexpr sr_param_def kSensorCommon[] = {
    string_param("Class").required().help("plugin class, e.g. heartbeat.heartbeat.Heartbeat"),
    string_param("Connection").help("comma-separated connection Names to publish to"),
    float_param("Poll").help("seconds between polls; absent or <= 0: not polled"),
    bool_param("Retain").help("retain this section's messages (overrides the connection)"),
    choice_param("Level", kLevels).help("log level of this section")};
constexpr sr_param_def kActuatorCommon[] = {
    string_param("Class").required().help("plugin class, e.g. exec.exec_actuator.ExecActuator"),
    string_param("Connection").help("comma-separated connection Names to take commands from"),
    bool_param("Retain").help("retain this section's state messages (overrides the connection)"),
    choice_param("Level", kLevels).help("log level of this section")};
constexpr sr_param_def kLogging[] = {
    choice_param("Level", kLevels).fallback("INFO").help("global log level"),
    bool_param("Syslog").fallback("no").help("also log to syslog"),
    string_param("File").help("also log to this file, rotated"),
    int_param("MaxSize").fallback("67108864").min(1024).help("bytes before the log file rotates"),
    int_param("NumFiles").fallback("10").min(0).max(1000).help("rotated log files kept")};

const sr_param_def* find_def(const std::vector<const sr_param_def*>& table, std::string_view key) {
  for (const auto* def : table)
    if (iequals(def->name, key)) return def;
  return nullptr;
}

// The class's table first, then the common keys it does not declare itself
// (a class may narrow Poll, for instance).
std::vector<const sr_param_def*> effective_table(std::span<const sr_param_def> class_params, sr_kind kind) {
  std::vector<const sr_param_def*> table;
  for (const sr_param_def& p : class_params) table.push_back(&p);
  for (const sr_param_def& p : common_params(kind))
    if (!find_def(table, p.name)) table.push_back(&p);
  return table;
}

struct SectionCheck {
  const IniFile& ini;
  const Section& section;
  std::vector<Diagnostic>& errors;
  std::vector<Diagnostic>& warnings;

  Diagnostic at(int line, std::string key, std::string message, Severity severity = Severity::Error) const {
    Diagnostic d;
    d.severity = severity;
    d.file = ini.path;
    d.line = line;
    d.section = section.name;
    d.key = std::move(key);
    d.message = std::move(message);
    return d;
  }

  // Validates every key against the table and resolves the values.
  ParamList resolve(const std::vector<const sr_param_def*>& table) const {
    std::vector<std::string> known;
    for (const auto* def : table) known.emplace_back(def->name);
    for (const Entry& entry : section.entries) {
      if (find_def(table, entry.key)) continue;
      std::string hint = closest_match(entry.key, known);
      warnings.push_back(at(entry.line, entry.key,
                            hint.empty() ? "unknown key, ignored"
                                         : fmt::format("unknown key, ignored (did you mean '{}'?)", hint),
                            Severity::Warning));
    }
    ParamList params;
    for (const auto* def : table) {
      // DEFAULT keys apply only where the table knows them: a DEFAULT
      // PinNumbering must not draw warnings from every connection.
      const Entry* entry = ini.lookup(section, def->name);
      if (!entry) {
        if (def->flags & SR_PARAM_REQUIRED)
          errors.push_back(at(section.line, def->name, "required key is missing"));
        else if (def->default_value)
          params.emplace_back(def->name, def->default_value);
        continue;
      }
      if (auto problem = check_value(*def, entry->value)) {
        errors.push_back(at(entry->line, entry->key, *problem));
        continue;
      }
      params.emplace_back(def->name, std::string(trim(entry->value)));
    }
    return params;
  }
};

const std::string* find_param(const ParamList& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return &v;
  return nullptr;
}

std::optional<sr_kind> kind_of_section(std::string_view name) {
  if (name.starts_with("Connection")) return SR_KIND_CONNECTION;
  if (name.starts_with("Sensor")) return SR_KIND_SENSOR;
  if (name.starts_with("Actuator")) return SR_KIND_ACTUATOR;
  return std::nullopt;
}

std::string with_article(std::string_view noun) {
  bool vowel = !noun.empty() && std::string_view("aeiou").find(noun.front()) != std::string_view::npos;
  return fmt::format("{} {}", vowel ? "an" : "a", noun);
}

int creation_rank(sr_kind kind) {
  return kind == SR_KIND_CONNECTION ? 0 : kind == SR_KIND_ACTUATOR ? 1 : 2;
}

void apply_logging(const IniFile& ini, Plan& plan) {
  const Section* section = ini.find_section("Logging");
  if (!section) return;
  std::vector<const sr_param_def*> table;
  for (const sr_param_def& p : logging_params()) table.push_back(&p);
  SectionCheck check{ini, *section, plan.errors, plan.warnings};
  ParamList params = check.resolve(table);
  if (const auto* level = find_param(params, "Level")) log::parse_level(*level, plan.logging.level);
  if (const auto* syslog = find_param(params, "Syslog")) parse_bool(*syslog, plan.logging.syslog);
  if (const auto* file = find_param(params, "File")) plan.logging.file = *file;
  if (const auto* size = find_param(params, "MaxSize")) plan.logging.max_size = std::stoull(*size);
  if (const auto* files = find_param(params, "NumFiles")) plan.logging.num_files = std::stoi(*files);
}

}  // namespace

bool same_definition(const ComponentPlan& a, const ComponentPlan& b) {
  return a.section == b.section && a.kind == b.kind && a.plugin.def == b.plugin.def && a.params == b.params &&
         a.name == b.name && a.connections == b.connections && a.level == b.level &&
         a.poll_seconds == b.poll_seconds && a.retain == b.retain;
}

std::span<const sr_param_def> common_params(sr_kind kind) {
  switch (kind) {
    case SR_KIND_CONNECTION: return kConnectionCommon;
    case SR_KIND_ACTUATOR: return kActuatorCommon;
    default: return kSensorCommon;
  }
}

std::span<const sr_param_def> logging_params() { return kLogging; }

Plan build_plan(const ParseResult& parsed, PluginRegistry& registry, bool keep_going) {
  Plan plan;
  const IniFile& ini = parsed.ini;
  plan.path = ini.path;
  plan.errors = parsed.errors;
  plan.warnings = parsed.warnings;
  apply_logging(ini, plan);

  struct Candidate {
    ComponentPlan component;
    std::vector<Diagnostic> errors;
    const Section* section;
  };
  std::vector<Candidate> candidates;

  for (const Section& section : ini.sections) {
    auto kind = kind_of_section(section.name);
    if (!kind) {
      if (section.name != "Logging")
        plan.warnings.push_back(Diagnostic{Severity::Warning, ini.path, section.line, section.name, "",
                                           "not a Connection, Sensor, Actuator or Logging section; ignored"});
      continue;
    }
    Candidate c{ComponentPlan{}, {}, &section};
    c.component.section = section.name;
    c.component.line = section.line;
    c.component.kind = *kind;
    SectionCheck check{ini, section, c.errors, plan.warnings};
    const Entry* class_entry = ini.lookup(section, "Class");
    if (!class_entry) {
      c.errors.push_back(check.at(section.line, "Class", "required key is missing"));
    } else {
      auto resolved = registry.resolve(class_entry->value);
      if (auto* error = std::get_if<PluginError>(&resolved)) {
        if (error->exit_code == 69) plan.plugin_unavailable = true;
        c.errors.push_back(check.at(class_entry->line, class_entry->key, error->message));
      } else {
        c.component.plugin = std::get<PluginClass>(resolved);
        if (c.component.plugin.def->kind != static_cast<uint32_t>(*kind))
          c.errors.push_back(check.at(class_entry->line, class_entry->key,
                                      fmt::format("{} is {}, but [{}] declares {}",
                                                  c.component.plugin.def->name,
                                                  with_article(kind_name(c.component.plugin.def->kind)),
                                                  section.name, with_article(kind_name(*kind)))));
        else
          c.component.params = check.resolve(effective_table(c.component.plugin.params, *kind));
      }
    }
    const ParamList& params = c.component.params;
    // Read Name even when the class failed, so sections using this
    // connection are not told it does not exist.
    if (*kind == SR_KIND_CONNECTION)
      if (const Entry* name = ini.lookup(section, "Name")) c.component.name = std::string(trim(name->value));
    if (const auto* list = find_param(params, "Connection"))
      for (auto& n : split_trimmed(*list, ','))
        if (!n.empty()) c.component.connections.push_back(n);
    if (const auto* level = find_param(params, "Level")) {
      log::Level l{};
      if (log::parse_level(*level, l)) c.component.level = l;
    }
    if (const auto* poll = find_param(params, "Poll")) c.component.poll_seconds = std::stod(*poll);
    if (const auto* retain = find_param(params, "Retain")) {
      bool b = false;
      if (parse_bool(*retain, b)) c.component.retain = b;
    }
    candidates.push_back(std::move(c));
  }

  // Connection names: unique, and every Connection list names one.
  std::map<std::string, const Candidate*> connections;
  auto name_line = [&](const Candidate& c) {
    const Entry* entry = ini.lookup(*c.section, "Name");
    return entry ? entry->line : c.component.line;
  };
  for (auto& c : candidates) {
    if (c.component.kind != SR_KIND_CONNECTION || c.component.name.empty()) continue;
    auto [it, inserted] = connections.emplace(c.component.name, &c);
    if (!inserted)
      c.errors.push_back(Diagnostic{Severity::Error, ini.path, name_line(c), c.component.section, "Name",
                                    fmt::format("connection name '{}' is already used by [{}] (line {})",
                                                c.component.name, it->second->component.section,
                                                name_line(*it->second))});
  }
  std::vector<std::string> names;
  for (const auto& [name, c] : connections) names.push_back(name);
  for (auto& c : candidates) {
    if (c.component.kind == SR_KIND_CONNECTION) continue;
    const Entry* entry = ini.lookup(*c.section, "Connection");
    for (const auto& name : c.component.connections) {
      auto it = connections.find(name);
      if (it == connections.end()) {
        std::string hint = closest_match(name, names);
        c.errors.push_back(Diagnostic{
            Severity::Error, ini.path, entry ? entry->line : c.component.line, c.component.section,
            "Connection",
            fmt::format("no connection is named '{}'{}; defined: {}", name,
                        hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                        names.empty() ? "none" : join(names, ", "))});
      } else if (!it->second->errors.empty() && keep_going) {
        c.errors.push_back(Diagnostic{Severity::Error, ini.path, entry ? entry->line : c.component.line,
                                      c.component.section, "Connection",
                                      fmt::format("connection '{}' was skipped", name)});
      }
    }
  }

  for (auto& c : candidates) {
    if (c.errors.empty()) {
      plan.components.push_back(std::move(c.component));
    } else if (keep_going) {
      for (auto& d : c.errors) {
        d.severity = Severity::Warning;
        d.message += " (section skipped: --keep-going)";
        plan.warnings.push_back(std::move(d));
      }
    } else {
      for (auto& d : c.errors) plan.errors.push_back(std::move(d));
    }
  }
  if (keep_going) plan.plugin_unavailable = false;
  std::stable_sort(plan.components.begin(), plan.components.end(),
                   [](const ComponentPlan& a, const ComponentPlan& b) {
                     return creation_rank(a.kind) < creation_rank(b.kind);
                   });
  std::stable_sort(plan.errors.begin(), plan.errors.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
  return plan;
}

}  // namespace sr::config
