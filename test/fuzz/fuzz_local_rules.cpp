// Fuzz target: the LocalConnection rules (OnEq / OnGT / OnLT) and readings.
//
// Input (FuzzedDataProvider): which rule, its text (the INI value), then
// readings. The rule is checked the way the host checks the INI value
// (check_value against the class's own parameter table) and, when accepted,
// a real LocalConnection is constructed from it and fed every reading through
// publish(), as a sensor on the same connection would.
//
// Invariants:
//  - a rule value the table accepts constructs a LocalConnection (the
//    constructor must not throw on what validation let through);
//  - translate() returns TOGGLE for TOGGLE and button timestamps; else with no
//    rule the reading unchanged, with OnEq ON exactly when equal, else OFF;
//    with OnGT/OnLT ON or OFF by the number, or nullopt with a reason when
//    the reading is not a finite number;
//  - publish() delivers exactly translate()'s command to the same
//    destination, and nothing for an actuator's echo.
#include "config/param_check.h"
#include "local/local_connection.hpp"
#include "util/text.h"

#include "fuzz_host.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace {

using sr::fuzz::FuzzHost;
using sr::local::Rule;

std::optional<double> reference_number(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  std::string copy(text);
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

const sr_param_def& def_of(const char* key) {
  for (const sr_param_def* p = sr::local::LocalConnection::params; p->name; ++p)
    if (std::string_view(p->name) == key) return *p;
  std::abort();
}

void check_translate(const Rule& rule, std::string_view reading) {
  std::string why;
  auto command = sr::local::translate(rule, reading, why);
  if (sr::sdk::is_toggle_command(reading)) {
    FUZZ_CHECK(command && *command == "TOGGLE");
    return;
  }
  switch (rule.kind) {
    case Rule::Kind::None: FUZZ_CHECK(command && *command == reading); break;
    case Rule::Kind::Equal: FUZZ_CHECK(command && *command == (reading == rule.text ? "ON" : "OFF")); break;
    case Rule::Kind::Greater:
    case Rule::Kind::Less: {
      auto number = reference_number(reading);
      if (!number) {
        FUZZ_CHECK(!command && !why.empty());
        break;
      }
      bool on = rule.kind == Rule::Kind::Greater ? *number > rule.threshold : *number < rule.threshold;
      FUZZ_CHECK(command && *command == (on ? "ON" : "OFF"));
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  static const char* const keys[] = {nullptr, "OnEq", "OnGT", "OnLT"};
  const int which = input.ConsumeIntegralInRange<int>(0, 3);
  const std::string rule_text = input.ConsumeRandomLengthString(40);

  // What the host hands the constructor: the trimmed value, if it validates.
  std::vector<std::pair<std::string, std::string>> values;
  Rule expected;
  if (which) {
    const sr_param_def& def = def_of(keys[which]);
    if (sr::config::check_value(def, rule_text)) return 0;  // refused at --check; never reaches the plugin
    std::string value(sr::trim(rule_text));
    values.emplace_back(keys[which], value);
    if (which == 1) expected = Rule{Rule::Kind::Equal, value, 0};
    if (which == 2) expected = Rule{Rule::Kind::Greater, {}, std::strtod(value.c_str(), nullptr)};
    if (which == 3) expected = Rule{Rule::Kind::Less, {}, std::strtod(value.c_str(), nullptr)};
  }

  FuzzHost host;
  host.section = "Connection_Fuzz";
  std::optional<sr::local::LocalConnection> connection;
  try {
    connection.emplace(host.host(), sr::sdk::Params(sr::local::LocalConnection::params, values));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "LocalConnection(%s = '%s') threw '%s' for a value check_value accepted\n",
                 which ? keys[which] : "-", values.empty() ? "" : values[0].second.c_str(), e.what());
    FUZZ_CHECK(!"the constructor accepts what the table accepts");
  }
  const Rule& rule = connection->rule();
  FUZZ_CHECK(rule.kind == expected.kind);
  FUZZ_CHECK(rule.text == expected.text);
  FUZZ_CHECK(rule.threshold == expected.threshold);

  while (input.remaining_bytes() > 0) {
    const bool echo = input.ConsumeBool();
    const std::string reading = input.ConsumeRandomLengthString(64);
    check_translate(rule, reading);

    host.clear();
    connection->publish("dest", reading, echo ? SR_PUBLISH_ECHO : 0);
    std::string why;
    auto command = sr::local::translate(rule, reading, why);
    if (echo || !command) {
      FUZZ_CHECK(host.delivered.empty());
    } else {
      FUZZ_CHECK(host.delivered.size() == 1);
      FUZZ_CHECK(host.delivered[0].destination == "dest");
      FUZZ_CHECK(host.delivered[0].payload == *command);
    }
  }
  return 0;
}
