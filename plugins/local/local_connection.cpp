#include "local_connection.hpp"

#include <cmath>
#include <cstdlib>
#include <utility>

namespace sr::local {
namespace {

std::optional<double> parse_number(std::string_view text) {
  text = sdk::trim(text);
  if (text.empty()) return std::nullopt;
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> translate(const Rule& rule, std::string_view reading, std::string& why) {
  if (sdk::is_toggle_command(reading)) return std::string("TOGGLE");
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
  // truthiness, so OnGT = 0 and an empty OnEq are real rules (the table gives
  // none of them a default, so has() means "the section sets it"). A rule
  // that does not apply is not read.
  int rules = params.has("OnEq") + params.has("OnGT") + params.has("OnLT");
  if (auto text = params.find("OnEq")) {
    rule_ = Rule{Rule::Kind::Equal, std::move(*text), 0};
  } else if (auto above = params.find<double>("OnGT")) {
    rule_ = Rule{Rule::Kind::Greater, {}, *above};
  } else if (auto below = params.find<double>("OnLT")) {
    rule_ = Rule{Rule::Kind::Less, {}, *below};
  }
  if (rules > 1) host_.warning("only one of OnEq, OnGT, OnLT applies; using the first in that order");
}

void LocalConnection::publish(std::string_view destination, std::string_view payload, uint32_t flags) {
  if (flags & SR_PUBLISH_ECHO) return;  // actuator state is not a command
  // A broker's topic (MqttActuator's Topic) means nothing in-process; run
  // through a rule it would only draw a "not a number" error.
  if (flags & SR_PUBLISH_ABSOLUTE) return;
  std::string why;
  auto command = translate(rule_, payload, why);
  if (!command) {
    host_.error("reading '{}' for {} {}; nothing forwarded", sdk::printable(payload), destination, why);
    return;
  }
  host_.deliver(std::string(destination), *command);
}

void LocalConnection::subscribe(std::string_view source, uint32_t flags) {
  // Routing is the host's: it knows which actuators listen to which source.
  // An absolute topic (an MqttSensor's, whose section also publishes here)
  // is accepted and never delivered: nothing in-process publishes one.
  if (flags & SR_SUBSCRIBE_ABSOLUTE)
    host_.debug("absolute topic {} has no meaning here; only MQTT connections deliver it", source);
  else
    host_.debug("actuator listens to {}", source);
}

}  // namespace sr::local
