// The JSON payload format (Format = json, docs/mqtt.md "Payload formats"):
// the router wraps a section's reading or state in one compact object,
//
//   {"value":21.5,"unit":"°C","time":"2026-12-06T19:44:02.123Z","section":"Sensor3"}
//
// keys always in this order, "unit" left out when the output has none.
// Pure functions, so the unit tests pin every edge of it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sr {

// True when `text`, exactly as published, can be the envelope's value as a
// JSON number: it follows JSON's number grammar (no sign '+', no leading
// zeros, no blanks, no "nan"/"inf", no "0x"), is finite in a double (not
// "1e400") and a double holds it as written, so every consumer reads the
// value the section published: at most 15 significant digits, or an integer
// of at most 2^53. Anything else is a string.
bool is_json_number(std::string_view text);

// `text` as a JSON string: quoted, with '"', '\' and control characters
// escaped; a byte that is not valid UTF-8 becomes U+FFFD.
std::string json_string(std::string_view text);

// "2026-12-06T19:44:02.123Z": UTC, milliseconds (truncated).
std::string utc_timestamp(std::chrono::system_clock::time_point time);

// The envelope of `payload` as `section` published it at `time`; `unit`
// empty: no "unit" key.
std::string json_envelope(std::string_view payload, std::string_view unit,
                          std::chrono::system_clock::time_point time, std::string_view section);

}  // namespace sr
