#include "mqtt_actuator.hpp"

#include <stdexcept>

namespace sr::mqtt {

std::variant<PayloadMap, std::string> parse_payload_map(std::string_view text) {
  PayloadMap map;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = sdk::trim(text.substr(0, comma));
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos || sdk::trim(item.substr(0, equals)).empty())
      return fmt::format("'{}' is not COMMAND=payload", item);
    std::string command(sdk::trim(item.substr(0, equals)));
    for (const auto& [known, payload] : map)
      if (sdk::iequals(known, command)) return fmt::format("command {} is mapped twice", command);
    map.emplace_back(std::move(command), sdk::trim(item.substr(equals + 1)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return map;
}

void MqttActuator::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (auto text = params.find("Payloads")) {
    const auto parsed = parse_payload_map(*text);
    if (const auto* error = std::get_if<std::string>(&parsed)) report.error("Payloads", *error);
  }
}

MqttActuator::MqttActuator(sdk::Host host, const sdk::Params& params)
    : host_(host), topic_(sdk::trim(params.get("Topic"))) {
  if (auto text = params.find("Payloads")) {
    auto parsed = parse_payload_map(*text);
    if (auto* error = std::get_if<std::string>(&parsed)) throw std::runtime_error("Payloads: " + *error);
    payloads_ = std::move(std::get<PayloadMap>(parsed));
  }
  host_.subscribe(params.get("CommandSrc"));
}

void MqttActuator::on_command(std::string_view, std::string_view command) {
  if (payloads_.empty()) {
    host_.publish(topic_, command, SR_PUBLISH_ABSOLUTE);
    return;
  }
  const std::string_view trimmed = sdk::trim(command);
  for (const auto& [known, payload] : payloads_) {
    if (sdk::iequals(known, trimmed)) {
      host_.publish(topic_, payload, SR_PUBLISH_ABSOLUTE);
      return;
    }
  }
  host_.debug("command '{}' is not in Payloads; not forwarded to {}", sdk::printable(command), topic_);
}

}  // namespace sr::mqtt
