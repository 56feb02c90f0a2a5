// Small text helpers shared by the host.
#pragma once

#include <sensor_reporter/text.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sr {

using sdk::trim;
// Splits on `separator`, trimming each piece; empty pieces are kept.
std::vector<std::string> split_trimmed(std::string_view text, char separator);
// Levenshtein distance, case-insensitive.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `word` if it is plausibly a typo of it, else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
std::string join(const std::vector<std::string>& parts, std::string_view separator);

// What the host shows instead of a secret (SR_PARAM_SECRET, plugin_abi.h).
inline constexpr std::string_view kMaskedValue = "********";
// `text` with every occurrence of a non-empty string of `secrets` replaced
// by kMaskedValue: for any text that may quote a value (diagnostics, log
// lines, STATUS=).
std::string scrub_secrets(std::string_view text, std::span<const std::string> secrets);

}  // namespace sr
