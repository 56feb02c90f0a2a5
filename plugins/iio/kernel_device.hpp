// Finding the kernel device a section names, in a class directory such as
// /sys/bus/iio/devices (IIO) or /sys/class/hwmon (hwmon), and the channels
// it offers. Shared by iio.IioSensor, hwmon.HwmonSensor and gpio.DhtSensor.
//
// Everything here reads sysfs and may block: call it from a worker
// (sdk::Host::poll_async's work function), never on the loop. Plain
// functions on values; no state.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sr::iio {

// One device directory of a class, with the names a user may call it by.
struct KernelDevice {
  std::string dir;         // full path, e.g. <Root>/sys/bus/iio/devices/iio:device0
  std::string entry;       // the directory's own name: iio:device0, hwmon2
  std::string name;        // its `name` attribute (bme280, cpu_thermal), trimmed; may be empty
  std::string label;       // its `label` attribute (IIO since Linux 5.13), trimmed; may be empty
  std::string parent;      // the device it belongs to, last component: 1-0076, thermal_zone0
  std::string parent_dir;  // its directory (full path), empty when unknown
};

// The device in `dir` (which need not be in a class directory). Its parent
// is what its `device` link points at (a class device: hwmon); an IIO
// device is a bus device, which has no such link: its parent is the
// directory that really holds it (/sys/bus/iio/devices/iio:device0 links
// to <parent>/iio:device0).
KernelDevice describe_device(const std::string& dir);

// The devices of `class_dir` whose entry starts with `prefix` ("iio:device",
// "hwmon"), by number (hwmon2 before hwmon10). Empty when the directory is
// missing (no driver of the class loaded).
std::vector<KernelDevice> list_devices(const std::string& class_dir, std::string_view prefix);

// "iio:device0 (bme280 on 1-0076)", for messages.
std::string describe(const KernelDevice& device);

// Which of `devices` a section means by `spec`, tried in this order: the
// entry (iio:device0), the label, the name (bme280), the parent (1-0076).
// The first kind that matches decides; more than one match of that kind is
// an error naming each. `what` ("IIO device", "hwmon chip") and `class_dir`
// word the errors.
struct DeviceChoice {
  const KernelDevice* device = nullptr;  // into `devices`; null on error
  std::string error;
};
DeviceChoice choose_device(const std::vector<KernelDevice>& devices, std::string_view spec,
                           std::string_view what, const std::string& class_dir);

// The device a section's `key` (Device, Chip) names by `spec`: a path under
// `root` when it starts with '/', else one of the devices whose entry
// starts with `prefix` in the class directory `class_dir` (under `root`),
// as choose_device picks it. Errors start with the key.
struct DeviceLookup {
  std::optional<KernelDevice> device;
  std::string error;
};
DeviceLookup find_device(const std::string& root, std::string_view spec, std::string_view class_dir,
                         std::string_view prefix, std::string_view what, std::string_view key);

// The names of the regular files and links in `dir` (attributes), empty
// when it cannot be read.
std::set<std::string> file_names(const std::string& dir);

// `root` joined with an absolute `path` ("/" + "/sys/..." is "/sys/...").
std::string under_root(std::string_view root, std::string_view path);

}  // namespace sr::iio
