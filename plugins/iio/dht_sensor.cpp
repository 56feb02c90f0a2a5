// gpio.dht_sensor.DhtSensor — polling sensor: a DHT22/AM2302/DHT11 through
// the kernel's dht11 IIO driver. Parameters Pin, Sensor, TempDest, HumiDest,
// Poll, TempUnit, Smoothing, Device, Root; the decisions and an example
// section are in dht_sensor.hpp.
//
//   [Sensor_DHT]
//   Class = gpio.dht_sensor.DhtSensor
//   Sensor = AM2302
//   Pin = 4
//   TempDest = garden/temperature
//   HumiDest = garden/humidity
//   Poll = 60
#include "dht_sensor.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <stdexcept>

namespace sr::iio {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIioClassDir = "/sys/bus/iio/devices";

bool contains_word(std::string_view list, std::string_view word) {
  // of_node/compatible: strings, each ended by a NUL.
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find('\0', start);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(start, end - start) == word) return true;
    start = end + 1;
  }
  return false;
}

std::string link_name(const std::string& path) {
  char target[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
  if (n <= 0) return {};
  std::string_view link(target, static_cast<size_t>(n));
  return std::string(link.substr(link.find_last_of('/') + 1));
}

}  // namespace

bool dht_retry(int error_number, int attempts_made, bool time_left) {
  const bool transient = error_number == EIO || error_number == ETIMEDOUT || error_number == EAGAIN;
  return transient && attempts_made < kDhtMaxAttempts && time_left;
}

std::optional<unsigned> gpios_pin(std::string_view property) {
  if (property.size() < 8 || property.size() % 4 != 0) return std::nullopt;
  unsigned pin = 0;
  for (size_t i = 4; i < 8; ++i) pin = (pin << 8) | static_cast<unsigned char>(property[i]);
  return pin;
}

bool is_dht_device(const KernelDevice& device) {
  const std::string_view name = device.name;
  if (name == "dht11" || name.substr(0, 6) == "dht11@" ||
      (name.size() > 6 && name.substr(name.size() - 6) == ".dht11"))
    return true;
  for (const std::string& dir : {device.dir, device.parent_dir}) {
    if (dir.empty()) continue;
    sdk::FileText compatible = sdk::read_small_file(dir + "/of_node/compatible", 1024);
    if (compatible.ok && contains_word(compatible.text, "dht11")) return true;
  }
  return !device.parent_dir.empty() && link_name(device.parent_dir + "/driver") == "dht11";
}

std::optional<unsigned> dht_pin(const KernelDevice& device) {
  for (const std::string& dir : {device.dir, device.parent_dir}) {
    if (dir.empty()) continue;
    sdk::FileText gpios = sdk::read_small_file(dir + "/of_node/gpios", 1024);
    if (gpios.ok) return gpios_pin(gpios.text);
  }
  return std::nullopt;
}

DeviceLookup find_dht_device(const std::string& root, unsigned pin) {
  DeviceLookup result;
  const std::string class_dir = under_root(root, kIioClassDir);
  std::string others;
  for (KernelDevice& device : list_devices(class_dir, "iio:device")) {
    if (!is_dht_device(device)) continue;
    std::optional<unsigned> on = dht_pin(device);
    if (on == pin) {
      result.device = std::move(device);
      return result;
    }
    others +=
        fmt::format("{}{} on {}", others.empty() ? "" : ", ", describe(device),
                    on ? fmt::format("GPIO {}", *on) : std::string("an unknown pin (no device-tree node)"));
  }
  if (others.empty())
    result.error = fmt::format(
        "Pin: no dht11 IIO device in {}: enable the driver with dtoverlay=dht11,gpiopin={} in config.txt "
        "and reboot",
        class_dir, pin);
  else
    result.error =
        fmt::format("Pin: no dht11 device on GPIO {}; found {} (or name one with Device)", pin, others);
  return result;
}

DhtRead read_dht(const std::string& root, std::optional<unsigned> pin, const std::string& spec,
                 std::string dir) {
  DhtRead read;
  if (dir.empty()) {
    DeviceLookup lookup = spec.empty() && pin ? find_dht_device(root, *pin) : find_iio_device(root, spec);
    if (!lookup.device) {
      read.lookup_error = std::move(lookup.error);
      return read;
    }
    dir = lookup.device->dir;
    read.description = describe(*lookup.device);
  }
  read.dir = dir;
  read.temperature = read_channel(ChannelFiles{"temp", dir + "/in_temp_input", {}, {}, {}});
  // A failed transfer is not kept: reading humidity now would start another.
  if (read.temperature.ok)
    read.humidity =
        read_channel(ChannelFiles{"humidityrelative", dir + "/in_humidityrelative_input", {}, {}, {}});
  return read;
}

std::string format_dht(double value) {
  std::string text = fmt::format("{:.1f}", value);
  return text == "-0.0" ? "0.0" : text;
}

DhtSensor::DhtSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      temp_dest_(params.get("TempDest")),
      humi_dest_(params.get("HumiDest")),
      unit_(params.choice<TempUnit>("TempUnit")),
      smoothing_(params.get<bool>("Smoothing")),
      pin_(params.find<unsigned>("Pin")),
      spec_(params.find("Device").value_or("")),
      root_(params.get("Root")),
      poll_interval_(std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(params.get<double>("Poll")))),
      retry_delay_(params.choice<DhtModel>("Sensor") == DhtModel::Dht11 ? 1s : 2s) {
  if (!pin_ && spec_.empty()) throw std::invalid_argument("set Pin (or Device): which sensor to read");
}

void DhtSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (!params.has("Pin") && !params.has("Device"))
    report.error("Pin",
                 "required: the GPIO the sensor is on (dtoverlay=dht11,gpiopin=N), unless Device is set");
  if (auto poll = params.find<double>("Poll"); poll && *poll < 2)
    report.warning("Poll",
                   "the kernel reads a DHT at most every 2 s; faster polls publish the same reading again");
}

sdk::PollResult DhtSensor::poll() {
  poll_started_ = host_.now();
  attempt_ = 0;
  start_attempt();
  return sdk::PollResult::Pending;
}

void DhtSensor::start_attempt() {
  ++attempt_;
  host_.run_blocking(
      [root = root_, pin = pin_, spec = spec_, dir = dir_] {
        try {
          return read_dht(root, pin, spec, dir);
        } catch (const std::exception& e) {
          DhtRead failed;
          failed.lookup_error = e.what();
          return failed;
        }
      },
      [this](DhtRead read) { on_read(std::move(read)); });
}

void DhtSensor::on_read(DhtRead read) {
  if (!read.lookup_error.empty()) {
    host_.error("{}", read.lookup_error);
    return finish(false);
  }
  if (!read.description.empty()) host_.info("reading {}", read.description);
  dir_ = read.dir;
  const ChannelValue& failed = !read.temperature.ok ? read.temperature : read.humidity;
  if (read.temperature.ok && read.humidity.ok) return finish(publish(read));

  // A retry that might still run at the next tick would make the host skip it.
  const bool time_left = host_.now() + retry_delay_ + kDhtLongestRead < poll_started_ + poll_interval_;
  if (dht_retry(failed.error_number, attempt_, time_left)) {
    host_.debug("attempt {}: {}: {}; trying again in {} s", attempt_, failed.file, failed.error,
                std::chrono::duration_cast<std::chrono::seconds>(retry_delay_).count());
    retry_ = host_.add_timer(retry_delay_, std::chrono::nanoseconds(0), [this] { start_attempt(); });
    return;
  }
  if (failed.error_number != EIO && failed.error_number != ETIMEDOUT && failed.error_number != EAGAIN) {
    host_.error("cannot read {}: {}", failed.file, failed.error);
    // Unbound or unplugged: find it again next time.
    if (failed.error_number == ENOENT || failed.error_number == ENODEV) dir_.clear();
    return finish(false);
  }
  host_.debug("attempt {}: {}: {}; giving up until the next poll", attempt_, failed.file, failed.error);
  if (failed.error_number == ETIMEDOUT)
    host_.warning("{}: the sensor did not answer ({}); is it wired to the pin and powered?", failed.file,
                  failed.error);
  else if (failed.error_number == EIO)
    host_.warning("{}: the sensor's answers were garbled ({}: checksum or timing); nothing published",
                  failed.file, failed.error);
  else
    host_.warning("{}: {}; nothing published", failed.file, failed.error);
  finish(false);
}

bool DhtSensor::publish(const DhtRead& read) {
  bool published = false;
  const double celsius = read.temperature.value / 1000.0;
  if (celsius < kDhtMinCelsius || celsius > kDhtMaxCelsius || !std::isfinite(celsius)) {
    host_.warning("{}: {} °C is outside -40..125 °C; temperature skipped", read.temperature.file,
                  sdk::format_trimmed(celsius, 3));
  } else {
    const double value = smoothing_ ? temp_average_.add(celsius) : celsius;
    last_temp_ = format_dht(unit_ == TempUnit::Fahrenheit ? sdk::celsius_to_fahrenheit(value) : value);
    host_.publish(temp_dest_, *last_temp_);
    published = true;
  }
  const double percent = read.humidity.value / 1000.0;
  if (percent < 0 || percent > 100 || !std::isfinite(percent)) {
    host_.warning("{}: {} % is outside 0..100 %; humidity skipped", read.humidity.file,
                  sdk::format_trimmed(percent, 3));
  } else {
    last_humi_ = format_dht(smoothing_ ? humi_average_.add(percent) : percent);
    host_.publish(humi_dest_, *last_humi_);
    published = true;
  }
  return published;
}

void DhtSensor::finish(bool ok) { host_.poll_done(ok); }

void DhtSensor::refresh() {
  if (last_temp_) host_.publish(temp_dest_, *last_temp_);
  if (last_humi_) host_.publish(humi_dest_, *last_humi_);
}

}  // namespace sr::iio
