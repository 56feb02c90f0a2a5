// Unit tests for the Govee advertisement decoder (plugins/bt/govee_decoder.hpp):
// every worked example of the bt reference (bluetooth.md §2.3) with exact
// values and payload strings, the Python original's mis-decodes (§1.4) done
// right, and hostile data: wrong lengths and companies, foreign names, the
// error bit, out-of-range values and Govee's iBeacon, alone or glued on.
#include "bt/govee_decoder.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace sr::bt {
std::ostream& operator<<(std::ostream& out, const GoveeReading& r) {
  return out << "{" << r.format << " " << r.temp_c << " °C, " << r.humidity << " %, batt " << r.battery
             << (r.sensor_error ? ", error" : "") << "}";
}
std::ostream& operator<<(std::ostream& out, const GoveeFields& f) {
  return out << "{battery " << f.battery << ", temp_c " << f.temp_c << ", temp_f " << f.temp_f << ", humi "
             << f.humi << "}";
}
}  // namespace sr::bt

namespace {

using namespace sr::bt;
using Bytes = std::vector<std::uint8_t>;

// Hex digits to bytes; spaces are ignored so the reference's rows can be
// written as they stand there.
Bytes bytes_of(std::string_view hex) {
  Bytes bytes;
  std::string digits;
  for (char c : hex)
    if (c != ' ') digits += c;
  REQUIRE(digits.size() % 2 == 0);
  for (std::size_t i = 0; i < digits.size(); i += 2)
    bytes.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return bytes;
}

Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The iBeacon Govee devices send as well (company 0x004C): 02 15, the UUID
// "INTELLI_ROCKS_HW", major, minor, tx power (govee-ble's test vector).
Bytes ibeacon_value() { return bytes_of("0215") + text_bytes("INTELLI_ROCKS_HW") + bytes_of("5075 f2ff 0c"); }
// The same with its company ID, as some stacks glue it onto the Govee value.
Bytes glued_ibeacon() { return bytes_of("4c00") + ibeacon_value(); }

// decode_govee, checking on the way that is_govee_thermometer agrees with it.
std::optional<GoveeReading> decode(std::uint16_t company, const Bytes& data, std::string_view name) {
  auto reading = decode_govee(company, data, name);
  CHECK(is_govee_thermometer(company, data, name) == reading.has_value());
  return reading;
}

// A row of the reference's table: the company ID (2 bytes, little endian)
// followed by the data, in hex, as an AD structure carries them.
std::optional<GoveeReading> decode_row(std::string_view hex, std::string_view name) {
  Bytes raw = bytes_of(hex);
  REQUIRE(raw.size() >= 2);
  auto company = static_cast<std::uint16_t>(raw[0] | (raw[1] << 8));
  return decode(company, Bytes(raw.begin() + 2, raw.end()), name);
}

// A row of bluetooth.md §2.3 and the payloads it gives; temp_f = temp_c *
// 1.8 + 32 worked out apart from the decoder (the C and D rows by hand).
struct Example {
  const char* raw;
  const char* name;
  double temp_c;
  double humidity;
  int battery;
  char format;
  const char* temp_c_text;
  const char* temp_f_text;
  const char* humi_text;
};

// All 14 rows. H5051 often advertises no name: formats A, C, D, E need none.
const Example kExamples[] = {
    // A: H5072/H5075, 0xEC88, packed, sign in bit 23.
    {"88ec 00 0341c2 64 00", "GVH5075_2762", 21.3, 44.2, 100, 'A', "21.30", "70.34", "44.20"},
    {"88ec 00 0418ee 64 00", "GVH5075_2762", 26.8, 52.6, 100, 'A', "26.80", "80.24", "52.60"},
    {"88ec 00 811f09 64 00", "GVH5075_2762", -7.3, 48.1, 100, 'A', "-7.30", "18.86", "48.10"},
    {"88ec 00 03c6dc 51 00", "GVH5075_2762", 24.7, 51.6, 81, 'A', "24.70", "76.46", "51.60"},
    // B: H5100..H5177, GV5179, company 0x0001 and a Govee name.
    {"0100 0101 034654 64", "GVH5100_4E2A", 21.4, 61.2, 100, 'B', "21.40", "70.52", "61.20"},
    {"0100 0101 033626 64", "GVH5177_2EC8", 21.0, 47.0, 100, 'B', "21.00", "69.80", "47.00"},
    {"0100 0101 811a67 64", "GVH5174_6BE0", -7.2, 29.5, 100, 'B', "-7.20", "19.04", "29.50"},
    {"0100 0101 03b314 64", "GV5179_83B2", 24.2, 45.2, 100, 'B', "24.20", "75.56", "45.20"},
    // C: H5074, 0xEC88, 7 bytes, int16 LE.
    {"88ec 00 e609 bc12 64 02", "Govee_H5074_F092", 25.34, 47.96, 100, 'C', "25.34", "77.61", "47.96"},
    {"88ec 00 a0fa cc17 64 02", "Govee_H5074_F092", -13.76, 60.92, 100, 'C', "-13.76", "7.23", "60.92"},
    // D: H5051/H5052, 0xEC88, 9 bytes, int16 LE.
    {"88ec 00 ba0a f90f 63 020101", "", 27.46, 40.89, 99, 'D', "27.46", "81.43", "40.89"},
    {"88ec 00 1c01 a714 3b 000002", "Govee_H5052_D3D2", 2.84, 52.87, 59, 'D', "2.84", "37.11", "52.87"},
    // E: H5179 (old firmware), 0x8801, EC 00 01 01 first.
    {"0188 ec000101 0a0a a406 64", "Govee_H5179_7C2A", 25.70, 17.00, 100, 'E', "25.70", "78.26", "17.00"},
    {"0188 ec000101 ee07 5816 41", "Govee_H5179_7C2A", 20.3, 57.2, 65, 'E', "20.30", "68.54", "57.20"},
};

}  // namespace

TEST_CASE("every worked example of the reference decodes to its exact values and payloads") {
  CHECK(std::size(kExamples) == 14);
  for (const Example& example : kExamples) {
    CAPTURE(example.raw);
    auto reading = decode_row(example.raw, example.name);
    REQUIRE(reading.has_value());
    CHECK(*reading == GoveeReading{example.temp_c, example.humidity, example.battery, false, example.format});
    GoveeFields fields{std::to_string(example.battery), example.temp_c_text, example.temp_f_text,
                       example.humi_text};
    CHECK(format_govee(*reading) == fields);
  }
}

TEST_CASE("the Python original's mis-decodes (reference §1.4) are decoded right") {
  SUBCASE("sign bit: -7.3 °C, not 846.21") {
    auto reading = decode_row("88ec 00 811f09 64 00", "GVH5075_2762");
    REQUIRE(reading);
    CHECK(reading->temp_c == -7.3);
    CHECK(format_govee(*reading).temp_c == "-7.30");
    CHECK(format_govee(*reading).humi == "48.10");
  }
  SUBCASE("humidity digits do not leak into the temperature: 21.30, not 21.34") {
    auto reading = decode_row("88ec 00 0341c2 64 00", "GVH5075_2762");
    REQUIRE(reading);
    CHECK(format_govee(*reading).temp_c == "21.30");
  }
  SUBCASE("format B is read at its own offsets: 21.0 °C, 47.0 %, battery 100 (not 6.64, 35.80, 38)") {
    auto reading = decode_row("0100 0101 033626 64", "GVH5177_2EC8");
    REQUIRE(reading);
    CHECK(format_govee(*reading) == GoveeFields{"100", "21.00", "69.80", "47.00"});
  }
  SUBCASE("the error bit is masked off the battery and reported") {
    auto reading = decode_row("88ec 00 0341c2 e4 00", "GVH5075_2762");
    REQUIRE(reading);
    CHECK(reading->battery == 100);
    CHECK(reading->sensor_error);
  }
}

TEST_CASE("an empty value is never a reading") {
  for (std::uint16_t company : {kGoveeCompany, kNokiaCompany, kGoveeH5179Company, kAppleCompany}) {
    CAPTURE(company);
    CHECK_FALSE(decode(company, {}, "GVH5075_2762"));
  }
}

TEST_CASE("only the formats' exact lengths are accepted") {
  // Every length from 0 to 40 under each company, with plausible bytes.
  for (std::size_t length = 0; length <= 40; ++length) {
    CAPTURE(length);
    Bytes zeros(length, 0x00);
    bool ec88_length = length == 6 || length == 7 || length == 9;
    CHECK(decode(kGoveeCompany, zeros, "GVH5075_2762").has_value() == ec88_length);
    CHECK(decode(kNokiaCompany, zeros, "GVH5177_2EC8").has_value() == (length == 6));
    Bytes h5179 = length >= 4 ? bytes_of("ec000101") + Bytes(length - 4, 0x00) : zeros;
    CHECK(decode(kGoveeH5179Company, h5179, "Govee_H5179_7C2A").has_value() == (length == 9));
  }
}

TEST_CASE("a worked example short or long by one byte") {
  SUBCASE("A") {
    CHECK_FALSE(decode_row("88ec 00 0341c2 64", "GVH5075_2762"));
    // 7 bytes under 0xEC88 is format C: length is what tells the formats apart.
    auto long_by_one = decode_row("88ec 00 0341c2 64 00 00", "GVH5075_2762");
    REQUIRE(long_by_one);
    CHECK(long_by_one->format == 'C');
  }
  SUBCASE("B") {
    CHECK_FALSE(decode_row("0100 0101 033626", "GVH5177_2EC8"));
    CHECK_FALSE(decode_row("0100 0101 033626 64 00", "GVH5177_2EC8"));
  }
  SUBCASE("C") {
    // 6 bytes under 0xEC88 is format A, as above.
    auto short_by_one = decode_row("88ec 00 e609 bc12 64", "Govee_H5074_F092");
    REQUIRE(short_by_one);
    CHECK(short_by_one->format == 'A');
    CHECK_FALSE(decode_row("88ec 00 e609 bc12 64 02 00", "Govee_H5074_F092"));
  }
  SUBCASE("D") {
    CHECK_FALSE(decode_row("88ec 00 ba0a f90f 63 0201", ""));
    CHECK_FALSE(decode_row("88ec 00 ba0a f90f 63 020101 00", ""));
  }
  SUBCASE("E") {
    CHECK_FALSE(decode_row("0188 ec000101 0a0a a406", "Govee_H5179_7C2A"));
    CHECK_FALSE(decode_row("0188 ec000101 0a0a a406 64 00", "Govee_H5179_7C2A"));
  }
}

TEST_CASE("a wrong company is never a reading") {
  const Bytes format_a = bytes_of("00 0341c2 64 00");
  for (int company : {0x88EC, 0xEC89, 0xEC87, 0x0002, 0x0188, 0x0000, 0xFFFF, 0x004C}) {
    CAPTURE(company);
    CHECK_FALSE(decode(static_cast<std::uint16_t>(company), format_a, "GVH5075_2762"));
  }
  const Bytes format_b = bytes_of("0101 033626 64");
  CHECK_FALSE(decode(0x0100, format_b, "GVH5177_2EC8"));
  CHECK_FALSE(decode(0x0002, format_b, "GVH5177_2EC8"));
  const Bytes format_e = bytes_of("ec000101 0a0a a406 64");
  CHECK_FALSE(decode(0x0188, format_e, "Govee_H5179_7C2A"));
}

TEST_CASE("format E needs its prefix EC 00 01 01") {
  CHECK_FALSE(decode_row("0188 ec000102 0a0a a406 64", "Govee_H5179_7C2A"));
  CHECK_FALSE(decode_row("0188 ec000001 0a0a a406 64", "Govee_H5179_7C2A"));
  CHECK_FALSE(decode_row("0188 ec010101 0a0a a406 64", "Govee_H5179_7C2A"));
  CHECK_FALSE(decode_row("0188 ed000101 0a0a a406 64", "Govee_H5179_7C2A"));
}

TEST_CASE("company 0x0001 (Nokia's) is format B only with a Govee thermometer's name") {
  const Bytes format_b = bytes_of("0101 033626 64");
  for (const char* name : {"", "Nokia 3310", "gvh5177_2ec8", "H5177_2EC8", "GVH", "GV", "Govee",
                           "Govee_H6127", "ihoment_H5177", " GVH5177_2EC8"}) {
    CAPTURE(name);
    CHECK_FALSE(is_govee_name(name));
    CHECK_FALSE(decode(kNokiaCompany, format_b, name));
  }
  // Names as the devices send them; macOS (govee-ble's vectors) shows a space.
  for (const char* name : {"GVH5177_2EC8", "GVH5075 2762", "GV5179_83B2", "Govee_H5074_F092"}) {
    CAPTURE(name);
    CHECK(is_govee_name(name));
    auto reading = decode(kNokiaCompany, format_b, name);
    REQUIRE(reading);
    CHECK(*reading == GoveeReading{21.0, 47.0, 100, false, 'B'});
  }
}

TEST_CASE("the padding bytes of formats A, C and D are not checked") {
  auto a = decode_row("88ec ff 0341c2 64 ff", "");
  REQUIRE(a);
  CHECK(*a == GoveeReading{21.3, 44.2, 100, false, 'A'});
  auto c = decode_row("88ec 01 e609 bc12 64 00", "");
  REQUIRE(c);
  CHECK(*c == GoveeReading{25.34, 47.96, 100, false, 'C'});
  auto d = decode_row("88ec 7f ba0a f90f 63 ffffff", "");
  REQUIRE(d);
  CHECK(*d == GoveeReading{27.46, 40.89, 99, false, 'D'});
}

TEST_CASE("the error bit (battery bit 7) sets sensor_error in every format; battery is masked") {
  struct Case {
    const char* raw;
    const char* name;
    GoveeReading reading;
  };
  const Case cases[] = {
      {"88ec 00 0341c2 e4 00", "GVH5075_2762", {21.3, 44.2, 100, true, 'A'}},
      {"88ec 00 0341c2 80 00", "GVH5075_2762", {21.3, 44.2, 0, true, 'A'}},
      {"0100 0101 033626 e4", "GVH5177_2EC8", {21.0, 47.0, 100, true, 'B'}},
      {"88ec 00 e609 bc12 e4 02", "Govee_H5074_F092", {25.34, 47.96, 100, true, 'C'}},
      {"88ec 00 ba0a f90f e3 020101", "", {27.46, 40.89, 99, true, 'D'}},
      {"0188 ec000101 0a0a a406 e4", "Govee_H5179_7C2A", {25.70, 17.00, 100, true, 'E'}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.raw);
    auto reading = decode_row(c.raw, c.name);
    REQUIRE(reading);
    CHECK(*reading == c.reading);
    // The caller publishes battery only: the other fields stay empty.
    GoveeFields expected;
    expected.battery = std::to_string(c.reading.battery);
    CHECK(format_govee(*reading) == expected);
  }
}

TEST_CASE("temperatures outside -40..100 °C and humidity above 100 % are sensor errors") {
  struct Case {
    const char* raw;
    double temp_c;
    double humidity;
    bool sensor_error;
  };
  const Case cases[] = {
      // Format A, packed: the bounds are valid readings.
      {"88ec 00 0f43fa 64 00", 100.0, 44.2, false},
      {"88ec 00 0f47e2 64 00", 100.1, 44.2, true},
      {"88ec 00 861c3a 64 00", -40.0, 44.2, false},
      {"88ec 00 862022 64 00", -40.1, 44.2, true},
      {"88ec 00 7fffff 64 00", 838.8, 60.7, true},
      {"88ec 00 ffffff 64 00", -838.8, 60.7, true},
      // Format C, int16 LE hundredths.
      {"88ec 00 1027 bc12 64 02", 100.00, 47.96, false},
      {"88ec 00 1127 bc12 64 02", 100.01, 47.96, true},
      {"88ec 00 60f0 bc12 64 02", -40.00, 47.96, false},
      {"88ec 00 5ff0 bc12 64 02", -40.01, 47.96, true},
      {"88ec 00 0080 bc12 64 02", -327.68, 47.96, true},
      {"88ec 00 ff7f bc12 64 02", 327.67, 47.96, true},
      // Humidity: uint16 LE hundredths can exceed 100 %.
      {"88ec 00 e609 1027 64 02", 25.34, 100.00, false},
      {"88ec 00 e609 1127 64 02", 25.34, 100.01, true},
      {"88ec 00 e609 ffff 64 02", 25.34, 655.35, true},
      {"0188 ec000101 0a0a ffff 64", 25.70, 655.35, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.raw);
    auto reading = decode_row(c.raw, "");
    REQUIRE(reading);
    CHECK(reading->temp_c == c.temp_c);
    CHECK(reading->humidity == c.humidity);
    CHECK(reading->battery == 100);
    CHECK(reading->sensor_error == c.sensor_error);
    CHECK(format_govee(*reading).temp_c.empty() == c.sensor_error);
  }
}

TEST_CASE("Govee's iBeacon glued onto the value is dropped") {
  SUBCASE("onto format A (govee-ble's GVH5075 vector)") {
    Bytes data = bytes_of("00 0341c2 64 00") + glued_ibeacon();
    REQUIRE(data.size() == 31);
    auto reading = decode(kGoveeCompany, data, "GVH5075 2762");
    REQUIRE(reading);
    CHECK(*reading == GoveeReading{21.3, 44.2, 100, false, 'A'});
  }
  SUBCASE("onto format C") {
    auto reading = decode(kGoveeCompany, bytes_of("00 e609 bc12 64 02") + glued_ibeacon(), "");
    REQUIRE(reading);
    CHECK(*reading == GoveeReading{25.34, 47.96, 100, false, 'C'});
  }
  SUBCASE("onto format B, company 0x0001") {
    auto reading = decode(kNokiaCompany, bytes_of("0101 033626 64") + glued_ibeacon(), "GVH5177_2EC8");
    REQUIRE(reading);
    CHECK(*reading == GoveeReading{21.0, 47.0, 100, false, 'B'});
  }
  SUBCASE("but the remainder must still be a format") {
    CHECK_FALSE(decode(kGoveeCompany, bytes_of("00 0341c2 64") + glued_ibeacon(), ""));
    CHECK_FALSE(decode(kGoveeCompany, glued_ibeacon(), ""));
    CHECK_FALSE(decode(kNokiaCompany, bytes_of("0101 033626 64") + glued_ibeacon(), "Nokia"));
  }
  SUBCASE("25 trailing bytes without the marker are not an iBeacon") {
    CHECK_FALSE(decode(kGoveeCompany, bytes_of("00 0341c2 64 00") + Bytes(25, 0x00), ""));
  }
  SUBCASE("the marker must be in the last 25 bytes: an iBeacon in front is not cut") {
    CHECK_FALSE(decode(kGoveeCompany, glued_ibeacon() + bytes_of("00 0341c2 64 00"), ""));
  }
}

TEST_CASE("company 0x004C (iBeacon) is never a reading") {
  CHECK_FALSE(decode(kAppleCompany, ibeacon_value(), "GVH5174_6BE0"));
  CHECK_FALSE(decode(kAppleCompany, glued_ibeacon(), "GVH5174_6BE0"));
  CHECK_FALSE(decode(kAppleCompany, bytes_of("00 0341c2 64 00"), "GVH5075_2762"));
  CHECK_FALSE(decode(kAppleCompany, bytes_of("00 0341c2 64 00") + glued_ibeacon(), "GVH5075_2762"));
}

TEST_CASE("no payload reads -0.00") {
  SUBCASE("a packed value with the sign bit and a magnitude under 1000 is 0.0 °C") {
    auto reading = decode_row("88ec 00 8001c2 64 00", "");
    REQUIRE(reading);
    CHECK(reading->temp_c == 0.0);
    CHECK_FALSE(std::signbit(reading->temp_c));
    CHECK(format_govee(*reading) == GoveeFields{"100", "0.00", "32.00", "45.00"});
  }
  SUBCASE("-17.78 °C is -0.004 °F") {
    auto reading = decode_row("88ec 00 0ef9 bc12 64 02", "");
    REQUIRE(reading);
    CHECK(reading->temp_c == -17.78);
    CHECK(format_govee(*reading) == GoveeFields{"100", "-17.78", "0.00", "47.96"});
  }
  CHECK(format_two_decimals(-0.0) == "0.00");
  CHECK(format_two_decimals(-0.004) == "0.00");
  CHECK(format_two_decimals(-0.006) == "-0.01");
  CHECK(format_two_decimals(0.0) == "0.00");
  CHECK(format_two_decimals(21.3) == "21.30");
  CHECK(format_two_decimals(-7.3) == "-7.30");
}
