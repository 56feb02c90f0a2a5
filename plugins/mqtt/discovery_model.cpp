#include "discovery_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
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
// is still announced, without a device class.
struct Measure {
  std::string_view measures;
  std::string_view device_class;
  std::string_view entity_category;
};
constexpr Measure kMeasures[] = {
    {"temperature", "temperature", ""},
    {"humidity", "humidity", ""},
    {"battery", "battery", ""},
    {"rssi", "signal_strength", ""},
    {"uptime", "duration", "diagnostic"},
    {"contact", "opening", ""},
    {"presence", "presence", ""},
};

// A class whose destination is the root of a tree of topics named at run
// time (GoveeSensor: Destination/<device>/<field>) says so in `measures`.
constexpr std::string_view kTree = "tree";

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

class SectionMapper {
 public:
  SectionMapper(const sdk::CatalogueEntry& entry, const std::string& root, BuildReport& report)
      : entry_(entry), root_(root), report_(report) {}

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
      if (io.measures == kTree) {
        note(io, "publishes a tree of topics named at run time (one per device it finds); not announced");
        continue;
      }
      if (io.direction == SR_IO_ACCEPTS)
        add_input(io);
      else
        add_output(io);
    }
    apply_overrides();
    return std::move(entities_);
  }

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

  void add_output(const sdk::CatalogueIo& io) {
    switch (io.value_type) {
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
          e.state_class = "measurement";
        else
          e.device_class.clear();  // a text is no duration, whatever it describes
        return;
      }
    }
  }

  void apply_overrides() {
    // The first entity is the section's main one (the contact, the
    // switch): it carries the bare name, the others add their key's.
    const std::string name = param(entry_, kSectionName).empty() ? entry_.section : param(entry_, kSectionName);
    for (Entity& e : entities_) {
      e.label = &e == &entities_.front() ? "" : key_label(e.key);
      e.name = e.label.empty() ? name : fmt::format("{} {}", name, e.label);
    }
    if (entities_.empty()) return;
    Entity& first = entities_.front();
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
  BuildReport& report_;
  std::vector<Entity> entities_;
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

Device build_device(const DeviceInfo& info, const std::vector<sdk::CatalogueEntry>& catalogue, BuildReport& report) {
  Device device;
  device.id = sanitize_id(info.id);
  device.name = info.name;
  device.sw_version = info.sw_version;
  device.availability_topic = info.root_topic + "/status";
  for (const sdk::CatalogueEntry& entry : catalogue) {
    if (is_no(param(entry, kSectionDiscovery))) continue;
    for (Entity& e : SectionMapper(entry, info.root_topic, report).map()) device.entities.push_back(std::move(e));
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
