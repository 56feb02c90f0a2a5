// A POSIX extended regular expression (regcomp/regexec, glibc), matched
// against whole values only: the pattern is compiled as ^(pattern)$, so an
// alternative inside cannot escape the anchors ("ON|OFF" never matches
// "ONION"). Used for the parameter tables' patterns (param_check.cpp) and
// for the actuators' AcceptPattern (config/command_policy.cpp).
//
// glibc's matcher keeps its state on the heap, not on the stack, so a long
// subject cannot overflow the stack (libstdc++'s std::regex recurses once
// per character); without back-references it runs in time linear in the
// subject's length. Compiled with REG_NOSUB: only yes or no is asked.
#pragma once

#include <regex.h>

#include <optional>
#include <string>
#include <string_view>

namespace sr {

class PosixRegex {
 public:
  // A ')' without its '(' is refused (an error()): glibc would take it as a
  // character, and in ^(pattern)$ it would close the anchoring group, so
  // that "ON)|(.*" admitted everything.
  explicit PosixRegex(std::string_view pattern);
  ~PosixRegex();
  PosixRegex(const PosixRegex&) = delete;
  PosixRegex& operator=(const PosixRegex&) = delete;

  // Why the pattern does not compile (regerror's text), or nullopt.
  std::optional<std::string> error() const;
  // True when the whole of `text` matches. Never true for a pattern that
  // did not compile, nor for a text containing a NUL byte (regexec reads C
  // strings: what follows a NUL would not be looked at).
  bool full_match(std::string_view text) const;

 private:
  regex_t regex_{};
  int status_ = 0;
  std::optional<std::string> unbalanced_;
};

// The index of the ']' that closes the bracket expression opening at
// pattern[open] ('['), or npos when it is not closed. "[]a]" and "[^]a]"
// hold a ']', "[[:digit:]]" a character class.
size_t bracket_end(std::string_view pattern, size_t open);

}  // namespace sr
