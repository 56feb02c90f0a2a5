#include "config/plan.h"

#include "config/command_policy.h"
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
constexpr const char* kFormats = "raw|json";
constexpr const char* kFormatKey = "Format";
constexpr PayloadFormat kFormatValues[] = {PayloadFormat::Raw, PayloadFormat::Json};

constexpr sr_param_def kConnectionCommon[] = {
    string_param("Class").required().help("plugin class, e.g. mqtt.mqtt_conn.MqttConnection"),
    string_param("Name").required().help("connection name that sensors and actuators list in Connection"),
    choice_param("Level", kLevels).help("log level of this section"),
    choice_param(kFormatKey, kFormats)
        .fallback("raw")
        .help("payload of what sections publish here unless they set Format: raw (the text) or json (an "
              "envelope with value, unit, time and section)")};
// A section without Format takes its connection's (payload_format()).
constexpr sr_param_def kSectionFormat =
    choice_param(kFormatKey, kFormats)
        .help("payload of this section's messages: raw or json; default the Format of each connection");
// How a section shows in its connections' discovery (plugins/mqtt/
// discovery_model.hpp reads them from the catalogue).
constexpr sr_param_def kDiscovery = bool_param("Discovery").help("no: leave this section out of discovery");
constexpr sr_param_def kDiscoveryName =
    string_param("DiscoveryName").help("name in Home Assistant or Homie; default the section name");
constexpr sr_param_def kDiscoveryComponent =
    string_param("DiscoveryComponent")
        .help("sensor, binary_sensor, event, device_automation or text instead of the class's choice");
constexpr sr_param_def kDiscoveryDeviceClass =
    string_param("DiscoveryDeviceClass").help("Home Assistant device_class instead of the class's choice");

constexpr sr_param_def kSensorCommon[] = {
    string_param("Class").required().help("plugin class, e.g. heartbeat.heartbeat.Heartbeat"),
    string_param("Connection").help("comma-separated connection Names to publish to"),
    float_param("Poll").help("seconds between polls; absent or <= 0: not polled"),
    bool_param("Retain").help("retain this section's messages (overrides the connection)"),
    choice_param("Level", kLevels).help("log level of this section"),
    kSectionFormat, kDiscovery, kDiscoveryName, kDiscoveryComponent, kDiscoveryDeviceClass};
// Accept, AcceptPattern and MaxRate: config/command_policy.h.
constexpr sr_param_def kActuatorCommon[] = {
    string_param("Class").required().help("plugin class, e.g. exec.exec_actuator.ExecActuator"),
    string_param("Connection").help("comma-separated connection Names to take commands from"),
    bool_param("Retain").help("retain this section's state messages (overrides the connection)"),
    choice_param("Level", kLevels).help("log level of this section"),
    string_param("Accept")
        .not_empty()
        .help("the only payloads a command may have, comma separated, compared exactly (case-sensitive, "
              "nothing trimmed); any other command is refused and logged, and never reaches the actuator"),
    string_param("AcceptPattern")
        .not_empty()
        .help("POSIX extended regular expression a whole payload must match, e.g. [0-9]{1,3}; with Accept, "
              "a payload either of them admits runs"),
    float_param("MaxRate").help(
        "commands per second this actuator runs at most (a burst of MaxRate at once); the excess is "
        "dropped and counted"),
    kSectionFormat, kDiscovery, kDiscoveryName, kDiscoveryComponent, kDiscoveryDeviceClass};
constexpr sr_param_def kLogging[] = {
    choice_param("Level", kLevels).fallback("INFO").help("global log level"),
    bool_param("Syslog").fallback("no").help("also log to syslog"),
    string_param("File").help("also log to this file, rotated"),
    int_param("MaxSize").fallback("67108864").min(1024).help("bytes before the log file rotates"),
    int_param("NumFiles").fallback("10").min(0).max(1000).help("rotated log files kept")};

// "Address12" -> {"Address", "12"}; the digits are empty when there are none.
std::pair<std::string_view, std::string_view> split_number(std::string_view key) {
  size_t end = key.size();
  while (end > 0 && key[end - 1] >= '0' && key[end - 1] <= '9') --end;
  return {key.substr(0, end), key.substr(end)};
}

std::string numbered_key(const sr_param_def& def, unsigned number) { return fmt::format("{}{}", def.name, number); }

// The class's table first, then the common keys it does not declare itself
// (a class may narrow Poll, for instance).
std::vector<const sr_param_def*> effective_table(std::span<const sr_param_def> class_params, sr_kind kind) {
  std::vector<const sr_param_def*> table;
  for (const sr_param_def& p : class_params) table.push_back(&p);
  for (const sr_param_def& p : common_params(kind))
    if (!find_param_def(table, p.name)) table.push_back(&p);
  return table;
}

struct SectionCheck {
  const IniFile& ini;
  const Section& section;
  std::vector<Diagnostic>& errors;
  std::vector<Diagnostic>& warnings;
  std::vector<SecretSetting>* secrets = nullptr;
  // Line of each resolved key (table spelling, numbered), for check().
  std::map<std::string, int, std::less<>> key_lines{};
  const std::vector<const sr_param_def*>* table = nullptr;  // during resolve()

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

  void warn_unknown(const std::vector<const sr_param_def*>& table, const Entry& entry) const {
    std::vector<std::string> known, families;
    for (const auto* def : table) {
      known.emplace_back(def->name);
      if (def->flags & SR_PARAM_NUMBERED) families.emplace_back(def->name);
    }
    // "Adress2" is a typo of the family Address, not of any one key.
    std::string hint;
    auto [base, digits] = split_number(entry.key);
    if (!digits.empty() && !base.empty()) {
      std::string family = closest_match(base, families);
      if (!family.empty()) hint = family + std::string(digits);
    }
    if (hint.empty()) hint = closest_match(entry.key, known);
    warnings.push_back(at(entry.line, entry.key,
                          hint.empty() ? "unknown key, ignored"
                                       : fmt::format("unknown key, ignored (did you mean '{}'?)", hint),
                          Severity::Warning));
  }

  // Checks one set value and adds it to `params` under `key`.
  void accept(const sr_param_def& def, const Entry& entry, std::string key, ParamList& params) {
    if ((def.flags & (SR_PARAM_SECRET | SR_PARAM_SECRET_FILE)) && secrets) {
      SecretSetting secret{section.name, entry.key, entry.line, std::string(trim(entry.value))};
      secret.is_file = !(def.flags & SR_PARAM_SECRET);
      const sr_param_def* file_def = table ? find_param_def(*table, std::string(def.name) + "File") : nullptr;
      if (!secret.is_file && file_def && (file_def->flags & SR_PARAM_SECRET_FILE)) secret.file_key = file_def->name;
      secrets->push_back(std::move(secret));
    }
    if (auto problem = check_value(def, entry.value)) {
      errors.push_back(at(entry.line, entry.key, *problem));
      return;
    }
    key_lines.emplace(key, entry.line);
    params.emplace_back(std::move(key), std::string(trim(entry.value)));
  }

  // A numbered family: Address (as Address1), Address1, Address2, ... from
  // the section and [DEFAULT], numbered from 1 without a gap.
  std::map<unsigned, const Entry*> resolve_family(const sr_param_def& def, ParamList& params) {
    std::map<unsigned, const Entry*> members;
    for (const auto* entries : {&section.entries, &ini.defaults.entries}) {
      for (const Entry& candidate : *entries) {
        auto number = family_number(def, candidate.key);
        if (!number) continue;
        const Entry* entry = ini.lookup(section, candidate.key);  // own key first, then DEFAULT
        auto [it, inserted] = members.emplace(*number, entry);
        if (!inserted && it->second != entry && entries == &section.entries)
          errors.push_back(at(entry->line, entry->key,
                              fmt::format("same key as {} (line {}): the bare {} is {}", it->second->key,
                                          it->second->line, def.name, numbered_key(def, 1))));
      }
    }
    if (members.empty()) {
      if (def.flags & SR_PARAM_REQUIRED)
        errors.push_back(at(section.line, numbered_key(def, 1), "required key is missing"));
      return members;
    }
    unsigned expected = 1;
    for (const auto& [number, entry] : members) {
      if (number != expected) {
        errors.push_back(at(entry->line, entry->key,
                            fmt::format("{} is missing: a numbered key follows the one before it without a gap",
                                        numbered_key(def, expected))));
        break;
      }
      ++expected;
    }
    for (const auto& [number, entry] : members) accept(def, *entry, numbered_key(def, number), params);
    return members;
  }

  // Validates every key against the table and resolves the values.
  ParamList resolve(const std::vector<const sr_param_def*>& table) {
    this->table = &table;
    for (const Entry& entry : section.entries)
      if (!find_param_def(table, entry.key)) warn_unknown(table, entry);
    ParamList params;
    std::map<std::string, std::map<unsigned, const Entry*>, std::less<>> families;
    for (const auto* def : table) {
      if (def->flags & SR_PARAM_NUMBERED) {
        families.emplace(def->name, resolve_family(*def, params));
        continue;
      }
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
      accept(*def, *entry, def->name, params);
    }
    check_pairs(table, families);
    this->table = nullptr;
    // Kept for the section's life (a reload compares it): no growth slack.
    params.shrink_to_fit();
    return params;
  }

  // Address<n> and Destination<n> (paired_with) come in pairs.
  void check_pairs(const std::vector<const sr_param_def*>& table,
                   const std::map<std::string, std::map<unsigned, const Entry*>, std::less<>>& families) {
    for (const auto* def : table) {
      if (!(def->flags & SR_PARAM_NUMBERED) || !def->paired_with) continue;
      const sr_param_def* partner = find_param_def(table, def->paired_with);
      if (!partner) continue;  // the loader refuses such a table
      const auto& mine = families.at(def->name);
      const auto& theirs = families.at(partner->name);
      auto missing = [&](const sr_param_def& a, const sr_param_def& b, const auto& have, const auto& other) {
        for (const auto& [number, entry] : have)
          if (!other.contains(number))
            errors.push_back(at(entry->line, entry->key,
                                fmt::format("{} is missing: {}<n> and {}<n> come in pairs", numbered_key(b, number),
                                            a.name, b.name)));
      };
      missing(*def, *partner, mine, theirs);
      // The partner reports its own unpaired keys when it names this family too.
      if (!partner->paired_with || !iequals(partner->paired_with, def->name)) missing(*partner, *def, theirs, mine);
    }
  }

  int line_of(const char* key) const {
    if (!key) return section.line;
    for (const auto& [k, line] : key_lines)
      if (iequals(k, key)) return line;
    if (const Entry* entry = ini.lookup(section, key)) return entry->line;
    return section.line;
  }
};

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

// The class's own check() (ABI 1.2) on the resolved values: each problem
// with the file:line of its key, or of the section header.
void run_class_check(const SectionCheck& check, const ComponentPlan& component,
                     const std::vector<SecretSetting>& secrets, std::vector<Diagnostic>& errors,
                     std::vector<Diagnostic>& warnings) {
  const sr_class_def& def = *component.plugin.def;
  if (!def.check) return;
  std::vector<sr_param_value> values;
  for (const auto& [key, value] : component.params) values.push_back(sr_param_value{key.data(), value.data()});
  std::vector<std::string> masked;
  for (const auto& secret : secrets)
    if (secret.section == component.section && !secret.is_file) masked.push_back(secret.value);
  struct Context {
    const SectionCheck& check;
    const std::vector<std::string>& masked;
    std::vector<Diagnostic>& errors;
    std::vector<Diagnostic>& warnings;
    bool reported_error = false;
  } context{check, masked, errors, warnings};
  auto report = [](void* user, int level, const char* key, const char* message) {
    auto& ctx = *static_cast<Context*>(user);
    const bool error = level >= SR_LOG_ERROR;
    // A warning is only advice: it must not fail --check.
    Diagnostic d = ctx.check.at(ctx.check.line_of(key), key ? key : "",
                                scrub_secrets(message ? message : "", ctx.masked),
                                error ? Severity::Error : Severity::Warning);
    if (error) ctx.reported_error = true;
    (error ? ctx.errors : ctx.warnings).push_back(std::move(d));
  };
  int status = def.check(values.data(), values.size(), report, &context);
  if (status != SR_OK && !context.reported_error)
    errors.push_back(check.at(check.section.line, "",
                              fmt::format("{} refused the section without saying why", def.name)));
}

// The host's Accept, AcceptPattern and MaxRate of an actuator, unless its
// class declares a key of that name itself (then the key is the class's).
void apply_command_policy(const SectionCheck& check, ComponentPlan& component, std::vector<Diagnostic>& errors) {
  auto host_key = [&](const char* key) -> std::optional<std::string_view> {
    if (find_param_def(component.plugin.params, key)) return std::nullopt;
    return find_param(component.params, key);
  };
  std::vector<PolicyProblem> problems;
  if (auto policy =
          CommandPolicy::parse(host_key("Accept"), host_key("AcceptPattern"), host_key("MaxRate"), problems))
    component.command_policy = std::make_shared<const CommandPolicy>(std::move(*policy));
  for (auto& problem : problems)
    errors.push_back(check.at(check.line_of(problem.key.c_str()), problem.key, std::move(problem.message)));
}

// A value the table accepted: one of kFormats in any case.
std::optional<PayloadFormat> parse_format(std::string_view text) {
  for (PayloadFormat format : kFormatValues)
    if (iequals(trim(text), format_name(format))) return format;
  return std::nullopt;
}

// Whether the connection class's own Format (if it declares one) offers json.
bool class_takes_json(const PluginClass& plugin) {
  const sr_param_def* own = find_param_def(plugin.params, kFormatKey);
  if (!own) return true;
  for (const std::string& choice : split_trimmed(own->choices ? own->choices : "", '|'))
    if (iequals(choice, format_name(PayloadFormat::Json))) return true;
  return false;
}

void apply_logging(const IniFile& ini, Plan& plan) {
  const Section* section = ini.find_section("Logging");
  if (!section) return;
  std::vector<const sr_param_def*> table;
  for (const sr_param_def& p : logging_params()) table.push_back(&p);
  SectionCheck check{ini, *section, plan.errors, plan.warnings};
  ParamList params = check.resolve(table);
  if (auto level = find_param(params, "Level")) log::parse_level(*level, plan.logging.level);
  if (auto syslog = find_param(params, "Syslog"))
    if (auto on = parse_bool(*syslog)) plan.logging.syslog = *on;
  if (auto file = find_param(params, "File")) plan.logging.file = *file;
  if (auto size = find_param(params, "MaxSize")) plan.logging.max_size = std::stoull(std::string(*size));
  if (auto files = find_param(params, "NumFiles")) plan.logging.num_files = std::stoi(std::string(*files));
}

}  // namespace

ParamList::value_type ParamList::const_iterator::operator*() const {
  std::string_view key(at_);
  return {key, std::string_view(at_ + key.size() + 1)};
}

ParamList::const_iterator& ParamList::const_iterator::operator++() {
  auto [key, value] = **this;
  at_ = value.data() + value.size() + 1;
  return *this;
}

ParamList::ParamList(std::initializer_list<value_type> entries) {
  for (const auto& [key, value] : entries) emplace_back(key, value);
}

void ParamList::emplace_back(std::string_view key, std::string_view value) {
  // A NUL byte in the file (the INI parser lets it through) ends the key or
  // value here, where a plugin's C string always ended it: the list's
  // separators stay unambiguous (fuzz_ini found the overread).
  key = key.substr(0, key.find('\0'));
  value = value.substr(0, value.find('\0'));
  text_.append(key).push_back('\0');
  text_.append(value).push_back('\0');
}

size_t ParamList::size() const { return static_cast<size_t>(std::count(text_.begin(), text_.end(), '\0')) / 2; }

std::optional<std::string_view> find_param(const ParamList& params, std::string_view key) {
  for (const auto& [k, v] : params)
    if (k == key) return v;
  return std::nullopt;
}

bool same_definition(const ComponentPlan& a, const ComponentPlan& b) {
  // `connections` follows from the Connection key in `params` (and a
  // running component no longer keeps it: Runtime::create).
  return a.section == b.section && a.kind == b.kind && a.plugin.def == b.plugin.def && a.params == b.params &&
         a.name == b.name && a.level == b.level &&
         a.poll_seconds == b.poll_seconds && a.retain == b.retain && a.format == b.format;
}

std::string_view format_name(PayloadFormat format) { return format == PayloadFormat::Json ? "json" : "raw"; }

PayloadFormat payload_format(const ComponentPlan& section, const ComponentPlan& connection) {
  if (!connection.takes_json) return PayloadFormat::Raw;
  return section.format.value_or(connection.format.value_or(PayloadFormat::Raw));
}

std::vector<std::string> Plan::secret_values() const {
  std::vector<std::string> values;
  for (const auto& secret : secrets)
    if (!secret.is_file) values.push_back(secret.value);
  return values;
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
  candidates.reserve(ini.sections.size());

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
    SectionCheck check{ini, section, c.errors, plan.warnings, &plan.secrets};
    const Entry* class_entry = ini.lookup(section, "Class");
    if (!class_entry) {
      c.errors.push_back(check.at(section.line, "Class", "required key is missing"));
    } else {
      auto resolved = registry.resolve(class_entry->value);
      if (auto* error = std::get_if<PluginError>(&resolved)) {
        if (error->exit_code == 69) plan.plugin_unavailable = true;
        c.errors.push_back(check.at(class_entry->line, class_entry->key, error->message));
      } else {
        auto& [plugin, warning] = std::get<ResolvedClass>(resolved);
        c.component.plugin = plugin;
        if (!warning.empty())
          plan.warnings.push_back(check.at(class_entry->line, class_entry->key, warning, Severity::Warning));
        if (c.component.plugin.def->kind != static_cast<uint32_t>(*kind))
          c.errors.push_back(check.at(class_entry->line, class_entry->key,
                                      fmt::format("{} is {}, but [{}] declares {}",
                                                  c.component.plugin.def->name,
                                                  with_article(kind_name(c.component.plugin.def->kind)),
                                                  section.name, with_article(kind_name(*kind)))));
        else
          c.component.params = check.resolve(effective_table(c.component.plugin.params, *kind));
        // Also next to other problems: --check lists every problem at once.
        if (*kind == SR_KIND_ACTUATOR) apply_command_policy(check, c.component, c.errors);
        if (c.errors.empty()) run_class_check(check, c.component, plan.secrets, c.errors, plan.warnings);
      }
    }
    const ParamList& params = c.component.params;
    // Read Name even when the class failed, so sections using this
    // connection are not told it does not exist.
    if (*kind == SR_KIND_CONNECTION)
      if (const Entry* name = ini.lookup(section, "Name")) c.component.name = std::string(trim(name->value));
    if (auto list = find_param(params, "Connection"))
      for (auto& n : split_trimmed(*list, ','))
        if (!n.empty()) c.component.connections.push_back(n);
    if (auto level = find_param(params, "Level")) {
      log::Level l{};
      if (log::parse_level(*level, l)) c.component.level = l;
    }
    if (auto poll = find_param(params, "Poll")) c.component.poll_seconds = std::stod(std::string(*poll));
    if (auto retain = find_param(params, "Retain"))
      if (auto on = parse_bool(*retain)) c.component.retain = *on;
    if (auto format = find_param(params, kFormatKey)) c.component.format = parse_format(*format);
    if (*kind == SR_KIND_CONNECTION && c.component.plugin.def)
      c.component.takes_json = class_takes_json(c.component.plugin);
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
    bool json_taken = false;  // by a connection of the section (an unknown one is an error already)
    for (const auto& name : c.component.connections) {
      auto it = connections.find(name);
      json_taken = json_taken || it == connections.end() || it->second->component.takes_json;
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
    if (c.component.format == PayloadFormat::Json && !json_taken && !c.component.connections.empty()) {
      const Entry* format = ini.lookup(*c.section, kFormatKey);
      const char* s = c.component.connections.size() == 1 ? "s" : "";
      plan.warnings.push_back(Diagnostic{Severity::Warning, ini.path, format ? format->line : c.component.line,
                                         c.component.section, kFormatKey,
                                         fmt::format("json has no effect: {} take{} raw values only, and get{} them raw",
                                                     join(c.component.connections, ", "), s, s)});
    }
  }

  // Creation order (SPEC 3.2) by one pass per kind rather than a sort of
  // the plans: each plan moves once (a stable sort moved 10,000 of them
  // about 14 times each; issue 17).
  plan.components.reserve(candidates.size());
  for (int rank : {0, 1, 2})
    for (auto& c : candidates)
      if (c.errors.empty() && creation_rank(c.component.kind) == rank)
        plan.components.push_back(std::move(c.component));
  for (auto& c : candidates) {
    if (c.errors.empty()) continue;
    if (keep_going) {
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
  std::stable_sort(plan.errors.begin(), plan.errors.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
  return plan;
}

}  // namespace sr::config
