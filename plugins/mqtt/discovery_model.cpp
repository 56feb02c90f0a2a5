#include "discovery_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <utility>

namespace sr::mqtt::discovery {
namespace {

constexpr std::array<std::pair<Component, std::string_view>, 7> kComponentNames{{
    {Component::Sensor, "sensor"},
    {Component::BinarySensor, "binary_sensor"},
    {Component::Switch, "switch"},
    {Component::Button, "button"},
    {Component::Trigger, "device_automation"},
    {Component::Event, "event"},
    {Component::Text, "text"},
}};

// What a class's `measures` means to Home Assistant. A measure missing here
// is still announced, without a device class. `unit` and `label` serve a
// tree's leaves only, which have no io of their own to carry a unit or a
// key to name them by (an io's unit is the one its class declares).
struct Measure {
  std::string_view measures;
  std::string_view device_class;
  std::string_view entity_category;
  std::string_view unit;
  std::string_view label;
  // A number's HA state_class; empty: "measurement".
  std::string_view state_class = {};
};
constexpr Measure kMeasures[] = {
    {"temperature", "temperature", "", "°C", "Temperature"},
    // The same reading in °F (GoveeSensor's temp_f); HA converts either.
    {"temperature_f", "temperature", "", "°F", "Temperature °F"},
    {"humidity", "humidity", "", "%", "Humidity"},
    // The kernel readers' quantities (IioSensor, HwmonSensor).
    {"pressure", "pressure", "", "hPa", "Pressure"},
    {"voltage", "voltage", "", "V", "Voltage"},
    {"current", "current", "", "A", "Current"},
    {"power", "power", "", "W", "Power"},
    {"illuminance", "illuminance", "", "lx", "Illuminance"},
    {"battery", "battery", "", "%", "Battery"},
    {"rssi", "signal_strength", "", "dBm", "Signal strength"},
    {"uptime", "duration", "diagnostic", "", "Uptime"},
    {"contact", "opening", "", "", "Contact"},
    {"presence", "presence", "", "", "Presence"},
    // A meter's register (Pafal20ec3gr): HA's energy dashboard takes only
    // energy sensors whose state_class is total or total_increasing.
    {"energy", "energy", "", "kWh", "Energy", "total_increasing"},
};

// The state_class of a number that measures `m` (nullptr: none declared).
std::string number_state_class(const Measure* m) {
  return std::string(m && !m->state_class.empty() ? m->state_class : "measurement");
}

// A class whose destination is the root of a tree of topics named at run
// time (GoveeSensor: Destination/<device>/<leaf>) says so in `measures`,
// followed by its leaves (discovery_model.hpp).
constexpr std::string_view kTree = "tree";
// What a press declares in `measures`.
constexpr std::string_view kButton = "button";

const Measure* measure_of(std::string_view measures) {
  for (const Measure& m : kMeasures)
    if (m.measures == measures) return &m;
  return nullptr;
}

std::string param(const sdk::CatalogueEntry& entry, std::string_view key) {
  for (const auto& [k, v] : entry.params)
    if (k == key) return v;
  return {};
}

bool is_no(std::string_view value) {
  std::string lower(value);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "no" || lower == "false" || lower == "off" || lower == "0";
}

std::pair<std::string, std::string> split_values(std::string_view values) {
  const size_t comma = values.find(',');
  if (comma == std::string_view::npos) return {"OFF", "ON"};
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return std::string(s);
  };
  return {trim(values.substr(0, comma)), trim(values.substr(comma + 1))};
}

// "Short_Press-Dest" -> "Short Press"; "Destination2" -> "Destination2".
std::string key_label(std::string_view key) {
  for (std::string_view suffix : {"-Dest", "Dest", "-Src", "Src"})
    if (key.size() > suffix.size() && key.substr(key.size() - suffix.size()) == suffix) {
      key.remove_suffix(suffix.size());
      break;
    }
  std::string label(key);
  std::replace(label.begin(), label.end(), '_', ' ');
  std::replace(label.begin(), label.end(), '-', ' ');
  return label;
}

bool contains_ci(std::string_view text, std::string_view word) {
  auto it = std::search(text.begin(), text.end(), word.begin(), word.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it != text.end();
}

// One level of a topic: what a tree's leaf must be.
bool is_topic_level(std::string_view text) {
  return !text.empty() && std::none_of(text.begin(), text.end(), [](char c) {
    return c == '/' || c == '+' || c == '#' || static_cast<unsigned char>(c) < 0x20;
  });
}

bool declares(const Tree& tree, std::string_view leaf) {
  return std::any_of(tree.leaves.begin(), tree.leaves.end(),
                     [&](const TreeLeaf& l) { return l.name == leaf; });
}

class SectionMapper {
 public:
  // `tree_devices`: the devices of this section's tree to announce; null:
  // none.
  SectionMapper(const sdk::CatalogueEntry& entry, const std::string& root,
                const std::set<std::string>* tree_devices, BuildReport& report)
      : entry_(entry), root_(root), tree_devices_(tree_devices), report_(report) {}

  std::vector<Entity> map() {
    // A switch: a command (ON/OFF/TOGGLE, or the two values of a binary
    // input), and the state the section publishes, when it does.
    const sdk::CatalogueIo* command = find(SR_IO_ACCEPTS, SR_VALUE_COMMAND);
    if (!command) command = find(SR_IO_ACCEPTS, SR_VALUE_BINARY);
    const sdk::CatalogueIo* state = command ? find_measure(SR_IO_PUBLISHES, "switch") : nullptr;
    for (const sdk::CatalogueIo& io : entry_.ios) {
      if (&io == state) continue;  // the switch's state
      if (&io == command) {
        add_switch(io, state);
        continue;
      }
      if (const auto leaves = parse_tree(io.measures)) {
        add_tree(io, *leaves);
        continue;
      }
      if (io.direction == SR_IO_ACCEPTS)
        add_input(io);
      else
        add_output(io);
    }
    apply_overrides();
    // With Format = json every state topic carries the envelope, except an
    // echo on the command topic: it stays raw, to read as a command again.
    const bool json = param(entry_, kSectionFormat) == "json";
    for (Entity& e : entities_)
      e.json_state = json && !e.state_topic.empty() && e.state_topic != e.command_topic;
    return std::move(entities_);
  }
  std::vector<Tree> take_trees() { return std::move(trees_); }

 private:
  const sdk::CatalogueIo* find(sr_io_direction direction, sr_value_type type) const {
    for (const sdk::CatalogueIo& io : entry_.ios)
      if (io.direction == direction && io.value_type == type) return &io;
    return nullptr;
  }
  const sdk::CatalogueIo* find_measure(sr_io_direction direction, std::string_view measures) const {
    for (const sdk::CatalogueIo& io : entry_.ios)
      if (io.direction == direction && io.measures == measures) return &io;
    return nullptr;
  }

  std::string topic(const std::string& relative) const { return root_ + "/" + relative; }
  std::string section_name() const {
    const std::string name = param(entry_, kSectionName);
    return name.empty() ? entry_.section : name;
  }

  Entity& add(const sdk::CatalogueIo& io, Component component) {
    Entity e;
    e.section = entry_.section;
    e.key = io.key;
    e.id = sanitize_id(entry_.section + "_" + io.key);
    e.component = component;
    e.value_type = io.value_type;
    if (const Measure* m = measure_of(io.measures)) {
      e.device_class = m->device_class;
      e.entity_category = m->entity_category;
    }
    return entities_.emplace_back(std::move(e));
  }

  void add_switch(const sdk::CatalogueIo& command, const sdk::CatalogueIo* state) {
    Entity& e = add(command, Component::Switch);
    e.device_class.clear();
    e.entity_category.clear();
    e.command_topic = topic(command.topic);
    // Without a StateDest the actuator echoes its state to CommandSrc.
    e.state_topic = state ? topic(state->topic) : e.command_topic;
    std::tie(e.payload_off, e.payload_on) = split_values(state ? state->values : command.values);
  }

  void add_input(const sdk::CatalogueIo& io) {
    if (io.value_type == SR_VALUE_STRING) {
      // Free text reaching a command is not offered to a dashboard unless
      // the section asks (DiscoveryComponent = text).
      if (param(entry_, kSectionComponent) != "text") {
        note(io, "takes free text; not announced unless DiscoveryComponent = text");
        return;
      }
      Entity& e = add(io, Component::Text);
      e.command_topic = topic(io.topic);
      text_claimed_ = true;
      return;
    }
    Entity& e = add(io, Component::Button);
    e.command_topic = topic(io.topic);
    e.payload_press = io.value_type == SR_VALUE_COMMAND ? "ON" : "TOGGLE";
  }

  // A tree's devices are named at run time: entities for the ones known
  // (seen publishing, or found announced at start), each with every
  // declared leaf.
  void add_tree(const sdk::CatalogueIo& io, const std::vector<TreeLeaf>& declared) {
    std::vector<TreeLeaf> leaves;
    for (const TreeLeaf& leaf : declared) {
      if (is_topic_level(leaf.name))
        leaves.push_back(leaf);
      else
        note(io, fmt::format("tree leaf '{}' is not one topic level; not announced", leaf.name));
    }
    if (leaves.empty()) {
      note(io, "publishes a tree of topics named at run time and declares none of its leaves; not announced");
      return;
    }
    trees_.push_back(Tree{entry_.section, section_name(), topic(io.topic), leaves});
    if (!tree_devices_) return;
    for (const std::string& device : *tree_devices_)
      for (const TreeLeaf& leaf : leaves) add_leaf(io, device, leaf);
  }

  // "Sensor_Govee GVH5075_2762 Temperature" on <tree>/GVH5075_2762/temp_c.
  void add_leaf(const sdk::CatalogueIo& io, const std::string& device, const TreeLeaf& leaf) {
    Entity e;
    e.section = entry_.section;
    e.key = leaf.name;
    e.id = sanitize_id(entry_.section + "_" + device + "_" + leaf.name);
    e.value_type = io.value_type;
    e.state_topic = fmt::format("{}/{}/{}", topic(io.topic), device, leaf.name);
    e.tree_device = device;
    e.tree_device_name = fmt::format("{} {}", section_name(), device);
    const Measure* m = measure_of(leaf.measures);
    if (m) {
      e.device_class = m->device_class;
      e.entity_category = m->entity_category;
      e.unit = m->unit;
    }
    e.label = m ? std::string(m->label) : key_label(leaf.name);
    e.name = fmt::format("{} {}", e.tree_device_name, e.label);
    if (io.value_type == SR_VALUE_NUMBER)
      e.state_class = number_state_class(m);
    else
      e.device_class.clear();  // a text is no temperature, whatever it describes
    entities_.push_back(std::move(e));
  }

  void add_output(const sdk::CatalogueIo& io) {
    // A press whose payload says who pressed, not when (DashSensor's MAC):
    // a trigger all the same.
    const sr_value_type type =
        io.value_type == SR_VALUE_STRING && io.measures == kButton ? SR_VALUE_TIMESTAMP : io.value_type;
    switch (type) {
      case SR_VALUE_BINARY: {
        Entity& e = add(io, Component::BinarySensor);
        e.state_topic = topic(io.topic);
        std::tie(e.payload_off, e.payload_on) = split_values(io.values);
        return;
      }
      case SR_VALUE_TIMESTAMP: {
        Entity& e = add(io, Component::Trigger);
        e.device_class.clear();
        e.entity_category.clear();
        e.state_topic = topic(io.topic);
        const bool long_press = contains_ci(io.key, "long");
        e.trigger_type = long_press ? "button_long_press" : "button_short_press";
        e.event_type = long_press ? "long_press" : "short_press";
        e.trigger_subtype = fmt::format("button_{}", ++buttons_ > 6 ? 6 : buttons_);
        e.retained_state = false;
        return;
      }
      default: {
        Entity& e = add(io, Component::Sensor);
        e.state_topic = topic(io.topic);
        e.unit = io.unit;
        if (io.value_type == SR_VALUE_NUMBER)
          e.state_class = number_state_class(measure_of(io.measures));
        else
          e.device_class.clear();  // a text is no duration, whatever it describes
        return;
      }
    }
  }

  void apply_overrides() {
    // The first entity is the section's main one (the contact, the
    // switch): it carries the bare name, the others add their key's. A
    // tree's leaves are named by add_leaf and are nobody's main entity:
    // their devices come and go.
    const std::string name = section_name();
    Entity* main = nullptr;
    for (Entity& e : entities_) {
      if (!e.tree_device.empty()) continue;
      e.label = main ? key_label(e.key) : "";
      e.name = e.label.empty() ? name : fmt::format("{} {}", name, e.label);
      if (!main) main = &e;
    }
    if (!main) return;
    Entity& first = *main;
    const std::string wanted = param(entry_, kSectionComponent);
    if (!wanted.empty() && !text_claimed_) {
      Component c{};
      if (!parse_component(wanted, c))
        warn(first, fmt::format("{} = {}: not one of sensor, binary_sensor, event, device_automation; kept {}",
                                kSectionComponent, wanted, component_name(first.component)));
      else if (!change_component(first, c))
        warn(first, fmt::format("{} = {}: a {} cannot be shown as one; kept {}", kSectionComponent, wanted,
                                component_name(first.component), component_name(first.component)));
    }
    const std::string device_class = param(entry_, kSectionDeviceClass);
    if (!device_class.empty()) first.device_class = device_class;
  }

  // The changes that keep the wire as it is: a reading shown as text or a
  // two-valued state, a press as a trigger or an event.
  static bool change_component(Entity& e, Component to) {
    if (to == e.component) return true;
    const bool reading = e.component == Component::Sensor || e.component == Component::BinarySensor;
    const bool press = e.component == Component::Trigger || e.component == Component::Event;
    if (reading && (to == Component::Sensor || to == Component::BinarySensor)) {
      if (to == Component::BinarySensor && e.payload_on.empty()) std::tie(e.payload_off, e.payload_on) = split_values("");
      if (to == Component::Sensor) e.state_class = e.value_type == SR_VALUE_NUMBER ? "measurement" : "";
      e.component = to;
      return true;
    }
    if (press && (to == Component::Trigger || to == Component::Event)) {
      e.component = to;
      return true;
    }
    return false;
  }

  void warn(const Entity& e, std::string message) {
    report_.warnings.push_back(fmt::format("[{}] {}: {}", entry_.section, e.key, message));
  }
  void note(const sdk::CatalogueIo& io, std::string_view message) {
    report_.notes.push_back(fmt::format("[{}] {}: {}", entry_.section, io.key, message));
  }

  const sdk::CatalogueEntry& entry_;
  const std::string& root_;
  const std::set<std::string>* tree_devices_;
  BuildReport& report_;
  std::vector<Entity> entities_;
  std::vector<Tree> trees_;
  unsigned buttons_ = 0;
  bool text_claimed_ = false;
};

}  // namespace

std::string_view component_name(Component c) {
  for (const auto& [component, name] : kComponentNames)
    if (component == c) return name;
  return "sensor";
}

bool parse_component(std::string_view text, Component& out) {
  for (const auto& [component, name] : kComponentNames)
    if (name == text || (component == Component::Trigger && text == "trigger")) {
      out = component;
      return true;
    }
  return false;
}

std::string sanitize_id(std::string_view text, char sep) {
  std::string id;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 0x80)
      id += static_cast<char>(std::tolower(u));
    else if (!id.empty() && id.back() != sep)
      id += sep;
  }
  while (!id.empty() && id.back() == sep) id.pop_back();
  return id;
}

std::optional<std::vector<TreeLeaf>> parse_tree(std::string_view measures) {
  std::vector<std::string_view> words;
  for (size_t start = 0; start < measures.size();) {
    const size_t space = std::min(measures.find(' ', start), measures.size());
    if (space > start) words.push_back(measures.substr(start, space - start));
    start = space + 1;
  }
  if (words.empty() || words.front() != kTree) return std::nullopt;
  std::vector<TreeLeaf> leaves;
  for (size_t i = 1; i < words.size(); ++i) {
    const size_t colon = words[i].find(':');
    if (colon == std::string_view::npos)
      leaves.push_back(TreeLeaf{std::string(words[i]), ""});
    else
      leaves.push_back(
          TreeLeaf{std::string(words[i].substr(0, colon)), std::string(words[i].substr(colon + 1))});
  }
  return leaves;
}

std::optional<TreeDeviceRef> tree_device_of(const Device& device, std::string_view topic) {
  for (const Tree& tree : device.trees) {
    if (topic.size() <= tree.topic.size() || !topic.starts_with(tree.topic) ||
        topic[tree.topic.size()] != '/')
      continue;
    const std::string_view rest = topic.substr(tree.topic.size() + 1);  // <device>/<leaf>
    const size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos || !declares(tree, rest.substr(slash + 1))) continue;
    return TreeDeviceRef{tree.section, std::string(rest.substr(0, slash))};
  }
  return std::nullopt;
}

Device build_device(const DeviceInfo& info, const std::vector<sdk::CatalogueEntry>& catalogue,
                    BuildReport& report, const TreeDevices& tree_devices) {
  Device device;
  device.id = sanitize_id(info.id);
  device.name = info.name;
  device.sw_version = info.sw_version;
  device.availability_topic = info.root_topic + "/status";
  // Ids keep [a-z0-9] only, so two names can make one id ("Sensor_Temp" and
  // "sensor temp"; "[A] B_C" and "[A_B] C"): the second would overwrite the
  // first's entity in Home Assistant and share its Homie node. It is left
  // out, with a warning, rather than renamed to an id nobody chose.
  std::map<std::string, std::string> section_ids;                         // id -> section
  std::map<std::string, std::pair<std::string, std::string>> entity_ids;  // id -> section, key
  auto section_clashes = [&](const std::string& section) {
    const auto [it, is_new] = section_ids.emplace(sanitize_id(section), section);
    if (is_new || it->second == section) return false;
    report.warnings.push_back(fmt::format("[{}]: its discovery id '{}' is [{}]'s: left out; rename one of them",
                                          section, it->first, it->second));
    return true;
  };
  for (const sdk::CatalogueEntry& entry : catalogue) {
    if (is_no(param(entry, kSectionDiscovery)) || section_clashes(entry.section)) continue;
    const auto devices = tree_devices.find(entry.section);
    SectionMapper mapper(entry, info.root_topic, devices == tree_devices.end() ? nullptr : &devices->second,
                         report);
    for (Entity& e : mapper.map()) {
      if (const auto [it, is_new] = entity_ids.try_emplace(e.id, e.section, e.key); !is_new) {
        report.warnings.push_back(fmt::format("[{}] {}: its discovery id '{}' is [{}] {}'s: left out; rename one of "
                                              "the sections",
                                              e.section, e.key, e.id, it->second.first, it->second.second));
        continue;
      }
      device.entities.push_back(std::move(e));
    }
    for (Tree& tree : mapper.take_trees()) device.trees.push_back(std::move(tree));
  }
  Entity refresh;
  refresh.key = "refresh";
  refresh.id = "refresh";
  refresh.name = "Refresh";
  refresh.component = Component::Button;
  refresh.value_type = SR_VALUE_COMMAND;
  refresh.command_topic = info.root_topic + "/refresh";
  refresh.payload_press = "ON";
  refresh.entity_category = "config";
  device.entities.push_back(std::move(refresh));
  return device;
}

}  // namespace sr::mqtt::discovery
