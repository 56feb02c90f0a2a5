// Unit tests for the plugin boundary (SPEC 5): the C ABI of plugin_abi.h is
// pinned field by field, and the header-only SDK's trampolines are driven
// through a fake host table that records every call, so each test sees exactly
// what a plugin would send to the real host.
#include <sensor_reporter/plugin_abi.h>
#include <sensor_reporter/sdk.hpp>

#include "support/doctest_vector.h"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

// ---------------------------------------------------------------------------
// ABI layout: a change to any of these is an ABI break and must bump
// SR_ABI_MAJOR (or, for appended members, SR_ABI_MINOR).

static_assert(SR_ABI_MAJOR == 1);
static_assert(SR_ABI_MINOR == 2);
static_assert(std::string_view(SR_PLUGIN_ENTRY_NAME) == "sensor_reporter_plugin");
static_assert(std::is_same_v<sr_plugin_entry_fn, const sr_module_descriptor* (*)(uint32_t, uint32_t)>);

static_assert(std::is_standard_layout_v<sr_param_def> && std::is_trivially_copyable_v<sr_param_def>);
static_assert(std::is_standard_layout_v<sr_io_def> && std::is_trivially_copyable_v<sr_io_def>);
static_assert(std::is_standard_layout_v<sr_param_value> && std::is_trivially_copyable_v<sr_param_value>);
static_assert(std::is_standard_layout_v<sr_host_api> && std::is_trivially_copyable_v<sr_host_api>);
static_assert(std::is_standard_layout_v<sr_publish_opts> && std::is_trivially_copyable_v<sr_publish_opts>);
static_assert(std::is_standard_layout_v<sr_class_def> && std::is_trivially_copyable_v<sr_class_def>);
static_assert(std::is_standard_layout_v<sr_module_descriptor> &&
              std::is_trivially_copyable_v<sr_module_descriptor>);

// The descriptor's version and size come first on every architecture: the host
// reads them before it trusts anything else.
static_assert(offsetof(sr_module_descriptor, abi_major) == 0);
static_assert(offsetof(sr_module_descriptor, abi_minor) == 4);
static_assert(offsetof(sr_module_descriptor, struct_size) == 8);
static_assert(offsetof(sr_param_def, struct_size) == 0);
static_assert(offsetof(sr_io_def, struct_size) == 0);
static_assert(offsetof(sr_host_api, struct_size) == 0);
static_assert(offsetof(sr_publish_opts, struct_size) == 0);
static_assert(offsetof(sr_class_def, struct_size) == 0);

#if defined(__x86_64__) || defined(__aarch64__)
// LP64 layout.
static_assert(sizeof(sr_param_def) == 88);
static_assert(offsetof(sr_param_def, type) == 4);
static_assert(offsetof(sr_param_def, flags) == 8);
static_assert(offsetof(sr_param_def, name) == 16);
static_assert(offsetof(sr_param_def, default_value) == 24);
static_assert(offsetof(sr_param_def, min) == 32);
static_assert(offsetof(sr_param_def, max) == 40);
static_assert(offsetof(sr_param_def, choices) == 48);
static_assert(offsetof(sr_param_def, help) == 56);
static_assert(offsetof(sr_param_def, pattern) == 64);  // appended in ABI 1.2
static_assert(offsetof(sr_param_def, pattern_text) == 72);
static_assert(offsetof(sr_param_def, paired_with) == 80);

static_assert(sizeof(sr_io_def) == 72);
static_assert(offsetof(sr_io_def, direction) == 4);
static_assert(offsetof(sr_io_def, value_type) == 8);
static_assert(offsetof(sr_io_def, key) == 16);
static_assert(offsetof(sr_io_def, values) == 24);
static_assert(offsetof(sr_io_def, unit) == 32);
static_assert(offsetof(sr_io_def, measures) == 40);
static_assert(offsetof(sr_io_def, unit_param) == 48);  // appended in ABI 1.2
static_assert(offsetof(sr_io_def, unit_choices) == 56);
static_assert(offsetof(sr_io_def, values_param) == 64);

static_assert(sizeof(sr_param_value) == 16);
static_assert(offsetof(sr_param_value, key) == 0);
static_assert(offsetof(sr_param_value, value) == 8);

static_assert(sizeof(sr_host_api) == 184);
static_assert(offsetof(sr_host_api, log_enabled) == 8);
static_assert(offsetof(sr_host_api, log) == 16);
static_assert(offsetof(sr_host_api, publish) == 24);
static_assert(offsetof(sr_host_api, subscribe) == 32);
static_assert(offsetof(sr_host_api, poll_done) == 40);
static_assert(offsetof(sr_host_api, deliver) == 48);
static_assert(offsetof(sr_host_api, request_refresh) == 56);
static_assert(offsetof(sr_host_api, add_timer) == 64);
static_assert(offsetof(sr_host_api, cancel_timer) == 72);
static_assert(offsetof(sr_host_api, watch_fd) == 80);
static_assert(offsetof(sr_host_api, modify_fd) == 88);
static_assert(offsetof(sr_host_api, unwatch_fd) == 96);
static_assert(offsetof(sr_host_api, run_blocking) == 104);
static_assert(offsetof(sr_host_api, post) == 112);
static_assert(offsetof(sr_host_api, monotonic_ns) == 120);
static_assert(offsetof(sr_host_api, section_name) == 128);
static_assert(offsetof(sr_host_api, set_status) == 136);    // appended in ABI 1.1
static_assert(offsetof(sr_host_api, subscribe_ex) == 144);  // appended in ABI 1.2
static_assert(offsetof(sr_host_api, unsubscribe) == 152);
static_assert(offsetof(sr_host_api, deliver_ex) == 160);
static_assert(offsetof(sr_host_api, catalogue) == 168);
static_assert(offsetof(sr_host_api, poll_end) == 176);

static_assert(sizeof(sr_catalogue_io) == 56);
static_assert(offsetof(sr_catalogue_io, direction) == 4);
static_assert(offsetof(sr_catalogue_io, value_type) == 8);
static_assert(offsetof(sr_catalogue_io, key) == 16);
static_assert(offsetof(sr_catalogue_io, topic) == 24);
static_assert(offsetof(sr_catalogue_io, values) == 32);
static_assert(offsetof(sr_catalogue_io, unit) == 40);
static_assert(offsetof(sr_catalogue_io, measures) == 48);
static_assert(sizeof(sr_catalogue_entry) == 72);
static_assert(offsetof(sr_catalogue_entry, kind) == 4);
static_assert(offsetof(sr_catalogue_entry, section) == 8);
static_assert(offsetof(sr_catalogue_entry, class_name) == 16);
static_assert(offsetof(sr_catalogue_entry, class_path) == 24);
static_assert(offsetof(sr_catalogue_entry, summary) == 32);
static_assert(offsetof(sr_catalogue_entry, ios) == 40);
static_assert(offsetof(sr_catalogue_entry, io_count) == 48);
static_assert(offsetof(sr_catalogue_entry, params) == 56);
static_assert(offsetof(sr_catalogue_entry, param_count) == 64);

static_assert(sizeof(sr_publish_opts) == 8);
static_assert(offsetof(sr_publish_opts, flags) == 4);

static_assert(sizeof(sr_class_def) == 144);
static_assert(offsetof(sr_class_def, kind) == 4);
static_assert(offsetof(sr_class_def, name) == 8);
static_assert(offsetof(sr_class_def, path) == 16);
static_assert(offsetof(sr_class_def, summary) == 24);
static_assert(offsetof(sr_class_def, params) == 32);
static_assert(offsetof(sr_class_def, ios) == 40);
static_assert(offsetof(sr_class_def, create) == 48);
static_assert(offsetof(sr_class_def, destroy) == 56);
static_assert(offsetof(sr_class_def, start) == 64);
static_assert(offsetof(sr_class_def, poll) == 72);
static_assert(offsetof(sr_class_def, refresh) == 80);
static_assert(offsetof(sr_class_def, on_command) == 88);
static_assert(offsetof(sr_class_def, conn_publish) == 96);
static_assert(offsetof(sr_class_def, conn_subscribe) == 104);
static_assert(offsetof(sr_class_def, check) == 112);  // appended in ABI 1.2
static_assert(offsetof(sr_class_def, conn_subscribe_ex) == 120);
static_assert(offsetof(sr_class_def, conn_unsubscribe) == 128);
static_assert(offsetof(sr_class_def, conn_catalogue_changed) == 136);

static_assert(sizeof(sr_module_descriptor) == 40);
static_assert(offsetof(sr_module_descriptor, class_count) == 12);
static_assert(offsetof(sr_module_descriptor, module_name) == 16);
static_assert(offsetof(sr_module_descriptor, module_version) == 24);
static_assert(offsetof(sr_module_descriptor, classes) == 32);
#endif

namespace {

// ---------------------------------------------------------------------------
// Fake host: one object per test, passed as the (opaque) ctx pointer.

struct Published {
  std::string destination;
  std::string payload;
  uint32_t flags;
  bool operator==(const Published&) const = default;
};
struct Logged {
  int level;
  std::string message;
  bool operator==(const Logged&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Published& p) {
  return out << "{" << p.destination << ", " << p.payload << ", flags " << p.flags << "}";
}
std::ostream& operator<<(std::ostream& out, const Logged& l) {
  return out << "{level " << l.level << ", " << l.message << "}";
}

struct AddedTimer {
  uint64_t id;
  uint64_t first_delay_ns;
  uint64_t interval_ns;
  sr_timer_cb cb;
  void* user;
};
struct AddedWatch {
  uint64_t id;
  int fd;
  uint32_t events;
  sr_fd_cb cb;
  void* user;
};
struct Job {
  sr_work_fn work;  // null for post()
  sr_done_fn done;
  void* user;
};

struct FakeHost {
  int min_level = SR_LOG_DEBUG;
  uint64_t now_ns = 0;
  bool fail_timers = false;
  bool fail_run_blocking = false;
  std::string section = "Sensor_Test";

  std::vector<Published> published;
  std::vector<Logged> logs;
  std::vector<std::string> subscribed;
  std::vector<std::pair<std::string, std::string>> delivered;
  int poll_done_calls = 0;
  int poll_failed_calls = 0;
  int refresh_requests = 0;
  uint64_t next_id = 41;
  std::vector<AddedTimer> timers;
  std::vector<uint64_t> cancelled_timers;
  std::vector<AddedWatch> watches;
  std::vector<std::pair<uint64_t, uint32_t>> modified_watches;
  std::vector<uint64_t> unwatched;
  std::vector<Job> jobs;

  sr_host_ctx* ctx() { return reinterpret_cast<sr_host_ctx*>(this); }
  static FakeHost& of(sr_host_ctx* ctx) { return *reinterpret_cast<FakeHost*>(ctx); }
  std::vector<std::string> log_messages() const {
    std::vector<std::string> out;
    for (const auto& l : logs) out.push_back(l.message);
    return out;
  }
};

const sr_host_api kFakeApi = {
    sizeof(sr_host_api),
    [](sr_host_ctx* ctx, int level) { return level >= FakeHost::of(ctx).min_level ? 1 : 0; },
    [](sr_host_ctx* ctx, int level, const char* msg, size_t len) {
      FakeHost::of(ctx).logs.push_back({level, std::string(msg, len)});
    },
    [](sr_host_ctx* ctx, const char* destination, const char* payload, size_t len, uint32_t flags) {
      FakeHost::of(ctx).published.push_back({destination, std::string(payload, len), flags});
    },
    [](sr_host_ctx* ctx, const char* source) {
      FakeHost::of(ctx).subscribed.emplace_back(source);
      return SR_OK;
    },
    [](sr_host_ctx* ctx) { ++FakeHost::of(ctx).poll_done_calls; },
    [](sr_host_ctx* ctx, const char* source, const char* payload, size_t len) {
      FakeHost::of(ctx).delivered.emplace_back(source, std::string(payload, len));
    },
    [](sr_host_ctx* ctx) { ++FakeHost::of(ctx).refresh_requests; },
    [](sr_host_ctx* ctx, uint64_t first_delay_ns, uint64_t interval_ns, sr_timer_cb cb,
       void* user) -> uint64_t {
      auto& host = FakeHost::of(ctx);
      if (host.fail_timers) return 0;
      uint64_t id = host.next_id++;
      host.timers.push_back({id, first_delay_ns, interval_ns, cb, user});
      return id;
    },
    [](sr_host_ctx* ctx, uint64_t id) { FakeHost::of(ctx).cancelled_timers.push_back(id); },
    [](sr_host_ctx* ctx, int fd, uint32_t events, sr_fd_cb cb, void* user) -> uint64_t {
      auto& host = FakeHost::of(ctx);
      uint64_t id = host.next_id++;
      host.watches.push_back({id, fd, events, cb, user});
      return id;
    },
    [](sr_host_ctx* ctx, uint64_t id, uint32_t events) {
      FakeHost::of(ctx).modified_watches.emplace_back(id, events);
      return SR_OK;
    },
    [](sr_host_ctx* ctx, uint64_t id) { FakeHost::of(ctx).unwatched.push_back(id); },
    [](sr_host_ctx* ctx, sr_work_fn work, sr_done_fn done, void* user) {
      auto& host = FakeHost::of(ctx);
      if (host.fail_run_blocking) return SR_ERROR;
      host.jobs.push_back({work, done, user});
      return SR_OK;
    },
    [](sr_host_ctx* ctx, sr_done_fn done, void* user) {
      FakeHost::of(ctx).jobs.push_back({nullptr, done, user});
    },
    [](sr_host_ctx* ctx) { return FakeHost::of(ctx).now_ns; },
    [](sr_host_ctx* ctx) { return FakeHost::of(ctx).section.c_str(); },
    nullptr,  // set_status (ABI 1.1): not offered by this fake
    nullptr,
    nullptr,
    nullptr,
    nullptr,  // ABI 1.2 services: not offered either, but for poll_end
    [](sr_host_ctx* ctx, int status) {
      ++FakeHost::of(ctx).poll_done_calls;
      if (status != SR_OK) ++FakeHost::of(ctx).poll_failed_calls;
    },
};

// ---------------------------------------------------------------------------
// Plugin classes defined by the test.

int sensor_destroyed = 0;

class PlainSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "PlainSensor";
  static constexpr const char* path = "test.plain.PlainSensor";
  static constexpr const char* summary = "A sensor with a void poll";
  static constexpr sr_param_def params[] = {sr::sdk::string_param("Destination").required(),
                                            sr::sdk::end_params};
  static constexpr sr_io_def ios[] = {sr::sdk::publishes("Destination", SR_VALUE_NUMBER, "count", "n"),
                                      sr::sdk::end_ios};
  PlainSensor(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host), destination_(params.get("Destination")) {}
  ~PlainSensor() { ++sensor_destroyed; }
  void poll() { host_.publish(destination_, std::to_string(++polls_)); }
  void refresh() { host_.publish(destination_, "refreshed", SR_PUBLISH_RETAIN); }
  void start() { host_.info("started with {}", destination_); }

 private:
  sr::sdk::Host host_;
  std::string destination_;
  int polls_ = 0;
};

class AsyncSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "AsyncSensor";
  static constexpr const char* path = "test.async.AsyncSensor";
  static constexpr const char* summary = "Polls asynchronously every other time";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  AsyncSensor(sr::sdk::Host, const sr::sdk::Params&) {}
  sr::sdk::PollResult poll() {
    return ++polls_ % 2 ? sr::sdk::PollResult::Pending : sr::sdk::PollResult::Done;
  }

 private:
  int polls_ = 0;
};

class ThrowingConstructor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "ThrowingConstructor";
  static constexpr const char* path = "test.throwing.ThrowingConstructor";
  static constexpr const char* summary = "Cannot be created";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  ThrowingConstructor(sr::sdk::Host, const sr::sdk::Params& params) {
    if (params.has("Unknown")) throw 42;  // not a std::exception
    throw std::runtime_error("sensor hardware not found");
  }
  void poll() {}
};

class ThrowingSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "ThrowingSensor";
  static constexpr const char* path = "test.throwing.ThrowingSensor";
  static constexpr const char* summary = "Every callback throws";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  ThrowingSensor(sr::sdk::Host, const sr::sdk::Params&) {}
  void start() { throw std::logic_error("no start today"); }
  void poll() { throw std::runtime_error("read timed out"); }
  void refresh() { throw 7; }
};

class RecordingActuator {
 public:
  static constexpr sr_kind kind = SR_KIND_ACTUATOR;
  static constexpr const char* name = "RecordingActuator";
  static constexpr const char* path = "test.rec.RecordingActuator";
  static constexpr const char* summary = "Records commands";
  static constexpr sr_param_def params[] = {sr::sdk::string_param("CommandSrc").required(),
                                            sr::sdk::end_params};
  RecordingActuator(sr::sdk::Host host, const sr::sdk::Params& params) : host_(host) {
    host_.subscribe(params.get("CommandSrc"));
  }
  void on_command(std::string_view source, std::string_view payload) {
    if (payload == "BAD") throw std::invalid_argument("unknown command BAD");
    host_.publish("state", std::string(source) + "=" + std::string(payload), SR_PUBLISH_ECHO);
  }

 private:
  sr::sdk::Host host_;
};

class RecordingConnection {
 public:
  static constexpr sr_kind kind = SR_KIND_CONNECTION;
  static constexpr const char* name = "RecordingConnection";
  static constexpr const char* path = "test.rec.RecordingConnection";
  static constexpr const char* summary = "Records publishes";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  RecordingConnection(sr::sdk::Host host, const sr::sdk::Params&) : host_(host) {}
  void publish(std::string_view destination, std::string_view payload, uint32_t flags) {
    host_.info("{} {} {}", destination, payload, flags);
  }
  void subscribe(std::string_view source) { host_.warning("subscribe {}", source); }

 private:
  sr::sdk::Host host_;
};

// A connection with no optional members at all.
class BareConnection {
 public:
  static constexpr sr_kind kind = SR_KIND_CONNECTION;
  static constexpr const char* name = "BareConnection";
  static constexpr const char* path = "test.bare.BareConnection";
  static constexpr const char* summary = "Does nothing";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  BareConnection(sr::sdk::Host, const sr::sdk::Params&) {}
};

// doctest cannot print function pointers; compare them through this.
template <typename Fn>
bool is_set(Fn fn) {
  return fn != nullptr;
}

template <typename T>
void* create(FakeHost& host, std::vector<sr_param_value> values = {}, char* err = nullptr,
             size_t err_size = 0) {
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<T>();
  return def.create(&kFakeApi, host.ctx(), values.data(), values.size(), err, err_size);
}

}  // namespace

// The SDK's own module macro, instantiated here to check the descriptor it
// generates.
SR_PLUGIN_MODULE("sdk_test", "2.3.4", PlainSensor, RecordingActuator, RecordingConnection)

// ---------------------------------------------------------------------------
// Constants

TEST_CASE("ABI constants have their published values") {
  CHECK(SR_OK == 0);
  CHECK(SR_ERROR == -1);
  CHECK(SR_POLL_PENDING == 1);
  CHECK(SR_KIND_CONNECTION == 1);
  CHECK(SR_KIND_SENSOR == 2);
  CHECK(SR_KIND_ACTUATOR == 3);
  CHECK(SR_PARAM_STRING == 1);
  CHECK(SR_PARAM_INT == 2);
  CHECK(SR_PARAM_FLOAT == 3);
  CHECK(SR_PARAM_BOOL == 4);
  CHECK(SR_PARAM_CHOICE == 5);
  CHECK(SR_PARAM_REQUIRED == 0x1u);
  CHECK(SR_PARAM_HAS_MIN == 0x2u);
  CHECK(SR_PARAM_HAS_MAX == 0x4u);
  CHECK(SR_VALUE_STRING == 1);
  CHECK(SR_VALUE_NUMBER == 2);
  CHECK(SR_VALUE_BINARY == 3);
  CHECK(SR_VALUE_TIMESTAMP == 4);
  CHECK(SR_VALUE_COMMAND == 5);
  CHECK(SR_IO_PUBLISHES == 1);
  CHECK(SR_IO_ACCEPTS == 2);
  CHECK(SR_PUBLISH_RETAIN == 0x1u);
  CHECK(SR_PUBLISH_NO_RETAIN == 0x2u);
  CHECK(SR_PUBLISH_ECHO == 0x4u);
  CHECK(SR_PUBLISH_ABSOLUTE == 0x8u);
  CHECK(SR_SUBSCRIBE_ABSOLUTE == 0x1u);
  CHECK(SR_PARAM_SECRET == 0x8u);
  CHECK(SR_PARAM_NOT_EMPTY == 0x10u);
  CHECK(SR_PARAM_NUMBERED == 0x20u);
  CHECK(SR_LOG_DEBUG == 0);
  CHECK(SR_LOG_INFO == 1);
  CHECK(SR_LOG_WARNING == 2);
  CHECK(SR_LOG_ERROR == 3);
}

TEST_CASE("SR_PLUGIN_MODULE generates a descriptor with the ABI version, size and every class") {
  const sr_module_descriptor* d = sensor_reporter_plugin(SR_ABI_MAJOR, SR_ABI_MINOR);
  REQUIRE(d != nullptr);
  CHECK(d->abi_major == 1u);
  CHECK(d->abi_minor == 2u);
  CHECK(d->struct_size == sizeof(sr_module_descriptor));
  CHECK(std::string(d->module_name) == "sdk_test");
  CHECK(std::string(d->module_version) == "2.3.4");
  REQUIRE(d->class_count == 3u);
  CHECK(std::string(d->classes[0]->name) == "PlainSensor");
  CHECK(std::string(d->classes[1]->name) == "RecordingActuator");
  CHECK(std::string(d->classes[2]->name) == "RecordingConnection");
  CHECK(d->classes[1]->kind == SR_KIND_ACTUATOR);
  // A static descriptor: the same object on every call.
  CHECK(sensor_reporter_plugin(SR_ABI_MAJOR, SR_ABI_MINOR) == d);
}

TEST_CASE("the SDK's entry point answers an older host with the host's minor, everyone else with its own") {
  const sr_module_descriptor* own = SR_PLUGIN_ENTRY(SR_ABI_MAJOR, SR_ABI_MINOR);
  // A newer host reads the module by the module's own minor.
  CHECK(SR_PLUGIN_ENTRY(1, 7) == own);
  // Another major: the module says what it is, the host refuses it naming both.
  CHECK(SR_PLUGIN_ENTRY(2, 0)->abi_major == 1u);
  CHECK(SR_PLUGIN_ENTRY(2, 0)->abi_minor == SR_ABI_MINOR);
  CHECK(SR_PLUGIN_ENTRY(0, 9)->abi_minor == SR_ABI_MINOR);
  // An older host of the same major: the module runs under the host's minor
  // (Host::set_status does nothing under 1.0); everything else is the same.
  const sr_module_descriptor* old = SR_PLUGIN_ENTRY(1, 0);
  REQUIRE(old != nullptr);
  CHECK(old->abi_major == 1u);
  CHECK(old->abi_minor == 0u);
  CHECK(old->struct_size == sizeof(sr_module_descriptor));
  CHECK(old->class_count == own->class_count);
  CHECK(old->classes == own->classes);
  CHECK(std::string(old->module_name) == "sdk_test");
  CHECK(std::string(old->module_version) == "2.3.4");
}

TEST_CASE("answered_minor: the older host's minor down to the oldest the module runs under") {
  using sr::sdk::detail::answered_minor;
  CHECK(answered_minor(SR_ABI_MAJOR, SR_ABI_MINOR, 0) == SR_ABI_MINOR);
  CHECK(answered_minor(SR_ABI_MAJOR, SR_ABI_MINOR + 5, 0) == SR_ABI_MINOR);
  CHECK(answered_minor(SR_ABI_MAJOR + 1, 0, 0) == SR_ABI_MINOR);
  CHECK(answered_minor(SR_ABI_MAJOR, 0, 0) == 0u);
  // A module that needs 1.1 tells a 1.0 host so, and is refused by it.
  CHECK(answered_minor(SR_ABI_MAJOR, 0, 1) == 1u);
  CHECK(sr::sdk::detail::oldest_host_minor<PlainSensor, RecordingActuator, RecordingConnection>() == 0u);
}

// ---------------------------------------------------------------------------
// Tables

TEST_CASE("Param builder sets type, name and only the flags asked for") {
  constexpr sr_param_def plain = sr::sdk::string_param("Destination");
  static_assert(plain.struct_size == sizeof(sr_param_def));
  CHECK(plain.type == SR_PARAM_STRING);
  CHECK(std::string(plain.name) == "Destination");
  CHECK(plain.flags == 0u);
  CHECK(plain.default_value == nullptr);
  CHECK(plain.choices == nullptr);
  CHECK(plain.help == nullptr);

  constexpr sr_param_def required = sr::sdk::string_param("Num-Dest").required().help("where");
  CHECK(required.flags == SR_PARAM_REQUIRED);
  CHECK(std::string(required.help) == "where");
}

TEST_CASE("Param builder min and max set the value and the HAS_MIN/HAS_MAX flag") {
  constexpr sr_param_def min_only = sr::sdk::float_param("Poll").required().min(1);
  CHECK(min_only.type == SR_PARAM_FLOAT);
  CHECK(min_only.flags == (SR_PARAM_REQUIRED | SR_PARAM_HAS_MIN));
  CHECK(min_only.min == 1.0);
  CHECK(min_only.max == 0.0);

  constexpr sr_param_def range = sr::sdk::int_param("NumFiles").fallback("10").min(0).max(1000);
  CHECK(range.type == SR_PARAM_INT);
  CHECK(range.flags == (SR_PARAM_HAS_MIN | SR_PARAM_HAS_MAX));
  CHECK(range.min == 0.0);
  CHECK(range.max == 1000.0);
  CHECK(std::string(range.default_value) == "10");

  constexpr sr_param_def max_only = sr::sdk::int_param("Qos").max(2);
  CHECK(max_only.flags == SR_PARAM_HAS_MAX);
}

TEST_CASE("Param builder fallback, bool and choice parameters") {
  constexpr sr_param_def flag = sr::sdk::bool_param("Retain").fallback("no");
  CHECK(flag.type == SR_PARAM_BOOL);
  CHECK(flag.flags == 0u);
  CHECK(std::string(flag.default_value) == "no");

  constexpr sr_param_def choice = sr::sdk::choice_param("Level", "DEBUG|INFO").fallback("INFO");
  CHECK(choice.type == SR_PARAM_CHOICE);
  CHECK(std::string(choice.choices) == "DEBUG|INFO");
  CHECK(std::string(choice.default_value) == "INFO");
}

TEST_CASE("end_params and end_ios are all-zero terminators") {
  CHECK(sr::sdk::end_params.name == nullptr);
  CHECK(sr::sdk::end_params.struct_size == 0u);
  CHECK(sr::sdk::end_ios.key == nullptr);
  CHECK(sr::sdk::end_ios.struct_size == 0u);
}

TEST_CASE("publishes and accepts build io entries with direction, type, unit and values") {
  constexpr sr_io_def out = sr::sdk::publishes("Num-Dest", SR_VALUE_NUMBER, "uptime", "ms");
  CHECK(out.struct_size == sizeof(sr_io_def));
  CHECK(out.direction == SR_IO_PUBLISHES);
  CHECK(out.value_type == SR_VALUE_NUMBER);
  CHECK(std::string(out.key) == "Num-Dest");
  CHECK(std::string(out.measures) == "uptime");
  CHECK(std::string(out.unit) == "ms");
  CHECK(out.values == nullptr);

  constexpr sr_io_def in = sr::sdk::accepts("CommandSrc", SR_VALUE_BINARY, "switch", "OFF,ON");
  CHECK(in.direction == SR_IO_ACCEPTS);
  CHECK(in.value_type == SR_VALUE_BINARY);
  CHECK(std::string(in.values) == "OFF,ON");
  CHECK(in.unit == nullptr);
}

// ---------------------------------------------------------------------------
// make_class_def

TEST_CASE("make_class_def of a sensor sets poll and refresh, not the actuator or connection callbacks") {
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<PlainSensor>();
  CHECK(def.struct_size == sizeof(sr_class_def));
  CHECK(def.kind == SR_KIND_SENSOR);
  CHECK(std::string(def.name) == "PlainSensor");
  CHECK(std::string(def.path) == "test.plain.PlainSensor");
  CHECK(std::string(def.summary) == "A sensor with a void poll");
  CHECK(def.params == PlainSensor::params);
  CHECK(def.ios == PlainSensor::ios);
  CHECK(is_set(def.create));
  CHECK(is_set(def.destroy));
  CHECK(is_set(def.start));
  CHECK(is_set(def.poll));
  CHECK(is_set(def.refresh));
  CHECK_FALSE(is_set(def.on_command));
  CHECK_FALSE(is_set(def.conn_publish));
  CHECK_FALSE(is_set(def.conn_subscribe));
}

TEST_CASE("make_class_def of an actuator sets refresh and on_command only") {
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<RecordingActuator>();
  CHECK(def.kind == SR_KIND_ACTUATOR);
  CHECK(def.ios == nullptr);  // the class declares no ios
  CHECK(is_set(def.create));
  CHECK(is_set(def.destroy));
  CHECK(is_set(def.start));
  CHECK_FALSE(is_set(def.poll));
  CHECK(is_set(def.refresh));
  CHECK(is_set(def.on_command));
  CHECK_FALSE(is_set(def.conn_publish));
  CHECK_FALSE(is_set(def.conn_subscribe));
}

TEST_CASE("make_class_def of a connection sets conn_publish and conn_subscribe only") {
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<RecordingConnection>();
  CHECK(def.kind == SR_KIND_CONNECTION);
  CHECK(is_set(def.create));
  CHECK(is_set(def.destroy));
  CHECK(is_set(def.start));
  CHECK_FALSE(is_set(def.poll));
  CHECK_FALSE(is_set(def.refresh));
  CHECK_FALSE(is_set(def.on_command));
  CHECK(is_set(def.conn_publish));
  CHECK(is_set(def.conn_subscribe));
}

// ---------------------------------------------------------------------------
// Params

namespace params_table {
constexpr sr_param_def kTable[] = {
    sr::sdk::string_param("Destination").required(),
    sr::sdk::string_param("Root").fallback("/"),
    sr::sdk::int_param("Count").fallback("3"),
    sr::sdk::float_param("Timeout").fallback("2.5"),
    sr::sdk::bool_param("Smoothing").fallback("no"),
    sr::sdk::string_param("Optional"),
    sr::sdk::choice_param("PUD", "UP|DOWN|OFF").fallback("DOWN"),
    sr::sdk::string_param("Address").numbered("Destination"),
    sr::sdk::end_params};
enum class Pud { Up, Down, Off };
static_assert(sr::sdk::choice_count(kTable, "PUD") == 3);
static_assert(sr::sdk::choice_count(kTable, "Root") == 0);  // not a choice
static_assert(sr::sdk::choice_count(kTable, "Missing") == 0);

sr::sdk::Params make(sr::sdk::Params::Values values) { return sr::sdk::Params(kTable, std::move(values)); }
}  // namespace params_table

TEST_CASE("Params: a key the section sets answers its value, one it leaves out the table's default") {
  using namespace params_table;
  auto params = make({{"Destination", "a/b"}, {"Count", "-42"}});
  CHECK(params.get("Destination") == "a/b");
  CHECK(params.get<int>("Count") == -42);
  CHECK(params.get("Root") == "/");
  CHECK(params.get<double>("Timeout") == 2.5);
  CHECK(params.get<bool>("Smoothing") == false);
  CHECK(params.has("Root"));
  CHECK_FALSE(params.has("Optional"));
  CHECK_FALSE(params.has("destination"));  // keys are spelled as in the table
  CHECK(params.find("Optional") == std::nullopt);
  CHECK(params.find<int>("Count") == -42);
}

TEST_CASE("Params::get names the key when there is no value, and refuses a key outside the table") {
  using namespace params_table;
  auto params = make({});
  CHECK_THROWS_WITH_AS(params.get("Destination"), "missing parameter Destination", std::runtime_error);
  CHECK_THROWS_WITH_AS(params.get("Optional"), "missing parameter Optional", std::runtime_error);
  CHECK_THROWS_WITH_AS(params.get("Destinaton"), "parameter Destinaton is not in the class's table",
                       std::logic_error);
}

TEST_CASE("Params::get converts whole numbers, numbers and booleans strictly") {
  using namespace params_table;
  auto params = make({{"Count", "2.5"}, {"Timeout", "1e3"}, {"Smoothing", "ON"}, {"Root", " 9000000000 "},
                      {"Optional", "maybe"}});
  CHECK_THROWS_WITH_AS(params.get<int>("Count"), "Count '2.5' is not a whole number", std::runtime_error);
  CHECK(params.get<double>("Timeout") == 1000.0);
  CHECK(params.get<bool>("Smoothing"));
  CHECK(params.get<long long>("Root") == 9000000000LL);
  CHECK_THROWS_AS(params.get<int>("Root"), std::runtime_error);  // out of range
  CHECK_THROWS_WITH_AS(params.get<bool>("Optional"), "Optional 'maybe' is not yes/no, true/false, on/off or 1/0",
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(params.get<double>("Optional"), "Optional 'maybe' is not a number", std::runtime_error);
}

TEST_CASE("Params::choice maps the table's choices, in their order and any case, to the enum") {
  using namespace params_table;
  CHECK(make({}).choice<Pud>("PUD") == Pud::Down);
  CHECK(make({{"PUD", "up"}}).choice<Pud>("PUD") == Pud::Up);
  CHECK(make({{"PUD", "Off"}}).choice<Pud>("PUD") == Pud::Off);
  CHECK_THROWS_WITH_AS(make({{"PUD", "SIDEWAYS"}}).choice<Pud>("PUD"), "PUD 'SIDEWAYS' is not one of UP|DOWN|OFF",
                       std::runtime_error);
  CHECK_THROWS_AS(make({}).choice<Pud>("Root"), std::logic_error);
}

TEST_CASE("Params::numbered lists a family's members by number and nothing else") {
  using namespace params_table;
  auto params = make({{"Address10", "j"}, {"Address2", "b"}, {"Address1", "a"}, {"AddressX", "no"},
                      {"Address", "bare"}, {"Address01", "no"}, {"Addresses1", "no"}});
  CHECK(params.numbered("Address") ==
        std::vector<sr::sdk::NumberedValue>{{1, "a"}, {2, "b"}, {10, "j"}});
  CHECK(params.numbered("Destination").empty());
}

TEST_CASE("Params built from an empty C array has only the table's defaults") {
  sr::sdk::Params params(params_table::kTable, nullptr, 0);
  CHECK_FALSE(params.has("Destination"));
  CHECK(params.get("Root") == "/");
}

// ---------------------------------------------------------------------------
// Trampolines

TEST_CASE("create passes the parameters to the constructor and destroy runs the destructor") {
  FakeHost host;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<PlainSensor>();
  sr_param_value values[] = {{"Destination", "count"}};
  char err[64] = "untouched";
  void* instance = def.create(&kFakeApi, host.ctx(), values, 1, err, sizeof err);
  REQUIRE(instance != nullptr);
  CHECK(std::string(err) == "untouched");
  CHECK(def.poll(instance) == SR_OK);
  CHECK(def.poll(instance) == SR_OK);
  CHECK(host.published == std::vector<Published>{{"count", "1", 0}, {"count", "2", 0}});
  int destroyed_before = sensor_destroyed;
  def.destroy(instance);
  CHECK(sensor_destroyed == destroyed_before + 1);
}

TEST_CASE("create returns NULL and copies the constructor's exception text into err") {
  FakeHost host;
  char err[64];
  std::memset(err, 'X', sizeof err);
  CHECK(create<ThrowingConstructor>(host, {}, err, sizeof err) == nullptr);
  CHECK(std::string(err) == "sensor hardware not found");
  CHECK(host.logs.empty());
}

TEST_CASE("create truncates the error text to err_size including the NUL") {
  FakeHost host;
  char err[16];
  std::memset(err, 'X', sizeof err);
  CHECK(create<ThrowingConstructor>(host, {}, err, 8) == nullptr);
  CHECK(std::string(err) == "sensor ");  // 7 characters and the NUL
  CHECK(err[8] == 'X');                  // nothing written past err_size
  CHECK(err[15] == 'X');

  std::memset(err, 'X', sizeof err);
  CHECK(create<ThrowingConstructor>(host, {}, err, 1) == nullptr);
  CHECK(err[0] == '\0');
  CHECK(err[1] == 'X');
}

TEST_CASE("create with no error buffer or a zero-sized one fails without writing") {
  FakeHost host;
  CHECK(create<ThrowingConstructor>(host, {}, nullptr, 64) == nullptr);
  char err[4] = {'X', 'X', 'X', 'X'};
  CHECK(create<ThrowingConstructor>(host, {}, err, 0) == nullptr);
  CHECK(err[0] == 'X');
}

TEST_CASE("create reports a non-standard exception as 'unknown exception'") {
  FakeHost host;
  char err[64] = {};
  CHECK(create<ThrowingConstructor>(host, {{"Unknown", "1"}}, err, sizeof err) == nullptr);
  CHECK(std::string(err) == "unknown exception");
}

TEST_CASE("create of a class whose required parameter is absent fails with the SDK's message") {
  FakeHost host;
  char err[64] = {};
  CHECK(create<PlainSensor>(host, {}, err, sizeof err) == nullptr);
  CHECK(std::string(err) == "missing parameter Destination");
}

TEST_CASE("poll that throws returns SR_ERROR and logs one ERROR line 'poll failed: ...'") {
  FakeHost host;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<ThrowingSensor>();
  void* instance = create<ThrowingSensor>(host);
  REQUIRE(instance != nullptr);
  CHECK(def.poll(instance) == SR_ERROR);
  CHECK(host.logs == std::vector<Logged>{{SR_LOG_ERROR, "poll failed: read timed out"}});
  def.destroy(instance);
}

TEST_CASE("an exception from start or refresh is logged and reported as SR_ERROR") {
  FakeHost host;
  // Logged even when the section's level would hide errors: failures at the
  // edge go straight to the host's log.
  host.min_level = 99;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<ThrowingSensor>();
  void* instance = create<ThrowingSensor>(host);
  REQUIRE(instance != nullptr);
  CHECK(def.start(instance) == SR_ERROR);
  CHECK(def.refresh(instance) == SR_ERROR);
  CHECK(host.logs == std::vector<Logged>{{SR_LOG_ERROR, "start failed: no start today"},
                                         {SR_LOG_ERROR, "refresh failed with an unknown exception"}});
  def.destroy(instance);
}

TEST_CASE("poll returning PollResult::Pending gives SR_POLL_PENDING, Done gives SR_OK") {
  FakeHost host;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<AsyncSensor>();
  void* instance = create<AsyncSensor>(host);
  REQUIRE(instance != nullptr);
  CHECK(def.poll(instance) == SR_POLL_PENDING);
  CHECK(def.poll(instance) == SR_OK);
  CHECK(def.poll(instance) == SR_POLL_PENDING);
  // No refresh() or start() member: the trampolines succeed and do nothing.
  CHECK(def.refresh(instance) == SR_OK);
  CHECK(def.start(instance) == SR_OK);
  CHECK(host.published.empty());
  CHECK(host.logs.empty());
  def.destroy(instance);
}

TEST_CASE("start and refresh trampolines call the class's members") {
  FakeHost host;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<PlainSensor>();
  void* instance = create<PlainSensor>(host, {{"Destination", "d"}});
  REQUIRE(instance != nullptr);
  CHECK(def.start(instance) == SR_OK);
  CHECK(def.refresh(instance) == SR_OK);
  CHECK(host.logs == std::vector<Logged>{{SR_LOG_INFO, "started with d"}});
  CHECK(host.published == std::vector<Published>{{"d", "refreshed", SR_PUBLISH_RETAIN}});
  def.destroy(instance);
}

TEST_CASE("on_command passes source and exactly len bytes of payload; a throw becomes SR_ERROR") {
  FakeHost host;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<RecordingActuator>();
  void* instance = create<RecordingActuator>(host, {{"CommandSrc", "lamp/set"}});
  REQUIRE(instance != nullptr);
  CHECK(host.subscribed == std::vector<std::string>{"lamp/set"});
  const char payload[] = "ONGARBAGE";
  CHECK(def.on_command(instance, "lamp/set", payload, 2) == SR_OK);
  CHECK(host.published == std::vector<Published>{{"state", "lamp/set=ON", SR_PUBLISH_ECHO}});
  CHECK(def.on_command(instance, "lamp/set", "BAD", 3) == SR_ERROR);
  CHECK(host.logs == std::vector<Logged>{{SR_LOG_ERROR, "command failed: unknown command BAD"}});
  def.destroy(instance);
}

TEST_CASE("conn_publish passes destination, payload and the flags of the options") {
  FakeHost host;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<RecordingConnection>();
  void* instance = create<RecordingConnection>(host);
  REQUIRE(instance != nullptr);
  const sr_publish_opts opts{sizeof(sr_publish_opts), SR_PUBLISH_RETAIN | SR_PUBLISH_ECHO};
  CHECK(def.conn_publish(instance, "t/1", "12.5xx", 4, &opts) == SR_OK);
  CHECK(def.conn_publish(instance, "t/2", "a", 1, nullptr) == SR_OK);  // no options: flags 0
  CHECK(def.conn_subscribe(instance, "cmd") == SR_OK);
  CHECK(host.log_messages() == std::vector<std::string>{"t/1 12.5 5", "t/2 a 0", "subscribe cmd"});
  CHECK(host.logs[2].level == SR_LOG_WARNING);
  def.destroy(instance);
}

TEST_CASE("a connection without publish or subscribe members accepts both calls") {
  FakeHost host;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<BareConnection>();
  void* instance = create<BareConnection>(host);
  REQUIRE(instance != nullptr);
  const sr_publish_opts opts{sizeof(sr_publish_opts), 0};
  CHECK(def.conn_publish(instance, "x", "y", 1, &opts) == SR_OK);
  CHECK(def.conn_subscribe(instance, "x") == SR_OK);
  CHECK(def.start(instance) == SR_OK);
  def.destroy(instance);
}

// ---------------------------------------------------------------------------
// Host services

TEST_CASE("Host log helpers format the message and skip levels the host disabled") {
  FakeHost host;
  host.min_level = SR_LOG_WARNING;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  h.debug("debug {}", 1);
  h.info("info {}", 2);
  h.warning("pin {} is outside {}..{}", 40, 0, 27);
  h.error("{} failed", "read");
  CHECK(host.logs ==
        std::vector<Logged>{{SR_LOG_WARNING, "pin 40 is outside 0..27"}, {SR_LOG_ERROR, "read failed"}});
  CHECK_FALSE(h.log_enabled(SR_LOG_INFO));
  CHECK(h.log_enabled(SR_LOG_ERROR));
  CHECK(h.section() == "Sensor_Test");
}

TEST_CASE("Host forwards publish, deliver, poll_done, request_refresh and the monotonic clock") {
  FakeHost host;
  host.now_ns = 1'500'000'000;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  h.publish("dest", "value", SR_PUBLISH_NO_RETAIN);
  h.deliver("src", "TOGGLE");
  h.poll_done();
  h.request_refresh();
  CHECK(h.subscribe("in"));
  CHECK(h.now() == std::chrono::milliseconds(1500));
  CHECK(host.published == std::vector<Published>{{"dest", "value", SR_PUBLISH_NO_RETAIN}});
  CHECK(host.delivered == std::vector<std::pair<std::string, std::string>>{{"src", "TOGGLE"}});
  CHECK(host.poll_done_calls == 1);
  CHECK(host.refresh_requests == 1);
  CHECK(host.subscribed == std::vector<std::string>{"in"});
}

TEST_CASE("Timer: add_timer passes delay and interval, fires the callback and cancels on destruction") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  int fired = 0;
  {
    sr::sdk::Timer timer =
        h.add_timer(std::chrono::milliseconds(250), std::chrono::seconds(2), [&] { ++fired; });
    REQUIRE(host.timers.size() == 1);
    const AddedTimer& added = host.timers[0];
    CHECK(added.first_delay_ns == 250'000'000u);
    CHECK(added.interval_ns == 2'000'000'000u);
    CHECK(timer.active());
    added.cb(added.user);
    added.cb(added.user);
    CHECK(fired == 2);
    CHECK(timer.active());  // repeating
    CHECK(host.cancelled_timers.empty());
  }
  CHECK(host.cancelled_timers == std::vector<uint64_t>{host.timers[0].id});
}

TEST_CASE("Timer: a one-shot timer is inactive after firing") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  int fired = 0;
  sr::sdk::Timer timer = h.add_timer(std::chrono::seconds(1), {}, [&] { ++fired; });
  REQUIRE(host.timers.size() == 1);
  CHECK(host.timers[0].interval_ns == 0u);
  CHECK(timer.active());
  host.timers[0].cb(host.timers[0].user);
  CHECK(fired == 1);
  CHECK_FALSE(timer.active());
}

TEST_CASE("Timer: cancelling from inside its own callback is safe") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  sr::sdk::Timer timer;
  int fired = 0;
  timer = h.add_timer(std::chrono::seconds(1), std::chrono::seconds(1), [&] {
    ++fired;
    timer.cancel();  // the trampoline frees the state after the callback returns (ASan checks)
  });
  REQUIRE(host.timers.size() == 1);
  uint64_t id = host.timers[0].id;
  host.timers[0].cb(host.timers[0].user);
  CHECK(fired == 1);
  CHECK_FALSE(timer.active());
  CHECK(host.cancelled_timers == std::vector<uint64_t>{id});
}

TEST_CASE("Timer: a throwing callback is logged as 'timer failed: ...'") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  sr::sdk::Timer timer = h.add_timer(std::chrono::seconds(1), std::chrono::seconds(1),
                                     [] { throw std::runtime_error("sysfs gone"); });
  host.timers[0].cb(host.timers[0].user);
  CHECK(host.logs == std::vector<Logged>{{SR_LOG_ERROR, "timer failed: sysfs gone"}});
}

TEST_CASE("Timer: add_timer throws when the host refuses the timer") {
  FakeHost host;
  host.fail_timers = true;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  CHECK_THROWS_WITH_AS(h.add_timer(std::chrono::seconds(1), {}, [] {}), "cannot create a timer",
                       std::runtime_error);
}

TEST_CASE("FdWatch: watch_fd passes fd and events, modify and destruction reach the host") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  std::vector<uint32_t> seen;
  {
    sr::sdk::FdWatch watch = h.watch_fd(7, 0x1, [&](uint32_t events) { seen.push_back(events); });
    REQUIRE(host.watches.size() == 1);
    CHECK(host.watches[0].fd == 7);
    CHECK(host.watches[0].events == 0x1u);
    CHECK(watch.active());
    host.watches[0].cb(host.watches[0].user, 7, 0x5);
    CHECK(seen == std::vector<uint32_t>{0x5});
    CHECK(watch.modify(0x4));
    CHECK(host.modified_watches == std::vector<std::pair<uint64_t, uint32_t>>{{host.watches[0].id, 0x4u}});
  }
  CHECK(host.unwatched == std::vector<uint64_t>{host.watches[0].id});
}

TEST_CASE("run_blocking: the result of work reaches done on the loop") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  int result = 0;
  h.run_blocking([] { return 6 * 7; }, [&](int value) { result = value; });
  REQUIRE(host.jobs.size() == 1);
  REQUIRE(is_set(host.jobs[0].work));
  host.jobs[0].work(host.jobs[0].user);  // the worker thread's part
  CHECK(result == 0);
  host.jobs[0].done(host.jobs[0].user, 0);  // back on the loop
  CHECK(result == 42);
  CHECK(host.logs.empty());
}

TEST_CASE("run_blocking: work that throws is logged as 'background work failed: ...'") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  bool called = false;
  h.run_blocking([]() -> int { throw std::runtime_error("child exited 3"); }, [&](int) { called = true; });
  REQUIRE(host.jobs.size() == 1);
  host.jobs[0].work(host.jobs[0].user);
  host.jobs[0].done(host.jobs[0].user, 0);
  CHECK_FALSE(called);
  CHECK(host.logs == std::vector<Logged>{{SR_LOG_ERROR, "background work failed: child exited 3"}});
}

TEST_CASE("run_blocking: a cancelled job never calls done and frees its state") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  bool called = false;
  h.run_blocking([] { return std::string(1000, 'x'); }, [&](std::string) { called = true; });
  REQUIRE(host.jobs.size() == 1);
  host.jobs[0].work(host.jobs[0].user);
  host.jobs[0].done(host.jobs[0].user, 1);  // instance destroyed meanwhile; LeakSanitizer checks the free
  CHECK_FALSE(called);
  CHECK(host.logs.empty());
}

TEST_CASE("run_blocking: a refused job throws and leaks nothing") {
  FakeHost host;
  host.fail_run_blocking = true;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  CHECK_THROWS_WITH_AS(h.run_blocking([] { return 1; }, [](int) {}), "cannot start background work",
                       std::runtime_error);
}

TEST_CASE("poll_async: the poll is reported done after done ran, after done threw and after work threw; "
          "the last two as failed") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  int result = 0;
  CHECK(h.poll_async([] { return 7; }, [&](int value) {
    CHECK(host.poll_done_calls == 0);  // done runs before the poll ends
    result = value;
  }) == sr::sdk::PollResult::Pending);
  h.poll_async([] { return 1; }, [](int) { throw std::runtime_error("bad reading"); });
  h.poll_async([]() -> int { throw std::runtime_error("no such file"); }, [](int) {});
  REQUIRE(host.jobs.size() == 3);
  for (int i = 0; i < 3; ++i) {
    host.jobs[i].work(host.jobs[i].user);
    host.jobs[i].done(host.jobs[i].user, 0);
    CHECK(host.poll_done_calls == i + 1);
    CHECK(host.poll_failed_calls == i);  // the first poll got its reading
  }
  CHECK(result == 7);
  CHECK(host.log_messages() == std::vector<std::string>{"background result failed: bad reading",
                                                        "background work failed: no such file"});
}

TEST_CASE("poll_async: a done that returns bool says whether the poll got a reading") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  h.poll_async([] { return 1; }, [](int) { return true; });
  h.poll_async([] { return 2; }, [](int) { return false; });
  REQUIRE(host.jobs.size() == 2);
  host.jobs[0].work(host.jobs[0].user);
  host.jobs[0].done(host.jobs[0].user, 0);
  CHECK(host.poll_failed_calls == 0);
  host.jobs[1].work(host.jobs[1].user);
  host.jobs[1].done(host.jobs[1].user, 0);
  CHECK(host.poll_done_calls == 2);
  CHECK(host.poll_failed_calls == 1);
}

TEST_CASE("Host::poll_done(false) ends the poll as failed; a host without poll_end hears poll_done") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  h.poll_done(false);
  CHECK(host.poll_done_calls == 1);
  CHECK(host.poll_failed_calls == 1);
  sr_host_api older = kFakeApi;
  older.struct_size = offsetof(sr_host_api, poll_end);  // a 1.1-sized table
  sr::sdk::Host old_host(&older, host.ctx());
  old_host.poll_done(false);
  CHECK(host.poll_done_calls == 2);
  CHECK(host.poll_failed_calls == 1);  // poll_end was not called
}

namespace {
struct FailingSensor {
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "FailingSensor";
  static constexpr const char* path = "test.failing.FailingSensor";
  static constexpr const char* summary = "fails";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};
  FailingSensor(sr::sdk::Host, const sr::sdk::Params&) {}
  sr::sdk::PollResult poll() { return sr::sdk::PollResult::Failed; }
};
}  // namespace

TEST_CASE("PollResult::Failed makes poll() report SR_ERROR without a log line") {
  FakeHost host;
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<FailingSensor>();
  char err[64] = "";
  void* instance = def.create(&kFakeApi, host.ctx(), nullptr, 0, err, sizeof err);
  REQUIRE(instance != nullptr);
  CHECK(def.poll(instance) == SR_ERROR);
  CHECK(host.logs.empty());
  def.destroy(instance);
}

TEST_CASE("poll_async: a cancelled job does not report the poll done (the instance is gone)") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  h.poll_async([] { return 1; }, [](int) {});
  REQUIRE(host.jobs.size() == 1);
  host.jobs[0].work(host.jobs[0].user);
  host.jobs[0].done(host.jobs[0].user, 1);
  CHECK(host.poll_done_calls == 0);
}

TEST_CASE("PollDone reports the poll done once when it leaves scope, failed when left by an exception or "
          "marked, and not when dismissed") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  { sr::sdk::PollDone done(h); }
  CHECK(host.poll_done_calls == 1);
  CHECK(host.poll_failed_calls == 0);
  try {
    sr::sdk::PollDone done(h);
    throw std::runtime_error("parse failed");
  } catch (const std::runtime_error&) {
  }
  CHECK(host.poll_done_calls == 2);
  CHECK(host.poll_failed_calls == 1);
  {
    sr::sdk::PollDone done(h);
    done.failed();
  }
  CHECK(host.poll_done_calls == 3);
  CHECK(host.poll_failed_calls == 2);
  try {
    throw std::runtime_error("outer");
  } catch (const std::runtime_error&) {
    // Made while another exception is in flight: leaving normally is success.
    sr::sdk::PollDone done(h);
  }
  CHECK(host.poll_done_calls == 4);
  CHECK(host.poll_failed_calls == 2);
  host.poll_done_calls = 2;
  {
    sr::sdk::PollDone first(h);
    sr::sdk::PollDone moved(std::move(first));  // only the new owner reports
  }
  CHECK(host.poll_done_calls == 3);
  {
    sr::sdk::PollDone done(h);
    done.dismiss();
  }
  CHECK(host.poll_done_calls == 3);
}

TEST_CASE("post: the function runs when the host calls back, not when cancelled; throws are logged") {
  FakeHost host;
  sr::sdk::Host h(&kFakeApi, host.ctx());
  int runs = 0;
  h.post([&] { ++runs; });
  h.post([&] { ++runs; });
  h.post([] { throw std::runtime_error("late"); });
  REQUIRE(host.jobs.size() == 3);
  CHECK_FALSE(is_set(host.jobs[0].work));
  host.jobs[0].done(host.jobs[0].user, 0);
  host.jobs[1].done(host.jobs[1].user, 1);
  host.jobs[2].done(host.jobs[2].user, 0);
  CHECK(runs == 1);
  CHECK(host.logs == std::vector<Logged>{{SR_LOG_ERROR, "posted callback failed: late"}});
}

TEST_CASE("Host::set_status reaches a 1.1 host and is skipped for a 1.0 host (struct_size)") {
  static std::string received;
  received.clear();
  sr_host_api api = kFakeApi;
  api.set_status = [](sr_host_ctx*, const char* status) { received = status; };
  sr::sdk::Host new_host(&api, nullptr);
  new_host.set_status("connected to broker:1883");
  CHECK(received == "connected to broker:1883");

  received.clear();
  sr_host_api old_api = api;
  old_api.struct_size = offsetof(sr_host_api, set_status);  // what an ABI 1.0 host hands out
  sr::sdk::Host old_host(&old_api, nullptr);
  old_host.set_status("ignored");
  CHECK(received.empty());
}
