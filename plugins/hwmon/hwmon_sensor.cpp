// hwmon.hwmon_sensor.HwmonSensor — polling sensor: channels of a kernel
// hwmon chip. Parameters Chip, <X>Dest/<X>Channel, Destination/Channel,
// Poll, TempUnit, Root; the decisions and an example section are in
// hwmon_sensor.hpp.
//
//   [Sensor_CPU]
//   Class = hwmon.hwmon_sensor.HwmonSensor
//   Chip = cpu_thermal
//   TempDest = pi/cpu_temperature
//   Poll = 30
#include "hwmon_sensor.hpp"

#include <sensor_reporter/sysfs.hpp>
#include <sensor_reporter/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace sr::hwmon {
namespace {

constexpr const char* kHwmonClassDir = "/sys/class/hwmon";

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// "temp12" -> {"temp", 12}; false when it is not letters then digits.
bool split_channel(std::string_view name, std::string& kind, long& number) {
  size_t letters = 0;
  while (letters < name.size() && name[letters] >= 'a' && name[letters] <= 'z') ++letters;
  if (letters == 0 || letters == name.size() || name.size() - letters > 6) return false;
  for (size_t i = letters; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  kind = std::string(name.substr(0, letters));
  number = std::strtol(std::string(name.substr(letters)).c_str(), nullptr, 10);
  return true;
}

std::string shown(const HwmonChannel& channel) {
  return channel.label.empty() ? channel.name : fmt::format("{} ({})", channel.name, channel.label);
}

std::string listed(const std::vector<const HwmonChannel*>& channels) {
  std::string text;
  for (const HwmonChannel* c : channels) text += (text.empty() ? "" : ", ") + shown(*c);
  return text.empty() ? "none" : text;
}

}  // namespace

std::string attribute_dir(const std::string& dir) {
  std::error_code error;
  if (!std::filesystem::exists(dir + "/name", error) && std::filesystem::exists(dir + "/device/name", error))
    return dir + "/device";
  return dir;
}

std::vector<HwmonChannel> hwmon_channels(const std::string& dir, const std::set<std::string>& names) {
  std::vector<std::pair<long, HwmonChannel>> found;
  for (const std::string& file : names) {
    std::string_view f = file;
    std::string_view suffix = ends_with(f, "_input") ? "_input" : ends_with(f, "_average") ? "_average" : "";
    if (suffix.empty()) continue;
    std::string_view name = f.substr(0, f.size() - suffix.size());
    HwmonChannel channel;
    long number = 0;
    if (!split_channel(name, channel.kind, number)) continue;
    // power1_input and power1_average: the first is the reading.
    if (suffix == "_average" && names.count(std::string(name) + "_input")) continue;
    if (suffix == "_average" && channel.kind != "power") continue;
    channel.name = std::string(name);
    channel.input = dir + "/" + file;
    if (names.count(channel.name + "_label")) {
      sdk::FileText label = sdk::read_small_file(dir + "/" + channel.name + "_label", 256);
      if (label.ok)
        channel.label = std::string(sdk::trim(std::string_view(label.text).substr(0, label.text.find('\n'))));
    }
    found.emplace_back(number, std::move(channel));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.second.kind != b.second.kind ? a.second.kind < b.second.kind : a.first < b.first;
  });
  std::vector<HwmonChannel> channels;
  for (auto& [number, channel] : found) channels.push_back(std::move(channel));
  return channels;
}

iio::ChannelChoice resolve_hwmon_channel(const std::vector<HwmonChannel>& channels, std::string_view spec,
                                         std::string_view kind) {
  iio::ChannelChoice choice;
  spec = sdk::trim(spec);
  std::vector<const HwmonChannel*> all, of_kind, by_label, by_name;
  const std::string_view name = ends_with(spec, "_input") ? spec.substr(0, spec.size() - 6) : spec;
  for (const HwmonChannel& c : channels) {
    all.push_back(&c);
    if (c.kind == kind) of_kind.push_back(&c);
    if (!spec.empty() && c.label == spec) by_label.push_back(&c);
    if (!name.empty() && c.name == name) by_name.push_back(&c);
  }
  const std::vector<const HwmonChannel*>& matches = spec.empty()        ? of_kind
                                                    : !by_label.empty() ? by_label
                                                                        : by_name;
  if (matches.size() == 1) {
    choice.files = iio::ChannelFiles{shown(*matches.front()), matches.front()->input, {}, {}, {}};
  } else if (spec.empty()) {
    choice.error = of_kind.empty() ? fmt::format("the chip has no {} channel (it has: {})", kind, listed(all))
                                   : fmt::format("the chip has more than one {} channel ({}): say which",
                                                 kind, listed(of_kind));
  } else if (matches.empty()) {
    choice.error =
        fmt::format("the chip has no channel labelled or named '{}' (it has: {})", spec, listed(all));
  } else {
    choice.error =
        fmt::format("more than one channel is labelled '{}' ({}): name one (temp2)", spec, listed(matches));
  }
  return choice;
}

iio::PlanOrError plan_hwmon(const std::string& root, const std::string& spec,
                            const std::vector<iio::Output>& outputs) {
  iio::DeviceLookup lookup = iio::find_device(root, spec, kHwmonClassDir, "hwmon", "hwmon chip", "Chip");
  if (!lookup.device) return iio::PlanOrError{std::nullopt, std::move(lookup.error)};
  const std::string dir = attribute_dir(lookup.device->dir);
  const std::vector<HwmonChannel> channels = hwmon_channels(dir, iio::file_names(dir));
  return iio::plan_outputs(*lookup.device, outputs, [&](std::string_view channel, std::string_view kind) {
    return resolve_hwmon_channel(channels, channel, kind);
  });
}

HwmonSensor::HwmonSensor(sdk::Host host, const sdk::Params& params)
    : sensor_(host, iio::configured_outputs(kHwmonOutputs, params), params.choice<iio::TempUnit>("TempUnit"),
              [root = params.get("Root"), spec = params.get("Chip")](
                  const std::vector<iio::Output>& outputs) { return plan_hwmon(root, spec, outputs); }) {}

void HwmonSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  iio::check_outputs(kHwmonOutputs, params, report);
}

}  // namespace sr::hwmon
