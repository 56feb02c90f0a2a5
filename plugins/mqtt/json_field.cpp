#include "json_field.hpp"

#include <nlohmann/json.hpp>

namespace sr::mqtt {

std::variant<std::string, FieldError> extract_field(std::string_view payload, std::string_view path) {
  // No exceptions for bad input: a malformed message is routine on a broker
  // that other devices write to, and is reported, not thrown.
  const nlohmann::json document = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (document.is_discarded()) return FieldError{"is not valid JSON"};
  const nlohmann::json* node = &document;
  std::string_view rest = path;
  while (true) {
    const size_t dot = rest.find('.');
    const std::string key(rest.substr(0, dot));
    if (!node->is_object())
      return FieldError{"has no field (the value above '" + key + "' is not an object)"};
    auto it = node->find(key);
    if (it == node->end()) return FieldError{"has no field '" + key + "'"};
    node = &*it;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (node->is_string()) return node->get<std::string>();
  if (node->is_number() || node->is_boolean()) return node->dump();
  return FieldError{std::string("holds ") + node->type_name() + ", not a value"};
}

std::string envelope_value(std::string_view payload) {
  // The host writes the value first and compactly, a number as the very text
  // published: it runs from here to the next ',' (a number has none).
  constexpr std::string_view head = "{\"value\":";
  if (!payload.starts_with(head)) return std::string(payload);
  const nlohmann::json envelope = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
  if (!envelope.is_object() || !envelope.contains("value")) return std::string(payload);
  const nlohmann::json& value = envelope["value"];
  if (value.is_string()) return value.get<std::string>();
  const size_t end = payload.find_first_of(",}", head.size());
  if (!value.is_number() || end == std::string_view::npos) return std::string(payload);
  return std::string(payload.substr(head.size(), end - head.size()));
}

}  // namespace sr::mqtt
