// Checks one value against one parameter definition of a plugin's table.
// Used for INI values and for the defaults of the table itself.
#pragma once

#include <sensor_reporter/plugin_abi.h>

#include <optional>
#include <string>
#include <string_view>

namespace sr::config {

// nullopt when the value is acceptable, else why not (no key or location:
// the caller adds those), e.g. "'abc' is not a number".
std::optional<std::string> check_value(const sr_param_def& def, std::string_view value);
std::string_view type_name(uint32_t param_type);

}  // namespace sr::config
