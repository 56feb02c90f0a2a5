// sensor_reporter SDK: reading small kernel files (sysfs, procfs) and the
// readings in them, shared by the plugins that read kernel drivers (1-Wire,
// IIO, hwmon, the DHT driver), so that a fix lands once.
//
// Threading: every function here is plain and reentrant; the reads block
// (a sysfs attribute of a sensor driver may talk to the hardware for
// milliseconds or, for a DHT, a second), so call read_small_file from the
// work function of Host::run_blocking / poll_async, never on the loop.
#pragma once

#include <sensor_reporter/handle.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace sr::sdk {

// The whole content of a small file, or why it cannot be read. A sysfs
// attribute reports a driver's failure as the read's errno (EIO, ETIMEDOUT,
// EAGAIN, ...): error_number keeps it so a plugin can tell them apart.
struct FileText {
  bool ok = false;
  std::string text;
  int error_number = 0;  // errno when !ok; 0 when the file was larger than the limit
  std::string error;     // strerror(error_number), or why else
};

// The whole content of the open file `fd`, read from offset 0 with pread:
// called again on the same descriptor it reads the file anew, which is how
// a sysfs attribute is polled (each read at offset 0 asks the driver again;
// an attribute whose device went away fails with ENODEV). A short read ends
// it: a regular file, a sysfs attribute and a seq_file deliver everything
// they have up to the size asked for. Never throws.
inline FileText read_open_file(int fd, std::size_t limit = 4096) noexcept {
  FileText result;
  auto fail = [&](int error_number) {
    result.ok = false;
    result.text.clear();
    result.error_number = error_number;
    result.error = std::strerror(error_number);
    return result;
  };
  try {
    char buffer[512];
    for (off_t offset = 0;;) {
      ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno);
      }
      result.text.append(buffer, static_cast<size_t>(n));
      if (result.text.size() > limit) {
        fail(0);
        result.error = fmt::format("larger than {} bytes", limit);
        return result;
      }
      if (static_cast<size_t>(n) < sizeof buffer) break;
      offset += n;
    }
    result.ok = true;
  } catch (...) {
    result.ok = false;
    result.text.clear();
    result.error = "out of memory";
  }
  return result;
}

// Opens `path` for reading (close-on-exec); an invalid UniqueFd and errno
// set when it cannot.
inline UniqueFd open_for_reading(const std::string& path) noexcept {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

// Reads `path` to the end (read_open_file, on a descriptor of its own);
// never throws (a file that cannot be read is a result the plugin logs in
// its own words, naming the file).
inline FileText read_small_file(const std::string& path, std::size_t limit = 4096) noexcept {
  UniqueFd fd = open_for_reading(path);
  if (!fd) {
    FileText result;
    result.error_number = errno;
    result.error = std::strerror(result.error_number);
    return result;
  }
  return read_open_file(fd.get(), limit);
}

// A number as the kernel prints one in sysfs: an optional '-', digits, and
// optionally '.' and digits ("21500", "-5", "0.062500000", "100.653265625"),
// with surrounding whitespace (the trailing newline) allowed. Nothing else:
// no '+', exponent, hex, "inf" or "nan", no second number ("1 2"). At most
// 40 characters, which holds every value an IIO or hwmon attribute prints.
inline std::optional<double> parse_kernel_number(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return std::nullopt;
  text = text.substr(first, text.find_last_not_of(kSpace) - first + 1);
  if (text.size() > 40) return std::nullopt;
  size_t i = text[0] == '-' ? 1 : 0;
  const size_t integer_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == integer_start) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    const size_t fraction_start = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == fraction_start) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// ---------------------------------------------------------------------------
// What the temperature and humidity sensors do with a reading.

inline double celsius_to_fahrenheit(double celsius) { return celsius * 9.0 / 5.0 + 32.0; }

// Up to `decimals` decimals (0..9), trailing zeros and a trailing point
// removed, never "-0": 21.5, -5, 0, 21.062.
inline std::string format_trimmed(double value, int decimals) {
  std::string text = fmt::format("{:.{}f}", value, decimals < 0 ? 0 : decimals > 9 ? 9 : decimals);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

// The mean of the last kWindow values added, right from the first one (the
// original's smoothing divided by the window size from the start).
class MovingAverage {
 public:
  static constexpr std::size_t kWindow = 5;
  // Adds a value and returns the mean of the (up to kWindow) latest values.
  double add(double value) {
    values_[next_] = value;
    next_ = (next_ + 1) % kWindow;
    if (count_ < kWindow) ++count_;
    double sum = 0;
    for (size_t i = 0; i < count_; ++i) sum += values_[i];
    return sum / static_cast<double>(count_);
  }
  std::size_t size() const { return count_; }

 private:
  std::array<double, kWindow> values_{};
  std::size_t next_ = 0;
  std::size_t count_ = 0;
};

}  // namespace sr::sdk
