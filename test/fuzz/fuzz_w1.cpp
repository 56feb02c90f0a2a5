// Fuzz target: the w1_slave reader of one_wire.ds18x20_sensor.Ds18x20Sensor.
//
// Input: the text of a w1_slave file (the kernel's w1_therm format, or not).
// Runs parse_w1_slave, then what the sensor does with a reading:
// check_reading against a previous value, convert, format_temperature and the
// moving average.
//
// Invariants:
//  - ok() exactly when the text has two complete lines, the first ending in
//    " YES", and a decimal int32 after "t=" on the second; the value is that
//    number (compared with a strtoll reference, so it fits in int32);
//  - every failure carries a detail line without raw control characters;
//  - an empty input is Empty, an input without '\n' is Truncated;
//  - check_reading says Valid only within -55..125 °C, and 85 °C only next to
//    a previous reading within 5 °C;
//  - format_temperature gives at most 3 decimals, no trailing zero or point,
//    never "-0", and parses back to the value within 0.0005;
//  - the moving average stays between the smallest and largest sample.
#include "one_wire/ds18x20_sensor.hpp"

#include "fuzz_host.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace sr::one_wire;

void check_format(double value) {
  std::string text = format_temperature(value);
  FUZZ_CHECK(!text.empty() && text != "-0");
  auto point = text.find('.');
  if (point != std::string::npos) {
    FUZZ_CHECK(text.size() - point - 1 <= 3);
    FUZZ_CHECK(text.back() != '0' && text.back() != '.');
  }
  FUZZ_CHECK(std::fabs(std::strtod(text.c_str(), nullptr) - value) <= 0.0005 + 1e-9 * std::fabs(value));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  W1Parse parsed = parse_w1_slave(text);

  if (text.empty()) FUZZ_CHECK(parsed.error == W1Error::Empty);
  if (!text.empty() && text.find('\n') == std::string_view::npos)
    FUZZ_CHECK(parsed.error == W1Error::Truncated);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.detail.empty());
    for (char c : parsed.detail) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    FUZZ_CHECK(parsed.millidegrees == 0);
    return 0;
  }

  // A reference for what ok() promises.
  auto end1 = text.find('\n');
  std::string_view line1 = text.substr(0, end1);
  FUZZ_CHECK(line1.ends_with(" YES") && line1.find(": crc=") != std::string_view::npos);
  std::string_view rest = text.substr(end1 + 1);
  auto end2 = rest.find('\n');
  FUZZ_CHECK(end2 != std::string_view::npos);
  std::string_view line2 = rest.substr(0, end2);
  auto t = line2.find("t=");
  FUZZ_CHECK(t != std::string_view::npos);
  std::string number(line2.substr(t + 2));
  FUZZ_CHECK(!number.empty() && number.front() != '+' && number.front() != ' ');
  errno = 0;
  char* stop = nullptr;
  long long reference = std::strtoll(number.c_str(), &stop, 10);
  FUZZ_CHECK(errno == 0 && stop == number.c_str() + number.size());
  FUZZ_CHECK(reference >= INT32_MIN && reference <= INT32_MAX);
  FUZZ_CHECK(reference == parsed.millidegrees);

  // What the sensor does next, with a previous reading derived from the input.
  const std::int32_t value = parsed.millidegrees;
  const long long earlier =
      std::max<long long>(INT32_MIN, static_cast<long long>(value) - static_cast<long long>(size % 7000));
  const std::optional<std::int32_t> previous =
      size % 3 == 0 ? std::nullopt : std::optional<std::int32_t>(static_cast<std::int32_t>(earlier));
  Plausibility verdict = check_reading(value, previous);
  const bool in_range = value >= kMinMillidegrees && value <= kMaxMillidegrees;
  if (!in_range) FUZZ_CHECK(verdict == Plausibility::OutOfRange);
  if (in_range && value != kPowerOnMillidegrees) FUZZ_CHECK(verdict == Plausibility::Valid);
  if (value == kPowerOnMillidegrees)
    FUZZ_CHECK((verdict == Plausibility::Valid) ==
               (previous &&
                std::llabs(static_cast<long long>(*previous) - kPowerOnMillidegrees) <= kPowerOnTolerance));

  const double celsius = value / 1000.0;
  check_format(celsius);
  check_format(convert(celsius, TempUnit::Fahrenheit));

  MovingAverage average;
  double low = celsius, high = celsius;
  for (int i = 0; i < 7; ++i) {
    double sample = celsius + (i % 3) - 1;
    low = std::min(low, sample);
    high = std::max(high, sample);
    double mean = average.add(sample);
    FUZZ_CHECK(mean >= low - 1e-9 && mean <= high + 1e-9);
    FUZZ_CHECK(average.size() == std::min<std::size_t>(i + 1, MovingAverage::kWindow));
  }
  return 0;
}
