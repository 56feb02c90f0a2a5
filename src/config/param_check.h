// Checks one value against one parameter definition of a plugin's table.
// Used for INI values and for the defaults of the table itself. Also the
// small helpers every place that shows a parameter needs: numbered families
// (SR_PARAM_NUMBERED) and masking of secrets (SR_PARAM_SECRET).
#pragma once

#include "util/text.h"

#include <sensor_reporter/plugin_abi.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sr::config {

using sr::kMaskedValue;   // util/text.h
using sr::scrub_secrets;  // util/text.h

// nullopt when the value is acceptable, else why not (no key or location:
// the caller adds those), e.g. "'abc' is not a number". A secret's value is
// never part of the text.
std::optional<std::string> check_value(const sr_param_def& def, std::string_view value);
std::string_view type_name(uint32_t param_type);

// Why `pattern` is not a usable POSIX extended regular expression, or nullopt.
std::optional<std::string> check_pattern(const char* pattern);

// The value as it may be shown: kMaskedValue for an SR_PARAM_SECRET.
std::string masked_value(const sr_param_def& def, std::string_view value);

// The number of `key` in `def`'s numbered family: "Address2" is 2 and the
// bare "Address" 1 (case-insensitive, no sign or leading zero); nullopt when
// `key` is not of the family or `def` is not SR_PARAM_NUMBERED.
std::optional<unsigned> family_number(const sr_param_def& def, std::string_view key);

// The entry of `table` that governs `key`: the one named like it, or the
// numbered family it belongs to ("Address3" -> "Address"); nullptr if none.
// The pointer points into `table`.
const sr_param_def* find_param_def(std::span<const sr_param_def> table, std::string_view key);
const sr_param_def* find_param_def(const std::vector<const sr_param_def*>& table, std::string_view key);

}  // namespace sr::config
