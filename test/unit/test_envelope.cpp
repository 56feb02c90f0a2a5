// Unit tests for the Format = json envelope (src/host/envelope.cpp): which
// readings become JSON numbers, string escaping, the time format, and the
// whole object, checked both as bytes and through an independent JSON parser.
#include "host/envelope.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace {

using namespace std::chrono;

// 2026-12-06T19:44:02.123Z
const system_clock::time_point kTime = system_clock::time_point(seconds(1796586242) + milliseconds(123));

}  // namespace

TEST_CASE("a reading is a JSON number only when JSON's grammar allows it as written") {
  for (const char* number : {"0", "1", "-1", "21.5", "-0", "0.5", "1e5", "1E+5", "2.5e-3", "-12.75", "1.10",
                             "100", "3.14159265358979"})
    CHECK_MESSAGE(sr::is_json_number(number), number);
  for (const char* text :
       {"",    " 5",    "5 ",  "+5",   "007",  "00",   "01.5",  ".5",    "5.",       "1e",
        "1e+", "-",     "--1", "0x10", "nan",  "NaN",  "inf",   "-inf",  "Infinity", "1_000",
        "1,5", "21.5°", "ON",  "OFF",  "true", "null", "1.2.3", "1e5.5", "5\n",      "\t5"})
    CHECK_MESSAGE(!sr::is_json_number(text), '"' << text << '"');
}

TEST_CASE("a number a double cannot hold, or not as written, is a string") {
  CHECK(!sr::is_json_number("1e400"));  // infinite
  CHECK(!sr::is_json_number("-1e400"));
  CHECK(!sr::is_json_number("1e-400"));  // underflows to 0
  CHECK(sr::is_json_number("1e308"));
  // At most 15 significant digits survive a double as written...
  CHECK(sr::is_json_number("123456789012345"));
  CHECK(sr::is_json_number("0.000123456789012345"));  // leading zeros are not significant
  CHECK(sr::is_json_number("1.500000000000000000"));  // nor are a fraction's trailing ones
  CHECK(!sr::is_json_number("0.1234567890123456"));
  CHECK(!sr::is_json_number("1234567890.1234567"));
  // ...and integers up to 2^53, so a 16-digit millisecond count stays a number.
  CHECK(sr::is_json_number("9007199254740992"));
  CHECK(sr::is_json_number("-9007199254740992"));
  CHECK(!sr::is_json_number("9007199254740993"));
  CHECK(!sr::is_json_number("12345678901234567890123"));  // a serial number, not a quantity
}

TEST_CASE("strings are quoted with quotes, backslashes and control characters escaped, UTF-8 kept") {
  CHECK(sr::json_string("plain") == "\"plain\"");
  CHECK(sr::json_string("say \"hi\"") == R"("say \"hi\"")");
  CHECK(sr::json_string("C:\\dir") == R"("C:\\dir")");
  CHECK(sr::json_string("a\nb\tc\r") == R"("a\nb\tc\r")");
  CHECK(sr::json_string(std::string("\x01\x1f", 2)) == R"("\u0001\u001f")");
  CHECK(sr::json_string(std::string("nul\0byte", 8)) == R"("nul\u0000byte")");
  CHECK(sr::json_string("°C") == "\"°C\"");  // as UTF-8, not \u00b0
  CHECK(sr::json_string("") == "\"\"");
  // Bytes that are not UTF-8 become U+FFFD: the envelope stays valid JSON.
  CHECK(sr::json_string("\xC3\x28") == "\"\xEF\xBF\xBD(\"");
  CHECK(sr::json_string("\xFF") == "\"\xEF\xBF\xBD\"");
}

TEST_CASE("strings escape byte for byte as nlohmann's serializer does, broken UTF-8 included") {
  auto nlohmann_string = [](const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const std::string cases[] = {
      every_byte,
      "\xE2\x82\xAC \xF0\x9F\x8C\xA1 \xC2\xB0",  // €, a thermometer, °
      "\xC0\x80 \xC1\xBF",                       // overlong forms
      "\xE0\x80\x80 \xE0\x9F\xBF",               // overlong three-byte forms
      "\xED\xA0\x80 \xED\xBF\xBF",               // surrogates
      "\xF4\x90\x80\x80 \xF5\x80\x80\x80",       // above U+10FFFF
      "\xF0\x9F\x8C",                            // cut short at the end
      "\xE2\x82 x \xE2 \xF0\x9F y",              // cut short in the middle
      "\x80\xBF\xFE\xFF",                        // continuation bytes and 0xFE/0xFF alone
  };
  for (const std::string& text : cases) CHECK(sr::json_string(text) == nlohmann_string(text));
}

TEST_CASE("the time is UTC with milliseconds and a Z") {
  CHECK(sr::utc_timestamp(kTime) == "2026-12-06T19:44:02.123Z");
  CHECK(sr::utc_timestamp(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
  // Truncated, not rounded: 999.9 ms is still in the same second.
  CHECK(sr::utc_timestamp(system_clock::time_point(seconds(59) + microseconds(999900))) ==
        "1970-01-01T00:00:59.999Z");
  CHECK(sr::utc_timestamp(system_clock::time_point(seconds(951782400))) == "2000-02-29T00:00:00.000Z");
}

TEST_CASE("the envelope: value, unit, time, section in this order, compact") {
  CHECK(sr::json_envelope("21.5", "°C", kTime, "Sensor3") ==
        R"({"value":21.5,"unit":"°C","time":"2026-12-06T19:44:02.123Z","section":"Sensor3"})");
  // A number keeps the text the section published.
  CHECK(sr::json_envelope("21.50", "°F", kTime, "S") ==
        R"({"value":21.50,"unit":"°F","time":"2026-12-06T19:44:02.123Z","section":"S"})");
  // No unit: no "unit" key.
  CHECK(sr::json_envelope("ON", "", kTime, "Actuator_Light") ==
        R"({"value":"ON","time":"2026-12-06T19:44:02.123Z","section":"Actuator_Light"})");
  CHECK(sr::json_envelope("007", "", kTime, "S") ==
        R"({"value":"007","time":"2026-12-06T19:44:02.123Z","section":"S"})");
}

TEST_CASE("every envelope parses, and gives back the reading, its unit and its section") {
  struct Case {
    std::string payload, unit, section;
  };
  const Case cases[] = {
      {"21.5", "°C", "Sensor3"},
      {"he said \"hi\"\n", "", "Sensor \"quoted\" \\ name"},
      {"nan", "", "S"},
      {"1e400", "ms", "S"},
      {"", "", "Empty"},
      {std::string("\x00\x01\x7f", 3), "", "Control"},
      {"00:01:05", "", "Sensor_Heartbeat"},
  };
  for (const Case& c : cases) {
    const std::string text = sr::json_envelope(c.payload, c.unit, kTime, c.section);
    INFO(text);
    const nlohmann::ordered_json envelope = nlohmann::ordered_json::parse(text);
    REQUIRE(envelope.is_object());
    CHECK(envelope.begin().key() == "value");
    if (sr::is_json_number(c.payload)) {
      REQUIRE(envelope["value"].is_number());
      CHECK(envelope["value"].get<double>() == std::stod(c.payload));
    } else {
      REQUIRE(envelope["value"].is_string());
      CHECK(envelope["value"].get<std::string>() == c.payload);
    }
    CHECK(envelope.contains("unit") == !c.unit.empty());
    if (!c.unit.empty()) CHECK(envelope["unit"] == c.unit);
    CHECK(envelope["time"] == "2026-12-06T19:44:02.123Z");
    CHECK(envelope["section"] == c.section);
    CHECK(envelope.size() == (c.unit.empty() ? 3u : 4u));
  }
}
