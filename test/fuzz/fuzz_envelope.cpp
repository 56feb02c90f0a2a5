// Fuzz target: the Format = json envelope (src/host/envelope.cpp), built
// around whatever a section publishes (a script's output, another device's
// payload, a section name from the INI file), and mqtt's envelope_value,
// which gives a Homie property the bare reading back.
//
// Input: up to the first newline the section name, the rest the payload; the
// unit alternates between none and "°C" by the input's length.
//
// Invariants:
//  - the envelope always parses as JSON: an object whose keys are value,
//    unit (only with a unit), time, section, in this order;
//  - value is a number exactly when is_json_number says so, and then its
//    text in the envelope is the payload itself, a number nlohmann reads on
//    its own (no blanks around it) and finite;
//  - otherwise value is a string: the payload itself when it is UTF-8;
//  - section reads back as the section name when that is UTF-8, and any
//    name escapes byte for byte as nlohmann's serializer (U+FFFD for
//    broken UTF-8) escapes it;
//  - envelope_value gives back the payload when it is UTF-8.
#include "host/envelope.h"
#include "mqtt/json_field.hpp"

#include "fuzz_host.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

bool is_utf8(std::string_view text) {
  try {
    (void)nlohmann::json(std::string(text)).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view section = input.substr(0, newline);
  const std::string_view payload = newline == std::string_view::npos ? "" : input.substr(newline + 1);
  const std::string_view unit = size % 2 ? "°C" : "";
  const auto time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796586242123));

  const std::string envelope = sr::json_envelope(payload, unit, time, section);
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(envelope, nullptr, false);
  FUZZ_CHECK(!j.is_discarded());
  FUZZ_CHECK(j.is_object());
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  FUZZ_CHECK(keys == (unit.empty() ? std::vector<std::string>{"value", "time", "section"}
                                   : std::vector<std::string>{"value", "unit", "time", "section"}));
  FUZZ_CHECK(j["time"] == "2026-12-06T19:44:02.123Z");
  if (!unit.empty()) FUZZ_CHECK(j["unit"] == "°C");

  const bool number = sr::is_json_number(payload);
  FUZZ_CHECK(j["value"].is_number() == number);
  if (number) {
    FUZZ_CHECK(envelope.compare(0, 9 + payload.size(), "{\"value\":" + std::string(payload)) == 0);
    const nlohmann::json alone = nlohmann::json::parse(payload, nullptr, false);
    FUZZ_CHECK(alone.is_number());
    FUZZ_CHECK(payload.find_first_of(" \t\r\n") == std::string_view::npos);
    FUZZ_CHECK(std::isfinite(alone.get<double>()));
  } else {
    FUZZ_CHECK(j["value"].is_string());
    if (is_utf8(payload)) FUZZ_CHECK(j["value"].get<std::string>() == payload);
  }
  if (is_utf8(section)) FUZZ_CHECK(j["section"].get<std::string>() == section);
  // The host's escaping is its own; nlohmann's is the reference, broken UTF-8 included.
  FUZZ_CHECK(
      sr::json_string(section) ==
      nlohmann::json(std::string(section)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (is_utf8(payload)) FUZZ_CHECK(sr::mqtt::envelope_value(envelope) == payload);
  return 0;
}
