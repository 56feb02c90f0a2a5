// One channel of a kernel device: which files give its value and how they
// combine, and reading them. IIO channels (Documentation/ABI/testing/
// sysfs-bus-iio) are in_<channel>_input, already in the ABI's unit, or
// in_<channel>_raw, which becomes (raw + offset) x scale with the channel's
// own _offset and _scale or those it shares with its type
// (in_voltage_scale for voltage0) or with every channel (in_scale). hwmon
// channels (Documentation/hwmon/sysfs-interface.rst) are <channel>_input.
//
// read_channel blocks (a driver may talk to the hardware): workers only.
#pragma once

#include <sensor_reporter/handle.hpp>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sr::iio {

// The files one reading takes; full paths, `input` or `raw` set.
struct ChannelFiles {
  std::string channel;  // how messages name it: "temp", "voltage0", "temp1 (CPU)"
  std::string input;    // the processed value, or
  std::string raw;      // the raw value, with
  std::string scale;    //   its scale (empty: 1) and
  std::string offset;   //   its offset (empty: 0)
  bool operator==(const ChannelFiles&) const = default;
};

// One reading of a channel: the value in the kernel's unit, or why not.
struct ChannelValue {
  bool ok = false;
  double value = 0;
  std::string file;      // the file read (_input or _raw), or the one that failed
  int error_number = 0;  // the read's errno; 0 when the content was wrong
  std::string error;     // strerror text, or what was wrong with the content
};
ChannelValue read_channel(const ChannelFiles& files);

// A channel's files kept open between polls: each read is one pread at
// offset 0, which makes the driver answer anew (sysfs), instead of an open,
// a read and a close per file. A device that goes away makes them fail
// with ENODEV.
struct OpenChannel {
  ChannelFiles files;
  sdk::UniqueFd input, raw, scale, offset;
};
// Opens the files of `files` into `out`; a value that is not ok (naming the
// file and errno) when one cannot be opened.
ChannelValue open_channel(const ChannelFiles& files, OpenChannel& out);
ChannelValue read_channel(const OpenChannel& channel);

// The IIO ABI's processed value.
inline double iio_processed(double raw, double scale, double offset) { return (raw + offset) * scale; }

// A channel as a section names it, with the in_ prefix or an _input/_raw
// suffix dropped ("in_voltage0_raw" -> "voltage0"); empty when it cannot be
// a channel name (empty, '/', whitespace).
std::string normalize_iio_channel(std::string_view channel);

// The channel type: the name up to its index, modifier or difference
// ("voltage0-voltage1" -> "voltage", "temp_ambient" -> "temp").
std::string iio_channel_type(std::string_view channel);

// The input channels an IIO device directory offers (those with an _input
// or _raw file), sorted.
std::vector<std::string> iio_channels(const std::set<std::string>& names);

// Which files read `channel` (normalised) in the IIO device directory `dir`
// holding `names`. With an empty `channel`: the device's only channel of
// type `type`. Errors name what the device does offer.
struct ChannelChoice {
  std::optional<ChannelFiles> files;
  std::string error;
};
ChannelChoice resolve_iio_channel(const std::string& dir, const std::set<std::string>& names,
                                  std::string_view channel, std::string_view type);

}  // namespace sr::iio
