// Fuzz target: an actuator's Accept, AcceptPattern and MaxRate
// (src/config/command_policy.cpp) and the whole-value POSIX regular
// expressions under AcceptPattern (src/util/posix_regex.cpp): the values come
// from the configuration, the payload from whoever can publish a command.
//
// Input: up to the first newline the Accept value, up to the second the
// AcceptPattern value (an empty line: the key is absent), the rest the
// command payload, any bytes. Patterns longer than 64 bytes or with more
// than two intervals ({m,n}) are skipped: glibc's regcomp expands intervals,
// so ((a{255}){255}){255} is slow to compile by design; the configuration is
// written by the administrator, not by a client.
//
// Invariants:
//  - parsing never throws; it fails with problems naming Accept or
//    AcceptPattern (non-empty messages), or succeeds with none;
//  - every Accept item is non-empty, trimmed and without a comma, and is
//    admitted as a payload; payloads are admitted byte for byte only;
//  - the payload is admitted if and only if it equals an item, or the
//    pattern is set and a second, independent matcher admits it: regexec
//    of the unanchored pattern whose leftmost-longest match covers the whole
//    payload (REG_STARTEND, so NUL bytes count as characters there), for a
//    payload of at most kMaxPatternSubject bytes without a NUL byte;
//  - a payload with a NUL byte is never admitted by the pattern.
#include "config/command_policy.h"
#include "util/text.h"

#include "fuzz_host.h"

#include <regex.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The pattern's leftmost-longest match spans the whole subject.
bool reference_match(const std::string& pattern, std::string_view subject) {
  regex_t regex;
  if (regcomp(&regex, pattern.c_str(), REG_EXTENDED) != 0) return false;
  std::string copy(subject);
  regmatch_t match[1];
  match[0].rm_so = 0;
  match[0].rm_eo = static_cast<regoff_t>(copy.size());
  const bool whole = regexec(&regex, copy.c_str(), 1, match, REG_STARTEND) == 0 && match[0].rm_so == 0 &&
                     static_cast<size_t>(match[0].rm_eo) == copy.size();
  regfree(&regex);
  return whole;
}

std::optional<std::string_view> present(std::string_view line) {
  return line.empty() ? std::nullopt : std::optional<std::string_view>(line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t first = input.find('\n');
  if (first == std::string_view::npos) return 0;
  const size_t second = input.find('\n', first + 1);
  if (second == std::string_view::npos) return 0;
  const std::string_view accept = input.substr(0, first);
  const std::string_view pattern = input.substr(first + 1, second - first - 1);
  const std::string_view payload = input.substr(second + 1);
  if (pattern.size() > 64 || std::count(pattern.begin(), pattern.end(), '{') > 2) return 0;
  // The INI reader never hands a value with a NUL byte over.
  if (accept.find('\0') != std::string_view::npos || pattern.find('\0') != std::string_view::npos) return 0;

  std::vector<sr::config::PolicyProblem> problems;
  std::optional<sr::config::CommandPolicy> policy;
  try {
    policy = sr::config::CommandPolicy::parse(present(accept), present(pattern), std::nullopt, problems);
  } catch (const std::exception&) {
    FUZZ_CHECK(!"CommandPolicy::parse threw");
  }
  if (!problems.empty()) {
    FUZZ_CHECK(!policy);
    for (const auto& problem : problems) {
      FUZZ_CHECK(problem.key == "Accept" || problem.key == "AcceptPattern");
      FUZZ_CHECK(!problem.message.empty());
    }
    return 0;
  }
  if (!policy) {
    FUZZ_CHECK(accept.empty() && pattern.empty());
    return 0;
  }
  for (const std::string& item : policy->accepted()) {
    FUZZ_CHECK(!item.empty());
    FUZZ_CHECK(item == sr::trim(item));
    FUZZ_CHECK(item.find(',') == std::string::npos);
    FUZZ_CHECK(!policy->refuses(item));
  }
  const bool listed =
      std::find(policy->accepted().begin(), policy->accepted().end(), payload) != policy->accepted().end();
  const bool patterned = !pattern.empty() && payload.size() <= sr::config::kMaxPatternSubject &&
                         payload.find('\0') == std::string_view::npos &&
                         reference_match(std::string(pattern), payload);
  FUZZ_CHECK(policy->refuses(payload) == !(listed || patterned));
  if (!pattern.empty() && accept.empty()) {
    std::string with_nul(payload);
    with_nul += '\0';
    FUZZ_CHECK(policy->refuses(with_nul));
  }
  return 0;
}
