// Fuzz target: what the kernel-device readers parse (IioSensor,
// HwmonSensor, DhtSensor): numbers as sysfs prints them, a device-tree gpios
// property, IIO channel names, the attribute names of a device directory and
// the names a section may give a device.
//
// Input (FuzzedDataProvider): an attribute's text; a channel spec; up to 24
// file names of a device directory; a type; up to 6 devices (entry, name,
// label, parent) and a device spec.
//
// Invariants:
//  - parse_kernel_number accepts exactly [-]digits[.digits] between
//    whitespace (at most 40 characters), and then agrees with strtod;
//    format_trimmed of the value has at most the asked decimals, no trailing
//    zero or point, never "-0", and reads back within half a unit of its
//    last place; format_dht never writes "-0.0";
//  - gpios_pin answers exactly for whole cells, at least two, and then it
//    is the second cell, big-endian;
//  - normalize_iio_channel gives "" or a name without '/' or whitespace;
//    iio_channel_type is a lower-case prefix of what it is given;
//  - iio_channels lists sorted, distinct channels, each with an in_<c>_input
//    or in_<c>_raw file; resolve_iio_channel's files are among the names,
//    and its choice without a channel is the only one of the type;
//  - hwmon_channels are <kind><digits> with their _input (power: or
//    _average) among the names; a resolved channel is one of them;
//  - choose_device picks a device one of whose names is the spec, and only
//    when no kind earlier in the order (entry, label, name, parent) matched
//    twice; otherwise it says why.
#include "hwmon/hwmon_sensor.hpp"
#include "iio/channel.hpp"
#include "iio/dht_sensor.hpp"
#include "iio/kernel_device.hpp"

#include "fuzz_host.h"

#include <sensor_reporter/sysfs.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace sr::iio;

bool kernel_number_grammar(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\n\r");
  if (first == std::string_view::npos) return false;
  text = text.substr(first, text.find_last_not_of(" \t\n\r") - first + 1);
  if (text.size() > 40) return false;
  size_t i = text[0] == '-';
  size_t digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  if (digits == 0) return false;
  if (i == text.size()) return true;
  if (text[i++] != '.') return false;
  size_t fraction = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++fraction;
  return fraction > 0 && i == text.size();
}

void check_format(double value, int decimals) {
  const std::string text = sr::sdk::format_trimmed(value, decimals);
  FUZZ_CHECK(!text.empty() && text != "-0");
  const size_t point = text.find('.');
  if (point != std::string::npos) {
    FUZZ_CHECK(text.size() - point - 1 <= static_cast<size_t>(decimals));
    FUZZ_CHECK(text.back() != '0' && text.back() != '.');
  }
  const double back = std::strtod(text.c_str(), nullptr);
  FUZZ_CHECK(std::fabs(back - value) <= 0.5 * std::pow(10.0, -decimals) + 1e-9 * std::fabs(value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const std::string text = input.ConsumeRandomLengthString(64);

  // Numbers.
  const std::optional<double> number = sr::sdk::parse_kernel_number(text);
  FUZZ_CHECK(number.has_value() == kernel_number_grammar(text));
  if (number) {
    FUZZ_CHECK(std::isfinite(*number));
    FUZZ_CHECK(*number == std::strtod(text.c_str(), nullptr));
    for (int decimals : {0, 1, 3, 6}) check_format(*number, decimals);
    FUZZ_CHECK(format_dht(*number / 1000.0) != "-0.0");
  }

  // A gpios property.
  const std::optional<unsigned> pin = gpios_pin(text);
  FUZZ_CHECK(pin.has_value() == (text.size() >= 8 && text.size() % 4 == 0));
  if (pin) {
    const auto byte = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(text[i])); };
    FUZZ_CHECK(*pin == (byte(4) << 24 | byte(5) << 16 | byte(6) << 8 | byte(7)));
  }

  // Channel names.
  const std::string spec = input.ConsumeRandomLengthString(32);
  const std::string channel = normalize_iio_channel(spec);
  FUZZ_CHECK(channel.find_first_of("/ \t\n\r") == std::string::npos);
  const std::string type = iio_channel_type(spec);
  FUZZ_CHECK(std::string_view(spec).substr(0, type.size()) == type);
  for (char c : type) FUZZ_CHECK(c >= 'a' && c <= 'z');

  // A device directory's attributes.
  std::set<std::string> names;
  const int files = input.ConsumeIntegralInRange(0, 24);
  for (int i = 0; i < files; ++i) names.insert(input.ConsumeRandomLengthString(24));
  const std::string wanted_type = input.ConsumeRandomLengthString(12);
  const std::vector<std::string> offered = iio_channels(names);
  FUZZ_CHECK(std::is_sorted(offered.begin(), offered.end()));
  FUZZ_CHECK(std::adjacent_find(offered.begin(), offered.end()) == offered.end());
  for (const std::string& c : offered)
    FUZZ_CHECK(names.count("in_" + c + "_input") || names.count("in_" + c + "_raw"));
  const std::string dir = "/nonexistent-fuzz";
  const ChannelChoice iio = resolve_iio_channel(dir, names, channel, wanted_type);
  FUZZ_CHECK(iio.files.has_value() != !iio.error.empty());
  if (iio.files) {
    const ChannelFiles& f = *iio.files;
    FUZZ_CHECK(f.input.empty() != f.raw.empty());
    for (const std::string* path : {&f.input, &f.raw, &f.scale, &f.offset})
      if (!path->empty())
        FUZZ_CHECK(path->rfind(dir + "/", 0) == 0 && names.count(path->substr(dir.size() + 1)));
    if (channel.empty()) {
      FUZZ_CHECK(iio_channel_type(f.channel) == wanted_type);
      FUZZ_CHECK(std::count_if(offered.begin(), offered.end(), [&](const std::string& c) {
                   return iio_channel_type(c) == wanted_type;
                 }) == 1);
    } else {
      FUZZ_CHECK(f.channel == channel);
    }
  }
  const std::vector<sr::hwmon::HwmonChannel> hwmon = sr::hwmon::hwmon_channels(dir, names);
  for (const sr::hwmon::HwmonChannel& c : hwmon) {
    FUZZ_CHECK(!c.kind.empty() && c.name.size() > c.kind.size() && c.name.substr(0, c.kind.size()) == c.kind);
    FUZZ_CHECK(c.label.empty());  // nothing to read under the fuzz directory
    FUZZ_CHECK(c.input == dir + "/" + c.name + "_input" || c.input == dir + "/" + c.name + "_average");
    FUZZ_CHECK(names.count(c.input.substr(dir.size() + 1)));
  }
  const ChannelChoice chosen = sr::hwmon::resolve_hwmon_channel(hwmon, spec, wanted_type);
  FUZZ_CHECK(chosen.files.has_value() != !chosen.error.empty());
  if (chosen.files)
    FUZZ_CHECK(std::any_of(hwmon.begin(), hwmon.end(),
                           [&](const sr::hwmon::HwmonChannel& c) { return c.input == chosen.files->input; }));

  // Devices and the name a section gives one.
  std::vector<KernelDevice> devices(input.ConsumeIntegralInRange(0, 6));
  for (KernelDevice& d : devices) {
    d.entry = input.ConsumeRandomLengthString(12);
    d.name = input.ConsumeRandomLengthString(12);
    d.label = input.ConsumeRandomLengthString(12);
    d.parent = input.ConsumeRandomLengthString(12);
  }
  const std::string device_spec = input.ConsumeRemainingBytesAsString();
  const DeviceChoice choice = choose_device(devices, device_spec, "IIO device", "/sys/bus/iio/devices");
  FUZZ_CHECK((choice.device != nullptr) != !choice.error.empty());
  const std::string_view trimmed = sr::sdk::trim(device_spec);
  if (choice.device) {
    const KernelDevice& d = *choice.device;
    FUZZ_CHECK(d.entry == trimmed || d.label == trimmed || d.name == trimmed || d.parent == trimmed);
    FUZZ_CHECK(!trimmed.empty());
  } else {
    FUZZ_CHECK(!choice.error.empty());
  }
  return 0;
}
