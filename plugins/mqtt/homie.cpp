#include "homie.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace sr::mqtt::discovery {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kDeviceNode = "sensor-reporter";

struct Property {
  std::string id;
  const Entity* entity;
  std::string datatype;
  std::string format;
  bool settable = false;
  bool retained = true;
};

struct Node {
  std::string id;
  std::string name;
  std::vector<Property> properties;
};

Property property_of(const Entity& e, int version) {
  Property p{sanitize_id(e.key, '-'), &e, "string", "", false, true};
  switch (e.component) {
    case Component::Sensor:
      if (e.value_type == SR_VALUE_NUMBER) p.datatype = "float";
      break;
    case Component::BinarySensor:
      p.datatype = "enum";
      p.format = e.payload_off + "," + e.payload_on;
      break;
    case Component::Switch:
      p.datatype = "enum";
      p.format = e.payload_off + "," + e.payload_on;
      p.settable = true;
      break;
    case Component::Button:
      p.datatype = "enum";
      p.format = e.payload_press;
      p.settable = true;
      p.retained = false;
      break;
    case Component::Text: p.settable = true; break;
    case Component::Trigger:
    case Component::Event:
      // A press that publishes a timestamp; a string otherwise (DashSensor's MAC).
      if (version >= 5 && e.value_type == SR_VALUE_TIMESTAMP) p.datatype = "datetime";
      p.retained = false;
      break;
  }
  return p;
}

// A tree's device is a node of its own: its leaves share names
// (temp_c) with every other device's.
std::string tree_node_id(std::string_view section, std::string_view tree_device) {
  return sanitize_id(std::string(section) + "-" + std::string(tree_device), '-');
}

std::string node_id(const Entity& e) {
  if (e.section.empty()) return std::string(kDeviceNode);
  if (!e.tree_device.empty()) return tree_node_id(e.section, e.tree_device);
  return sanitize_id(e.section, '-');
}

// A section's first entity is its main one and carries its name
// (DiscoveryName, else the section's); a tree device's node is named by
// section and device.
std::string node_name(const Entity& e) {
  if (e.section.empty()) return "sensor_reporter";
  return e.tree_device.empty() ? e.name : e.tree_device_name;
}

// Sections in file order, each a node (a tree's devices each one); the
// device's own entities (no section) last, in node "sensor-reporter".
std::vector<Node> nodes_of(const Device& device, int version) {
  std::vector<Node> nodes;
  for (const Entity& e : device.entities) {
    const std::string id = node_id(e);
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.id == id; });
    if (it == nodes.end()) {
      nodes.push_back(Node{id, node_name(e), {}});
      it = std::prev(nodes.end());
    }
    it->properties.push_back(property_of(e, version));
  }
  return nodes;
}

// Consumers show a property under its node's name: "Str" under
// "Sensor_Heartbeat", not the whole name again.
std::string property_name(const Entity& e) { return e.label.empty() ? e.name : e.label; }

std::string csv(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

Json description_nodes(const std::vector<Node>& nodes) {
  Json out = Json::object();
  for (const Node& node : nodes) {
    Json n;
    n["name"] = node.name;
    Json properties = Json::object();
    for (const Property& p : node.properties) {
      Json j;
      j["name"] = property_name(*p.entity);
      j["datatype"] = p.datatype;
      if (!p.format.empty()) j["format"] = p.format;
      if (p.settable) j["settable"] = true;
      if (!p.retained) j["retained"] = false;
      if (!p.entity->unit.empty()) j["unit"] = p.entity->unit;
      properties[p.id] = std::move(j);
    }
    n["properties"] = std::move(properties);
    out[node.id] = std::move(n);
  }
  return out;
}

Json description(const Device& device, const HomieOptions& options) {
  Json d;
  d["homie"] = "5.0";
  d["version"] = options.description_version;
  d["name"] = device.name;
  d["nodes"] = description_nodes(nodes_of(device, options.version));
  return d;
}

bool announced(const std::vector<Message>& announce, const std::string& topic) {
  return std::any_of(announce.begin(), announce.end(), [&](const Message& m) { return m.topic == topic; });
}

}  // namespace

std::string homie_base(const Device& device, const HomieOptions& options) {
  const std::string id = sanitize_id(device.id, '-');
  return options.version >= 5 ? options.domain + "/5/" + id : options.domain + "/" + id;
}

std::string homie_state_topic(const Device& device, const HomieOptions& options) {
  return homie_base(device, options) + "/$state";
}

std::vector<Message> homie_announce(const Device& device, const HomieOptions& options) {
  const std::string base = homie_base(device, options);
  std::vector<Message> out;
  auto put = [&](const std::string& topic, std::string payload) { out.push_back(Message{topic, std::move(payload)}); };
  put(base + "/$state", "init");
  if (options.version >= 5) {
    put(base + "/$description", description(device, options).dump());
    return out;
  }
  const std::vector<Node> nodes = nodes_of(device, options.version);
  std::vector<std::string> node_ids;
  for (const Node& n : nodes) node_ids.push_back(n.id);
  put(base + "/$homie", "4.0.0");
  put(base + "/$name", device.name);
  // $extensions (v4: required, empty when none) is left out: an empty
  // retained payload is a deletion in MQTT.
  put(base + "/$nodes", csv(node_ids));
  for (const Node& node : nodes) {
    const std::string n = base + "/" + node.id;
    std::vector<std::string> property_ids;
    for (const Property& p : node.properties) property_ids.push_back(p.id);
    put(n + "/$name", node.name);
    put(n + "/$type", node.id == kDeviceNode ? "sensor_reporter" : "section");
    put(n + "/$properties", csv(property_ids));
    for (const Property& p : node.properties) {
      const std::string t = n + "/" + p.id;
      put(t + "/$name", property_name(*p.entity));
      put(t + "/$datatype", p.datatype);
      if (!p.format.empty()) put(t + "/$format", p.format);
      if (p.settable) put(t + "/$settable", "true");
      if (!p.retained) put(t + "/$retained", "false");
      if (!p.entity->unit.empty()) put(t + "/$unit", p.entity->unit);
    }
  }
  return out;
}

std::vector<HomieRoute> homie_routes(const Device& device, const HomieOptions& options) {
  const std::string base = homie_base(device, options);
  std::vector<HomieRoute> routes;
  for (const Node& node : nodes_of(device, options.version))
    for (const Property& p : node.properties) {
      HomieRoute r;
      r.state_topic = p.entity->state_topic;
      r.property_topic = base + "/" + node.id + "/" + p.id;
      if (p.settable) r.set_topic = r.property_topic + "/set";
      r.command_topic = p.entity->command_topic;
      r.retained = p.retained;
      r.json = p.entity->json_state;
      routes.push_back(std::move(r));
    }
  return routes;
}

std::vector<Message> homie_cleanup(const std::vector<Message>& found, const std::vector<Message>& announce,
                                   const Device& device, const HomieOptions& options) {
  const std::string base = homie_base(device, options) + "/";
  const std::vector<HomieRoute> routes = homie_routes(device, options);
  std::vector<Message> out;
  for (const Message& old : found) {
    if (old.payload.empty() || old.topic.compare(0, base.size(), base) != 0) continue;
    if (old.topic == base + "$state" || announced(announce, old.topic)) continue;
    const bool set = old.topic.size() > 4 && old.topic.compare(old.topic.size() - 4, 4, "/set") == 0;
    const bool live_value = std::any_of(routes.begin(), routes.end(),
                                        [&](const HomieRoute& r) { return r.property_topic == old.topic; });
    if (!set && live_value) continue;
    out.push_back(Message{old.topic, ""});
  }
  return out;
}

std::vector<TreeDeviceRef> homie_tree_devices(const std::vector<Message>& found, const Device& device,
                                              const HomieOptions& options) {
  std::vector<TreeDeviceRef> out;
  auto note_node = [&](std::string_view id, std::string_view name) {
    for (const Tree& tree : device.trees) {
      const std::string prefix = tree.name + " ";
      if (!name.starts_with(prefix)) continue;
      const TreeDeviceRef ref{tree.section, std::string(name.substr(prefix.size()))};
      // The id proves the name is one of ours (a DiscoveryName may hold a
      // space): "<section>-<device>", as tree_node_id made it.
      if (ref.device.empty() || ref.device.find('/') != std::string::npos ||
          tree_node_id(ref.section, ref.device) != id)
        continue;
      if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(ref);
    }
  };
  const std::string base = homie_base(device, options) + "/";
  for (const Message& m : found) {
    if (device.trees.empty()) break;
    if (m.payload.empty() || !m.topic.starts_with(base)) continue;
    const std::string_view rest = std::string_view(m.topic).substr(base.size());
    if (options.version < 5) {
      // v4: <node>/$name
      const size_t slash = rest.find('/');
      if (slash != std::string_view::npos && rest.substr(slash) == "/$name")
        note_node(rest.substr(0, slash), m.payload);
      continue;
    }
    if (rest != "$description") continue;
    const Json description = Json::parse(m.payload, nullptr, false);
    if (!description.is_object() || !description.contains("nodes") || !description["nodes"].is_object())
      continue;
    for (const auto& [id, node] : description["nodes"].items())
      if (node.is_object() && node.contains("name") && node["name"].is_string())
        note_node(id, node["name"].get<std::string>());
  }
  return out;
}

std::uint64_t homie_description_version(const std::vector<Message>& found, const Device& device,
                                        const HomieOptions& options, std::uint64_t now) {
  const std::string topic = homie_base(device, options) + "/$description";
  for (const Message& m : found) {
    if (m.topic != topic) continue;
    Json old = Json::parse(m.payload, nullptr, false);
    if (!old.is_object() || !old.contains("version") || !old["version"].is_number_unsigned()) break;
    const std::uint64_t old_version = old["version"].get<std::uint64_t>();
    HomieOptions same = options;
    same.description_version = old_version;
    if (description(device, same) == old) return old_version;
    return std::max(old_version + 1, now);
  }
  return now;
}

std::string homie_value(std::string_view payload, const HomieOptions& options) {
  if (payload.empty() && options.version >= 5) return std::string(1, '\0');
  return std::string(payload);
}

}  // namespace sr::mqtt::discovery
