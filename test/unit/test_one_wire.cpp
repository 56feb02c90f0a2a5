// Unit tests for one_wire.ds18x20_sensor.Ds18x20Sensor (SPEC 7.6): the
// w1_slave parser against fixture trees shaped like the kernel's w1_therm
// output (test/data/w1/<case>/sys/bus/w1/devices/<id>/w1_slave), the
// plausibility rules, formatting and smoothing; then the class through its
// trampolines with a fake host whose run_blocking is a real sr::WorkerPool
// posting back to a real sr::EventLoop; and once through the real daemon.
#include "one_wire/ds18x20_sensor.hpp"

#include "loop/event_loop.h"
#include "loop/worker_pool.h"
#include "support/process.h"
#include "support/strict_host.h"

#include <sensor_reporter/sdk.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace sr::one_wire;
using sr::test::TempDir;
using namespace std::chrono_literals;

struct Published {
  std::string destination;
  std::string payload;
  bool operator==(const Published&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Published& p) {
  return out << "{" << p.destination << ", " << p.payload << "}";
}
struct LogLine {
  int level;
  std::string text;
};

}  // namespace

namespace {

std::string fixture_root(const std::string& name) { return sr::test::source_dir() + "/test/data/w1/" + name; }
std::string fixture_text(const std::string& name, const std::string& id) {
  std::string path = fixture_root(name) + "/sys/bus/w1/devices/" + id + "/w1_slave";
  REQUIRE_MESSAGE(std::filesystem::exists(path), path);
  return sr::test::read_file(path);
}

// What w1_therm writes for a reading with a good CRC (the scratchpad bytes
// do not matter to the parser beyond their shape).
std::string w1_slave(long long millidegrees, bool crc_ok = true) {
  const char* bytes = "58 01 4b 46 7f ff 0c 10 c2";
  return fmt::format("{0} : crc=c2 {1}\n{0} t={2}\n", bytes, crc_ok ? "YES" : "NO", millidegrees);
}

// ---------------------------------------------------------------------------
// A host whose run_blocking is a real worker pool handing results back to a
// real event loop; everything else a Ds18x20Sensor must not use fails.

struct FakeHost {
  // Declared before the loop: callbacks still queued on it refer to these.
  std::vector<Published> published;
  std::vector<LogLine> logs;
  int polls_done = 0;
  int polls_failed = 0;  // of those, ended as failed (poll_end)
  int blocking_calls = 0;
  std::vector<std::thread::id> work_threads;
  bool instance_alive = false;
  sr::EventLoop loop;
  sr::WorkerPool pool{loop, 1};

  ~FakeHost() {
    // Results still on their way are handed back as cancelled, like the host does.
    pool.stop();
    loop.drain();
  }
  sr_host_ctx* ctx() { return reinterpret_cast<sr_host_ctx*>(this); }
  static FakeHost& of(sr_host_ctx* ctx) { return *reinterpret_cast<FakeHost*>(ctx); }

  bool logged(int level, const std::string& part) const {
    for (const auto& line : logs)
      if (line.level == level && line.text.find(part) != std::string::npos) return true;
    return false;
  }
  std::string all_logs() const {
    std::string text;
    for (const auto& line : logs) text += fmt::format("{}: {}\n", line.level, line.text);
    return text;
  }
};

const sr_host_api kLoopApi = [] {
  sr_host_api api = sr::test::strict_host_api();
  api.log = [](sr_host_ctx* ctx, int level, const char* msg, size_t len) {
    FakeHost::of(ctx).logs.push_back({level, std::string(msg, len)});
  };
  api.publish = [](sr_host_ctx* ctx, const char* destination, const char* payload, size_t len, uint32_t) {
    FakeHost::of(ctx).published.push_back({destination, std::string(payload, len)});
  };
  api.poll_done = [](sr_host_ctx* ctx) { ++FakeHost::of(ctx).polls_done; };
  api.poll_end = [](sr_host_ctx* ctx, int status) {
    ++FakeHost::of(ctx).polls_done;
    if (status != SR_OK) ++FakeHost::of(ctx).polls_failed;
  };
  api.run_blocking = [](sr_host_ctx* ctx, sr_work_fn work, sr_done_fn done, void* user) {
    FakeHost& host = FakeHost::of(ctx);
    ++host.blocking_calls;
    bool ok = host.pool.submit(
        [&host, work, user] {
          host.work_threads.push_back(std::this_thread::get_id());  // one worker: no race
          work(user);
        },
        [&host, done, user] { done(user, host.instance_alive ? 0 : 1); });
    return ok ? SR_OK : SR_ERROR;
  };
  api.monotonic_ns = [](sr_host_ctx*) { return sr::EventLoop::monotonic_ns(); };
  api.section_name = [](sr_host_ctx*) { return "Sensor_W1"; };
  return api;
}();

constexpr sr_class_def kDef = sr::sdk::detail::make_class_def<Ds18x20Sensor>();

using Values = std::vector<std::pair<std::string, std::string>>;

// A sensor created through the trampolines, destroyed with the test.
class Sensor {
 public:
  Sensor(FakeHost& host, const Values& values) : host_(host) {
    std::vector<sr_param_value> params;
    for (const auto& [k, v] : values) params.push_back({k.c_str(), v.c_str()});
    char err[256] = {};
    instance_ = kDef.create(&kLoopApi, host.ctx(), params.data(), params.size(), err, sizeof err);
    REQUIRE_MESSAGE(instance_ != nullptr, err);
    host.instance_alive = true;
  }
  ~Sensor() { destroy(); }
  Sensor(const Sensor&) = delete;
  Sensor& operator=(const Sensor&) = delete;

  void destroy() {
    if (!instance_) return;
    kDef.destroy(instance_);
    instance_ = nullptr;
    host_.instance_alive = false;
  }
  const Ds18x20Sensor& object() const {
    return static_cast<sr::sdk::detail::Instance<Ds18x20Sensor>*>(instance_)->object;
  }
  // One poll, run until the sensor reports it done: failed exactly when it
  // published nothing (every good reading is published).
  void poll() {
    int before = host_.polls_done;
    int failed_before = host_.polls_failed;
    size_t published_before = host_.published.size();
    REQUIRE(kDef.poll(instance_) == SR_POLL_PENDING);
    // Asynchronous: nothing happens before the loop runs the result.
    CHECK(host_.published.size() == published_before);
    CHECK(host_.polls_done == before);
    const uint64_t deadline = sr::EventLoop::monotonic_ns() + 5'000'000'000ull;
    while (host_.polls_done == before && sr::EventLoop::monotonic_ns() < deadline) host_.loop.run_once(100);
    REQUIRE_MESSAGE(host_.polls_done == before + 1, "poll_done was not called exactly once");
    CHECK_MESSAGE(host_.polls_failed - failed_before == (host_.published.size() == published_before ? 1 : 0),
                  "a poll without a reading must end as failed, one with a reading as done");
  }
  void refresh() { REQUIRE(kDef.refresh(instance_) == SR_OK); }
  void* raw() const { return instance_; }

 private:
  FakeHost& host_;
  void* instance_ = nullptr;
};

// The error text of a create() that must fail.
std::string create_error(FakeHost& host, const Values& values) {
  std::vector<sr_param_value> params;
  for (const auto& [k, v] : values) params.push_back({k.c_str(), v.c_str()});
  char err[256] = {};
  void* instance = kDef.create(&kLoopApi, host.ctx(), params.data(), params.size(), err, sizeof err);
  CHECK(instance == nullptr);
  if (instance) kDef.destroy(instance);
  return err;
}

Values params_for(const std::string& root, const std::string& id, Values extra = {}) {
  Values values{{"Mac", id},       {"Destination", "temp"}, {"Poll", "1"},
                {"TempUnit", "C"}, {"Smoothing", "no"},     {"Root", root}};
  for (auto& [k, v] : extra)
    for (auto& entry : values)
      if (entry.first == k) entry.second = v;
  return values;
}

// A writable device tree for readings that change between polls.
class DeviceTree {
 public:
  explicit DeviceTree(const std::string& id = "28-00000000abcd") : id_(id) {
    std::filesystem::create_directories(dir_.path() + "/sys/bus/w1/devices/" + id);
  }
  void set(std::string_view text) const { dir_.write("sys/bus/w1/devices/" + id_ + "/w1_slave", text); }
  const std::string& root() const { return dir_.path(); }
  const std::string& id() const { return id_; }

 private:
  TempDir dir_;
  std::string id_;
};

std::vector<Published> temps(std::initializer_list<const char*> payloads) {
  std::vector<Published> out;
  for (const char* p : payloads) out.push_back({"temp", p});
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// parse_w1_slave

TEST_CASE("parse_w1_slave reads a positive temperature") {
  W1Parse r = parse_w1_slave(fixture_text("positive", "28-000000000001"));
  CHECK(r.ok());
  CHECK(r.error == W1Error::None);
  CHECK(r.millidegrees == 21500);
}

TEST_CASE("parse_w1_slave reads a negative temperature") {
  W1Parse r = parse_w1_slave(fixture_text("negative", "28-000000000002"));
  REQUIRE(r.ok());
  CHECK(r.millidegrees == -5000);
}

TEST_CASE("parse_w1_slave reads exactly 0 as a valid reading (the original dropped it)") {
  W1Parse r = parse_w1_slave(fixture_text("zero", "28-000000000003"));
  REQUIRE(r.ok());
  CHECK(r.millidegrees == 0);
}

TEST_CASE("parse_w1_slave reports a failed CRC, even when the second line is missing") {
  W1Parse r = parse_w1_slave(fixture_text("crc_no", "28-000000000004"));
  CHECK(r.error == W1Error::CrcFailed);
  CHECK(r.detail.find("CRC") != std::string::npos);
  CHECK(parse_w1_slave("58 01 4b 46 7f ff 0c 10 c2 : crc=98 NO\n").error == W1Error::CrcFailed);
}

TEST_CASE("parse_w1_slave reports a truncated file") {
  CHECK(parse_w1_slave(fixture_text("truncated", "28-000000000005")).error == W1Error::Truncated);
}

TEST_CASE("every strict prefix of a good file is empty or truncated, never a reading") {
  std::string good = fixture_text("positive", "28-000000000001");
  REQUIRE(parse_w1_slave(good).ok());
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    W1Parse r = parse_w1_slave(std::string_view(good).substr(0, n));
    CHECK(r.error == (n == 0 ? W1Error::Empty : W1Error::Truncated));
  }
}

TEST_CASE("parse_w1_slave reports garbage as malformed") {
  CHECK(parse_w1_slave(fixture_text("garbage", "28-000000000006")).error == W1Error::Malformed);
  const char* pad = "58 01 4b 46 7f ff 0c 10 c2";
  std::string line1 = fmt::format("{} : crc=c2 YES\n", pad);
  for (std::string bad : {
           line1 + pad + " t=\n",             // no number
           line1 + pad + " t=21.5\n",         // not whole
           line1 + pad + " t=abc\n",          // not a number
           line1 + pad + " t=99999999999\n",  // does not fit
           line1 + pad + " t=-\n",            // sign only
           line1 + pad + " t=21500 \n",       // trailing junk
           line1 + pad + " x=21500\n",        // wrong key
           line1 + "58 01 4b t=21500\n",      // too few bytes
           fmt::format("{} : crc=c2 MAYBE\n", pad) + pad + " t=1\n",
           fmt::format("{} : crc=zz YES\n", pad) + pad + " t=1\n",
           std::string("58 01 4b 46 7f ff 0c 10 c2 crc=c2 YES\n") + pad + " t=1\n",
           std::string("\0\0\0\n\0\0\n", 7),
       }) {
    CAPTURE(bad);
    W1Parse r = parse_w1_slave(bad);
    CHECK(r.error == W1Error::Malformed);
    CHECK(!r.detail.empty());
  }
}

TEST_CASE("a malformed line is quoted in the detail log-safe: control bytes escaped, a long line cut") {
  W1Parse control = parse_w1_slave("\x1b[31mRED\x7f : crc=00 YES\n58 t=1\n");
  REQUIRE(control.error == W1Error::Malformed);
  CHECK(control.detail ==
        "the first line '\\x1b[31mRED\\x7f : crc=00 YES' is not 'xx .. xx : crc=xx YES|NO'");
  W1Parse long_line = parse_w1_slave(std::string(100, 'a') + "\n");
  REQUIRE(long_line.error == W1Error::Malformed);
  CHECK(long_line.detail ==
        fmt::format("the first line '{}... (100 bytes)' is not 'xx .. xx : crc=xx YES|NO'",
                    std::string(64, 'a')));
}

TEST_CASE("parse_w1_slave reports an empty file") {
  CHECK(parse_w1_slave(fixture_text("empty", "28-000000000007")).error == W1Error::Empty);
}

TEST_CASE("parse_w1_slave parses the out-of-range and power-on fixtures; plausibility is a separate step") {
  W1Parse high = parse_w1_slave(fixture_text("out_of_range", "28-000000000008"));
  REQUIRE(high.ok());
  CHECK(high.millidegrees == 126000);
  W1Parse power_on = parse_w1_slave(fixture_text("power_on", "28-000000000009"));
  REQUIRE(power_on.ok());
  CHECK(power_on.millidegrees == 85000);
}

// ---------------------------------------------------------------------------
// Plausibility, units, formatting, smoothing, ids

TEST_CASE("check_reading accepts -55..125 °C inclusive and nothing outside") {
  CHECK(check_reading(-55000, std::nullopt) == Plausibility::Valid);
  CHECK(check_reading(125000, std::nullopt) == Plausibility::Valid);
  CHECK(check_reading(0, std::nullopt) == Plausibility::Valid);
  CHECK(check_reading(-55001, std::nullopt) == Plausibility::OutOfRange);
  CHECK(check_reading(125001, std::nullopt) == Plausibility::OutOfRange);
  CHECK(check_reading(INT32_MIN, 0) == Plausibility::OutOfRange);
}

TEST_CASE("check_reading believes 85000 only when the previous valid reading was within 5 °C") {
  CHECK(check_reading(85000, std::nullopt) == Plausibility::PowerOnValue);
  CHECK(check_reading(85000, 21500) == Plausibility::PowerOnValue);
  CHECK(check_reading(85000, 79999) == Plausibility::PowerOnValue);
  CHECK(check_reading(85000, 80000) == Plausibility::Valid);
  CHECK(check_reading(85000, 84937) == Plausibility::Valid);
  CHECK(check_reading(85000, 90000) == Plausibility::Valid);
  CHECK(check_reading(85000, 90001) == Plausibility::PowerOnValue);
  CHECK(check_reading(85000, INT32_MIN) == Plausibility::PowerOnValue);
  CHECK(check_reading(85062, std::nullopt) == Plausibility::Valid);  // only the exact value is suspect
}

TEST_CASE("convert to Fahrenheit") {
  CHECK(convert(21.5, TempUnit::Celsius) == 21.5);
  CHECK(convert(0, TempUnit::Fahrenheit) == 32);
  CHECK(convert(100, TempUnit::Fahrenheit) == 212);
  CHECK(convert(-40, TempUnit::Fahrenheit) == -40);
}

TEST_CASE("format_temperature: up to 3 decimals, no trailing zeros, never -0") {
  CHECK(format_temperature(21.5) == "21.5");
  CHECK(format_temperature(-5) == "-5");
  CHECK(format_temperature(0) == "0");
  CHECK(format_temperature(100) == "100");
  CHECK(format_temperature(-0.0) == "0");
  CHECK(format_temperature(-0.0001) == "0");
  CHECK(format_temperature(21.062) == "21.062");
  CHECK(format_temperature(21.0625) == "21.062");  // binary 21.0625 rounds to even
  CHECK(format_temperature(1.0 / 3.0) == "0.333");
  CHECK(format_temperature(70.7) == "70.7");
  CHECK(format_temperature(-10.25) == "-10.25");
}

TEST_CASE("MovingAverage is right from the first sample, then averages the last 5") {
  MovingAverage average;
  CHECK(average.add(20) == 20);  // not 20 / 5
  CHECK(average.add(22) == 21);
  CHECK(average.add(30) == 24);
  CHECK(average.add(40) == 28);
  CHECK(average.add(48) == 32);
  CHECK(average.size() == 5);
  CHECK(average.add(60) == 40);  // (22+30+40+48+60)/5: 20 has left the window
  CHECK(average.add(70) == 49.6);
  CHECK(average.size() == 5);
}

TEST_CASE("valid_w1_id takes family-serial in hex, either case") {
  CHECK(valid_w1_id("28-0123456789ab"));
  CHECK(valid_w1_id("10-0123456789AB"));
  CHECK_FALSE(valid_w1_id(""));
  CHECK_FALSE(valid_w1_id("28-0123456789a"));
  CHECK_FALSE(valid_w1_id("28-0123456789abc"));
  CHECK_FALSE(valid_w1_id("280123456789abc"));
  CHECK_FALSE(valid_w1_id("28_0123456789ab"));
  CHECK_FALSE(valid_w1_id("28-0123456789ag"));
  CHECK_FALSE(valid_w1_id("../../etc/pass"));
}

TEST_CASE("read_small_file reports a missing file and refuses an oversized one") {
  FileText missing = read_small_file("/nonexistent/w1_slave");
  CHECK_FALSE(missing.ok);
  CHECK(missing.error == "No such file or directory");
  TempDir dir;
  std::string big = dir.write("big", std::string(5000, 'x'));
  FileText too_big = read_small_file(big);
  CHECK_FALSE(too_big.ok);
  CHECK(too_big.error.find("larger than 4096") != std::string::npos);
  FileText ok = read_small_file(dir.write("ok", "abc"));
  CHECK(ok.ok);
  CHECK(ok.text == "abc");
}

// ---------------------------------------------------------------------------
// The class description

TEST_CASE("Ds18x20Sensor is a polling sensor with the documented table and a temperature output") {
  CHECK(kDef.kind == SR_KIND_SENSOR);
  CHECK(std::string(kDef.path) == "one_wire.ds18x20_sensor.Ds18x20Sensor");
  std::vector<std::string> names;
  for (const sr_param_def* p = kDef.params; p->name; ++p) names.emplace_back(p->name);
  CHECK(names == std::vector<std::string>{"Mac", "Destination", "Poll", "TempUnit", "Smoothing", "Root"});
  // The defaults are the table's alone: the constructor reads them from it.
  CHECK(std::string(kDef.params[3].choices) == "C|F");
  CHECK(std::string(kDef.params[3].default_value) == "C");
  CHECK(std::string(kDef.params[4].default_value) == "no");
  CHECK(std::string(kDef.params[5].default_value) == "/");
  REQUIRE((kDef.ios != nullptr));
  CHECK(std::string(kDef.ios[0].key) == "Destination");
  CHECK(kDef.ios[0].value_type == SR_VALUE_NUMBER);
  CHECK(std::string(kDef.ios[0].measures) == "temperature");
  CHECK(std::string(kDef.ios[0].unit) == "°C");
  CHECK(std::string(kDef.ios[0].unit_param) == "TempUnit");
  CHECK(std::string(kDef.ios[0].unit_choices) == "C=°C|F=°F");
  CHECK((kDef.ios[1].key == nullptr));
}

// ---------------------------------------------------------------------------
// The class through a host with a real loop and worker

TEST_CASE("the descriptor's poll reads the w1_slave file and publishes it; its refresh republishes it") {
  // make_class_def fills poll and refresh for every sensor, so only calling
  // them shows that the class has them.
  FakeHost host;
  DeviceTree tree;
  tree.set(w1_slave(21500));
  Sensor sensor(host, params_for(tree.root(), tree.id()));
  sensor.poll();  // kDef.poll: Pending, then poll_done once the loop ran the result
  CHECK(host.published == temps({"21.5"}));
  tree.set(w1_slave(-1250));  // a refresh republishes; it does not read
  sensor.refresh();           // kDef.refresh
  CHECK(host.published == temps({"21.5", "21.5"}));
  CHECK(host.blocking_calls == 1);
}

TEST_CASE("a good reading is read on a worker and published when the loop runs the result") {
  FakeHost host;
  Sensor sensor(host, params_for(fixture_root("positive"), "28-000000000001"));
  sensor.poll();
  CHECK(host.blocking_calls == 1);
  REQUIRE(host.work_threads.size() == 1);
  CHECK(host.work_threads[0] != std::this_thread::get_id());
  CHECK(host.published == temps({"21.5"}));
  CHECK(host.logs.empty());
}

TEST_CASE("negative and zero readings are published") {
  FakeHost host;
  Sensor negative(host, params_for(fixture_root("negative"), "28-000000000002"));
  negative.poll();
  CHECK(host.published == temps({"-5"}));
  negative.destroy();
  Sensor zero(host, params_for(fixture_root("zero"), "28-000000000003"));
  zero.poll();
  CHECK(host.published == temps({"-5", "0"}));
}

TEST_CASE("every bad file is logged with its path and reason, and nothing is published") {
  struct Case {
    const char* fixture;
    const char* id;
    int level;
    const char* reason;
  };
  for (const Case& c : {
           Case{"crc_no", "28-000000000004", SR_LOG_WARNING, "the CRC check failed (NO); reading skipped"},
           Case{"truncated", "28-000000000005", SR_LOG_WARNING, "the second line is missing or incomplete"},
           Case{"garbage", "28-000000000006", SR_LOG_ERROR, "is not 'xx .. xx : crc=xx YES|NO'"},
           Case{"empty", "28-000000000007", SR_LOG_ERROR, "the file is empty"},
           Case{"missing", "28-000000000001", SR_LOG_ERROR,
                "No such file or directory (is the sensor connected and w1_therm loaded?)"},
           Case{"out_of_range", "28-000000000008", SR_LOG_WARNING,
                "t=126000 is outside the sensor's range -55..125 °C"},
           Case{"power_on", "28-000000000009", SR_LOG_WARNING, "t=85000 is the sensor's power-on value"},
       }) {
    CAPTURE(c.fixture);
    FakeHost host;
    Sensor sensor(host, params_for(fixture_root(c.fixture), c.id));
    sensor.poll();
    INFO(host.all_logs());
    CHECK(host.published.empty());
    REQUIRE(host.logs.size() == 1);
    std::string file = fixture_root(c.fixture) + "/sys/bus/w1/devices/" + c.id + "/w1_slave";
    CHECK(host.logs[0].text.find(file) != std::string::npos);
    CHECK(host.logged(c.level, c.reason));
    sensor.refresh();  // nothing valid yet: nothing to republish
    CHECK(host.published.empty());
  }
}

TEST_CASE("the file read is <Root>/sys/bus/w1/devices/<Mac>/w1_slave, default Root /, Mac lower-cased") {
  FakeHost host;
  Sensor by_default(host, {{"Mac", "28-0123456789AB"}, {"Destination", "temp"}, {"Poll", "1"}});
  CHECK(by_default.object().file() == "/sys/bus/w1/devices/28-0123456789ab/w1_slave");
  by_default.destroy();
  Sensor slash(host, params_for("/tmp/x/", "28-0123456789ab"));
  CHECK(slash.object().file() == "/tmp/x/sys/bus/w1/devices/28-0123456789ab/w1_slave");
}

TEST_CASE("an upper-case Mac reads the lower-case device directory the kernel creates") {
  FakeHost host;
  DeviceTree tree("28-0000000000ab");
  tree.set(w1_slave(19250));
  Sensor sensor(host, params_for(tree.root(), "28-0000000000AB"));
  sensor.poll();
  CHECK(host.published == temps({"19.25"}));
}

TEST_CASE("a malformed Mac fails creation with a message naming it") {
  FakeHost host;
  for (const char* mac : {"28-123", "0123456789ab", "28-0123456789xz", "../../../etc"}) {
    CAPTURE(mac);
    CHECK(create_error(host, params_for("/", mac)) ==
          fmt::format("Mac '{}' is not a 1-Wire id like 28-0123456789ab (family, '-', 12 hex digits)", mac));
  }
}

TEST_CASE("a TempUnit outside the table's choices fails creation (the host's check refuses it first)") {
  FakeHost host;
  CHECK(create_error(host, params_for("/", "28-0123456789ab", {{"TempUnit", "K"}})) ==
        "TempUnit 'K' is not one of C|F");
}

TEST_CASE(
    "TempUnit and Smoothing left out take the table's defaults: degrees Celsius, each reading as it is") {
  FakeHost host;
  DeviceTree tree;
  Sensor sensor(host, {{"Mac", tree.id()}, {"Destination", "temp"}, {"Poll", "1"}, {"Root", tree.root()}});
  for (long long t : {20000, 30000}) {
    tree.set(w1_slave(t));
    sensor.poll();
  }
  // Smoothed, the second would be 25; in Fahrenheit, 68 and 86.
  CHECK(host.published == temps({"20", "30"}));
}

TEST_CASE("TempUnit F converts after validation") {
  FakeHost host;
  DeviceTree tree;
  Sensor sensor(host, params_for(tree.root(), tree.id(), {{"TempUnit", "f"}}));
  tree.set(w1_slave(21500));
  sensor.poll();
  tree.set(w1_slave(-5000));
  sensor.poll();
  // 60 °C is 140 °F: inside the range in °C, although 140 > 125 (the original dropped it).
  tree.set(w1_slave(60000));
  sensor.poll();
  // -50 °C is -58 °F: valid in °C.
  tree.set(w1_slave(-50000));
  sensor.poll();
  // 126 °C is out of range whatever the unit.
  tree.set(w1_slave(126000));
  sensor.poll();
  CHECK(host.published == temps({"70.7", "23", "140", "-58"}));
  CHECK(host.logged(SR_LOG_WARNING, "t=126000 is outside"));
}

TEST_CASE("Smoothing publishes the mean of what it has from the first sample, then of the last 5") {
  FakeHost host;
  DeviceTree tree;
  Sensor sensor(host, params_for(tree.root(), tree.id(), {{"Smoothing", "yes"}}));
  for (long long t : {20000, 22000, 30000}) {
    tree.set(w1_slave(t));
    sensor.poll();
  }
  CHECK(host.published == temps({"20", "21", "24"}));
  // A rejected reading does not enter the window.
  tree.set(w1_slave(21000, false));
  sensor.poll();
  tree.set("garbage\n");
  sensor.poll();
  CHECK(host.published.size() == 3);
  for (long long t : {40000, 48000, 60000, 70000}) {
    tree.set(w1_slave(t));
    sensor.poll();
  }
  // ..., (20+22+30+40+48)/5 = 32, (22+30+40+48+60)/5 = 40, (30+40+48+60+70)/5 = 49.6
  CHECK(host.published == temps({"20", "21", "24", "28", "32", "40", "49.6"}));
  sensor.refresh();
  CHECK(host.published.back() == Published{"temp", "49.6"});
}

TEST_CASE("Smoothing with TempUnit F averages in °C and converts the mean") {
  FakeHost host;
  DeviceTree tree;
  Sensor sensor(host, params_for(tree.root(), tree.id(), {{"Smoothing", "yes"}, {"TempUnit", "F"}}));
  tree.set(w1_slave(0));
  sensor.poll();
  tree.set(w1_slave(10000));
  sensor.poll();
  CHECK(host.published == temps({"32", "41"}));
}

TEST_CASE("85000 is dropped as a first reading and believed after a reading close to it") {
  FakeHost host;
  DeviceTree tree;
  Sensor sensor(host, params_for(tree.root(), tree.id()));
  tree.set(w1_slave(85000));
  sensor.poll();
  CHECK(host.published.empty());
  CHECK(host.logged(SR_LOG_WARNING, "power-on value"));
  tree.set(w1_slave(21500));
  sensor.poll();
  tree.set(w1_slave(85000));  // a jump from 21.5: a sensor reset, not a reading
  sensor.poll();
  tree.set(w1_slave(84000));
  sensor.poll();
  tree.set(w1_slave(85000));  // heated gradually: real
  sensor.poll();
  CHECK(host.published == temps({"21.5", "84", "85"}));
}

TEST_CASE("refresh republishes the last published value, not a later bad one") {
  FakeHost host;
  DeviceTree tree;
  Sensor sensor(host, params_for(tree.root(), tree.id()));
  sensor.refresh();
  CHECK(host.published.empty());
  tree.set(w1_slave(23125));
  sensor.poll();
  tree.set(w1_slave(23125, false));
  sensor.poll();
  sensor.refresh();
  CHECK(host.published == temps({"23.125", "23.125"}));
  CHECK(host.logged(SR_LOG_WARNING, "CRC"));
}

TEST_CASE("a sensor destroyed while its read is in flight publishes nothing and leaks nothing") {
  FakeHost host;
  Sensor sensor(host, params_for(fixture_root("positive"), "28-000000000001"));
  REQUIRE(kDef.poll(sensor.raw()) == SR_POLL_PENDING);
  sensor.destroy();
  // The read finishes, its result comes back cancelled and the job frees
  // itself (ASan checks).
  host.pool.stop();
  host.loop.drain();
  CHECK(host.published.empty());
  CHECK(host.polls_done == 0);
}

// ---------------------------------------------------------------------------
// Through the real daemon

TEST_CASE("the daemon loads one_wire.so and delivers readings from a fixture tree") {
  using namespace sr::test;
  TempDir dir;
  std::string ini =
      dir.write("sr.ini", fmt::format(R"([Connection1]
Class = local.local_conn.LocalConnection
Name = local

[Actuator1]
Class = sr_test.test.TestActuator
Connection = local
CommandSrc = boiler
Output = {0}/boiler.txt

[Sensor_W1]
Class = one_wire.ds18x20_sensor.Ds18x20Sensor
Connection = local
Mac = 28-000000000002
Destination = boiler
Poll = 0.05
TempUnit = F
Root = {1}

[Sensor_Bad]
Class = one_wire.ds18x20_sensor.Ds18x20Sensor
Connection = local
Mac = 28-000000000004
Destination = boiler
Poll = 60
Root = {2}
)",
                                      dir.path(), fixture_root("negative"), fixture_root("crc_no")));
  Process daemon({binary(), "--plugin-dir", test_plugin_dir(), ini});
  INFO("daemon output:\n", daemon.output());
  REQUIRE(wait_until(
      [&] { return read_file(dir.file("boiler.txt")).size() >= 3 * std::string("boiler 23\n").size(); },
      10s));
  std::string lines = read_file(dir.file("boiler.txt"));
  CHECK(lines.substr(0, 30) == "boiler 23\nboiler 23\nboiler 23\n");
  CHECK(daemon.wait_for_output("[Sensor_Bad] " + fixture_root("crc_no") +
                                   "/sys/bus/w1/devices/28-000000000004/w1_slave: the CRC check failed (NO); "
                                   "reading skipped",
                               5s));
  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
