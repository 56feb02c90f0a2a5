// Unit and property tests for the actuators' Accept, AcceptPattern and
// MaxRate (src/config/command_policy.h) and the whole-value regular
// expressions under them (src/util/posix_regex.h). The property cases
// generate thousands of lists, patterns, payloads and arrival times from a
// fixed seed and compare against independent reference models: std::find
// for Accept, libstdc++'s std::regex (POSIX extended grammar, regex_match)
// for AcceptPattern, and a sliding-window count for MaxRate.
#include "config/command_policy.h"
#include "util/posix_regex.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <regex>
#include <string>
#include <vector>

using namespace sr::config;

namespace {

std::optional<CommandPolicy> policy(std::optional<std::string_view> accept,
                                    std::optional<std::string_view> pattern = std::nullopt,
                                    std::optional<std::string_view> rate = std::nullopt) {
  std::vector<PolicyProblem> problems;
  auto parsed = CommandPolicy::parse(accept, pattern, rate, problems);
  REQUIRE_MESSAGE(problems.empty(), (problems.empty() ? "" : problems.front().key + ": " + problems.front().message));
  return parsed;
}

std::vector<PolicyProblem> problems_of(std::optional<std::string_view> accept,
                                       std::optional<std::string_view> pattern = std::nullopt,
                                       std::optional<std::string_view> rate = std::nullopt) {
  std::vector<PolicyProblem> problems;
  CHECK_FALSE(CommandPolicy::parse(accept, pattern, rate, problems).has_value());
  return problems;
}

constexpr uint64_t kSecond = 1'000'000'000ull;

}  // namespace

TEST_CASE("Accept: the whole payload, byte for byte, is one of the items") {
  auto p = policy("ON, OFF,TOGGLE , say hello");
  CHECK(p->accepted() == std::vector<std::string>{"ON", "OFF", "TOGGLE", "say hello"});
  for (const char* ok : {"ON", "OFF", "TOGGLE", "say hello"}) CHECK_FALSE(p->refuses(ok));
  for (const char* refused : {"on", "ON ", " ON", "ON\n", "ONION", "ON,OFF", "", "say", "say  hello",
                              "ON; rm -rf /", "OFF\nrm"})
    CHECK_MESSAGE(p->refuses(refused), refused);
  CHECK(p->refuses(std::string_view("ON\0", 3)));
  CHECK(p->filter_keys() == "Accept");
}

TEST_CASE("AcceptPattern: anchored, so alternatives and newlines cannot reach past the ends") {
  auto p = policy(std::nullopt, "ON|OFF");
  CHECK_FALSE(p->refuses("ON"));
  CHECK_FALSE(p->refuses("OFF"));
  for (const char* refused : {"ONION", "xOFF", "ON\nOFF", "ON\n", "on", ""}) CHECK_MESSAGE(p->refuses(refused), refused);

  auto number = policy(std::nullopt, "[0-9]{1,3}");
  CHECK_FALSE(number->refuses("0"));
  CHECK_FALSE(number->refuses("255"));
  CHECK(number->refuses("1000"));
  CHECK(number->refuses("12 ; reboot"));
  CHECK(number->refuses(std::string_view("12\0", 3)));  // regexec would stop at the NUL
  CHECK(number->filter_keys() == "AcceptPattern");
}

TEST_CASE("Accept and AcceptPattern together: either admits a payload") {
  auto p = policy("ON, OFF", "[0-9]+");
  CHECK_FALSE(p->refuses("ON"));
  CHECK_FALSE(p->refuses("42"));
  CHECK(p->refuses("ON42"));
  CHECK(p->filter_keys() == "Accept or AcceptPattern");
}

TEST_CASE("AcceptPattern refuses a payload longer than kMaxPatternSubject without matching it") {
  auto p = policy(std::nullopt, "a*");
  CHECK_FALSE(p->refuses(std::string(kMaxPatternSubject, 'a')));
  CHECK(p->refuses(std::string(kMaxPatternSubject + 1, 'a')));
}

TEST_CASE("a long payload is matched without recursion (std::regex would overflow the stack)") {
  sr::PosixRegex regex("(a|b)*c");
  std::string subject(1 << 20, 'a');
  CHECK_FALSE(regex.full_match(subject));
  subject.back() = 'c';
  CHECK(regex.full_match(subject));
}

TEST_CASE("MaxRate alone filters no payload") {
  auto p = policy(std::nullopt, std::nullopt, "2");
  CHECK_FALSE(p->refuses("anything at all"));
  CHECK(p->max_rate() == 2.0);
  CHECK(p->filter_keys().empty());
}

TEST_CASE("nothing set: no policy") { CHECK_FALSE(policy(std::nullopt).has_value()); }

TEST_CASE("bad values are refused with the key and a reason") {
  auto empty_item = problems_of("ON,,OFF");
  REQUIRE(empty_item.size() == 1);
  CHECK(empty_item[0].key == "Accept");
  CHECK(empty_item[0].message == "item 2 of 3 is empty: write one payload between each two commas");

  auto trailing = problems_of("ON, OFF,");
  REQUIRE(trailing.size() == 1);
  CHECK(trailing[0].message == "item 3 of 3 is empty: write one payload between each two commas");

  auto invalid = problems_of(std::nullopt, "(ON|OFF");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].key == "AcceptPattern");
  CHECK(invalid[0].message.starts_with("'(ON|OFF' is not a POSIX extended regular expression: "));

  // A stray ')' would close the anchoring group: ^(ON)|(.*)$ admits anything.
  auto stray = problems_of(std::nullopt, "ON)|(.*");
  REQUIRE(stray.size() == 1);
  CHECK(stray[0].message == "'ON)|(.*' is not a POSIX extended regular expression: unmatched ) at offset 2");
  CHECK(problems_of(std::nullopt, ")").size() == 1);
  CHECK(policy(std::nullopt, "[)]|\\)")->refuses("x"));

  auto backref = problems_of(std::nullopt, "(a)\\1");
  REQUIRE(backref.size() == 1);
  CHECK(backref[0].message == "back-references such as \\1 are refused: they make matching exponential");
  for (const char* repeated : {"a++", ".*?", "a{2}*", "(ab)+{3}", "x*+"}) {
    auto twice = problems_of(std::nullopt, repeated);
    REQUIRE(twice.size() == 1);
    CHECK_MESSAGE(twice[0].message.find("repeats a repetition, which POSIX leaves undefined") != std::string::npos,
                  twice[0].message);
  }
  CHECK(problems_of(std::nullopt, "a++")[0].message ==
        "'+' at offset 2 repeats a repetition, which POSIX leaves undefined (and a run of them takes exponential "
        "time to compile): write a group, (a+)*, or one operator");
  // Operators inside brackets or escaped are characters, and a group may repeat.
  for (const char* fine : {"[+*]+", "\\++", "(a+)*", "[]+]*", "[[:digit:]]+", "a{1,255}", "(a{2})?"})
    CHECK_MESSAGE(policy(std::nullopt, fine).has_value(), fine);
  CHECK(problems_of(std::nullopt, "a{1,256}")[0].message ==
        "the interval {1,256} at offset 1 goes above 255: a command payload needs no more");
  // An escaped backslash followed by a digit is no back-reference.
  CHECK(policy(std::nullopt, "a\\\\1")->refuses("a1"));
  CHECK_FALSE(policy(std::nullopt, "a\\\\1")->refuses("a\\1"));

  for (const char* rate : {"0", "-1", "0.0"}) {
    auto bad_rate = problems_of(std::nullopt, std::nullopt, rate);
    REQUIRE(bad_rate.size() == 1);
    CHECK(bad_rate[0].key == "MaxRate");
    CHECK(bad_rate[0].message ==
          std::string(rate) +
              " is not a rate: write commands per second, greater than 0 (0.1 is one command every 10 s); leave "
              "MaxRate out for no limit");
  }
  // Every problem at once.
  CHECK(problems_of("ON,", "(", "0").size() == 3);
}

TEST_CASE("RateLimit: a burst of MaxRate, then MaxRate per second") {
  RateLimit limit(2);
  uint64_t t = 5 * kSecond;
  CHECK(limit.admit(t));
  CHECK(limit.admit(t));
  CHECK_FALSE(limit.admit(t));
  CHECK_FALSE(limit.admit(t + kSecond / 4));
  CHECK(limit.admit(t + kSecond / 2));  // one token back after 0.5 s
  CHECK_FALSE(limit.admit(t + kSecond / 2));
  CHECK(limit.admit(t + 10 * kSecond));  // never more than the burst...
  CHECK(limit.admit(t + 10 * kSecond));
  CHECK_FALSE(limit.admit(t + 10 * kSecond));  // ...however long it was quiet

  RateLimit slow(0.2);  // one every 5 s
  CHECK(slow.admit(t));
  CHECK_FALSE(slow.admit(t + 4 * kSecond));
  CHECK(slow.admit(t + 5 * kSecond));
}

TEST_CASE("RateLimit: a clock that does not move forward gives no tokens") {
  RateLimit limit(1);
  CHECK(limit.admit(10 * kSecond));
  CHECK_FALSE(limit.admit(9 * kSecond));
  CHECK_FALSE(limit.admit(10 * kSecond));
  CHECK(limit.admit(11 * kSecond));
}

// --- Properties ------------------------------------------------------------

namespace {

// A random POSIX ERE over the alphabet {a, b}: literals, ., bracket
// expressions, concatenation, alternation, groups with *, +, ? and small
// intervals. No repetition inside a repetition: the reference, libstdc++'s
// backtracking std::regex, takes exponential time on ((a*){1,3})* (glibc's
// matcher does not, see the long-payload case above).
std::string random_pattern(std::mt19937& rng, int depth, bool repeat = true) {
  std::uniform_int_distribution<int> pick(0, depth <= 0 ? 3 : repeat ? 9 : 6);
  auto sub = [&](bool sub_repeat) { return random_pattern(rng, depth - 1, sub_repeat); };
  switch (pick(rng)) {
    case 0: return "a";
    case 1: return "b";
    case 2: return ".";
    case 3: return std::uniform_int_distribution<int>(0, 1)(rng) ? "[ab]" : "[^a]";
    case 4:
    case 5: return sub(repeat) + sub(repeat);
    case 6: return "(" + sub(repeat) + "|" + sub(repeat) + ")";
    case 7: return "(" + sub(false) + ")*";
    case 8: return "(" + sub(false) + ")" + (std::uniform_int_distribution<int>(0, 1)(rng) ? "+" : "?");
    default: {
      int low = std::uniform_int_distribution<int>(0, 2)(rng);
      int high = low + std::uniform_int_distribution<int>(0, 2)(rng);
      return "(" + sub(false) + "){" + std::to_string(low) + "," + std::to_string(high) + "}";
    }
  }
}

// Mostly a and b; sometimes a newline, a space or an upper-case A.
std::string random_payload(std::mt19937& rng) {
  static const char alphabet[] = "aaabbb\n A";
  std::string out;
  const int length = std::uniform_int_distribution<int>(0, 7)(rng);
  for (int i = 0; i < length; ++i) out += alphabet[std::uniform_int_distribution<int>(0, sizeof alphabet - 2)(rng)];
  return out;
}

}  // namespace

TEST_CASE("property: AcceptPattern admits exactly what std::regex_match (POSIX extended) matches") {
  std::mt19937 rng(18);
  int admitted = 0, refused = 0;
  for (int round = 0; round < 1500; ++round) {
    const std::string pattern = random_pattern(rng, 3);
    auto p = policy(std::nullopt, pattern);
    const std::regex reference(pattern, std::regex::extended);
    for (int i = 0; i < 12; ++i) {
      const std::string payload = random_payload(rng);
      const bool expected = std::regex_match(payload, reference);
      CHECK_MESSAGE(p->refuses(payload) == !expected, "pattern '" << pattern << "' payload '" << payload << "'");
      (expected ? admitted : refused)++;
      // Whole payloads only: with a Z around it (which only . and [^a]
      // take) the answer is the reference's for the longer payload; a NUL
      // byte is never admitted.
      for (const std::string& longer : {payload + "Z", "Z" + payload})
        CHECK(p->refuses(longer) == !std::regex_match(longer, reference));
      CHECK(p->refuses(payload + '\0'));
    }
  }
  // The generator exercises both answers.
  CHECK(admitted > 1000);
  CHECK(refused > 1000);
}

TEST_CASE("property: Accept admits a payload if and only if it equals an item exactly") {
  std::mt19937 rng(1818);
  const std::vector<std::string> vocabulary{"ON", "on", "OFF", "Off", "TOGGLE", "say hi", "say  hi", "1", "10", "ON OFF"};
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> items;
    std::string text;
    const int n = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int i = 0; i < n; ++i) {
      const std::string& word = vocabulary[std::uniform_int_distribution<size_t>(0, vocabulary.size() - 1)(rng)];
      items.push_back(word);
      // Spaces around an item are not part of it.
      text += (i ? "," : "") + std::string(std::uniform_int_distribution<int>(0, 2)(rng), ' ') + word +
              std::string(std::uniform_int_distribution<int>(0, 1)(rng), ' ');
    }
    auto p = policy(text);
    for (const std::string& candidate : vocabulary) {
      for (const std::string& payload : {candidate, candidate + " ", " " + candidate, candidate + "\n"}) {
        const bool listed = std::find(items.begin(), items.end(), payload) != items.end();
        CHECK_MESSAGE(p->refuses(payload) == !listed, "Accept = '" << text << "' payload '" << payload << "'");
      }
    }
  }
}

TEST_CASE("property: MaxRate never admits more than the burst plus the rate times the window") {
  std::mt19937 rng(181818);
  for (int round = 0; round < 100; ++round) {
    const double rate = std::uniform_real_distribution<double>(0.1, 20)(rng);
    const double burst = std::max(1.0, rate);
    RateLimit limit(rate);
    std::vector<uint64_t> admitted;
    uint64_t now = kSecond;
    for (int i = 0; i < 400; ++i) {
      now += std::uniform_int_distribution<uint64_t>(0, kSecond / 2)(rng);
      if (limit.admit(now)) admitted.push_back(now);
    }
    // In any window [admitted[i], admitted[j]]: at most burst + rate * length commands.
    for (size_t i = 0; i < admitted.size(); ++i)
      for (size_t j = i; j < admitted.size() && j < i + 25; ++j) {
        const double window = static_cast<double>(admitted[j] - admitted[i]) / kSecond;
        CHECK(static_cast<double>(j - i + 1) <= burst + rate * window + 1e-6);
      }
    // And commands spaced 1/rate apart are all admitted.
    RateLimit steady(rate);
    const uint64_t gap = static_cast<uint64_t>(kSecond / rate) + 1;
    for (int i = 0; i < 50; ++i) CHECK(steady.admit(kSecond + static_cast<uint64_t>(i) * gap));
  }
}
