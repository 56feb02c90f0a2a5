// Unit tests for the SDK's test helper, sensor_reporter/testing.hpp: the
// FakeHost's clock, timers, fd watches, worker threads and records, and
// Instance<T> driving small classes written here through the trampolines.
#include <sensor_reporter/sdk.hpp>
#include <sensor_reporter/testing.hpp>

#include "support/doctest_vector.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using sr::sdk::testing::CheckProblem;
using sr::sdk::testing::Delivered;
using sr::sdk::testing::FakeHost;
using sr::sdk::testing::Instance;
using sr::sdk::testing::LogLine;
using sr::sdk::testing::Published;
using sr::sdk::testing::Subscription;

namespace {

// An fd the test owns.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) { REQUIRE(fd >= 0); }
  ~Fd() { close(fd); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

void signal_eventfd(int fd) {
  uint64_t one = 1;
  REQUIRE(write(fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one));
}

// Offsets from the FakeHost's start, for comparing firing times.
std::chrono::nanoseconds since_start(const FakeHost& host) { return host.now() - FakeHost::kManualStart; }

}  // namespace

// ---------------------------------------------------------------------------
// Manual clock and timers

TEST_CASE("the manual clock starts at kManualStart, not 0, and moves only by advance") {
  FakeHost host;
  sr::sdk::Host h = host.host();
  CHECK(h.now() == FakeHost::kManualStart);
  CHECK(FakeHost::kManualStart > 0ns);
  host.pump();
  CHECK(h.now() == FakeHost::kManualStart);
  host.advance(1500ms);
  CHECK(h.now() == FakeHost::kManualStart + 1500ms);
}

TEST_CASE("a one-shot timer fires once, at its deadline and not before") {
  FakeHost host;
  std::vector<std::chrono::nanoseconds> fired;
  sr::sdk::Timer timer = host.host().add_timer(1s, 0s, [&] { fired.push_back(since_start(host)); });
  host.advance(999ms);
  CHECK(fired.empty());
  CHECK(timer.active());
  host.advance(1ms);
  CHECK(fired == std::vector<std::chrono::nanoseconds>{1s});
  host.advance(1h);
  CHECK(fired.size() == 1);
  CHECK_FALSE(timer.active());
  CHECK(host.timer_count() == 0);
}

TEST_CASE("a repeating timer fires once per period within one advance, each at its own deadline") {
  FakeHost host;
  std::vector<std::chrono::nanoseconds> fired;
  sr::sdk::Timer timer = host.host().add_timer(1s, 2s, [&] { fired.push_back(since_start(host)); });
  host.advance(7500ms);  // deadlines 1, 3, 5, 7
  CHECK(fired == std::vector<std::chrono::nanoseconds>{1s, 3s, 5s, 7s});
  CHECK(since_start(host) == 7500ms);
  host.advance(1500ms);  // 9: the phase is kept across advances
  CHECK(fired.back() == 9s);
  host.advance(60s);  // 11 .. 69: thirty more
  CHECK(fired.size() == 35);
  CHECK(fired.back() == 69s);
}

TEST_CASE("timers due in one advance fire in deadline order, ties in the order they were added") {
  FakeHost host;
  sr::sdk::Host h = host.host();
  std::vector<std::string> order;
  sr::sdk::Timer late = h.add_timer(3s, 0s, [&] { order.push_back("late@3"); });
  sr::sdk::Timer ticking =
      h.add_timer(1s, 1s, [&] { order.push_back(fmt::format("tick@{}", since_start(host) / 1s)); });
  sr::sdk::Timer tie = h.add_timer(2s, 0s, [&] { order.push_back("tie@2"); });
  host.advance(3s);
  CHECK(order == std::vector<std::string>{"tick@1", "tick@2", "tie@2", "late@3", "tick@3"});
}

TEST_CASE("a timer added by a timer callback fires within the same advance when it falls due in it") {
  FakeHost host;
  sr::sdk::Host h = host.host();
  std::vector<std::chrono::nanoseconds> fired;
  sr::sdk::Timer second;
  sr::sdk::Timer first = h.add_timer(
      1s, 0s, [&] { second = h.add_timer(500ms, 0s, [&] { fired.push_back(since_start(host)); }); });
  host.advance(2s);
  CHECK(fired == std::vector<std::chrono::nanoseconds>{1500ms});
}

TEST_CASE("a repeating timer cancelled inside its own callback fires no more") {
  FakeHost host;
  int count = 0;
  sr::sdk::Timer timer;
  timer = host.host().add_timer(1s, 1s, [&] {
    if (++count == 3) timer.cancel();
  });
  host.advance(10s);
  CHECK(count == 3);
  CHECK_FALSE(timer.active());
  CHECK(host.timer_count() == 0);
}

TEST_CASE("the raw cancel_timer inside the callback, and of another timer due in the same advance") {
  FakeHost host;
  struct State {
    FakeHost* host;
    uint64_t self = 0;
    uint64_t other = 0;
    int self_count = 0;
    int other_count = 0;
  } state{&host};
  const sr_host_api* api = host.api();
  state.other = api->add_timer(
      host.ctx(), 2s / 1ns, 0, [](void* user) { ++static_cast<State*>(user)->other_count; }, &state);
  state.self = api->add_timer(
      host.ctx(), 1s / 1ns, 1s / 1ns,
      [](void* user) {
        auto* s = static_cast<State*>(user);
        ++s->self_count;
        s->host->api()->cancel_timer(s->host->ctx(), s->self);
        s->host->api()->cancel_timer(s->host->ctx(), s->other);
      },
      &state);
  REQUIRE(state.other != 0);
  REQUIRE(state.self != 0);
  CHECK(state.self != state.other);
  host.advance(5s);
  CHECK(state.self_count == 1);
  CHECK(state.other_count == 0);
  CHECK(host.timer_count() == 0);
}

TEST_CASE("a zero-delay timer is due at once: pump fires it without moving the clock") {
  FakeHost host;
  int count = 0;
  sr::sdk::Timer timer = host.host().add_timer(0s, 0s, [&] { ++count; });
  CHECK(count == 0);  // never inside add_timer's stack
  CHECK(host.pump() == 1);
  CHECK(count == 1);
  CHECK(since_start(host) == 0s);
}

// ---------------------------------------------------------------------------
// The real clock

TEST_CASE("with the real clock, run_until fires a timer once real time reaches it") {
  FakeHost host(FakeHost::Clock::Real);
  sr::sdk::Host h = host.host();
  const auto before = h.now();
  std::chrono::nanoseconds fired_at{0};
  sr::sdk::Timer timer = h.add_timer(30ms, 0s, [&] { fired_at = h.now(); });
  CHECK(host.run_until([&] { return fired_at != 0ns; }, 5s));
  CHECK(fired_at - before >= 30ms);
  CHECK(std::chrono::steady_clock::now().time_since_epoch() >= fired_at);  // no advance: the steady clock
}

TEST_CASE("with the real clock, advance adds to the reading and fires what it made due") {
  FakeHost host(FakeHost::Clock::Real);
  sr::sdk::Host h = host.host();
  int count = 0;
  sr::sdk::Timer timer = h.add_timer(1h, 1h, [&] { ++count; });
  const auto before = h.now();
  host.advance(1h);
  CHECK(count == 1);
  CHECK(h.now() - before >= 1h);
  host.advance(3h + 1min);  // fell behind: the missed ticks are skipped, as in the daemon
  CHECK(count == 2);
}

TEST_CASE("run_until gives up after its limit when the predicate never holds") {
  FakeHost host;
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(host.run_until([] { return false; }, 30ms));
  CHECK(std::chrono::steady_clock::now() - start >= 30ms);
}

// ---------------------------------------------------------------------------
// Fd watches

TEST_CASE("an fd watch on an eventfd calls back when it is readable, until unwatched") {
  FakeHost host;
  Fd event(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  std::vector<uint32_t> seen;
  sr::sdk::FdWatch watch = host.host().watch_fd(event.fd, EPOLLIN, [&](uint32_t events) {
    seen.push_back(events);
    uint64_t value = 0;
    CHECK(read(event.fd, &value, sizeof value) == static_cast<ssize_t>(sizeof value));
  });
  CHECK(host.watch_count() == 1);
  CHECK(host.pump() == 0);
  CHECK(seen.empty());
  signal_eventfd(event.fd);
  CHECK(host.pump() == 1);
  CHECK(seen == std::vector<uint32_t>{EPOLLIN});
  watch.reset();
  CHECK(host.watch_count() == 0);
  signal_eventfd(event.fd);
  CHECK(host.pump() == 0);
  CHECK(seen.size() == 1);
}

TEST_CASE("modify_fd changes the events an fd watch waits for") {
  FakeHost host;
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  Fd read_end(fds[0]), write_end(fds[1]);
  std::vector<uint32_t> seen;
  sr::sdk::FdWatch watch =
      host.host().watch_fd(write_end.fd, 0, [&](uint32_t events) { seen.push_back(events); });
  CHECK(host.pump() == 0);  // writable, but not asked
  REQUIRE(watch.modify(EPOLLOUT));
  host.pump();
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.front() == EPOLLOUT);
  CHECK(seen.size() == 100);  // always writable: pump stops after its 100 rounds
  CHECK(host.api()->modify_fd(host.ctx(), 12345, EPOLLIN) == SR_ERROR);
}

TEST_CASE("run_until waits in epoll for a pipe another thread writes to") {
  FakeHost host;
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  Fd read_end(fds[0]), write_end(fds[1]);
  std::string received;
  sr::sdk::FdWatch watch = host.host().watch_fd(read_end.fd, EPOLLIN, [&](uint32_t) {
    char buffer[16];
    ssize_t n = read(read_end.fd, buffer, sizeof buffer);
    if (n > 0) received.append(buffer, static_cast<size_t>(n));
  });
  std::thread writer([&] { CHECK(write(write_end.fd, "ping", 4) == 4); });
  CHECK(host.run_until([&] { return received == "ping"; }, 5s));
  writer.join();
}

TEST_CASE("watch_fd of something epoll cannot watch answers 0, as the daemon does") {
  FakeHost host;
  CHECK(host.api()->watch_fd(
            host.ctx(), -1, EPOLLIN, [](void*, int, uint32_t) {}, nullptr) == 0);
  CHECK(host.watch_count() == 0);
}

// ---------------------------------------------------------------------------
// Worker threads and post

TEST_CASE("run_blocking runs the work on another thread and done on the loop thread, in pump or run_until") {
  FakeHost host;
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id work_thread, done_thread;
  int result = 0;
  host.host().run_blocking(
      [&] {
        work_thread = std::this_thread::get_id();
        return 42;
      },
      [&](int value) {
        done_thread = std::this_thread::get_id();
        result = value;
      });
  CHECK(host.outstanding() == 1);
  CHECK(host.run_until([&] { return result != 0; }, 5s));
  CHECK(result == 42);
  CHECK(work_thread != loop_thread);
  CHECK(done_thread == loop_thread);
  CHECK(host.outstanding() == 0);
}

TEST_CASE("post from another thread runs the callback on the loop thread") {
  FakeHost host;
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id ran_on;
  sr::sdk::Host h = host.host();
  std::thread poster([&] { h.post([&] { ran_on = std::this_thread::get_id(); }); });
  poster.join();
  CHECK(ran_on == std::thread::id());  // not before the loop runs
  CHECK(host.outstanding() == 1);
  CHECK(host.run_until([&] { return ran_on != std::thread::id(); }, 5s));
  CHECK(ran_on == loop_thread);
}

TEST_CASE("a FakeHost destroyed with work outstanding joins it and calls done with cancelled = 1") {
  std::atomic<bool> work_ran{false};
  std::vector<int> cancelled;
  struct Job {
    std::atomic<bool>* work_ran;
    std::vector<int>* cancelled;
  } job{&work_ran, &cancelled};
  {
    FakeHost host;
    CHECK(host.api()->run_blocking(
              host.ctx(), [](void* user) { static_cast<Job*>(user)->work_ran->store(true); },
              [](void* user, int was_cancelled) {
                auto* j = static_cast<Job*>(user);
                CHECK(j->work_ran->load());  // after the join
                j->cancelled->push_back(was_cancelled);
              },
              &job) == SR_OK);
    host.api()->post(
        host.ctx(), [](void* user, int c) { static_cast<Job*>(user)->cancelled->push_back(c); }, &job);
  }
  CHECK(work_ran.load());
  CHECK(cancelled == std::vector<int>{1, 1});
}

// ---------------------------------------------------------------------------
// Records

TEST_CASE("FakeHost records what a plugin sends through every service") {
  FakeHost host("Sensor_Kitchen");
  sr::sdk::Host h = host.host();
  CHECK(h.section() == "Sensor_Kitchen");
  h.publish("kitchen/temp", "21.5");
  h.publish("kitchen/temp", "21.6", SR_PUBLISH_RETAIN);
  h.publish("/abs/topic", "x", SR_PUBLISH_ABSOLUTE);
  h.info("started with {} sensors", 2);
  h.warning("sensor {} is slow", "28-01");
  CHECK(h.subscribe("kitchen/light"));
  CHECK(h.subscribe("/abs/cmd", SR_SUBSCRIBE_ABSOLUTE));
  h.unsubscribe("kitchen/light");
  h.deliver("kitchen/light", "ON");
  h.deliver("/abs/cmd", "OFF", SR_SUBSCRIBE_ABSOLUTE);
  h.set_status("connected to broker:1883");
  h.request_refresh();
  h.poll_done();
  h.poll_done();

  CHECK(host.published() == std::vector<Published>{{"kitchen/temp", "21.5", 0},
                                                   {"kitchen/temp", "21.6", SR_PUBLISH_RETAIN},
                                                   {"/abs/topic", "x", SR_PUBLISH_ABSOLUTE}});
  CHECK(host.payloads_to("kitchen/temp") == std::vector<std::string>{"21.5", "21.6"});
  CHECK(host.payloads_to("nowhere").empty());
  CHECK(host.logs() == std::vector<LogLine>{{SR_LOG_INFO, "started with 2 sensors"},
                                            {SR_LOG_WARNING, "sensor 28-01 is slow"}});
  CHECK(host.logged(SR_LOG_WARNING, "28-01"));
  CHECK_FALSE(host.logged(SR_LOG_ERROR, "28-01"));  // the level counts
  CHECK_FALSE(host.logged(SR_LOG_INFO, "28-01"));
  CHECK(host.subscriptions() ==
        std::vector<Subscription>{{"kitchen/light", 0}, {"/abs/cmd", SR_SUBSCRIBE_ABSOLUTE}});
  CHECK(host.unsubscriptions() == std::vector<Subscription>{{"kitchen/light", 0}});
  CHECK(host.delivered() ==
        std::vector<Delivered>{{"kitchen/light", "ON", 0}, {"/abs/cmd", "OFF", SR_SUBSCRIBE_ABSOLUTE}});
  CHECK(host.statuses() == std::vector<std::string>{"connected to broker:1883"});
  CHECK(host.refresh_requests() == 1);
  CHECK(host.poll_done_count() == 2);

  host.clear();
  CHECK(host.published().empty());
  CHECK(host.logs().empty());
  CHECK(host.poll_done_count() == 0);
}

TEST_CASE("log_enabled follows set_log_level, so the SDK skips formatting below it") {
  FakeHost host;
  sr::sdk::Host h = host.host();
  CHECK(h.log_enabled(SR_LOG_DEBUG));
  host.set_log_level(SR_LOG_WARNING);
  CHECK_FALSE(h.log_enabled(SR_LOG_INFO));
  h.info("dropped");
  h.error("kept");
  CHECK(host.logs() == std::vector<LogLine>{{SR_LOG_ERROR, "kept"}});
}

TEST_CASE("refuse_subscriptions makes subscribe answer false, still recorded") {
  FakeHost host;
  host.refuse_subscriptions();
  CHECK_FALSE(host.host().subscribe("cmd"));
  CHECK(host.subscriptions() == std::vector<Subscription>{{"cmd", 0}});
}

TEST_CASE("the catalogue service hands the entries the test set to Host::catalogue") {
  FakeHost host("MQTT");
  sr::sdk::CatalogueEntry entry;
  entry.kind = SR_KIND_ACTUATOR;
  entry.section = "Actuator_Lamp";
  entry.class_name = "LampActuator";
  entry.class_path = "lamp.lamp.LampActuator";
  entry.summary = "A lamp";
  entry.ios.push_back({SR_IO_ACCEPTS, SR_VALUE_BINARY, "CommandSrc", "lamp/cmd", "OFF,ON", "", "switch"});
  entry.params = {{"CommandSrc", "lamp/cmd"}, {"Password", "********"}};
  host.set_catalogue({entry, sr::sdk::CatalogueEntry{}});

  std::vector<sr::sdk::CatalogueEntry> seen = host.host().catalogue();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].kind == SR_KIND_ACTUATOR);
  CHECK(seen[0].section == "Actuator_Lamp");
  CHECK(seen[0].class_path == "lamp.lamp.LampActuator");
  REQUIRE(seen[0].ios.size() == 1);
  CHECK(seen[0].ios[0].topic == "lamp/cmd");
  CHECK(seen[0].ios[0].values == "OFF,ON");
  CHECK(seen[0].ios[0].measures == "switch");
  CHECK(seen[0].params == entry.params);
  CHECK(seen[1].section.empty());
}

TEST_CASE("emulate_abi_minor(0) hides the 1.1 and 1.2 services, and the SDK falls back") {
  FakeHost host;
  host.emulate_abi_minor(0);
  CHECK(host.api()->struct_size == offsetof(sr_host_api, set_status));
  sr::sdk::Host h = host.host();
  h.set_status("ignored");
  CHECK_FALSE(h.subscribe("/abs", SR_SUBSCRIBE_ABSOLUTE));
  CHECK(h.catalogue().empty());
  CHECK(host.statuses().empty());
  CHECK(host.subscriptions().empty());
  host.emulate_abi_minor(2);
  CHECK(host.api()->struct_size == sizeof(sr_host_api));
}

// ---------------------------------------------------------------------------
// Instance<T>

namespace {

// A sensor whose constructor refuses a bad Mode, that polls asynchronously
// when asked to, and whose static check compares two values.
class Probe {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "Probe";
  static constexpr const char* path = "probe.probe.Probe";
  static constexpr const char* summary = "A sensor for the tests";
  static constexpr sr_param_def params[] = {sr::sdk::string_param("Destination").required(),
                                            sr::sdk::string_param("Mode"), sr::sdk::int_param("Low"),
                                            sr::sdk::int_param("High"), sr::sdk::end_params};

  Probe(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host), destination_(params.get("Destination")), mode_(params.find("Mode").value_or("")) {
    if (mode_ == "broken") throw std::runtime_error("Mode 'broken' is not a mode");
    if (mode_ == "silent") throw 7;  // not an std::exception
  }
  static void check(const sr::sdk::Params& params, sr::sdk::CheckReport& report) {
    auto low = params.find<long long>("Low"), high = params.find<long long>("High");
    if (low && high && *low > *high) report.error("Low", "Low is above High");
    if (params.find("Mode") == "slow") report.warning("Mode", "slow polls delay every reading");
    if (params.find("Mode") == "throw") throw std::runtime_error("check blew up");
  }
  sr::sdk::PollResult poll() {
    ++polls;
    if (mode_ == "fail") throw std::runtime_error("no reading");
    if (mode_ != "async") {
      host_.publish(destination_, fmt::format("{}", polls));
      return sr::sdk::PollResult::Done;
    }
    host_.run_blocking([n = polls] { return n * 10; },
                       [this](int reading) {
                         host_.publish(destination_, fmt::format("{}", reading));
                         host_.poll_done();
                       });
    return sr::sdk::PollResult::Pending;
  }
  void refresh() { host_.publish(destination_, "refreshed"); }

  int polls = 0;

 private:
  sr::sdk::Host host_;
  std::string destination_;
  std::string mode_;
};

class Lamp {
 public:
  static constexpr sr_kind kind = SR_KIND_ACTUATOR;
  static constexpr const char* name = "Lamp";
  static constexpr const char* path = "lamp.lamp.Lamp";
  static constexpr const char* summary = "An actuator for the tests";
  static constexpr sr_param_def params[] = {sr::sdk::string_param("CommandSrc").required(),
                                            sr::sdk::end_params};

  Lamp(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host), source_(params.get("CommandSrc")) {
    host_.subscribe(source_);
  }
  void on_command(std::string_view source, std::string_view payload) {
    if (payload != "ON" && payload != "OFF") throw std::runtime_error(fmt::format("{}: bad command", source));
    state_ = std::string(payload);
    host_.publish(source_, state_, SR_PUBLISH_ECHO);
  }

 private:
  sr::sdk::Host host_;
  std::string source_;
  std::string state_;
};

class Wire {
 public:
  static constexpr sr_kind kind = SR_KIND_CONNECTION;
  static constexpr const char* name = "Wire";
  static constexpr const char* path = "wire.wire.Wire";
  static constexpr const char* summary = "A connection for the tests";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};

  Wire(sr::sdk::Host host, const sr::sdk::Params&) : host_(host) {}
  void publish(std::string_view destination, std::string_view payload, uint32_t flags) {
    sent.push_back({std::string(destination), std::string(payload), flags});
  }
  void subscribe(std::string_view source, uint32_t flags) {
    host_.deliver(std::string(source), "hello", flags);  // as if the wire answered at once
  }
  void unsubscribe(std::string_view source, uint32_t) { dropped.emplace_back(source); }
  void catalogue_changed() { host_.set_status(fmt::format("{} sections", host_.catalogue().size())); }

  std::vector<Published> sent;
  std::vector<std::string> dropped;

 private:
  sr::sdk::Host host_;
};

// Leaves a raw timer and an fd watch behind, and posts from its
// constructor: what the daemon cleans up when it destroys an instance.
class Litterbug {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "Litterbug";
  static constexpr const char* path = "litter.litter.Litterbug";
  static constexpr const char* summary = "Forgets to clean up";
  static constexpr sr_param_def params[] = {sr::sdk::end_params};

  Litterbug(sr::sdk::Host host, const sr::sdk::Params&) : event_(eventfd(0, EFD_CLOEXEC)) {
    host.api()->add_timer(
        host.ctx(), 1'000'000'000, 1'000'000'000, [](void*) { FAIL("a dropped timer fired"); }, nullptr);
    host.api()->watch_fd(
        host.ctx(), event_.fd, EPOLLIN, [](void*, int, uint32_t) { FAIL("a dropped watch fired"); }, nullptr);
    host.post([] { FAIL("a post of a destroyed instance ran"); });
  }
  void poll() {}

 private:
  Fd event_;
};

}  // namespace

TEST_CASE("Instance<T> refuses what the constructor refuses, with the create error word for word") {
  FakeHost host;
  CHECK_THROWS_WITH_AS(Instance<Probe>(host, {{"Destination", "d"}, {"Mode", "broken"}}),
                       "Mode 'broken' is not a mode", std::runtime_error);
  CHECK(Instance<Probe>::try_create(host, {{"Mode", "x"}}) == "missing parameter Destination");
  CHECK(Instance<Probe>::try_create({{"Destination", "d"}, {"Mode", "silent"}}) == "unknown exception");
  CHECK(Instance<Probe>::try_create({{"Destination", "d"}}) == "");
  // A refused or probed creation leaves the host free for the next instance.
  Instance<Probe> probe(host, {{"Destination", "d"}});
  CHECK(probe.object().polls == 0);
}

TEST_CASE("one FakeHost serves one instance at a time, as a section's context does") {
  FakeHost host;
  Instance<Probe> first(host, {{"Destination", "d"}});
  CHECK_THROWS_AS(Instance<Probe>(host, {{"Destination", "d"}}), std::logic_error);
}

TEST_CASE("Instance<T>::check returns what the class's check reports, in order, with keys") {
  CHECK(Instance<Probe>::check({{"Destination", "d"}, {"Low", "1"}, {"High", "5"}}).empty());
  CHECK(Instance<Probe>::check({{"Destination", "d"}, {"Low", "9"}, {"High", "5"}, {"Mode", "slow"}}) ==
        std::vector<CheckProblem>{{SR_LOG_ERROR, "Low", "Low is above High"},
                                  {SR_LOG_WARNING, "Mode", "slow polls delay every reading"}});
  CHECK(Instance<Probe>::check({{"Mode", "throw"}}) ==
        std::vector<CheckProblem>{{SR_LOG_ERROR, "", "check blew up"}});
  CHECK(Instance<Lamp>::check({}).empty());  // no check at all
  CHECK((Instance<Lamp>::def().check == nullptr));
}

TEST_CASE("Instance<T> calls a sensor's hooks as the daemon does: poll, refresh, errors as SR_ERROR") {
  FakeHost host("Sensor_Probe");
  Instance<Probe> probe(host, {{"Destination", "probe"}});
  CHECK(probe.start() == SR_OK);
  CHECK(probe.poll() == SR_OK);
  CHECK(probe.poll() == SR_OK);
  CHECK(probe.refresh() == SR_OK);
  CHECK(host.payloads_to("probe") == std::vector<std::string>{"1", "2", "refreshed"});
  CHECK(probe.object().polls == 2);
  CHECK(host.logs().empty());

  FakeHost failing_host;
  Instance<Probe> failing(failing_host, {{"Destination", "probe"}, {"Mode", "fail"}});
  CHECK(failing.poll() == SR_ERROR);
  CHECK(failing_host.logs() == std::vector<LogLine>{{SR_LOG_ERROR, "poll failed: no reading"}});
}

TEST_CASE(
    "Instance<T>: an asynchronous poll answers SR_POLL_PENDING and ends with poll_done from the worker") {
  FakeHost host;
  Instance<Probe> probe(host, {{"Destination", "probe"}, {"Mode", "async"}});
  CHECK(probe.poll() == SR_POLL_PENDING);
  CHECK(host.poll_done_count() == 0);
  CHECK(host.run_until([&] { return host.poll_done_count() == 1; }, 5s));
  CHECK(host.payloads_to("probe") == std::vector<std::string>{"10"});
}

TEST_CASE("Instance<T> calls an actuator's on_command with the source and payload") {
  FakeHost host;
  Instance<Lamp> lamp(host, {{"CommandSrc", "lamp/cmd"}});
  CHECK(host.subscriptions() == std::vector<Subscription>{{"lamp/cmd", 0}});
  CHECK(lamp.command("lamp/cmd", "ON") == SR_OK);
  CHECK(host.published() == std::vector<Published>{{"lamp/cmd", "ON", SR_PUBLISH_ECHO}});
  CHECK(lamp.command("lamp/cmd", "DIM") == SR_ERROR);
  CHECK(host.logged(SR_LOG_ERROR, "command failed: lamp/cmd: bad command"));
  CHECK(lamp.refresh() == SR_OK);  // an actuator without refresh: the trampoline does nothing
}

TEST_CASE("Instance<T> calls a connection's publish, subscribe, unsubscribe and catalogue_changed") {
  FakeHost host("MQTT");
  host.set_catalogue({sr::sdk::CatalogueEntry{}, sr::sdk::CatalogueEntry{}});
  Instance<Wire> wire(host, {});
  CHECK(wire.publish("a/b", "1", SR_PUBLISH_RETAIN) == SR_OK);
  CHECK(wire.object().sent == std::vector<Published>{{"a/b", "1", SR_PUBLISH_RETAIN}});
  CHECK(wire.subscribe("/abs/cmd", SR_SUBSCRIBE_ABSOLUTE) == SR_OK);
  CHECK(host.delivered() == std::vector<Delivered>{{"/abs/cmd", "hello", SR_SUBSCRIBE_ABSOLUTE}});
  CHECK(wire.unsubscribe("/abs/cmd", SR_SUBSCRIBE_ABSOLUTE) == SR_OK);
  CHECK(wire.object().dropped == std::vector<std::string>{"/abs/cmd"});
  CHECK(wire.catalogue_changed() == SR_OK);
  CHECK(host.statuses() == std::vector<std::string>{"2 sections"});
}

TEST_CASE("destroying an Instance drops its timers and watches and cancels its posts, as the daemon does") {
  FakeHost host;
  {
    Instance<Litterbug> litter(host, {});
    CHECK(host.timer_count() == 1);
    CHECK(host.watch_count() == 1);
    CHECK(host.outstanding() == 1);
  }
  CHECK(host.timer_count() == 0);
  CHECK(host.watch_count() == 0);
  host.pump();  // the post arrives cancelled: the SDK frees it without running it
  CHECK(host.outstanding() == 0);
  host.advance(10s);
}
