// Finding a kernel device by the names a user gives it; see kernel_device.hpp.
#include "kernel_device.hpp"

#include <sensor_reporter/sysfs.hpp>
#include <sensor_reporter/text.hpp>

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>

namespace sr::iio {
namespace {

// An attribute's first line, trimmed; empty when it cannot be read.
std::string attribute(const std::string& path) {
  sdk::FileText file = sdk::read_small_file(path, 256);
  if (!file.ok) return {};
  std::string_view text = file.text;
  return std::string(sdk::trim(text.substr(0, text.find('\n'))));
}

// What `path` resolves to, links followed; empty when it does not exist.
std::string real_path(const std::string& path) {
  char resolved[PATH_MAX];
  return ::realpath(path.c_str(), resolved) ? std::string(resolved) : std::string();
}

// The number at the end of an entry ("hwmon10" -> 10), for ordering.
long entry_number(std::string_view entry) {
  size_t digits = entry.size();
  while (digits > 0 && entry[digits - 1] >= '0' && entry[digits - 1] <= '9') --digits;
  if (digits == entry.size() || entry.size() - digits > 9) return LONG_MAX;
  return std::strtol(std::string(entry.substr(digits)).c_str(), nullptr, 10);
}

std::string list_of(const std::vector<const KernelDevice*>& devices) {
  std::string text;
  for (const KernelDevice* d : devices) text += (text.empty() ? "" : ", ") + describe(*d);
  return text;
}

}  // namespace

std::string under_root(std::string_view root, std::string_view path) {
  std::string joined(root);
  while (!joined.empty() && joined.back() == '/') joined.pop_back();
  if (path.empty() || path.front() != '/') joined += '/';
  joined += path;
  return joined;
}

KernelDevice describe_device(const std::string& dir) {
  KernelDevice device;
  device.dir = dir;
  device.entry = dir.substr(dir.find_last_of('/') + 1);
  device.name = attribute(dir + "/name");
  // hwmon drivers registered the old way keep their attributes in device/.
  if (device.name.empty()) device.name = attribute(dir + "/device/name");
  device.label = attribute(dir + "/label");
  device.parent_dir = real_path(dir + "/device");
  if (device.parent_dir.empty() && device.entry.starts_with("iio:device")) {
    const std::string self = real_path(dir);
    if (!self.empty()) device.parent_dir = self.substr(0, self.find_last_of('/'));
  }
  device.parent = device.parent_dir.substr(device.parent_dir.find_last_of('/') + 1);
  return device;
}

std::vector<KernelDevice> list_devices(const std::string& class_dir, std::string_view prefix) {
  std::vector<KernelDevice> devices;
  sdk::CHandle<DIR, ::closedir> dir(::opendir(class_dir.c_str()));
  if (!dir) return devices;
  while (const dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix)
      devices.push_back(describe_device(class_dir + "/" + std::string(name)));
  }
  std::sort(devices.begin(), devices.end(), [](const KernelDevice& a, const KernelDevice& b) {
    long na = entry_number(a.entry), nb = entry_number(b.entry);
    return na != nb ? na < nb : a.entry < b.entry;
  });
  return devices;
}

std::string describe(const KernelDevice& device) {
  std::string text = device.entry;
  std::string details = device.name.empty() ? "no name" : device.name;
  if (!device.label.empty()) details += fmt::format(", label {}", device.label);
  if (!device.parent.empty()) details += fmt::format(" on {}", device.parent);
  return fmt::format("{} ({})", text, details);
}

DeviceChoice choose_device(const std::vector<KernelDevice>& devices, std::string_view spec,
                           std::string_view what, const std::string& class_dir) {
  DeviceChoice choice;
  spec = sdk::trim(spec);
  const std::string_view kinds[] = {"entry", "label", "name", "parent"};
  for (std::string_view kind : kinds) {
    std::vector<const KernelDevice*> matches;
    for (const KernelDevice& d : devices) {
      const std::string& value = kind == "entry"   ? d.entry
                                 : kind == "label" ? d.label
                                 : kind == "name"  ? d.name
                                                   : d.parent;
      if (!value.empty() && value == spec) matches.push_back(&d);
    }
    if (matches.size() == 1) {
      choice.device = matches.front();
      return choice;
    }
    if (matches.size() > 1) {
      choice.error = fmt::format(
          "more than one {} is called '{}': {}; name one by its directory, its label or the device it is on",
          what, spec, list_of(matches));
      return choice;
    }
  }
  std::vector<const KernelDevice*> all;
  for (const KernelDevice& d : devices) all.push_back(&d);
  if (all.empty())
    choice.error = fmt::format("no {} '{}': {} has none (is the driver loaded?)", what, spec, class_dir);
  else
    choice.error = fmt::format("no {} '{}' in {}; there are: {}", what, spec, class_dir, list_of(all));
  return choice;
}

DeviceLookup find_device(const std::string& root, std::string_view spec, std::string_view class_dir,
                         std::string_view prefix, std::string_view what, std::string_view key) {
  DeviceLookup result;
  spec = sdk::trim(spec);
  if (!spec.empty() && spec.front() == '/') {
    KernelDevice device = describe_device(under_root(root, spec));
    std::error_code error;
    if (!std::filesystem::is_directory(device.dir, error))
      result.error = fmt::format("{}: no {} at {}", key, what, device.dir);
    else
      result.device = std::move(device);
    return result;
  }
  const std::string dir = under_root(root, class_dir);
  std::vector<KernelDevice> devices = list_devices(dir, prefix);
  DeviceChoice choice = choose_device(devices, spec, what, dir);
  if (choice.device)
    result.device = *choice.device;
  else
    result.error = fmt::format("{}: {}", key, choice.error);
  return result;
}

std::set<std::string> file_names(const std::string& dir) {
  std::set<std::string> names;
  sdk::CHandle<DIR, ::closedir> handle(::opendir(dir.c_str()));
  if (!handle) return names;
  while (const dirent* entry = ::readdir(handle.get())) {
    if (entry->d_type == DT_DIR) continue;
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace(name);
  }
  return names;
}

}  // namespace sr::iio
