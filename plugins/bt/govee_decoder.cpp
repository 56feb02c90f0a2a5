// PLACEHOLDER until the decoder branch (bt-govee) lands: format A only.
#include "govee_decoder.hpp"
namespace sr::bt {
std::optional<GoveeReading> decode_govee(uint16_t company, std::span<const uint8_t> data, std::string_view) {
  if (company != 0xEC88 || data.size() != 6) return std::nullopt;
  uint32_t v = (uint32_t(data[1]) << 16) | (uint32_t(data[2]) << 8) | data[3];
  bool negative = v & 0x800000;
  uint32_t m = v & 0x7FFFFF;
  GoveeReading r;
  r.temp_c = (negative ? -1 : 1) * int(m / 1000) / 10.0;
  r.humidity = (m % 1000) / 10.0;
  r.battery = data[4] & 0x7F;
  r.sensor_error = data[4] & 0x80;
  return r;
}
}  // namespace sr::bt
