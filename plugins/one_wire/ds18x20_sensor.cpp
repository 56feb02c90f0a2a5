// one_wire.ds18x20_sensor.Ds18x20Sensor — polling sensor: the temperature of
// a DS18x20 from <Root>/sys/bus/w1/devices/<Mac>/w1_slave. Parameters Mac,
// Destination, Poll, TempUnit, Smoothing, Root; the decisions and an example
// section are in ds18x20_sensor.hpp.
//
//   [Sensor_Boiler]
//   Class = one_wire.ds18x20_sensor.Ds18x20Sensor
//   Mac = 28-0123456789ab
//   Destination = boiler/temperature
//   Poll = 60
#include "ds18x20_sensor.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace sr::one_wire {

namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Consumes "xx xx xx xx xx xx xx xx xx " (the nine scratchpad bytes, each
// followed by one space) from the front of `line`.
bool take_scratchpad(std::string_view& line) {
  for (int i = 0; i < 9; ++i) {
    if (line.size() < 3 || !is_hex(line[0]) || !is_hex(line[1]) || line[2] != ' ') return false;
    line.remove_prefix(3);
  }
  return true;
}

W1Parse fail(W1Error error, std::string detail) { return W1Parse{error, 0, std::move(detail)}; }

}  // namespace

W1Parse parse_w1_slave(std::string_view text) {
  if (text.empty()) return fail(W1Error::Empty, "the file is empty");

  size_t end1 = text.find('\n');
  if (end1 == std::string_view::npos) return fail(W1Error::Truncated, "the first line is incomplete");
  std::string_view line1 = text.substr(0, end1);
  std::string_view rest = line1;
  // "... : crc=XX YES|NO"
  if (!take_scratchpad(rest) || rest.size() < 9 || rest.substr(0, 6) != ": crc=" || !is_hex(rest[6]) ||
      !is_hex(rest[7]) || rest[8] != ' ')
    return fail(W1Error::Malformed,
                fmt::format("the first line '{}' is not 'xx .. xx : crc=xx YES|NO'", sdk::printable(line1)));
  std::string_view verdict = rest.substr(9);
  if (verdict == "NO") return fail(W1Error::CrcFailed, "the CRC check failed (NO)");
  if (verdict != "YES")
    return fail(W1Error::Malformed,
                fmt::format("the first line '{}' does not end in YES or NO", sdk::printable(line1)));

  std::string_view after = text.substr(end1 + 1);
  size_t end2 = after.find('\n');
  if (end2 == std::string_view::npos)
    return fail(W1Error::Truncated, "the second line is missing or incomplete");
  std::string_view line2 = after.substr(0, end2);
  rest = line2;
  if (!take_scratchpad(rest) || rest.substr(0, 2) != "t=")
    return fail(W1Error::Malformed, fmt::format("the second line '{}' is not 'xx .. xx t=<millidegrees>'",
                                                sdk::printable(line2)));
  std::string_view number = rest.substr(2);
  std::int32_t value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size())
    return fail(W1Error::Malformed,
                fmt::format("the temperature in '{}' is not a whole number", sdk::printable(line2)));
  return W1Parse{W1Error::None, value, {}};
}

Plausibility check_reading(std::int32_t millidegrees, std::optional<std::int32_t> previous_valid) {
  if (millidegrees < kMinMillidegrees || millidegrees > kMaxMillidegrees) return Plausibility::OutOfRange;
  if (millidegrees == kPowerOnMillidegrees) {
    // Widened so the subtraction cannot overflow for any int32 history.
    if (!previous_valid ||
        std::abs(static_cast<long long>(*previous_valid) - kPowerOnMillidegrees) > kPowerOnTolerance)
      return Plausibility::PowerOnValue;
  }
  return Plausibility::Valid;
}

double convert(double celsius, TempUnit unit) {
  return unit == TempUnit::Fahrenheit ? sdk::celsius_to_fahrenheit(celsius) : celsius;
}

bool valid_w1_id(std::string_view id) {
  if (id.size() != 15 || id[2] != '-') return false;
  for (size_t i = 0; i < id.size(); ++i)
    if (i != 2 && !is_hex(id[i])) return false;
  return true;
}

// ---------------------------------------------------------------------------

Ds18x20Sensor::Ds18x20Sensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      destination_(params.get("Destination")),
      unit_(params.choice<TempUnit>("TempUnit")),
      smoothing_(params.get<bool>("Smoothing")) {
  const std::string mac = params.get("Mac");
  if (!valid_w1_id(mac))
    throw std::invalid_argument(
        fmt::format("Mac '{}' is not a 1-Wire id like 28-0123456789ab (family, '-', 12 hex digits)", mac));
  // Plain string joining: std::filesystem::path's operator/ trips a GCC 12
  // -Wrestrict false positive at -O3 (release builds use -Werror).
  std::string root = params.get("Root");
  while (!root.empty() && root.back() == '/') root.pop_back();
  file_ = root + "/sys/bus/w1/devices/" + sdk::to_lower(mac) + "/w1_slave";
}

sdk::PollResult Ds18x20Sensor::poll() {
  // The poll ends whatever happens to the reading.
  return host_.poll_async([file = file_] { return read_small_file(file); },
                          [this](const FileText& text) { return on_read(text); });
}

void Ds18x20Sensor::refresh() {
  if (last_published_) host_.publish(destination_, *last_published_);
}

bool Ds18x20Sensor::on_read(const FileText& file) {
  if (!file.ok) {
    host_.error("cannot read {}: {} (is the sensor connected and w1_therm loaded?)", file_, file.error);
    return false;
  }
  W1Parse parsed = parse_w1_slave(file.text);
  switch (parsed.error) {
    case W1Error::None: break;
    case W1Error::CrcFailed:
    case W1Error::Truncated: host_.warning("{}: {}; reading skipped", file_, parsed.detail); return false;
    case W1Error::Empty:
    case W1Error::Malformed: host_.error("{}: {}; reading skipped", file_, parsed.detail); return false;
  }
  switch (check_reading(parsed.millidegrees, previous_valid_)) {
    case Plausibility::Valid: break;
    case Plausibility::OutOfRange:
      host_.warning("{}: t={} is outside the sensor's range -55..125 °C; reading skipped", file_,
                    parsed.millidegrees);
      return false;
    case Plausibility::PowerOnValue:
      host_.warning("{}: t=85000 is the sensor's power-on value (no conversion happened); reading skipped",
                    file_);
      return false;
  }
  previous_valid_ = parsed.millidegrees;
  double celsius = parsed.millidegrees / 1000.0;
  if (smoothing_) celsius = average_.add(celsius);
  std::string payload = format_temperature(convert(celsius, unit_));
  host_.publish(destination_, payload);
  last_published_ = std::move(payload);
  return true;
}

}  // namespace sr::one_wire
