#include "config/command_policy.h"

#include "util/posix_regex.h"
#include "util/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace sr::config {

std::optional<std::vector<std::string>> parse_accept_list(std::string_view text, std::string& error) {
  std::vector<std::string> items = split_trimmed(text, ',');
  for (size_t i = 0; i < items.size(); ++i)
    if (items[i].empty()) {
      error = items.size() == 1 ? std::string("is empty: list the accepted payloads, comma separated")
                                : fmt::format("item {} of {} is empty: write one payload between each two commas",
                                              i + 1, items.size());
      return std::nullopt;
    }
  return items;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Back-references, a repetition of a repetition (a++, a*?, a{2}*: undefined
// in POSIX EREs, and glibc compiles a run of them in time exponential in its
// length) and interval bounds above kMaxInterval (glibc expands intervals,
// so nested large ones take memory exponential in their depth).
constexpr unsigned kMaxInterval = 255;

std::optional<std::string> costly_construct(std::string_view p) {
  bool after_repetition = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 < p.size() && p[i + 1] >= '1' && p[i + 1] <= '9')
        return fmt::format("back-references such as \\{} are refused: they make matching exponential", p[i + 1]);
      ++i;
      after_repetition = false;
      continue;
    }
    if (c == '[') {
      i = bracket_end(p, i);
      if (i == std::string_view::npos) return std::nullopt;
      after_repetition = false;
      continue;
    }
    const bool interval = c == '{' && i + 1 < p.size() && is_digit(p[i + 1]);
    const bool repetition = c == '*' || c == '+' || c == '?' || interval;
    if (repetition && after_repetition)
      return fmt::format("'{}' at offset {} repeats a repetition, which POSIX leaves undefined (and a run of them "
                         "takes exponential time to compile): write a group, (a+)*, or one operator",
                         c, i);
    if (interval) {
      const size_t close = p.find('}', i);
      if (close == std::string_view::npos) return std::nullopt;
      unsigned bound = 0;
      for (size_t k = i + 1; k < close; ++k) {
        if (!is_digit(p[k])) {
          bound = 0;
          continue;
        }
        bound = std::min(bound * 10 + static_cast<unsigned>(p[k] - '0'), 100000u);
        if (bound > kMaxInterval)
          return fmt::format("the interval {} at offset {} goes above {}: a command payload needs no more",
                             p.substr(i, close - i + 1), i, kMaxInterval);
      }
      i = close;
    }
    after_repetition = repetition;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_accept_pattern(std::string_view pattern) {
  // First: compiling a costly pattern is what must not happen.
  if (auto costly = costly_construct(pattern)) return costly;
  if (auto error = PosixRegex(pattern).error())
    return fmt::format("'{}' is not a POSIX extended regular expression: {}", pattern, *error);
  return std::nullopt;
}

std::optional<CommandPolicy> CommandPolicy::parse(std::optional<std::string_view> accept,
                                                  std::optional<std::string_view> accept_pattern,
                                                  std::optional<std::string_view> max_rate,
                                                  std::vector<PolicyProblem>& problems) {
  const size_t problems_before = problems.size();
  CommandPolicy policy;
  if (accept) {
    std::string error;
    if (auto items = parse_accept_list(*accept, error))
      policy.accepted_ = std::move(*items);
    else
      problems.push_back({"Accept", error});
  }
  if (accept_pattern) {
    if (auto error = check_accept_pattern(*accept_pattern))
      problems.push_back({"AcceptPattern", *error});
    else
      policy.pattern_ = std::make_shared<const PosixRegex>(*accept_pattern);
  }
  if (max_rate) {
    // The table has checked that it is a number.
    const std::string text(trim(*max_rate));
    errno = 0;
    const double rate = std::strtod(text.c_str(), nullptr);
    if (!(rate > 0) || errno == ERANGE || !std::isfinite(rate))
      problems.push_back({"MaxRate", fmt::format("{} is not a rate: write commands per second, greater than 0 "
                                                 "(0.1 is one command every 10 s); leave MaxRate out for no limit",
                                                 text)});
    else
      policy.max_rate_ = rate;
  }
  if (problems.size() != problems_before) return std::nullopt;
  if (!accept && !accept_pattern && !max_rate) return std::nullopt;
  return policy;
}

bool CommandPolicy::refuses(std::string_view payload) const {
  if (accepted_.empty() && !pattern_) return false;
  if (std::find(accepted_.begin(), accepted_.end(), payload) != accepted_.end()) return false;
  if (pattern_ && payload.size() <= kMaxPatternSubject && pattern_->full_match(payload)) return false;
  return true;
}

std::string CommandPolicy::filter_keys() const {
  if (!accepted_.empty() && pattern_) return "Accept or AcceptPattern";
  if (pattern_) return "AcceptPattern";
  if (!accepted_.empty()) return "Accept";
  return "";
}

RateLimit::RateLimit(double per_second)
    : rate_(per_second), capacity_(std::max(1.0, per_second)), tokens_(capacity_) {}

bool RateLimit::admit(uint64_t now_ns) {
  if (last_ns_ && now_ns > *last_ns_)
    tokens_ = std::min(capacity_, tokens_ + static_cast<double>(now_ns - *last_ns_) * 1e-9 * rate_);
  if (!last_ns_ || now_ns > *last_ns_) last_ns_ = now_ns;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace sr::config
