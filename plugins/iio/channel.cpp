// Reading one channel of a kernel device; see channel.hpp.
#include "channel.hpp"

#include <sensor_reporter/sysfs.hpp>
#include <sensor_reporter/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace sr::iio {
namespace {

// Reads one number from `path` (through `fd` when it is open); false (and
// `out` says why) when it cannot.
bool read_number(const std::string& path, double& value, ChannelValue& out, int fd = -1) {
  sdk::FileText file = fd >= 0 ? sdk::read_open_file(fd, 128) : sdk::read_small_file(path, 128);
  if (!file.ok) {
    out.file = path;
    out.error_number = file.error_number;
    out.error = file.error;
    return false;
  }
  std::optional<double> number = sdk::parse_kernel_number(file.text);
  if (!number) {
    out.file = path;
    out.error = fmt::format("'{}' is not a number", sdk::printable(sdk::trim(file.text)));
    return false;
  }
  value = *number;
  return true;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The channel's name with its index digits and modifier removed, as the
// kernel spells an attribute shared by type: voltage0-voltage1 ->
// voltage-voltage, temp_ambient -> temp, voltage0 -> voltage.
std::string shared_by_type_name(std::string_view channel) {
  std::string name;
  for (char c : channel.substr(0, channel.find('_')))
    if (c < '0' || c > '9') name += c;
  return name;
}

// The first of in_<channel>_<attr>, in_<type>_<attr>, in_<attr> that exists.
std::string attribute_for(const std::string& dir, const std::set<std::string>& names,
                          std::string_view channel, std::string_view attr) {
  for (const std::string& candidate :
       {fmt::format("in_{}_{}", channel, attr), fmt::format("in_{}_{}", shared_by_type_name(channel), attr),
        fmt::format("in_{}", attr)})
    if (names.count(candidate)) return dir + "/" + candidate;
  return {};
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

}  // namespace

ChannelValue read_channel(const ChannelFiles& files) {
  ChannelValue out;
  out.file = files.input.empty() ? files.raw : files.input;
  if (!files.input.empty()) {
    out.ok = read_number(files.input, out.value, out);
    return out;
  }
  double raw = 0, scale = 1, offset = 0;
  if (!read_number(files.raw, raw, out)) return out;
  if (!files.scale.empty() && !read_number(files.scale, scale, out)) return out;
  if (!files.offset.empty() && !read_number(files.offset, offset, out)) return out;
  out.value = iio_processed(raw, scale, offset);
  out.ok = true;
  return out;
}

ChannelValue open_channel(const ChannelFiles& files, OpenChannel& out) {
  ChannelValue result;
  out.files = files;
  for (auto [path, fd] : {std::pair{&files.input, &out.input}, std::pair{&files.raw, &out.raw},
                          std::pair{&files.scale, &out.scale}, std::pair{&files.offset, &out.offset}}) {
    if (path->empty()) continue;
    sdk::UniqueFd opened = sdk::open_for_reading(*path);
    if (!opened) {
      result.error_number = errno;
      result.error = std::strerror(result.error_number);
      result.file = *path;
      return result;
    }
    *fd = std::move(opened);
  }
  result.ok = true;
  return result;
}

ChannelValue read_channel(const OpenChannel& channel) {
  const ChannelFiles& files = channel.files;
  ChannelValue out;
  out.file = files.input.empty() ? files.raw : files.input;
  if (channel.input) {
    out.ok = read_number(files.input, out.value, out, channel.input.get());
    return out;
  }
  double raw = 0, scale = 1, offset = 0;
  if (!read_number(files.raw, raw, out, channel.raw.get())) return out;
  if (channel.scale && !read_number(files.scale, scale, out, channel.scale.get())) return out;
  if (channel.offset && !read_number(files.offset, offset, out, channel.offset.get())) return out;
  out.value = iio_processed(raw, scale, offset);
  out.ok = true;
  return out;
}

std::string normalize_iio_channel(std::string_view channel) {
  channel = sdk::trim(channel);
  if (channel.substr(0, 3) == "in_") channel.remove_prefix(3);
  for (std::string_view suffix : {"_input", "_raw"})
    if (ends_with(channel, suffix)) channel.remove_suffix(suffix.size());
  if (channel.empty() || channel.find_first_of("/ \t\n\r") != std::string_view::npos) return {};
  return std::string(channel);
}

std::string iio_channel_type(std::string_view channel) {
  size_t end = 0;
  while (end < channel.size() && channel[end] >= 'a' && channel[end] <= 'z') ++end;
  return std::string(channel.substr(0, end));
}

std::vector<std::string> iio_channels(const std::set<std::string>& names) {
  std::vector<std::string> channels;
  for (const std::string& name : names) {
    std::string_view n = name;
    if (n.substr(0, 3) != "in_") continue;
    for (std::string_view suffix : {"_input", "_raw"})
      if (ends_with(n, suffix) && n.size() > 3 + suffix.size()) {
        std::string channel(n.substr(3, n.size() - 3 - suffix.size()));
        if (std::find(channels.begin(), channels.end(), channel) == channels.end())
          channels.push_back(channel);
      }
  }
  std::sort(channels.begin(), channels.end());
  return channels;
}

ChannelChoice resolve_iio_channel(const std::string& dir, const std::set<std::string>& names,
                                  std::string_view channel, std::string_view type) {
  ChannelChoice choice;
  const std::vector<std::string> offered = iio_channels(names);
  std::string wanted(channel);
  if (wanted.empty()) {
    std::vector<std::string> of_type;
    for (const std::string& c : offered)
      if (iio_channel_type(c) == type) of_type.push_back(c);
    if (of_type.size() != 1) {
      choice.error = of_type.empty() ? fmt::format("the device has no {} channel (it has: {})", type,
                                                   offered.empty() ? "none" : joined(offered))
                                     : fmt::format("the device has more than one {} channel ({}): say which",
                                                   type, joined(of_type));
      return choice;
    }
    wanted = of_type.front();
  }
  ChannelFiles files;
  files.channel = wanted;
  if (names.count(fmt::format("in_{}_input", wanted))) {
    files.input = fmt::format("{}/in_{}_input", dir, wanted);
  } else if (names.count(fmt::format("in_{}_raw", wanted))) {
    files.raw = fmt::format("{}/in_{}_raw", dir, wanted);
    files.scale = attribute_for(dir, names, wanted, "scale");
    files.offset = attribute_for(dir, names, wanted, "offset");
  } else {
    choice.error = fmt::format("the device has no channel {} (it has: {})", wanted,
                               offered.empty() ? "none" : joined(offered));
    return choice;
  }
  choice.files = std::move(files);
  return choice;
}

}  // namespace sr::iio
