// PLACEHOLDER until the decoder branch (bt-govee) lands: format A only.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
namespace sr::bt {
struct GoveeReading {
  double temp_c = 0;
  double humidity = 0;
  int battery = 0;
  bool sensor_error = false;
  char format = 'A';
};
std::optional<GoveeReading> decode_govee(uint16_t company, std::span<const uint8_t> data,
                                         std::string_view name);
}  // namespace sr::bt
