// Unit tests for local.local_conn.LocalConnection (SPEC 6.2): the rule
// translation on its own, and the class driven through the SDK's trampolines
// with a fake host that records what would be delivered and logged.
#include "local/local_connection.hpp"

#include "support/strict_host.h"

#include <sensor_reporter/sdk.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

struct Logged {
  int level;
  std::string message;
  bool operator==(const Logged&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Logged& l) {
  return out << "{level " << l.level << ", " << l.message << "}";
}

}  // namespace

namespace {

using sr::local::LocalConnection;
using sr::local::Rule;
using Delivered = std::vector<std::pair<std::string, std::string>>;

// The host services a LocalConnection uses: deliver and log. Anything else it
// calls fails the test.
struct FakeHost {
  int min_level = SR_LOG_DEBUG;
  Delivered delivered;
  std::vector<Logged> logs;

  sr_host_ctx* ctx() { return reinterpret_cast<sr_host_ctx*>(this); }
  static FakeHost& of(sr_host_ctx* ctx) { return *reinterpret_cast<FakeHost*>(ctx); }
};

const sr_host_api kFakeApi = [] {
  sr_host_api api = sr::test::strict_host_api();
  api.log_enabled = [](sr_host_ctx* ctx, int level) { return level >= FakeHost::of(ctx).min_level ? 1 : 0; };
  api.log = [](sr_host_ctx* ctx, int level, const char* msg, size_t len) {
    FakeHost::of(ctx).logs.push_back({level, std::string(msg, len)});
  };
  api.deliver = [](sr_host_ctx* ctx, const char* source, const char* payload, size_t len) {
    FakeHost::of(ctx).delivered.emplace_back(source, std::string(payload, len));
  };
  api.section_name = [](sr_host_ctx*) { return "Connection_Local"; };
  return api;
}();

constexpr sr_class_def kDef = sr::sdk::detail::make_class_def<LocalConnection>();

// A LocalConnection created through the trampolines, destroyed with the test.
class Instance {
 public:
  Instance(FakeHost& host, std::vector<sr_param_value> values) {
    char err[128] = {};
    instance_ = kDef.create(&kFakeApi, host.ctx(), values.data(), values.size(), err, sizeof err);
    REQUIRE_MESSAGE(instance_ != nullptr, err);
  }
  ~Instance() { kDef.destroy(instance_); }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  int publish(const std::string& destination, const std::string& payload, uint32_t flags = 0) const {
    const sr_publish_opts opts{sizeof(sr_publish_opts), flags};
    return kDef.conn_publish(instance_, destination.c_str(), payload.data(), payload.size(), &opts);
  }
  int subscribe(const char* source) const { return kDef.conn_subscribe(instance_, source); }
  int subscribe(const char* source, uint32_t flags) const {
    return kDef.conn_subscribe_ex(instance_, source, flags);
  }

 private:
  void* instance_ = nullptr;
};

// translate() with a fresh `why`; returns the command or "<none: why>".
std::string translated(const Rule& rule, std::string_view reading) {
  std::string why;
  auto command = sr::local::translate(rule, reading, why);
  return command ? *command : "<none: " + why + ">";
}

sr::sdk::Params params(std::vector<std::pair<std::string, std::string>> values) {
  return sr::sdk::Params(LocalConnection::params, std::move(values));
}

Rule equal(std::string text) { return Rule{Rule::Kind::Equal, std::move(text), 0}; }
Rule greater(double threshold) { return Rule{Rule::Kind::Greater, {}, threshold}; }
Rule less(double threshold) { return Rule{Rule::Kind::Less, {}, threshold}; }

// Whether `reading` is forwarded as TOGGLE: under an OnEq rule it does not
// equal, any other reading becomes OFF.
bool toggles(std::string_view reading) { return translated(equal("open"), reading) == "TOGGLE"; }

}  // namespace

// ---------------------------------------------------------------------------
// Toggles (sdk::is_toggle_command, as translate applies it)

TEST_CASE("TOGGLE is forwarded as TOGGLE, case-sensitively") {
  CHECK(toggles("TOGGLE"));
  CHECK_FALSE(toggles("toggle"));
  CHECK_FALSE(toggles("TOGGLE "));
  CHECK_FALSE(toggles("ON"));
  CHECK_FALSE(toggles(""));
}

TEST_CASE("button timestamps with microseconds, with or without an offset, are forwarded as TOGGLE") {
  CHECK(toggles("2024-05-01T12:34:56.123456"));
  CHECK(toggles("2024-05-01T12:34:56.123456+02:00"));
  CHECK(toggles("2024-05-01T12:34:56.123456+0200"));
}

TEST_CASE("near-timestamps are not toggles") {
  CHECK_FALSE(toggles("2024-05-01T12:34:56"));          // no fraction
  CHECK_FALSE(toggles("2024-05-01T12:34:56.123"));      // milliseconds only
  CHECK_FALSE(toggles("2024-05-01 12:34:56.123456"));   // space instead of T
  CHECK_FALSE(toggles("2024-05-01T12:34:56,123456"));   // comma
  CHECK_FALSE(toggles("2024-05-01T12:34:5x.123456"));   // not a digit
  CHECK_FALSE(toggles("2024-05-01T12:34:56.1234567"));  // 27 characters
}

TEST_CASE("a timestamp followed by text that is not an offset is not a toggle") {
  // Once a bug: for 31- and 32-character payloads only the first 26
  // characters were checked, so any 5 or 6 trailing characters passed as an
  // "offset".
  CHECK_FALSE(toggles("2024-05-01T12:34:56.123456 hello"));
  CHECK_FALSE(toggles("2024-05-01T12:34:56.123456xxxxx"));
}

// ---------------------------------------------------------------------------
// translate

TEST_CASE("translate without a rule passes the reading unchanged") {
  CHECK(translated(Rule{}, "21.5") == "21.5");
  CHECK(translated(Rule{}, "open") == "open");
  CHECK(translated(Rule{}, "") == "");
}

TEST_CASE("translate with OnEq gives ON for an exactly equal reading, else OFF") {
  CHECK(translated(equal("open"), "open") == "ON");
  CHECK(translated(equal("open"), "Open") == "OFF");
  CHECK(translated(equal("open"), "open ") == "OFF");
  CHECK(translated(equal("open"), "closed") == "OFF");
}

TEST_CASE("translate with an empty OnEq matches only the empty reading") {
  CHECK(translated(equal(""), "") == "ON");
  CHECK(translated(equal(""), "x") == "OFF");
}

TEST_CASE("translate with OnGT 0 is a real rule: ON only above zero") {
  CHECK(translated(greater(0), "0.5") == "ON");
  CHECK(translated(greater(0), "0") == "OFF");
  CHECK(translated(greater(0), "-3") == "OFF");
}

TEST_CASE("translate with OnGT compares strictly greater") {
  CHECK(translated(greater(25), "25.1") == "ON");
  CHECK(translated(greater(25), "25") == "OFF");
  CHECK(translated(greater(25), " 30 ") == "ON");  // surrounding whitespace is not part of the number
  CHECK(translated(greater(25), "1e3") == "ON");
}

TEST_CASE("translate with OnLT compares strictly less") {
  CHECK(translated(less(0), "-0.5") == "ON");
  CHECK(translated(less(0), "0") == "OFF");
  CHECK(translated(less(10), "9.99") == "ON");
  CHECK(translated(less(10), "10") == "OFF");
}

TEST_CASE("translate of a non-number under OnGT or OnLT gives nothing, with the reason") {
  CHECK(translated(greater(0), "warm") == "<none: is not a number>");
  CHECK(translated(greater(0), "12abc") == "<none: is not a number>");
  CHECK(translated(greater(0), "") == "<none: is not a number>");
  CHECK(translated(greater(0), "   ") == "<none: is not a number>");
  CHECK(translated(less(0), "nan") == "<none: is not a number>");
  CHECK(translated(less(0), "inf") == "<none: is not a number>");
}

TEST_CASE("translate passes TOGGLE and button timestamps as TOGGLE under every rule") {
  for (const Rule& rule : {Rule{}, equal("open"), greater(0), less(0)}) {
    CAPTURE(static_cast<int>(rule.kind));
    CHECK(translated(rule, "TOGGLE") == "TOGGLE");
    CHECK(translated(rule, "2024-05-01T12:34:56.123456") == "TOGGLE");
    CHECK(translated(rule, "2024-05-01T12:34:56.123456+02:00") == "TOGGLE");
  }
}

// ---------------------------------------------------------------------------
// The class

TEST_CASE("LocalConnection is a connection with optional OnEq (string), OnGT and OnLT (numbers), raw only") {
  CHECK(kDef.kind == SR_KIND_CONNECTION);
  CHECK(std::string(kDef.path) == "local.local_conn.LocalConnection");
  const sr_param_def* p = kDef.params;
  CHECK(std::string(p[0].name) == "OnEq");
  CHECK(p[0].type == SR_PARAM_STRING);
  CHECK(std::string(p[1].name) == "OnGT");
  CHECK(p[1].type == SR_PARAM_FLOAT);
  CHECK(std::string(p[2].name) == "OnLT");
  CHECK(p[2].type == SR_PARAM_FLOAT);
  for (int i = 0; i < 3; ++i) {
    CHECK(p[i].flags == 0u);
    CHECK(p[i].default_value == nullptr);
  }
  // The host's common Format narrowed to raw: rules compare bare readings.
  CHECK(std::string(p[3].name) == "Format");
  CHECK(p[3].type == SR_PARAM_CHOICE);
  CHECK(std::string(p[3].choices) == "raw");
  CHECK(std::string(p[3].default_value) == "raw");
  CHECK(p[4].name == nullptr);
}

TEST_CASE("LocalConnection's descriptor reaches its publish and subscribe; absolute topics pass it by") {
  FakeHost host;
  Instance local(host, {{"OnEq", "open"}});
  CHECK(local.publish("door", "open") == SR_OK);
  CHECK(host.delivered == Delivered{{"door", "ON"}});
  CHECK(local.subscribe("lamp/set") == SR_OK);
  CHECK(local.subscribe("lamp/set", 0) == SR_OK);
  // A whole topic (an MqttSensor on `Connection = mqtt, local`) is accepted,
  // so the sensor's section is not refused, but it is never taken as a source
  // of this connection; a whole topic published here (MqttActuator's) is not
  // run through the rule, which would call "on" not a number.
  CHECK(local.subscribe("other/lamp", SR_SUBSCRIBE_ABSOLUTE) == SR_OK);
  CHECK(local.publish("cmnd/plug/POWER", "on", SR_PUBLISH_ABSOLUTE) == SR_OK);
  const Logged listens{SR_LOG_DEBUG, "actuator listens to lamp/set"};
  CHECK(host.logs ==
        std::vector<Logged>{
            listens,
            listens,
            {SR_LOG_DEBUG, "absolute topic other/lamp has no meaning here; only MQTT connections deliver it"}});
  CHECK(host.delivered.size() == 1);
}

TEST_CASE("LocalConnection picks its rule from the parameters present, OnGT = 0 included") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  CHECK(LocalConnection(h, params({})).rule().kind == Rule::Kind::None);
  LocalConnection gt(h, params({{"OnGT", "0"}}));
  CHECK(gt.rule().kind == Rule::Kind::Greater);
  CHECK(gt.rule().threshold == 0.0);
  LocalConnection lt(h, params({{"OnLT", "-2.5"}}));
  CHECK(lt.rule().kind == Rule::Kind::Less);
  CHECK(lt.rule().threshold == -2.5);
  LocalConnection eq(h, params({{"OnEq", ""}}));
  CHECK(eq.rule().kind == Rule::Kind::Equal);
  CHECK(eq.rule().text == "");
  CHECK(host.logs.empty());
}

TEST_CASE("LocalConnection with several rules uses OnEq, then OnGT, then OnLT and warns once") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  LocalConnection all(h, params({{"OnLT", "1"}, {"OnGT", "2"}, {"OnEq", "open"}}));
  CHECK(all.rule().kind == Rule::Kind::Equal);
  CHECK(all.rule().text == "open");
  LocalConnection two(h, params({{"OnLT", "1"}, {"OnGT", "2"}}));
  CHECK(two.rule().kind == Rule::Kind::Greater);
  CHECK(two.rule().threshold == 2.0);
  const Logged warning{SR_LOG_WARNING, "only one of OnEq, OnGT, OnLT applies; using the first in that order"};
  CHECK(host.logs == std::vector<Logged>{warning, warning});
}

TEST_CASE("LocalConnection without a rule delivers the reading to its destination unchanged") {
  FakeHost host;
  Instance local(host, {});
  CHECK(local.publish("room/temp", "21.5") == SR_OK);
  CHECK(local.publish("door", "open", SR_PUBLISH_RETAIN) == SR_OK);
  CHECK(host.delivered == Delivered{{"room/temp", "21.5"}, {"door", "open"}});
  CHECK(host.logs.empty());
}

TEST_CASE("LocalConnection delivers nothing for a publish flagged SR_PUBLISH_ECHO") {
  FakeHost host;
  Instance local(host, {});
  CHECK(local.publish("lamp", "ON", SR_PUBLISH_ECHO) == SR_OK);
  CHECK(local.publish("lamp", "TOGGLE", SR_PUBLISH_ECHO | SR_PUBLISH_RETAIN) == SR_OK);
  CHECK(host.delivered.empty());
  CHECK(host.logs.empty());
}

TEST_CASE("LocalConnection with OnGT = 0 delivers ON/OFF by the reading's sign") {
  FakeHost host;
  Instance local(host, {{"OnGT", "0"}});
  CHECK(local.publish("fan", "0.1") == SR_OK);
  CHECK(local.publish("fan", "0") == SR_OK);
  CHECK(local.publish("fan", "TOGGLE") == SR_OK);
  CHECK(host.delivered == Delivered{{"fan", "ON"}, {"fan", "OFF"}, {"fan", "TOGGLE"}});
}

TEST_CASE("LocalConnection with OnEq delivers ON/OFF by equality") {
  FakeHost host;
  Instance local(host, {{"OnEq", "open"}});
  CHECK(local.publish("door", "open") == SR_OK);
  CHECK(local.publish("door", "closed") == SR_OK);
  CHECK(host.delivered == Delivered{{"door", "ON"}, {"door", "OFF"}});
}

TEST_CASE("LocalConnection logs one error and delivers nothing for a non-number under OnGT") {
  FakeHost host;
  Instance local(host, {{"OnGT", "25"}});
  CHECK(local.publish("room/temp", "warm") == SR_OK);
  CHECK(host.delivered.empty());
  CHECK(host.logs ==
        std::vector<Logged>{{SR_LOG_ERROR, "reading 'warm' for room/temp is not a number; nothing forwarded"}});
}

TEST_CASE("LocalConnection subscribe only notes the source at DEBUG") {
  FakeHost host;
  Instance local(host, {});
  CHECK(local.subscribe("lamp/set") == SR_OK);
  host.min_level = SR_LOG_INFO;
  CHECK(local.subscribe("hidden") == SR_OK);
  CHECK(host.logs == std::vector<Logged>{{SR_LOG_DEBUG, "actuator listens to lamp/set"}});
  CHECK(host.delivered.empty());
}
