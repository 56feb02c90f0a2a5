// Unit tests for heartbeat.heartbeat.Heartbeat (SPEC 7.1): the uptime format,
// and the class driven through the SDK's trampolines with a fake host whose
// monotonic clock the test sets, so uptimes are exact.
#include "heartbeat/heartbeat.hpp"

#include "support/strict_host.h"

#include <sensor_reporter/sdk.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace {

struct Published {
  std::string destination;
  std::string payload;
  uint32_t flags;
  bool operator==(const Published&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Published& p) {
  return out << "{" << p.destination << ", " << p.payload << ", flags " << p.flags << "}";
}

}  // namespace

namespace {

using sr::heartbeat::format_uptime;
using sr::heartbeat::Heartbeat;

constexpr uint64_t kSecond = 1'000'000'000;

// The host services a Heartbeat uses: publish, log and the clock. Anything
// else it calls fails the test.
struct FakeHost {
  uint64_t now_ns = 0;
  std::vector<Published> published;
  std::vector<std::string> logs;

  sr_host_ctx* ctx() { return reinterpret_cast<sr_host_ctx*>(this); }
  static FakeHost& of(sr_host_ctx* ctx) { return *reinterpret_cast<FakeHost*>(ctx); }
};

const sr_host_api kFakeApi = [] {
  sr_host_api api = sr::test::strict_host_api();
  api.log = [](sr_host_ctx* ctx, int, const char* msg, size_t len) {
    FakeHost::of(ctx).logs.emplace_back(msg, len);
  };
  api.publish = [](sr_host_ctx* ctx, const char* destination, const char* payload, size_t len,
                   uint32_t flags) {
    FakeHost::of(ctx).published.push_back({destination, std::string(payload, len), flags});
  };
  api.monotonic_ns = [](sr_host_ctx* ctx) { return FakeHost::of(ctx).now_ns; };
  api.section_name = [](sr_host_ctx*) { return "Sensor_Heartbeat"; };
  return api;
}();

constexpr sr_class_def kDef = sr::sdk::detail::make_class_def<Heartbeat>();

// A Heartbeat created through the trampolines, destroyed with the test.
class Instance {
 public:
  explicit Instance(FakeHost& host) {
    sr_param_value values[] = {{"Num-Dest", "hb/num"}, {"Str-Dest", "hb/str"}, {"Poll", "60"}};
    char err[128] = {};
    instance_ = kDef.create(&kFakeApi, host.ctx(), values, 3, err, sizeof err);
    REQUIRE_MESSAGE(instance_ != nullptr, err);
  }
  ~Instance() { kDef.destroy(instance_); }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  void* get() const { return instance_; }

 private:
  void* instance_ = nullptr;
};

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

TEST_CASE("Heartbeat is a sensor named heartbeat.heartbeat.Heartbeat with poll and refresh") {
  CHECK(kDef.kind == SR_KIND_SENSOR);
  CHECK(std::string(kDef.name) == "Heartbeat");
  CHECK(std::string(kDef.path) == "heartbeat.heartbeat.Heartbeat");
  CHECK((kDef.poll != nullptr));
  CHECK((kDef.refresh != nullptr));
  CHECK((kDef.on_command == nullptr));
  CHECK((kDef.conn_publish == nullptr));
}

TEST_CASE("Heartbeat's parameter table: Num-Dest and Str-Dest required strings, Poll a required number >= 1") {
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
  FakeHost host;
  sr_param_value values[] = {{"Num-Dest", "hb/num"}, {"Poll", "60"}};
  char err[128] = {};
  CHECK(kDef.create(&kFakeApi, host.ctx(), values, 2, err, sizeof err) == nullptr);
  CHECK(std::string(err) == "missing parameter Str-Dest");
}

TEST_CASE("Heartbeat publishes nothing until polled") {
  FakeHost host;
  Instance heartbeat(host);
  CHECK(kDef.start(heartbeat.get()) == SR_OK);
  CHECK(host.published.empty());
  CHECK(host.logs.empty());
}

TEST_CASE("Heartbeat poll right after creation publishes 0 to Num-Dest, then 00:00:00 to Str-Dest") {
  FakeHost host;
  host.now_ns = 7 * kSecond;  // the monotonic clock does not start at 0
  Instance heartbeat(host);
  CHECK(kDef.poll(heartbeat.get()) == SR_OK);
  CHECK(host.published == std::vector<Published>{{"hb/num", "0", 0}, {"hb/str", "00:00:00", 0}});
}

TEST_CASE("Heartbeat poll publishes the uptime since creation: 1 day + 3723.5 s") {
  FakeHost host;
  host.now_ns = 1234 * kSecond;
  Instance heartbeat(host);
  host.now_ns += 86400 * kSecond + 3723 * kSecond + kSecond / 2;
  CHECK(kDef.poll(heartbeat.get()) == SR_OK);
  CHECK(host.published == std::vector<Published>{{"hb/num", "90123500", 0}, {"hb/str", "1:01:02:03", 0}});
  CHECK(host.logs.empty());
}

TEST_CASE("Heartbeat truncates the uptime to whole milliseconds") {
  FakeHost host;
  host.now_ns = 5 * kSecond;
  Instance heartbeat(host);
  host.now_ns += 65 * kSecond + 999'999;  // 65000.999999 ms
  CHECK(kDef.poll(heartbeat.get()) == SR_OK);
  CHECK(host.published == std::vector<Published>{{"hb/num", "65000", 0}, {"hb/str", "00:01:05", 0}});
}

TEST_CASE("Heartbeat refresh publishes fresh values, not the last poll's") {
  FakeHost host;
  Instance heartbeat(host);
  host.now_ns += 10 * kSecond;
  CHECK(kDef.poll(heartbeat.get()) == SR_OK);
  host.now_ns += 50 * kSecond + 250'000'000;
  CHECK(kDef.refresh(heartbeat.get()) == SR_OK);
  CHECK(host.published == std::vector<Published>{{"hb/num", "10000", 0},
                                                 {"hb/str", "00:00:10", 0},
                                                 {"hb/num", "60250", 0},
                                                 {"hb/str", "00:01:00", 0}});
}

TEST_CASE("Each Heartbeat counts from its own creation") {
  FakeHost first_host, second_host;
  first_host.now_ns = second_host.now_ns = 100 * kSecond;
  Instance first(first_host);
  second_host.now_ns += 30 * kSecond;
  Instance second(second_host);
  first_host.now_ns = second_host.now_ns = 200 * kSecond;
  CHECK(kDef.poll(first.get()) == SR_OK);
  CHECK(kDef.poll(second.get()) == SR_OK);
  CHECK(first_host.published == std::vector<Published>{{"hb/num", "100000", 0}, {"hb/str", "00:01:40", 0}});
  CHECK(second_host.published == std::vector<Published>{{"hb/num", "70000", 0}, {"hb/str", "00:01:10", 0}});
}
