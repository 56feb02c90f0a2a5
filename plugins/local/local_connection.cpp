#include "local_connection.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace sr::local {
namespace {

std::optional<double> parse_number(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

bool is_toggle(std::string_view payload) { return sdk::is_toggle_command(payload); }

std::optional<std::string> translate(const Rule& rule, std::string_view reading, std::string& why) {
  if (is_toggle(reading)) return std::string("TOGGLE");
  switch (rule.kind) {
    case Rule::Kind::None:
      return std::string(reading);
    case Rule::Kind::Equal:
      return std::string(reading == rule.text ? "ON" : "OFF");
    case Rule::Kind::Greater:
    case Rule::Kind::Less: {
      auto number = parse_number(reading);
      if (!number) {
        why = "is not a number";
        return std::nullopt;
      }
      bool on = rule.kind == Rule::Kind::Greater ? *number > rule.threshold : *number < rule.threshold;
      return std::string(on ? "ON" : "OFF");
    }
  }
  return std::nullopt;
}

LocalConnection::LocalConnection(sdk::Host host, const sdk::Params& params) : host_(host) {
  // The INI-era precedence: OnEq, then OnGT, then OnLT. Presence counts, not
  // truthiness, so OnGT = 0 and an empty OnEq are real rules.
  int rules = params.has("OnEq") + params.has("OnGT") + params.has("OnLT");
  if (params.has("OnEq")) {
    rule_ = Rule{Rule::Kind::Equal, params.str("OnEq"), 0};
  } else if (params.has("OnGT")) {
    rule_ = Rule{Rule::Kind::Greater, {}, params.number("OnGT")};
  } else if (params.has("OnLT")) {
    rule_ = Rule{Rule::Kind::Less, {}, params.number("OnLT")};
  }
  if (rules > 1) host_.warning("only one of OnEq, OnGT, OnLT applies; using the first in that order");
}

void LocalConnection::publish(std::string_view destination, std::string_view payload, uint32_t flags) {
  if (flags & SR_PUBLISH_ECHO) return;  // actuator state is not a command
  std::string why;
  auto command = translate(rule_, payload, why);
  if (!command) {
    host_.error("reading '{}' for {} {}; nothing forwarded", sdk::printable(payload), destination, why);
    return;
  }
  host_.deliver(std::string(destination), *command);
}

void LocalConnection::subscribe(std::string_view source) {
  // Routing is the host's: it knows which actuators listen to which source.
  host_.debug("actuator listens to {}", source);
}

}  // namespace sr::local
