// Fuzz target: the JSON field reader of mqtt.mqtt_sensor.MqttSensor
// (plugins/mqtt/json_field.cpp), which reads whatever another device
// publishes.
//
// Input: up to the first newline the dotted path (as the Field parameter),
// the rest the message payload.
//
// Invariants:
//  - extract_field never throws, whatever the payload or path;
//  - an error is a non-empty sentence; a value is what nlohmann's own
//    (exception-free) parse finds at that path, as text: a string unquoted,
//    a number or boolean as dump() writes it;
//  - a value is never produced for a payload nlohmann rejects.
#include "mqtt/json_field.hpp"

#include "fuzz_host.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view path = input.substr(0, newline);
  const std::string_view payload = newline == std::string_view::npos ? "" : input.substr(newline + 1);

  auto result = sr::mqtt::extract_field(payload, path);
  const nlohmann::json document = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (auto* error = std::get_if<sr::mqtt::FieldError>(&result)) {
    FUZZ_CHECK(!error->why.empty());
    return 0;
  }
  FUZZ_CHECK(!document.is_discarded());
  // Walk the path again, the plain way, and compare.
  const nlohmann::json* node = &document;
  std::string_view rest = path;
  while (true) {
    const size_t dot = rest.find('.');
    FUZZ_CHECK(node->is_object());
    auto it = node->find(std::string(rest.substr(0, dot)));
    FUZZ_CHECK(it != node->end());
    node = &*it;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  const std::string& value = std::get<std::string>(result);
  if (node->is_string())
    FUZZ_CHECK(value == node->get<std::string>());
  else
    FUZZ_CHECK((node->is_number() || node->is_boolean()) && value == node->dump());
  return 0;
}
