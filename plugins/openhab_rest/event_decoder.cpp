// Decoder for openHAB's event stream events (see event_decoder.hpp). JSON is
// read with nlohmann::json without exceptions; anything unexpected becomes an
// error text for the caller to log.
#include "event_decoder.hpp"

#include <sensor_reporter/sdk.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <utility>
#include <vector>

namespace sr::openhab {
namespace {

using nlohmann::json;

// How much of a bad input an error quotes.
constexpr std::size_t kExcerpt = 120;
// A command or state value nested deeper than this is refused rather than
// written back as JSON text (which recurses once per level).
constexpr std::size_t kMaxValueDepth = 64;

constexpr std::array<std::string_view, 6> kStateEventTypes = {
    "ItemStateEvent",          "ItemStateChangedEvent",      "ItemStateUpdatedEvent",
    "ItemStatePredictedEvent", "GroupItemStateChangedEvent", "GroupStateUpdatedEvent",
};

bool is_lower_word(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// The string member `key` of an object, or nullptr.
const std::string* string_member(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end() || !found->is_string()) return nullptr;
  return found->get_ptr<const std::string*>();
}

std::size_t depth_of(const json& root) {
  std::size_t deepest = 0;
  std::vector<std::pair<const json*, std::size_t>> pending{{&root, 1}};
  while (!pending.empty()) {
    auto [node, depth] = pending.back();
    pending.pop_back();
    deepest = std::max(deepest, depth);
    if (deepest > kMaxValueDepth) break;
    if (node->is_structured())
      for (const auto& child : *node) pending.emplace_back(&child, depth + 1);
  }
  return deepest;
}

// Fills value and value_type from an event's payload (a JSON object inside
// a JSON string); an error text if it is not one or has no value.
// Only called for the known item event types, so event_type is printable.
std::optional<std::string> read_payload(const std::string& payload, const char* value_key,
                                        const char* type_key, ItemEvent& event) {
  json inner = json::parse(payload, nullptr, false);
  if (inner.is_discarded())
    return fmt::format("{} payload is not JSON: {}", event.event_type, sdk::printable(payload, kExcerpt));
  if (!inner.is_object())
    return fmt::format("{} payload is not a JSON object: {}", event.event_type,
                       sdk::printable(payload, kExcerpt));
  auto value = inner.find(value_key);
  if (value == inner.end())
    return fmt::format("{} payload has no \"{}\": {}", event.event_type, value_key,
                       sdk::printable(payload, kExcerpt));
  if (value->is_string()) {
    event.value = value->get<std::string>();
  } else if (depth_of(*value) > kMaxValueDepth) {
    return fmt::format("{} payload's \"{}\" is nested too deeply: {}", event.event_type, value_key,
                       sdk::printable(payload, kExcerpt));
  } else {
    event.value = value->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (const std::string* type = string_member(inner, type_key)) event.value_type = *type;
  return std::nullopt;
}

DecodeResult decode(std::string_view data) {
  json outer = json::parse(data, nullptr, false);
  if (outer.is_discarded()) return fmt::format("event data is not JSON: {}", sdk::printable(data, kExcerpt));
  if (!outer.is_object())
    return fmt::format("event data is not a JSON object: {}", sdk::printable(data, kExcerpt));
  const std::string* type = string_member(outer, "type");
  if (!type) return fmt::format("event has no string \"type\": {}", sdk::printable(data, kExcerpt));

  ItemEvent event;
  event.event_type = *type;
  if (*type == "ALIVE") {
    event.kind = EventKind::Alive;
    auto interval = outer.find("interval");
    if (interval != outer.end() && interval->is_number()) {
      double seconds = interval->get<double>();
      if (std::isfinite(seconds) && seconds > 0) event.alive_interval_s = seconds;
    }
    return event;
  }

  // The type is quoted in errors: escaped, like everything from the wire.
  const std::string* topic = string_member(outer, "topic");
  if (!topic)
    return fmt::format("{} has no string \"topic\": {}", sdk::printable(*type),
                       sdk::printable(data, kExcerpt));
  const std::string* payload = string_member(outer, "payload");
  if (!payload)
    return fmt::format("{} has no string \"payload\": {}", sdk::printable(*type),
                       sdk::printable(data, kExcerpt));
  event.topic = *topic;

  const bool command = *type == "ItemCommandEvent";
  const bool state =
      std::find(kStateEventTypes.begin(), kStateEventTypes.end(), *type) != kStateEventTypes.end();
  if (!command && !state) return event;  // Other: the payload is not needed

  auto parsed = parse_item_topic(*topic);
  if (command && (!parsed || !parsed->member.empty() || parsed->action != "command"))
    return fmt::format("ItemCommandEvent on unexpected topic '{}' (not <namespace>/items/<item>/command)",
                       sdk::printable(*topic, kExcerpt));
  if (!parsed)
    return fmt::format("{} on unexpected topic '{}' (not <namespace>/items/<item>/...)", event.event_type,
                       sdk::printable(*topic, kExcerpt));
  event.kind = command ? EventKind::Command : EventKind::State;
  event.item = parsed->item;
  event.member = parsed->member;
  // ItemStatePredictedEvent names its fields differently (openhab-core's
  // ItemStatePredictedEventPayloadBean).
  const bool predicted = *type == "ItemStatePredictedEvent";
  if (auto error = read_payload(*payload, predicted ? "predictedValue" : "value",
                                predicted ? "predictedType" : "type", event))
    return *std::move(error);
  return event;
}

}  // namespace

DecodeResult decode_event(std::string_view data) {
  try {
    return decode(data);
  } catch (const std::exception& e) {
    // nlohmann is used without exceptions; what remains is allocation failure.
    return fmt::format("cannot decode event ({}): {}", e.what(), sdk::printable(data, kExcerpt));
  }
}

bool is_valid_item_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::optional<ItemTopic> parse_item_topic(std::string_view topic) {
  std::array<std::string_view, 5> parts;
  std::size_t count = 0;
  while (true) {
    if (count == parts.size()) return std::nullopt;
    auto slash = topic.find('/');
    parts[count++] = topic.substr(0, slash);
    if (slash == std::string_view::npos) break;
    topic.remove_prefix(slash + 1);
  }
  if (count < 4 || !is_lower_word(parts[0]) || parts[1] != "items" || !is_valid_item_name(parts[2]) ||
      !is_lower_word(parts[count - 1]))
    return std::nullopt;
  ItemTopic result{parts[0], parts[2], {}, parts[count - 1]};
  if (count == 5) {
    if (!is_valid_item_name(parts[3])) return std::nullopt;
    result.member = parts[3];
  }
  return result;
}

}  // namespace sr::openhab
