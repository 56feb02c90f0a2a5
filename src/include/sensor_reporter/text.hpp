// sensor_reporter SDK: small text helpers shared by the plugins and the host,
// so that a fix lands once (trim, case-insensitive compare, booleans, log-safe
// payloads, the toggle command).
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sr::sdk {

inline constexpr std::string_view kWhitespace = " \t\r\n\v\f";

// `text` without leading and trailing whitespace.
constexpr std::string_view trim(std::string_view text) {
  const size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kWhitespace) - first + 1);
}

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = ascii_lower(c);
  return lower;
}

// ASCII case-insensitive equality (INI keys, choices, commands: all ASCII).
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// The INI boolean words, as configparser reads them: yes/no, true/false,
// on/off, 1/0 in any case, trimmed. Anything else is no boolean at all.
constexpr std::optional<bool> parse_bool(std::string_view text) {
  text = trim(text);
  for (std::string_view word : {"yes", "true", "on", "1"})
    if (iequals(text, word)) return true;
  for (std::string_view word : {"no", "false", "off", "0"})
    if (iequals(text, word)) return false;
  return std::nullopt;
}

// True for TOGGLE and for button-press timestamps (YYYY-MM-DDTHH:MM:SS.ffffff,
// optionally with a +HHMM or +HH:MM offset), which every actuator and the
// local rules treat as "toggle" (INI-era behaviour).
inline bool is_toggle_command(std::string_view payload) {
  if (payload == "TOGGLE") return true;
  auto digits = [&](size_t from, size_t count) {
    if (payload.size() < from + count) return false;
    for (size_t i = from; i < from + count; ++i)
      if (payload[i] < '0' || payload[i] > '9') return false;
    return true;
  };
  if (payload.size() != 26 && payload.size() != 31 && payload.size() != 32) return false;
  bool stamp = digits(0, 4) && payload[4] == '-' && digits(5, 2) && payload[7] == '-' && digits(8, 2) &&
               payload[10] == 'T' && digits(11, 2) && payload[13] == ':' && digits(14, 2) &&
               payload[16] == ':' && digits(17, 2) && payload[19] == '.' && digits(20, 6);
  if (!stamp || payload.size() == 26) return stamp;
  bool sign = payload[26] == '+' || payload[26] == '-';
  if (payload.size() == 31) return sign && digits(27, 4);               // +HHMM
  return sign && digits(27, 2) && payload[29] == ':' && digits(30, 2);  // +HH:MM
}

// The length of the UTF-8 sequence that starts at text[at] (1 to 4), or 0
// when the bytes there are not one (a stray continuation byte, a cut or
// malformed sequence). Overlong forms are not checked.
inline size_t utf8_sequence_length(std::string_view text, size_t at) {
  auto c = static_cast<unsigned char>(text[at]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || at + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(text[at + k]) >> 6) != 0x2) return 0;
  return len;
}

// A payload made safe to quote in a log line: control bytes, backslashes and
// invalid UTF-8 become \xNN (a reading cannot forge a log line), and a long
// payload is cut after `max` bytes with its length noted.
inline std::string printable(std::string_view payload, size_t max = 64) {
  std::string out;
  const size_t shown = payload.size() > max ? max : payload.size();
  for (size_t i = 0; i < shown;) {
    auto c = static_cast<unsigned char>(payload[i]);
    size_t len = utf8_sequence_length(payload.substr(0, shown), i);
    if (len == 0 || c < 0x20 || c == 0x7F || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    out.append(payload.substr(i, len));
    i += len;
  }
  if (shown < payload.size()) out += fmt::format("... ({} bytes)", payload.size());
  return out;
}

}  // namespace sr::sdk
