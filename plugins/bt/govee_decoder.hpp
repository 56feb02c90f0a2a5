// Govee thermometer/hygrometer advertisements → readings: the pure decoder
// behind bt.govee_sensor.GoveeSensor (no D-Bus, no state, no allocation but
// the formatted strings). Shared by the module, the unit tests and fuzz
// targets. Contract: the bt research reference (bluetooth.md) §2, formats A–E
// and worked examples, and §1.4, the Python original's bugs, fixed here.
//
// Input is what BlueZ hands over in Device1.ManufacturerData (a{qv}): the
// company ID as the key, the bytes *after* the company ID as the value, plus
// Device1.Name ("" when BlueZ has none yet; not Alias, which falls back to
// the address).
//
// | fmt | company | data bytes | models              | layout (after the company ID)        |
// |-----|---------|------------|---------------------|--------------------------------------|
// | A   | 0xEC88  | 6          | H5072, H5075, H5129 | 00 · V[3] · batt · 00                |
// | B   | 0x0001  | 6          | H5100..H5177, GV5179| 01 01 · V[3] · batt (name must match)|
// | C   | 0xEC88  | 7          | H5074               | 00 · T · RH · batt · 02              |
// | D   | 0xEC88  | 9          | H5051, H5052, H5071 | 00 · T · RH · batt · 3 bytes         |
// | E   | 0x8801  | 9          | H5179 (old fw)      | EC 00 01 01 · T · RH · batt          |
// V = 24-bit big-endian, bit 23 the sign, the rest M: T = ±(M / 1000) / 10 °C
// (integer division), RH = (M % 1000) / 10 %. T = int16 LE / 100 °C,
// RH = uint16 LE / 100 %. batt: bits 0-6 percent, bit 7 sensor error.
//
// Decisions where the reference leaves room:
//  - A layout is recognised by company and data length only, as govee-ble and
//    Theengs do: the padding bytes (A's first/last, C's trailing 02, D's tail)
//    vary across firmwares and are not checked. So EC88 with 6 bytes is always
//    A and with 7 always C; a C advert cut by one byte cannot be told from A.
//  - Company 0x0001 is Nokia's ID, misused by Govee: format B needs a Govee
//    name as well (is_govee_name). A device whose name BlueZ has not seen yet
//    gives no reading until it has; the B bytes 01 01 are not checked (the
//    name already identifies the device).
//  - Company 0x8801 is not Govee's either (it is "01 88 EC" read as company
//    0x8801 plus EC...): format E needs its fixed prefix EC 00 01 01 instead.
//  - Company 0x004C (Apple iBeacon, "INTELLI_ROCKS_HW" from Govee devices)
//    never gives a reading.
//  - A 25-byte iBeacon (4C 00 02 15 "INTELLI_ROCKS_HW" ...) glued onto the
//    value by some stacks is dropped before the length check, for every
//    company (govee-ble does the same): the marker must lie inside the last
//    25 bytes, so only the glued tail itself is cut.
//  - sensor_error is set, and the reading still returned, when battery bit 7
//    is set (for every format: a percentage is at most 100, so the bit can
//    only be the error flag), when the temperature lies outside -40..100 °C
//    (bounds valid) or the humidity above 100 % (possible only in the
//    16-bit formats). The battery is always masked with 0x7F.
//    The caller then publishes battery (and rssi) only, no temperature or
//    humidity, and logs a warning naming the device; format_govee leaves the
//    temperature and humidity fields empty for such a reading.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sr::bt {

// Company IDs as BlueZ reports them (the key of ManufacturerData).
inline constexpr std::uint16_t kGoveeCompany = 0xEC88;       // formats A, C, D
inline constexpr std::uint16_t kNokiaCompany = 0x0001;       // format B, misused by Govee
inline constexpr std::uint16_t kGoveeH5179Company = 0x8801;  // format E
inline constexpr std::uint16_t kAppleCompany = 0x004C;       // iBeacon, never a reading

// A reading outside this range (°C, bounds valid) is a sensor error.
inline constexpr double kMinTempC = -40.0;
inline constexpr double kMaxTempC = 100.0;

struct GoveeReading {
  double temp_c = 0;    // exact to the advertised resolution (0.1 or 0.01 °C)
  double humidity = 0;  // percent relative humidity
  int battery = 0;      // percent, bit 7 of the byte masked off
  bool sensor_error = false;
  char format = 'A';  // 'A'..'E', see the table above
  bool operator==(const GoveeReading&) const = default;
};

// True for a local name that Govee thermometers use: "GVH5…" (GVH5075_2762),
// "GV5…" (GV5179_…, new firmware) or "Govee_H5…" (Govee_H5074_…). Case
// matters: these are the names the devices send.
bool is_govee_name(std::string_view name);

// True when decode_govee would return a reading for the same input: the
// advertisement has the layout of one of the formats A–E.
bool is_govee_thermometer(std::uint16_t company, std::span<const std::uint8_t> data, std::string_view name);

// The reading in the advertisement, or nullopt when it is not a Govee
// thermometer advertisement (see the table and the decisions above).
std::optional<GoveeReading> decode_govee(std::uint16_t company, std::span<const std::uint8_t> data,
                                         std::string_view name);

// The payloads the Python original published (wire compatible): battery as an
// integer, the others with exactly 2 decimals ("21.30"), temp_f = temp_c *
// 1.8 + 32. For a reading with sensor_error only battery is filled.
struct GoveeFields {
  std::string battery;
  std::string temp_c;
  std::string temp_f;
  std::string humi;
  bool operator==(const GoveeFields&) const = default;
};
GoveeFields format_govee(const GoveeReading& reading);

// value with exactly 2 decimals, never "-0.00" (-0.004 °F gives "0.00").
std::string format_two_decimals(double value);

}  // namespace sr::bt
