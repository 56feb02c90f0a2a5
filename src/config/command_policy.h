// Who may command an actuator, and how often (issue 18, docs/security.md):
// the host's common actuator keys Accept, AcceptPattern and MaxRate, parsed
// here into a value the plan carries, and applied by the router
// (src/host/router.cpp) before a command reaches the actuator's on_command.
// Being host keys, they work the same for every actuator class, in-tree or
// not, and --describe lists them with the class's own keys.
//
//   Accept = ON, OFF          the whole payload must be one of these
//   AcceptPattern = [0-9]{1,3} ...or match this POSIX extended regular
//                              expression as a whole
//   MaxRate = 2               at most 2 commands per second (a burst of 2)
//
// Matching is byte for byte and case-sensitive; nothing is trimmed: the
// payload `ON ` is not `ON`. Accept items are trimmed and separated by
// commas. A payload with a NUL byte never matches AcceptPattern, nor does one
// longer than kMaxPatternSubject bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sr {
class PosixRegex;
}

namespace sr::config {

// Payloads longer than this are refused by AcceptPattern without matching:
// no actuator command is that long, and matching stays cheap.
inline constexpr size_t kMaxPatternSubject = 65536;

// A problem with one key, for --check (the caller adds file:line).
struct PolicyProblem {
  std::string key;
  std::string message;
};

class CommandPolicy {
 public:
  // From the values the section sets (nullopt: the key is absent). Problems
  // are appended to `problems`; the result is nullopt when nothing is set or
  // something is wrong.
  static std::optional<CommandPolicy> parse(std::optional<std::string_view> accept,
                                            std::optional<std::string_view> accept_pattern,
                                            std::optional<std::string_view> max_rate,
                                            std::vector<PolicyProblem>& problems);

  // True when Accept or AcceptPattern is set and `payload` passes neither.
  bool refuses(std::string_view payload) const;
  // "Accept", "AcceptPattern" or "Accept or AcceptPattern", for log lines;
  // "" without either.
  std::string filter_keys() const;
  const std::vector<std::string>& accepted() const { return accepted_; }
  // Commands per second; nullopt: no limit.
  std::optional<double> max_rate() const { return max_rate_; }

 private:
  std::vector<std::string> accepted_;
  std::shared_ptr<const PosixRegex> pattern_;  // shared: plans are copied
  std::optional<double> max_rate_;
};

// Accept's items: comma separated, each trimmed, none empty. The error
// names the item.
std::optional<std::vector<std::string>> parse_accept_list(std::string_view text, std::string& error);

// Why `pattern` cannot be an AcceptPattern, or nullopt: it must compile as a
// POSIX extended regular expression, use no back-reference (\1 .. \9: they
// make matching exponential in the payload's length), no repetition of a
// repetition (a++, .*?: undefined in POSIX, and exponential for glibc to
// compile) and no interval bound above 255.
std::optional<std::string> check_accept_pattern(std::string_view pattern);

// MaxRate as a token bucket: it holds at most max(1, rate) tokens and is
// full at start; every admitted command takes one and tokens come back at
// `rate` per second. So a burst of up to MaxRate commands passes at once,
// and MaxRate per second on average after that (MaxRate = 0.2: one command
// every 5 s).
class RateLimit {
 public:
  explicit RateLimit(double per_second);
  // True when a command arriving at `now_ns` (monotonic) may run.
  bool admit(uint64_t now_ns);

 private:
  double rate_;
  double capacity_;
  double tokens_;
  std::optional<uint64_t> last_ns_;
};

}  // namespace sr::config
