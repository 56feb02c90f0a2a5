#include "config/param_check.h"

#include "config/ini_file.h"
#include "util/posix_regex.h"
#include "util/text.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace sr::config {
namespace {

std::optional<std::string> check_range(const sr_param_def& def, double number, std::string_view text) {
  if ((def.flags & SR_PARAM_HAS_MIN) && number < def.min)
    return fmt::format("{} is below the minimum {}", text, def.min);
  if ((def.flags & SR_PARAM_HAS_MAX) && number > def.max)
    return fmt::format("{} is above the maximum {}", text, def.max);
  return std::nullopt;
}

std::optional<std::string> check_type(const sr_param_def& def, std::string_view value);

}  // namespace

std::optional<std::string> check_pattern(const char* pattern) {
  if (!pattern) return std::nullopt;
  return PosixRegex(pattern).error();
}

std::string masked_value(const sr_param_def& def, std::string_view value) {
  return (def.flags & SR_PARAM_SECRET) ? std::string(kMaskedValue) : std::string(value);
}

std::optional<unsigned> family_number(const sr_param_def& def, std::string_view key) {
  if (!(def.flags & SR_PARAM_NUMBERED) || !def.name) return std::nullopt;
  std::string_view name(def.name);
  if (key.size() < name.size() || !iequals(key.substr(0, name.size()), name)) return std::nullopt;
  std::string_view digits = key.substr(name.size());
  if (digits.empty()) return 1u;
  if (digits.front() == '0') return std::nullopt;
  unsigned number = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return number;
}

namespace {

const sr_param_def& entry_def(const sr_param_def& def) { return def; }
const sr_param_def& entry_def(const sr_param_def* def) { return *def; }

// The host walks class tables as spans and effective tables (class plus
// common keys) as pointer vectors: one search for both.
template <typename Table>
const sr_param_def* find_in(const Table& table, std::string_view key) {
  for (const auto& entry : table)
    if (const sr_param_def& def = entry_def(entry); def.name && iequals(def.name, key)) return &def;
  for (const auto& entry : table)
    if (const sr_param_def& def = entry_def(entry); family_number(def, key)) return &def;
  return nullptr;
}

}  // namespace

const sr_param_def* find_param_def(std::span<const sr_param_def> table, std::string_view key) {
  return find_in(table, key);
}

const sr_param_def* find_param_def(const std::vector<const sr_param_def*>& table, std::string_view key) {
  return find_in(table, key);
}

std::string_view type_name(uint32_t param_type) {
  switch (param_type) {
    case SR_PARAM_STRING: return "string";
    case SR_PARAM_INT: return "integer";
    case SR_PARAM_FLOAT: return "number";
    case SR_PARAM_BOOL: return "boolean";
    case SR_PARAM_CHOICE: return "choice";
  }
  return "unknown";
}

std::optional<std::string> check_value(const sr_param_def& def, std::string_view value) {
  std::string_view text = trim(value);
  if ((def.flags & SR_PARAM_NOT_EMPTY) && text.empty()) return std::string("must not be empty");
  if (auto problem = check_type(def, value)) {
    // The type checks quote the value; a secret's must not show.
    if (def.flags & SR_PARAM_SECRET)
      return scrub_secrets(*problem, std::vector<std::string>{std::string(value)});
    return problem;
  }
  if (def.pattern) {
    PosixRegex regex(def.pattern);
    if (auto error = regex.error()) return fmt::format("the table's pattern is invalid: {}", *error);
    if (!regex.full_match(text))
      return fmt::format("'{}' is not {}", masked_value(def, text),
                         def.pattern_text ? def.pattern_text : fmt::format("matched by {}", def.pattern));
  }
  return std::nullopt;
}

namespace {

std::optional<std::string> check_type(const sr_param_def& def, std::string_view value) {
  std::string_view text = trim(value);
  switch (def.type) {
    case SR_PARAM_STRING: return std::nullopt;
    case SR_PARAM_INT: {
      long long number = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return fmt::format("'{}' is not an integer", value);
      return check_range(def, static_cast<double>(number), text);
    }
    case SR_PARAM_FLOAT: {
      // strtod accepts what Python's float() accepts for plain decimals;
      // reject nan/inf, which no parameter means, and hexadecimal (0x21),
      // which float() refuses and Params::get<double> cannot read (found by
      // fuzz_local_rules).
      std::string copy(text);
      if (copy.find_first_not_of("0123456789+-.eE") != std::string::npos)
        return fmt::format("'{}' is not a number", value);
      char* end = nullptr;
      errno = 0;
      double number = copy.empty() ? 0 : std::strtod(copy.c_str(), &end);
      if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(number))
        return fmt::format("'{}' is not a number", value);
      // Found by fuzzing: 1e-400 parses, but std::stod (which plugins use to
      // read it) throws on underflow.
      if (errno == ERANGE) return fmt::format("'{}' is too close to 0 (write 0 or a larger number)", value);
      return check_range(def, number, text);
    }
    case SR_PARAM_BOOL: {
      if (!parse_bool(text))
        return fmt::format("'{}' is not a boolean (use yes/no, true/false, on/off or 1/0)", value);
      return std::nullopt;
    }
    case SR_PARAM_CHOICE: {
      auto choices = split_trimmed(def.choices ? def.choices : "", '|');
      for (const auto& choice : choices)
        if (iequals(choice, text)) return std::nullopt;
      return fmt::format("'{}' is not one of {}", value, join(choices, ", "));
    }
  }
  return fmt::format("parameter type {} is unknown", def.type);
}

}  // namespace

}  // namespace sr::config
