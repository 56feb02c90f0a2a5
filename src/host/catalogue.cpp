#include "host/catalogue.h"

#include "config/ini_file.h"
#include "config/param_check.h"
#include "host/runtime.h"
#include "util/text.h"

#include <algorithm>

namespace sr {
namespace {

const sr_param_def* def_of(const config::ComponentPlan& plan, std::string_view key) {
  if (const sr_param_def* def = config::find_param_def(plan.plugin.params, key)) return def;
  return config::find_param_def(config::common_params(plan.kind), key);
}

// The keys an io stands for: itself, or every numbered key of its family
// the section sets, in number order.
std::vector<std::pair<std::string, std::string>> keys_of(const config::ComponentPlan& plan,
                                                         const sr_io_def& io) {
  std::vector<std::pair<std::string, std::string>> keys;
  const sr_param_def* def = config::find_param_def(plan.plugin.params, io.key);
  if (!def || !(def->flags & SR_PARAM_NUMBERED)) {
    if (auto value = config::find_param(plan.params, io.key)) keys.emplace_back(io.key, *value);
    return keys;
  }
  std::vector<std::pair<unsigned, config::ParamList::value_type>> numbered;  // number, entry
  for (const auto& entry : plan.params)
    if (auto number = config::family_number(*def, entry.first)) numbered.emplace_back(*number, entry);
  std::sort(numbered.begin(), numbered.end());
  for (const auto& [number, entry] : numbered) keys.emplace_back(entry.first, entry.second);
  return keys;
}

// The unit of `io` as the section chose it (unit_param), else the class's.
std::string unit_of(const config::ComponentPlan& plan, const sr_io_def& io) {
  std::string unit = io.unit ? io.unit : "";
  if (io.unit_param && io.unit_choices)
    if (auto chosen = config::find_param(plan.params, io.unit_param))
      unit = choose_unit(io.unit_choices, *chosen, unit);
  return unit;
}

}  // namespace

std::string choose_unit(std::string_view choices, std::string_view value, std::string_view fallback) {
  for (const std::string& choice : split_trimmed(choices, '|')) {
    size_t equals = choice.find('=');
    if (equals == std::string::npos) continue;
    if (config::iequals(trim(std::string_view(choice).substr(0, equals)), trim(value)))
      return std::string(trim(std::string_view(choice).substr(equals + 1)));
  }
  return std::string(fallback);
}

CatalogueSection catalogue_section(const config::ComponentPlan& plan) {
  CatalogueSection section;
  const sr_class_def& def = *plan.plugin.def;
  section.kind = plan.kind;
  section.section = plan.section;
  section.class_name = def.name ? def.name : "";
  section.class_path = def.path ? def.path : section.class_name;
  section.summary = def.summary ? def.summary : "";
  for (const sr_io_def& io : plan.plugin.ios) {
    if (!io.key) continue;
    std::string unit = unit_of(plan, io);
    std::string values = io.values ? io.values : "";
    if (io.values_param)
      if (auto listed = config::find_param(plan.params, io.values_param)) values = *listed;
    for (auto& [key, topic] : keys_of(plan, io))
      section.ios.push_back(CatalogueIo{static_cast<sr_io_direction>(io.direction),
                                        static_cast<sr_value_type>(io.value_type), key, topic, values, unit,
                                        io.measures ? io.measures : ""});
  }
  for (const auto& [key, value] : plan.params) {
    const sr_param_def* param = def_of(plan, key);
    section.params.emplace_back(key, param ? config::masked_value(*param, value) : value);
  }
  return section;
}

std::vector<std::pair<std::string, std::string>> output_units(const config::ComponentPlan& plan) {
  std::vector<std::pair<std::string, std::string>> units;
  for (const sr_io_def& io : plan.plugin.ios) {
    if (!io.key || io.direction != SR_IO_PUBLISHES) continue;
    std::string unit = unit_of(plan, io);
    if (unit.empty()) continue;
    for (auto& [key, destination] : keys_of(plan, io)) units.emplace_back(destination, unit);
  }
  return units;
}

std::vector<CatalogueSection> build_catalogue(const std::vector<const config::ComponentPlan*>& plans,
                                              const config::ComponentPlan& connection) {
  std::vector<const config::ComponentPlan*> users;
  for (const config::ComponentPlan* plan : plans) {
    if (plan->kind == SR_KIND_CONNECTION) continue;
    if (std::find(plan->connections.begin(), plan->connections.end(), connection.name) !=
        plan->connections.end())
      users.push_back(plan);
  }
  return catalogue_of(std::move(users), connection);
}

std::vector<CatalogueSection> catalogue_of(std::vector<const config::ComponentPlan*> users,
                                           const config::ComponentPlan& connection) {
  std::stable_sort(users.begin(), users.end(), [](auto* a, auto* b) { return a->line < b->line; });
  std::vector<CatalogueSection> sections;
  for (const config::ComponentPlan* plan : users) {
    CatalogueSection& section = sections.emplace_back(catalogue_section(*plan));
    // Format as it applies here, set or not: what the connection receives.
    const std::string format(config::format_name(config::payload_format(*plan, connection)));
    auto set = std::find_if(section.params.begin(), section.params.end(),
                            [](const auto& p) { return p.first == "Format"; });
    if (set != section.params.end())
      set->second = format;
    else
      section.params.emplace_back("Format", format);
  }
  return sections;
}

size_t Runtime::catalogue(const Component& connection, sr_catalogue_fn fn, void* user) const {
  // By the resolved connections: a running section's plan keeps no names.
  std::vector<const config::ComponentPlan*> running;
  for (const auto& component : components_)
    if (component->instance && std::find(component->connections.begin(), component->connections.end(),
                                         &connection) != component->connections.end())
      running.push_back(&component->plan);
  return emit_catalogue(catalogue_of(std::move(running), connection.plan), fn, user);
}

}  // namespace sr
