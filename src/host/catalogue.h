// A connection's catalogue (sr_host_api.catalogue): the sensor and actuator
// sections that use it, each with its outputs and inputs resolved against
// the section's parameters (the unit a parameter chose, the two values a
// parameter lists, every key of a numbered family) and its parameters with
// secrets masked. Discovery formats (Home Assistant, openHAB things) are
// generated from it without knowing the classes.
//
// Pure functions over plans: the runtime passes the sections that run; the
// unit test passes made-up ones. Everything is a copy.
#pragma once

#include "config/plan.h"

#include <sensor_reporter/plugin_abi.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sr {

struct CatalogueIo {
  sr_io_direction direction = SR_IO_PUBLISHES;
  sr_value_type value_type = SR_VALUE_STRING;
  std::string key;       // "Destination2"
  std::string topic;     // the key's value
  std::string values;    // empty: none
  std::string unit;      // empty: none
  std::string measures;  // empty: none
};

struct CatalogueSection {
  sr_kind kind = SR_KIND_SENSOR;
  std::string section;
  std::string class_name;
  std::string class_path;
  std::string summary;
  std::vector<CatalogueIo> ios;
  config::ParamList params;  // secrets read config::kMaskedValue
};

// The unit `choices` ("C=°C|F=°F") gives `value` (compared
// case-insensitively, trimmed); `fallback` when none matches.
std::string choose_unit(std::string_view choices, std::string_view value, std::string_view fallback);

// One section as the catalogue shows it.
CatalogueSection catalogue_section(const config::ComponentPlan& plan);

// The sections among `plans` (sensors and actuators) that use the connection
// named `connection_name`, in file order.
std::vector<CatalogueSection> build_catalogue(const std::vector<const config::ComponentPlan*>& plans,
                                              const std::string& connection_name);

// Calls fn once per section with C views of it; returns how many.
size_t emit_catalogue(const std::vector<CatalogueSection>& sections, sr_catalogue_fn fn, void* user);

}  // namespace sr
