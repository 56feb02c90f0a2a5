#include "util/posix_regex.h"

#include <fmt/format.h>

namespace sr {
namespace {

// Why the parentheses of `pattern` do not pair up, or nullopt. Brackets and
// escaped characters hold no parentheses.
std::optional<std::string> unbalanced_parentheses(std::string_view pattern) {
  size_t depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      i = bracket_end(pattern, i);
      if (i == std::string_view::npos) return std::nullopt;  // regcomp says what is wrong
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth == 0) return fmt::format("unmatched ) at offset {}", i);
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace

size_t bracket_end(std::string_view pattern, size_t open) {
  size_t i = open + 1;
  if (i < pattern.size() && pattern[i] == '^') ++i;
  if (i < pattern.size() && pattern[i] == ']') ++i;
  while (i < pattern.size() && pattern[i] != ']') {
    const char next = i + 1 < pattern.size() ? pattern[i + 1] : '\0';
    if (pattern[i] == '[' && (next == ':' || next == '.' || next == '=')) {
      const size_t close = pattern.find(std::string{next, ']'}, i + 2);
      if (close == std::string_view::npos) return close;
      i = close + 2;
    } else {
      ++i;
    }
  }
  return i < pattern.size() ? i : std::string_view::npos;
}

PosixRegex::PosixRegex(std::string_view pattern) : unbalanced_(unbalanced_parentheses(pattern)) {
  if (unbalanced_)
    status_ = REG_EPAREN;
  else
    status_ = regcomp(&regex_, fmt::format("^({})$", pattern).c_str(), REG_EXTENDED | REG_NOSUB);
}

PosixRegex::~PosixRegex() {
  if (status_ == 0) regfree(&regex_);
}

std::optional<std::string> PosixRegex::error() const {
  if (unbalanced_) return unbalanced_;
  if (status_ == 0) return std::nullopt;
  char text[256];
  regerror(status_, &regex_, text, sizeof text);
  return std::string(text);
}

bool PosixRegex::full_match(std::string_view text) const {
  if (status_ != 0 || text.find('\0') != std::string_view::npos) return false;
  return regexec(&regex_, std::string(text).c_str(), 0, nullptr, 0) == 0;
}

}  // namespace sr
