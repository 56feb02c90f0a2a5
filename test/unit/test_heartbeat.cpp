// Unit tests for heartbeat.heartbeat.Heartbeat (SPEC 7.1): the uptime format,
// and the class driven through the SDK's trampolines on the SDK's FakeHost
// (sensor_reporter/testing.hpp), whose manual clock the test moves, so
// uptimes are exact.
#include "heartbeat/heartbeat.hpp"

#include "support/doctest_vector.h"

#include <sensor_reporter/sdk.hpp>
#include <sensor_reporter/testing.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sr::heartbeat::format_uptime;
using sr::heartbeat::Heartbeat;
using sr::sdk::testing::FakeHost;
using sr::sdk::testing::Published;

using HeartbeatInstance = sr::sdk::testing::Instance<Heartbeat>;
const sr_class_def& kDef = HeartbeatInstance::def();

// A Heartbeat as the daemon creates it from a complete section.
const HeartbeatInstance::Values kSection = {{"Num-Dest", "hb/num"}, {"Str-Dest", "hb/str"}, {"Poll", "60"}};

// The strict fake this test used to have failed on any service but publish,
// log and the clock; a Heartbeat still needs nothing else.
void check_uses_only_publish_log_and_clock(const FakeHost& host) {
  CHECK(host.timer_count() == 0);
  CHECK(host.watch_count() == 0);
  CHECK(host.outstanding() == 0);
  CHECK(host.subscriptions().empty());
  CHECK(host.unsubscriptions().empty());
  CHECK(host.delivered().empty());
  CHECK(host.statuses().empty());
  CHECK(host.poll_done_count() == 0);
  CHECK(host.refresh_requests() == 0);
}

}  // namespace

// ---------------------------------------------------------------------------
// format_uptime

TEST_CASE("format_uptime of zero is 00:00:00") { CHECK(format_uptime(0) == "00:00:00"); }

TEST_CASE("format_uptime drops milliseconds instead of rounding") {
  CHECK(format_uptime(999) == "00:00:00");
  CHECK(format_uptime(1999) == "00:00:01");
}

TEST_CASE("format_uptime below one day is zero-padded HH:MM:SS") {
  CHECK(format_uptime(65000) == "00:01:05");
  CHECK(format_uptime(36000000) == "10:00:00");
  CHECK(format_uptime(86399999) == "23:59:59");
}

TEST_CASE("format_uptime from one day on is D:HH:MM:SS") {
  CHECK(format_uptime(86400000) == "1:00:00:00");
  CHECK(format_uptime((3 * 86400 + 4 * 3600 + 5 * 60 + 6) * 1000ull) == "3:04:05:06");
}

TEST_CASE("format_uptime does not pad or wrap the days") {
  CHECK(format_uptime(100 * 86400000ull) == "100:00:00:00");
  CHECK(format_uptime(UINT64_MAX) == "213503982334:14:25:51");
}

// ---------------------------------------------------------------------------
// The class description

TEST_CASE("Heartbeat is a sensor named heartbeat.heartbeat.Heartbeat whose poll and refresh publish") {
  CHECK(kDef.kind == SR_KIND_SENSOR);
  CHECK(std::string(kDef.name) == "Heartbeat");
  CHECK(std::string(kDef.path) == "heartbeat.heartbeat.Heartbeat");
  CHECK((kDef.on_command == nullptr));
  CHECK((kDef.conn_publish == nullptr));
  // The SDK fills poll and refresh for every sensor, hooks or not: only
  // calling them shows the class has its own.
  FakeHost host;
  HeartbeatInstance heartbeat(host, kSection);
  CHECK(heartbeat.poll() == SR_OK);
  CHECK(host.payloads_to("hb/num").size() == 1);
  CHECK(heartbeat.refresh() == SR_OK);
  CHECK(host.payloads_to("hb/num").size() == 2);
}

TEST_CASE(
    "Heartbeat's parameter table: Num-Dest and Str-Dest required strings, Poll a required number >= 1") {
  const sr_param_def* p = kDef.params;
  REQUIRE(p[0].name != nullptr);
  CHECK(std::string(p[0].name) == "Num-Dest");
  CHECK(p[0].type == SR_PARAM_STRING);
  CHECK(p[0].flags == SR_PARAM_REQUIRED);
  REQUIRE(p[1].name != nullptr);
  CHECK(std::string(p[1].name) == "Str-Dest");
  CHECK(p[1].type == SR_PARAM_STRING);
  CHECK(p[1].flags == SR_PARAM_REQUIRED);
  REQUIRE(p[2].name != nullptr);
  CHECK(std::string(p[2].name) == "Poll");
  CHECK(p[2].type == SR_PARAM_FLOAT);
  CHECK(p[2].flags == (SR_PARAM_REQUIRED | SR_PARAM_HAS_MIN));
  CHECK(p[2].min == 1.0);
  CHECK(p[3].name == nullptr);
}

TEST_CASE("Heartbeat declares that it publishes the uptime in ms to Num-Dest and as text to Str-Dest") {
  const sr_io_def* io = kDef.ios;
  REQUIRE(io != nullptr);
  CHECK(std::string(io[0].key) == "Num-Dest");
  CHECK(io[0].direction == SR_IO_PUBLISHES);
  CHECK(io[0].value_type == SR_VALUE_NUMBER);
  CHECK(std::string(io[0].unit) == "ms");
  CHECK(std::string(io[0].measures) == "uptime");
  CHECK(std::string(io[1].key) == "Str-Dest");
  CHECK(io[1].value_type == SR_VALUE_STRING);
  CHECK(io[1].unit == nullptr);
  CHECK(io[2].key == nullptr);
}

// ---------------------------------------------------------------------------
// Behaviour with an injected clock

TEST_CASE("Heartbeat without Str-Dest cannot be created and says which parameter is missing") {
  CHECK(HeartbeatInstance::try_create({{"Num-Dest", "hb/num"}, {"Poll", "60"}}) ==
        "missing parameter Str-Dest");
}

TEST_CASE("Heartbeat publishes nothing until polled") {
  FakeHost host;
  HeartbeatInstance heartbeat(host, kSection);
  CHECK(heartbeat.start() == SR_OK);
  CHECK(host.published().empty());
  CHECK(host.logs().empty());
  check_uses_only_publish_log_and_clock(host);
}

TEST_CASE("Heartbeat poll right after creation publishes 0 to Num-Dest, then 00:00:00 to Str-Dest") {
  FakeHost host;
  CHECK(host.now() > 0s);  // the monotonic clock does not start at 0
  host.advance(7s);
  HeartbeatInstance heartbeat(host, kSection);
  CHECK(heartbeat.poll() == SR_OK);
  CHECK(host.published() == std::vector<Published>{{"hb/num", "0", 0}, {"hb/str", "00:00:00", 0}});
  check_uses_only_publish_log_and_clock(host);
}

TEST_CASE("Heartbeat poll publishes the uptime since creation: 1 day + 3723.5 s") {
  FakeHost host;
  host.advance(1234s);
  HeartbeatInstance heartbeat(host, kSection);
  host.advance(86400s + 3723s + 500ms);
  CHECK(heartbeat.poll() == SR_OK);
  CHECK(host.published() == std::vector<Published>{{"hb/num", "90123500", 0}, {"hb/str", "1:01:02:03", 0}});
  CHECK(host.logs().empty());
  check_uses_only_publish_log_and_clock(host);
}

TEST_CASE("Heartbeat truncates the uptime to whole milliseconds") {
  FakeHost host;
  host.advance(5s);
  HeartbeatInstance heartbeat(host, kSection);
  host.advance(65s + 999'999ns);  // 65000.999999 ms
  CHECK(heartbeat.poll() == SR_OK);
  CHECK(host.published() == std::vector<Published>{{"hb/num", "65000", 0}, {"hb/str", "00:01:05", 0}});
}

TEST_CASE("Heartbeat refresh publishes fresh values, not the last poll's") {
  FakeHost host;
  HeartbeatInstance heartbeat(host, kSection);
  host.advance(10s);
  CHECK(heartbeat.poll() == SR_OK);
  host.advance(50s + 250ms);
  CHECK(heartbeat.refresh() == SR_OK);
  CHECK(host.published() == std::vector<Published>{{"hb/num", "10000", 0},
                                                   {"hb/str", "00:00:10", 0},
                                                   {"hb/num", "60250", 0},
                                                   {"hb/str", "00:01:00", 0}});
  check_uses_only_publish_log_and_clock(host);
}

TEST_CASE("Each Heartbeat counts from its own creation") {
  // Two clocks that read the same: both FakeHosts start at kManualStart.
  FakeHost first_host, second_host;
  first_host.advance(100s);
  second_host.advance(100s);
  HeartbeatInstance first(first_host, kSection);
  second_host.advance(30s);
  HeartbeatInstance second(second_host, kSection);
  first_host.advance(100s);  // both at start + 200 s
  second_host.advance(70s);
  REQUIRE(first_host.now() == second_host.now());
  CHECK(first.poll() == SR_OK);
  CHECK(second.poll() == SR_OK);
  CHECK(first_host.published() == std::vector<Published>{{"hb/num", "100000", 0}, {"hb/str", "00:01:40", 0}});
  CHECK(second_host.published() == std::vector<Published>{{"hb/num", "70000", 0}, {"hb/str", "00:01:10", 0}});
}
