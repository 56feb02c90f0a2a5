// Fuzz target: one INI value against one parameter definition
// (sr::config::check_value), and the text helpers the plan uses on values
// (split_trimmed for Connection lists, closest_match for "did you mean").
//
// Input (FuzzedDataProvider): a parameter type, flags, min/max, a choice list,
// then the value; then a word and candidates for closest_match.
//
// Invariants:
//  - a string is always accepted; an unknown type never;
//  - an accepted integer parses completely with from_chars AND with the SDK's
//    Params::get<long long>, within min/max;
//  - an accepted number is finite, within min/max, and the SDK's
//    Params::get<double> reads it without throwing: what the table accepts,
//    every plugin constructor can read;
//  - an accepted boolean is what parse_bool and Params::get<bool> read;
//  - an accepted choice equals one of the choices, ignoring case, and
//    Params::choice maps it to that choice's index;
//  - split_trimmed gives separators + 1 trimmed parts;
//  - closest_match returns "" or one of the candidates, and a candidate equal
//    to the word (ignoring case) when there is one; edit_distance is a metric
//    on what it is fed (zero on itself, symmetric, bounded by the longer).
#include "config/ini_file.h"
#include "config/param_check.h"
#include "util/text.h"

#include "fuzz_host.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

namespace {

void check_value(const sr_param_def& def, const std::string& value) {
  auto problem = sr::config::check_value(def, value);
  if (problem) {
    FUZZ_CHECK(!problem->empty());
    FUZZ_CHECK(def.type != SR_PARAM_STRING);
    return;
  }
  // What the host hands a plugin: the trimmed value.
  std::string text(sr::trim(value));
  sr_param_def key_def = def;
  key_def.name = "Key";
  const sr_param_def table[] = {key_def, sr::sdk::end_params};
  sr::sdk::Params params(table, {{"Key", text}});
  switch (def.type) {
    case SR_PARAM_STRING: break;
    case SR_PARAM_INT: {
      long long number = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      FUZZ_CHECK(ec == std::errc() && end == text.data() + text.size());
      long long read = 0;
      try {
        read = params.get<long long>("Key");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "Params::get<long long>('%s') threw '%s' after check_value accepted it\n", text.c_str(),
                     e.what());
        FUZZ_CHECK(!"Params::get<long long> reads every accepted integer");
      }
      FUZZ_CHECK(read == number);
      if (def.flags & SR_PARAM_HAS_MIN) FUZZ_CHECK(static_cast<double>(number) >= def.min);
      if (def.flags & SR_PARAM_HAS_MAX) FUZZ_CHECK(static_cast<double>(number) <= def.max);
      break;
    }
    case SR_PARAM_FLOAT: {
      double number = std::strtod(text.c_str(), nullptr);
      FUZZ_CHECK(std::isfinite(number));
      if (def.flags & SR_PARAM_HAS_MIN) FUZZ_CHECK(number >= def.min);
      if (def.flags & SR_PARAM_HAS_MAX) FUZZ_CHECK(number <= def.max);
      try {
        FUZZ_CHECK(params.get<double>("Key") == number);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "Params::get<double>('%s') threw '%s' after check_value accepted it\n", text.c_str(),
                     e.what());
        FUZZ_CHECK(!"Params::get<double> reads every accepted number");
      }
      break;
    }
    case SR_PARAM_BOOL: {
      auto parsed = sr::config::parse_bool(text);
      FUZZ_CHECK(parsed.has_value());
      FUZZ_CHECK(params.get<bool>("Key") == *parsed);
      break;
    }
    case SR_PARAM_CHOICE: {
      bool matched = false;
      auto choices = sr::split_trimmed(def.choices ? def.choices : "", '|');
      for (const auto& choice : choices) matched |= sr::config::iequals(choice, text);
      FUZZ_CHECK(matched);
      enum class Index : size_t {};
      auto index = static_cast<size_t>(params.choice<Index>("Key"));
      FUZZ_CHECK(index < choices.size() && sr::config::iequals(choices[index], text));
      break;
    }
    default: FUZZ_CHECK(!"an unknown type is never accepted");
  }
}

void check_split(const std::string& text, char separator) {
  auto parts = sr::split_trimmed(text, separator);
  FUZZ_CHECK(parts.size() == static_cast<size_t>(std::count(text.begin(), text.end(), separator)) + 1);
  for (const auto& part : parts) {
    FUZZ_CHECK(sr::trim(part) == part);
    FUZZ_CHECK(part.find(separator) == std::string::npos);
  }
}

void check_closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best = sr::closest_match(word, candidates);
  if (!best.empty()) FUZZ_CHECK(std::find(candidates.begin(), candidates.end(), best) != candidates.end());
  bool exact = false;
  for (const auto& c : candidates) exact |= sr::config::iequals(c, word);
  if (exact) FUZZ_CHECK(sr::config::iequals(best, word));
  for (const auto& c : candidates) {
    size_t d = sr::edit_distance(word, c);
    FUZZ_CHECK(d == sr::edit_distance(c, word));
    FUZZ_CHECK(d <= std::max(word.size(), c.size()));
    FUZZ_CHECK(sr::edit_distance(c, c) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  sr_param_def def{};
  def.struct_size = sizeof def;
  def.type = input.ConsumeIntegralInRange<uint32_t>(1, 6);  // 6: not a type
  def.flags = input.ConsumeIntegralInRange<uint32_t>(0, 7);
  def.name = "Key";
  def.min = input.ConsumeIntegralInRange<int>(-100000, 100000) / 100.0;
  def.max = def.min + input.ConsumeIntegralInRange<int>(0, 200000) / 100.0;
  std::string choices = input.ConsumeRandomLengthString(40);
  def.choices = choices.c_str();
  std::string value = input.ConsumeRandomLengthString(64);
  check_value(def, value);

  check_split(value, input.ConsumeBool() ? ',' : '|');

  std::string word = input.ConsumeRandomLengthString(32);
  std::vector<std::string> candidates;
  while (input.remaining_bytes() > 0 && candidates.size() < 8)
    candidates.push_back(input.ConsumeRandomLengthString(32));
  check_closest(word, candidates);
  return 0;
}
