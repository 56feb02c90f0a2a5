// One value out of a JSON document by a dotted path ("SCD30.CarbonDioxide"
// in a Tasmota tele/<device>/SENSOR message), as the text a reading carries.
// Used by MqttSensor; no state, no host: unit tests and the fuzzer call it
// directly.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace sr::mqtt {

// Why a payload gave no value, worded to follow "<topic> <path>: ".
struct FieldError {
  std::string why;
};

// A number as JSON wrote it in shortest form (814, 71.8), a string without
// its quotes, true/false; an object, an array or null is an error, and so is
// a path that names no field or a payload that is not JSON. A key holding a
// dot cannot be named: Tasmota's keys have none.
std::variant<std::string, FieldError> extract_field(std::string_view payload, std::string_view path);

// The reading inside a Format = json envelope the host built
// ({"value":21.50,"unit":...}, docs/mqtt.md "Payload formats"), exactly as
// the section published it: a number's own text (21.50, where extract_field
// says 21.5), a string unescaped. A payload that is no such envelope comes
// back unchanged.
std::string envelope_value(std::string_view payload);

}  // namespace sr::mqtt
