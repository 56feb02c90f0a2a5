// Govee advertisement decoder; the formats and decisions are in govee_decoder.hpp.
#include "govee_decoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>

namespace sr::bt {

namespace {

// An iBeacon manufacturer-data structure with its company ID: 4C 00 02 15,
// 16-byte UUID, major, minor, tx power.
constexpr std::size_t kIBeaconSize = 25;
constexpr std::string_view kIBeaconMarker = "INTELLI_ROCKS";
constexpr std::array<std::uint8_t, 4> kH5179Prefix = {0xEC, 0x00, 0x01, 0x01};

// The data without a Govee iBeacon glued onto its end.
std::span<const std::uint8_t> without_ibeacon_tail(std::span<const std::uint8_t> data) {
  if (data.size() <= kIBeaconSize) return data;
  auto tail = data.last(kIBeaconSize);
  auto marker = std::search(tail.begin(), tail.end(), kIBeaconMarker.begin(), kIBeaconMarker.end(),
                            [](std::uint8_t byte, char c) { return byte == static_cast<std::uint8_t>(c); });
  return marker == tail.end() ? data : data.first(data.size() - kIBeaconSize);
}

// Which format the advertisement has, with the data it is decoded from.
struct Layout {
  char format;
  std::span<const std::uint8_t> data;
};

std::optional<Layout> classify(std::uint16_t company, std::span<const std::uint8_t> data,
                               std::string_view name) {
  data = without_ibeacon_tail(data);
  switch (company) {
    case kGoveeCompany:
      if (data.size() == 6) return Layout{'A', data};
      if (data.size() == 7) return Layout{'C', data};
      if (data.size() == 9) return Layout{'D', data};
      break;
    case kNokiaCompany:
      if (data.size() == 6 && is_govee_name(name)) return Layout{'B', data};
      break;
    case kGoveeH5179Company:
      if (data.size() == 9 && std::equal(kH5179Prefix.begin(), kH5179Prefix.end(), data.begin()))
        return Layout{'E', data};
      break;
    default: break;  // kAppleCompany included: an iBeacon carries no reading
  }
  return std::nullopt;
}

// Integer hundredths, so that the range checks and the conversion to double
// are exact (2534 / 100.0 is the double nearest 25.34).
struct RawReading {
  int temp_centi;
  int humidity_centi;
  std::uint8_t battery_byte;
};

// V[3] (bit 23 the sign, not two's complement) followed by the battery byte.
RawReading decode_packed(std::span<const std::uint8_t> bytes) {
  std::uint32_t value = (std::uint32_t{bytes[0]} << 16) | (std::uint32_t{bytes[1]} << 8) | bytes[2];
  std::uint32_t magnitude = value & 0x7FFFFF;
  // The humidity fills the last 3 decimal digits, the temperature (in tenths)
  // the ones above: the original divided by 10000 and so showed the humidity's
  // first digit as the temperature's hundredths (21.34 for 21.3 °C, 44.2 %).
  int temp_tenths = static_cast<int>(magnitude / 1000);
  if (value & 0x800000) temp_tenths = -temp_tenths;
  return {temp_tenths * 10, static_cast<int>(magnitude % 1000) * 10, bytes[3]};
}

// int16 LE temperature, uint16 LE humidity (both hundredths), battery byte.
RawReading decode_int16(std::span<const std::uint8_t> bytes) {
  auto temp = static_cast<std::int16_t>(bytes[0] | (bytes[1] << 8));
  auto humidity = static_cast<std::uint16_t>(bytes[2] | (bytes[3] << 8));
  return {temp, humidity, bytes[4]};
}

GoveeReading finish(const RawReading& raw, char format) {
  GoveeReading reading;
  reading.temp_c = raw.temp_centi / 100.0;
  reading.humidity = raw.humidity_centi / 100.0;
  reading.battery = raw.battery_byte & 0x7F;
  bool error_bit = (raw.battery_byte & 0x80) != 0;
  bool temp_out_of_range = raw.temp_centi < kMinTempC * 100 || raw.temp_centi > kMaxTempC * 100;
  bool humidity_out_of_range = raw.humidity_centi > 100 * 100;
  reading.sensor_error = error_bit || temp_out_of_range || humidity_out_of_range;
  reading.format = format;
  return reading;
}

}  // namespace

bool is_govee_name(std::string_view name) {
  return name.starts_with("GVH5") || name.starts_with("GV5") || name.starts_with("Govee_H5");
}

bool is_govee_thermometer(std::uint16_t company, std::span<const std::uint8_t> data, std::string_view name) {
  return classify(company, data, name).has_value();
}

std::optional<GoveeReading> decode_govee(std::uint16_t company, std::span<const std::uint8_t> data,
                                         std::string_view name) {
  auto layout = classify(company, data, name);
  if (!layout) return std::nullopt;
  auto bytes = layout->data;
  switch (layout->format) {
    case 'A': return finish(decode_packed(bytes.subspan(1, 4)), 'A');
    case 'B': return finish(decode_packed(bytes.subspan(2, 4)), 'B');
    case 'C':
    case 'D': return finish(decode_int16(bytes.subspan(1, 5)), layout->format);
    default: return finish(decode_int16(bytes.subspan(4, 5)), 'E');  // after EC 00 01 01
  }
}

std::string format_two_decimals(double value) {
  std::string text = fmt::format("{:.2f}", value);
  if (text == "-0.00") text = "0.00";
  return text;
}

GoveeFields format_govee(const GoveeReading& reading) {
  GoveeFields fields;
  fields.battery = fmt::format("{}", reading.battery);
  if (reading.sensor_error) return fields;
  fields.temp_c = format_two_decimals(reading.temp_c);
  // Readings have at most 2 decimals, so temp_c * 1.8 has at most 3 and the
  // third is even: never a tie, the rounding below is exact.
  fields.temp_f = format_two_decimals(reading.temp_c * 1.8 + 32);
  fields.humi = format_two_decimals(reading.humidity);
  return fields;
}

}  // namespace sr::bt
