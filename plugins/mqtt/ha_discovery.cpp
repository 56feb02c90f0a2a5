#include "ha_discovery.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace sr::mqtt::discovery {
namespace {

using Json = nlohmann::ordered_json;

std::string platform_of(const Entity& e) { return std::string(component_name(e.component)); }

void put_if(Json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

Json device_block(const Device& device) {
  Json d;
  d["identifiers"] = Json::array({"sr_" + device.id});
  d["name"] = device.name;
  d["manufacturer"] = "sensor_reporter";
  d["sw_version"] = device.sw_version;
  return d;
}

Json origin_block(const Device& device, const HaOptions& options) {
  Json o;
  o["name"] = "sensor_reporter";
  o["sw_version"] = device.sw_version;
  put_if(o, "support_url", options.origin_url);
  return o;
}

Json availability(const Device& device) {
  Json a;
  a["topic"] = device.availability_topic;
  a["payload_available"] = "ONLINE";
  a["payload_not_available"] = "OFFLINE";
  return Json::array({a});
}

// One component's options. `with_platform`: device mode, where each
// component names its platform; `standalone`: component mode, where each
// carries what device mode shares at the root.
Json component(const Device& device, const HaOptions& options, const Entity& e, bool with_platform,
               bool standalone) {
  Json j;
  if (with_platform) j["platform"] = platform_of(e);
  if (e.component == Component::Trigger) {
    j["automation_type"] = "trigger";
    j["topic"] = e.state_topic;
    j["type"] = e.trigger_type;
    j["subtype"] = e.trigger_subtype;
    // No payload filter: every press fires. A trigger is not an entity: no
    // unique_id, name or availability.
    if (standalone) {
      j["device"] = device_block(device);
      j["origin"] = origin_block(device, options);
    }
    return j;
  }
  j["unique_id"] = "sr_" + device.id + "_" + e.id;
  j["default_entity_id"] = platform_of(e) + "." + device.id + "_" + e.id;
  j["name"] = e.name;
  switch (e.component) {
    case Component::Sensor: j["state_topic"] = e.state_topic; break;
    case Component::BinarySensor:
      j["state_topic"] = e.state_topic;
      j["payload_on"] = e.payload_on;
      j["payload_off"] = e.payload_off;
      break;
    case Component::Switch:
      j["command_topic"] = e.command_topic;
      j["state_topic"] = e.state_topic;
      j["payload_on"] = e.payload_on;
      j["payload_off"] = e.payload_off;
      j["state_on"] = e.payload_on;
      j["state_off"] = e.payload_off;
      break;
    case Component::Button:
      j["command_topic"] = e.command_topic;
      j["payload_press"] = e.payload_press;
      break;
    case Component::Text:
      j["command_topic"] = e.command_topic;
      put_if(j, "state_topic", e.state_topic);
      break;
    case Component::Event:
      j["state_topic"] = e.state_topic;
      j["event_types"] = Json::array({e.event_type});
      // Our payload is a timestamp, not the JSON HA expects: every message
      // on the topic is one press of this kind. A template without Jinja
      // renders to itself; dump() escapes what the type might hold.
      j["value_template"] = Json{{"event_type", e.event_type}}.dump();
      break;
    case Component::Trigger: break;  // above
  }
  // Format = json: HA reads the value out of the envelope. An event's
  // template above ignores the payload already.
  if (e.json_state && !e.state_topic.empty() && e.component != Component::Event)
    j["value_template"] = "{{ value_json.value }}";
  put_if(j, "device_class", e.device_class);
  put_if(j, "state_class", e.state_class);
  put_if(j, "unit_of_measurement", e.unit);
  put_if(j, "entity_category", e.entity_category);
  if (e.expire_after > 0) j["expire_after"] = e.expire_after;
  j["qos"] = 1;
  if (standalone) {
    j["availability"] = availability(device);
    j["device"] = device_block(device);
    j["origin"] = origin_block(device, options);
  }
  return j;
}

std::string device_topic(const Device& device, const HaOptions& options) {
  return options.prefix + "/device/" + device.id + "/config";
}

std::string component_topic(const Device& device, const HaOptions& options, const Entity& e) {
  return options.prefix + "/" + platform_of(e) + "/" + device.id + "/" + e.id + "/config";
}

std::vector<std::string_view> split(std::string_view topic) {
  std::vector<std::string_view> levels;
  for (size_t start = 0;;) {
    const size_t slash = topic.find('/', start);
    levels.push_back(topic.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return levels;
    start = slash + 1;
  }
}

bool has_topic(const std::vector<Message>& messages, const std::string& topic) {
  return std::any_of(messages.begin(), messages.end(), [&](const Message& m) { return m.topic == topic; });
}

}  // namespace

std::vector<Message> ha_config(const Device& device, const HaOptions& options) {
  std::vector<Message> messages;
  if (options.mode == HaMode::Component) {
    for (const Entity& e : device.entities)
      messages.push_back(
          Message{component_topic(device, options, e), component(device, options, e, false, true).dump()});
    return messages;
  }
  Json root;
  root["device"] = device_block(device);
  root["origin"] = origin_block(device, options);
  root["availability"] = availability(device);
  Json components = Json::object();
  for (const Entity& e : device.entities) components[e.id] = component(device, options, e, true, false);
  root["components"] = std::move(components);
  messages.push_back(Message{device_topic(device, options), root.dump()});
  return messages;
}

std::vector<std::string> ha_owned_filters(const Device& device, const HaOptions& options) {
  return {device_topic(device, options), options.prefix + "/+/" + device.id + "/+/config"};
}

bool ha_owns_topic(const Device& device, const HaOptions& options, std::string_view topic) {
  if (topic == device_topic(device, options)) return true;
  const std::string prefix = options.prefix + "/";
  if (topic.substr(0, prefix.size()) != prefix) return false;
  const std::vector<std::string_view> rest = split(topic.substr(prefix.size()));
  // <platform>/<device id>/<entity id>/config
  return rest.size() == 4 && rest[0] != "device" && !rest[0].empty() && rest[1] == device.id &&
         !rest[2].empty() && rest[3] == "config";
}

std::vector<TreeDeviceRef> ha_tree_devices(const std::vector<Message>& found, const Device& device,
                                           const HaOptions& options) {
  std::vector<TreeDeviceRef> out;
  if (device.trees.empty()) return out;  // nothing to look for: no parsing
  auto note_state_topic = [&](const Json& config) {
    if (!config.is_object() || !config.contains("state_topic") || !config["state_topic"].is_string()) return;
    const auto ref = tree_device_of(device, config["state_topic"].get<std::string>());
    if (ref && std::find(out.begin(), out.end(), *ref) == out.end()) out.push_back(*ref);
  };
  for (const Message& m : found) {
    if (m.payload.empty() || !ha_owns_topic(device, options, m.topic)) continue;
    const Json config = Json::parse(m.payload, nullptr, false);
    if (m.topic != device_topic(device, options)) {
      note_state_topic(config);
      continue;
    }
    if (!config.is_object() || !config.contains("components") || !config["components"].is_object()) continue;
    for (const auto& [id, component] : config["components"].items()) note_state_topic(component);
  }
  return out;
}

std::vector<Message> ha_cleanup(const std::vector<Message>& found, const std::vector<Message>& config,
                                const Device& device, const HaOptions& options) {
  std::vector<Message> out;
  const std::string device_config_topic = device_topic(device, options);
  for (const Message& old : found) {
    if (old.payload.empty() || !ha_owns_topic(device, options, old.topic)) continue;
    if (old.topic != device_config_topic) {
      if (!has_topic(config, old.topic)) out.push_back(Message{old.topic, ""});
      continue;
    }
    // Unchanged (a reconnect): nothing to parse, nothing gone.
    if (!config.empty() && config.front().topic == old.topic && old.payload == config.front().payload) continue;
    if (options.mode == HaMode::Component || config.empty()) {
      out.push_back(Message{old.topic, ""});
      continue;
    }
    const Json before = Json::parse(old.payload, nullptr, false);
    if (!before.is_object() || !before.contains("components") || !before["components"].is_object()) {
      out.push_back(Message{old.topic, ""});
      continue;
    }
    Json now = Json::parse(config.front().payload);
    bool gone = false;
    for (const auto& [key, value] : before["components"].items()) {
      if (now["components"].contains(key)) continue;
      // Without a platform HA never made anything of it; a platform that is
      // not a string would make HA refuse the whole device config.
      if (!value.is_object() || !value.contains("platform") || !value["platform"].is_string()) continue;
      Json platform_only;
      platform_only["platform"] = value["platform"];
      now["components"][key] = platform_only;
      gone = true;
    }
    if (gone) out.push_back(Message{old.topic, now.dump()});
  }
  return out;
}

}  // namespace sr::mqtt::discovery
