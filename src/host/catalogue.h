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

#include <sensor_reporter/sdk.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sr {

// The SDK's own types (sdk.hpp, what Host::catalogue() hands a plugin):
// the host builds the same copies it later lends out as C views.
using CatalogueIo = sdk::CatalogueIo;
using CatalogueSection = sdk::CatalogueEntry;  // params: secrets read config::kMaskedValue

// The unit `choices` ("C=°C|F=°F") gives `value` (compared
// case-insensitively, trimmed); `fallback` when none matches.
std::string choose_unit(std::string_view choices, std::string_view value, std::string_view fallback);

// One section as the catalogue shows it.
CatalogueSection catalogue_section(const config::ComponentPlan& plan);

// The sections among `plans` (sensors and actuators) whose Connection names
// `connection`, in file order: catalogue_of those.
std::vector<CatalogueSection> build_catalogue(const std::vector<const config::ComponentPlan*>& plans,
                                              const config::ComponentPlan& connection);
// The catalogue of `users`, sections known to use `connection`, in file
// order. Each one's params carry "Format" as it applies on this connection
// (payload_format(): "raw" or "json"), whether the section sets it or not.
std::vector<CatalogueSection> catalogue_of(std::vector<const config::ComponentPlan*> users,
                                           const config::ComponentPlan& connection);

// (destination, unit) for every output of `plan` that has a unit, as the
// section chose it: the unit of a JSON envelope (router.cpp). A tree's
// topics (<destination>/<device>/<leaf>) are not among them.
std::vector<std::pair<std::string, std::string>> output_units(const config::ComponentPlan& plan);

// Calls fn once per section with C views of it; returns how many.
using sdk::emit_catalogue;

}  // namespace sr
