#include "host/envelope.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

namespace sr {
namespace {

constexpr size_t kMaxExactDigits = 15;                   // DBL_DIG: any such decimal survives a double
constexpr std::string_view kMaxExactInteger = "9007199254740992";  // 2^53

bool digit(char c) { return c >= '0' && c <= '9'; }

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// How many bytes at text[i] form one UTF-8 character (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0; `fitting` says how
// many of them were right before one was not (or the text ended).
size_t utf8_length(std::string_view text, size_t i, size_t& fitting) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the second byte's range
  if (lead >= 0xC2 && lead <= 0xDF)
    length = 2;
  else if (lead == 0xE0)
    length = 3, low = 0xA0;
  else if (lead == 0xED)
    length = 3, high = 0x9F;
  else if (lead >= 0xE1 && lead <= 0xEF)
    length = 3;
  else if (lead == 0xF0)
    length = 4, low = 0x90;
  else if (lead >= 0xF1 && lead <= 0xF3)
    length = 4;
  else if (lead == 0xF4)
    length = 4, high = 0x8F;
  fitting = length ? 1 : 0;
  while (fitting && fitting < length && i + fitting < text.size()) {
    const auto next = static_cast<unsigned char>(text[i + fitting]);
    if (next < (fitting == 1 ? low : 0x80) || next > (fitting == 1 ? high : 0xBF)) break;
    ++fitting;
  }
  return fitting == length ? length : 0;
}

}  // namespace

bool is_json_number(std::string_view text) {
  // JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  size_t i = 0;
  const size_t n = text.size();
  if (i < n && text[i] == '-') ++i;
  const size_t int_start = i;
  if (i < n && text[i] == '0')
    ++i;
  else if (i < n && digit(text[i]))
    while (i < n && digit(text[i])) ++i;
  else
    return false;
  std::string mantissa(text.substr(int_start, i - int_start));
  bool integer = true;
  if (i < n && text[i] == '.') {
    const size_t frac_start = ++i;
    while (i < n && digit(text[i])) ++i;
    if (i == frac_start) return false;
    std::string_view fraction = text.substr(frac_start, i - frac_start);
    // Trailing zeros of a fraction change nothing a double holds.
    while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
    mantissa += fraction;
    integer = false;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    const size_t exp_start = i;
    while (i < n && digit(text[i])) ++i;
    if (i == exp_start) return false;
    integer = false;
  }
  if (i != n) return false;

  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + n, value);
  if (error != std::errc() || end != text.data() + n || !std::isfinite(value)) return false;  // 1e400, 1e-400
  const size_t first = mantissa.find_first_not_of('0');
  const std::string_view digits = first == std::string::npos ? "" : std::string_view(mantissa).substr(first);
  if (digits.size() <= kMaxExactDigits) return true;
  // 16 digits: exact up to 2^53 (compared as text: the double has rounded it).
  return integer && digits.size() == kMaxExactInteger.size() && digits <= kMaxExactInteger;
}

// By hand rather than with nlohmann (the tests' and the fuzzer's oracle,
// which this must match byte for byte): nlohmann's serializer added 27 kB of
// text to the host, a fifth of it, for this one loop.
std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t fitting = 0;
      if (const size_t length = utf8_length(text, i, fitting)) {
        out.append(text.substr(i, length));
        i += length;
      } else {
        // One U+FFFD per broken sequence; the byte that broke it starts the next.
        out += kReplacement;
        i += std::max<size_t>(fitting, 1);
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
  return out;
}

std::string utc_timestamp(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time.time_since_epoch());
  const auto secs = floor<seconds>(ms);
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, (ms - secs).count());
}

std::string json_envelope(std::string_view payload, std::string_view unit,
                          std::chrono::system_clock::time_point time, std::string_view section) {
  // A number goes out as the text the section published (21.50 stays
  // 21.50), which a JSON library's number type would reformat.
  std::string out = "{\"value\":";
  out += is_json_number(payload) ? std::string(payload) : json_string(payload);
  if (!unit.empty()) out += ",\"unit\":" + json_string(unit);
  out += ",\"time\":\"" + utc_timestamp(time) + "\"";
  out += ",\"section\":" + json_string(section);
  out += '}';
  return out;
}

}  // namespace sr
