// The openHAB connection's pure logic: the pending states (latest per item,
// bounded), once-per-cause problem reports, the UTF-8 body, the version
// text and parameter reading.
#include "openhab_rest/openhab_connection.hpp"
#include "openhab_rest/pending_states.hpp"
#include "openhab_rest/problem_log.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace std::chrono_literals;
using sr::openhab::PendingStates;
using sr::openhab::ProblemLog;

namespace {

// URL and RefreshItem (required) and `extra`, read by the class's table as
// the host hands them over: absent keys answer the table's defaults.
sr::sdk::Params params(sr::sdk::Params::Values extra) {
  sr::sdk::Params::Values values = {{"URL", "http://oh:8080"}, {"RefreshItem", "Refresh"}};
  for (auto& [key, value] : extra) {
    bool replaced = false;
    for (auto& [k, v] : values)
      if (k == key) v = value, replaced = true;
    if (!replaced) values.emplace_back(key, value);
  }
  return sr::sdk::Params(sr::openhab::OpenhabREST::params, values);
}

}  // namespace

TEST_CASE("while openHAB answers every update is kept, per item in order; items in order of arrival") {
  PendingStates pending(10);
  pending.latest_only(false);
  pending.put("A", "1");
  pending.put("B", "1");
  pending.put("A", "2");
  CHECK(pending.items() == 2);
  CHECK(pending.take({}) == std::optional(std::pair<std::string, std::string>{"A", "1"}));
  CHECK(pending.take({"A"}) == std::optional(std::pair<std::string, std::string>{"B", "1"}));
  CHECK(pending.take({}) == std::optional(std::pair<std::string, std::string>{"A", "2"}));
  CHECK_FALSE(pending.take({}));
  CHECK(pending.take_dropped() == 0);
}

TEST_CASE("while openHAB is unreachable only the latest state per item is kept, without counting a loss") {
  PendingStates pending(10);  // unreachable until it has answered
  pending.put("A", "1");
  pending.put("A", "2");
  CHECK(pending.take({}) == std::optional(std::pair<std::string, std::string>{"A", "2"}));
  pending.latest_only(false);
  pending.put("B", "1");
  pending.put("B", "2");
  pending.latest_only(true);  // went away: collapse
  pending.put("B", "3");
  CHECK(pending.take({})->second == "3");
  CHECK(pending.take_dropped() == 0);
}

TEST_CASE(
    "an item with an update in flight is skipped; a failed update goes back first, or yields to a newer "
    "one") {
  PendingStates pending(10);
  pending.latest_only(false);
  pending.put("A", "1");
  pending.put("B", "1");
  auto next = pending.take({"A"});
  REQUIRE(next);
  CHECK(next->first == "B");
  pending.put("B", "2");
  pending.put_back("B", "1");  // answered with a failure while online: resent first
  CHECK(pending.take({"A"})->second == "1");
  CHECK(pending.take({"A"})->second == "2");
  pending.put("C", "2");
  pending.latest_only(true);
  pending.put_back("C", "1");  // offline, and "2" is newer
  pending.take({});            // A
  CHECK(pending.take({})->second == "2");
}

TEST_CASE(
    "beyond its capacities the item pending longest, or an item's oldest update, is dropped and counted") {
  PendingStates pending(2, 3);
  pending.latest_only(false);
  pending.put("A", "1");
  pending.put("B", "1");
  pending.put("C", "1");
  CHECK(pending.items() == 2);
  CHECK(pending.take_dropped() == 1);
  CHECK(pending.take_dropped() == 0);
  for (const char* v : {"2", "3", "4"}) pending.put("C", v);
  CHECK(pending.take_dropped() == 1);
  CHECK(pending.take({"B"})->second == "2");
}

TEST_CASE("a problem is reported once per item and cause, repeats counted and told after the quiet time") {
  ProblemLog log(10min);
  CHECK(log.report("Temp", "400", 0s) == std::optional<std::uint64_t>(0));
  CHECK_FALSE(log.report("Temp", "400", 1s));
  CHECK_FALSE(log.report("Temp", "400", 2s));
  CHECK(log.report("Temp", "404", 3s) == std::optional<std::uint64_t>(0));  // another cause
  CHECK(log.report("Hum", "400", 3s) == std::optional<std::uint64_t>(0));   // another item
  CHECK(log.report("Temp", "400", 11min) == std::optional<std::uint64_t>(2));
  CHECK(log.clear("Temp"));
  CHECK_FALSE(log.clear("Temp"));
  CHECK(log.report("Temp", "400", 12min) == std::optional<std::uint64_t>(0));
  CHECK_FALSE(log.report("Hum", "400", 4s));  // Hum untouched by clearing Temp
}

TEST_CASE("the problem log forgets its oldest cause beyond its bound") {
  ProblemLog log(10min, 2);
  log.report("A", "x", 0s);
  log.report("B", "x", 0s);
  log.report("C", "x", 0s);
  CHECK(log.report("A", "x", 1s) == std::optional<std::uint64_t>(0));  // forgotten, so new again
  CHECK_FALSE(log.report("C", "x", 1s));
}

TEST_CASE("state bodies are UTF-8: valid text unchanged, stray bytes taken as Latin-1") {
  CHECK(sr::openhab::to_utf8("21.5 °C") == "21.5 °C");
  CHECK(sr::openhab::to_utf8("€ 3") == "€ 3");
  CHECK(sr::openhab::to_utf8("21.5 \xB0"
                             "C") == "21.5 °C");
  CHECK(sr::openhab::to_utf8("\xE9t\xE9") == "été");
  CHECK(sr::openhab::to_utf8("\xC0\x80") == "\xC3\x80\xC2\x80");  // overlong NUL is not UTF-8
  CHECK(sr::openhab::to_utf8("\xE2\x82") == "\xC3\xA2\xC2\x82");  // cut sequence
  CHECK(sr::openhab::to_utf8("") == "");
}

TEST_CASE("openHAB version texts") {
  using sr::openhab::parse_version;
  CHECK(parse_version("4.2.1") == std::optional(std::pair{4, 2}));
  CHECK(parse_version("3.0.0.M1") == std::optional(std::pair{3, 0}));
  CHECK(parse_version("5") == std::optional(std::pair{5, 0}));
  CHECK_FALSE(parse_version("x4"));
  CHECK_FALSE(parse_version(""));
}

TEST_CASE(
    "parameters: URL checked and trimmed, ReconnectMax not below ReconnectMin, RefreshItem an item name") {
  auto settings = sr::openhab::read_settings(params({{"URL", "http://oh:8080/"}, {"API-Token", "oh.x.y"}}));
  CHECK(settings.url == "http://oh:8080");
  CHECK(settings.token == "oh.x.y");
  // Left out: the table's defaults (no CAcert: the system store).
  CHECK(settings.timeout == 10s);
  CHECK_FALSE(settings.tls.insecure);
  CHECK(settings.tls.ca_file.empty());
  CHECK(settings.reconnect_min == 1);
  CHECK(settings.reconnect_max == 60);
  CHECK(settings.offline_items == 1000);
  CHECK_FALSE(settings.version);
  CHECK(sr::openhab::read_settings(params({{"Timeout", "2.5"}})).timeout == 2500ms);
  CHECK(sr::openhab::read_settings(params({{"openHAB-Version", "3.4"}})).version == std::optional(3.4));
  CHECK_THROWS_WITH_AS(sr::openhab::read_settings(params({{"URL", "oh:8080"}})),
                       "URL 'oh:8080' must start with http:// or https://", std::runtime_error);
  CHECK_THROWS_WITH_AS(sr::openhab::read_settings(params({{"URL", "http://oh:8080/rest"}})),
                       "URL 'http://oh:8080/rest': give openHAB's base URL, without /rest",
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(sr::openhab::read_settings(params({{"ReconnectMax", "0.5"}})),
                       "ReconnectMax 0.5 is below ReconnectMin 1", std::runtime_error);
  CHECK_THROWS_WITH_AS(sr::openhab::read_settings(params({{"RefreshItem", "My-Refresh"}})),
                       "RefreshItem 'My-Refresh' is not an openHAB item name (letters, digits, _)",
                       std::runtime_error);
  CHECK_THROWS_AS(sr::openhab::read_settings(params({{"CAcert", "/no/such/ca.crt"}})), std::runtime_error);
}
