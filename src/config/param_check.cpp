#include "config/param_check.h"

#include "config/ini_file.h"
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

}  // namespace

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
  switch (def.type) {
    case SR_PARAM_STRING:
      return std::nullopt;
    case SR_PARAM_INT: {
      long long number = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return fmt::format("'{}' is not an integer", value);
      return check_range(def, static_cast<double>(number), text);
    }
    case SR_PARAM_FLOAT: {
      // strtod accepts what Python's float() accepts for plain decimals;
      // reject nan/inf, which no parameter means.
      std::string copy(text);
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
      bool ignored = false;
      if (!parse_bool(text, ignored))
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

}  // namespace sr::config
