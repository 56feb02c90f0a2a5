// sensor_reporter plugin SDK, test helper: unit-test a plugin class without
// the daemon. Header-only; it needs the SDK headers, fmt, libc (Linux epoll
// and eventfd) and threads, and no test framework: the checks are the
// test's own (doctest, Catch2, GoogleTest, or a plain main that returns 1).
//
//   #include <sensor_reporter/testing.hpp>
//   #include "loadavg.hpp"
//   using namespace std::chrono_literals;
//   using sr::sdk::testing::FakeHost, sr::sdk::testing::Instance;
//
//   FakeHost host;  // a manual clock, section "Section"
//   Instance<LoadAverage> load(host, {{"Destination", "load"}, {"Poll", "60"}, {"File", path}});
//   assert(load.poll() == SR_OK);  // the trampoline the daemon's poll timer calls
//   assert(host.payloads_to("load") == std::vector<std::string>{"0.42"});
//   host.advance(90s);  // fires the timers due by then, in deadline order
//   assert(host.run_until([&] { return host.poll_done_count() == 1; }, 2s));  // waits for threads
//   assert(host.logged(SR_LOG_ERROR, "cannot read") == false);
//   // A configuration the constructor refuses: the create error, word for word.
//   assert(Instance<LoadAverage>::try_create({{"Poll", "60"}}) == "missing parameter Destination");
//   // What the class's static check() reports, before any create.
//   assert(Instance<LoadAverage>::check({{"Poll", "60"}}).empty());
//
// FakeHost is one instance's host context: every service of sr_host_api
// (plugin_abi.h, ABI 1.2), recording what the plugin sends, with an event
// loop the test drives. Instance<T> creates a T through the very
// trampolines SR_PLUGIN_MODULE exports (sr::sdk::detail::make_class_def<T>),
// so a constructor's exception becomes the create error and every hook is
// called with the signature the daemon calls it with.
//
// What the daemon does and these do not: validate the values against the
// class's parameter table (types, ranges, patterns, required keys) and call
// check() before create(). Instance<T> hands create() exactly the values the
// test gives; the SDK's Params answers the table's defaults for the others.
//
// Clock: Clock::Manual (the default) starts at kManualStart, moves only by
// advance(), and advance() fires every timer due in the span at its own
// deadline (now() reads the deadline inside the callback), as an idle daemon
// would: advance(3.5 periods) fires a repeating timer three times.
// Clock::Real reads the steady clock (plus whatever advance() added); its
// timers fire in pump() and run_until() once due, and a repeating timer that
// fell behind skips the missed ticks, as the daemon's loop does.
//
// Threading: a FakeHost belongs to the thread that made it (the "loop
// thread"); timers, fd callbacks, posted callbacks and run_blocking's done
// run there, inside advance(), pump() or run_until() only. post() may be
// called from any thread, and run_blocking's work runs on a thread of its
// own, as the plugin ABI promises.
//
// Lifetime: declare the FakeHost before the Instance that uses it (the
// instance must go first). Destroying an Instance drops the timers and fd
// watches it left behind and turns its outstanding post() and run_blocking
// completions into cancelled ones (done(user, 1)), as the daemon does;
// destroying the FakeHost joins the worker threads and calls every
// completion still queued with cancelled = 1, so nothing leaks.
#pragma once

#include <sensor_reporter/handle.hpp>
#include <sensor_reporter/plugin_abi.h>
#include <sensor_reporter/sdk.hpp>

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace sr::sdk::testing {

// ---------------------------------------------------------------------------
// What a FakeHost records. Comparable, and printable for test frameworks
// that show values through operator<<.

struct LogLine {
  sr_log_level level = SR_LOG_INFO;
  std::string text;
  bool operator==(const LogLine&) const = default;
};

struct Published {
  std::string destination;
  std::string payload;
  uint32_t flags = 0;  // SR_PUBLISH_*
  bool operator==(const Published&) const = default;
};

// A subscribe or unsubscribe call: subscribe(source) records flags 0.
struct Subscription {
  std::string source;
  uint32_t flags = 0;  // SR_SUBSCRIBE_*
  bool operator==(const Subscription&) const = default;
};

// A command a connection delivered: deliver(...) records flags 0.
struct Delivered {
  std::string source;
  std::string payload;
  uint32_t flags = 0;
  bool operator==(const Delivered&) const = default;
};

// One problem a class's static check() reported; key empty for the section.
struct CheckProblem {
  sr_log_level level = SR_LOG_ERROR;
  std::string key;
  std::string message;
  bool operator==(const CheckProblem&) const = default;
};

inline const char* level_name(sr_log_level level) {
  switch (level) {
    case SR_LOG_DEBUG: return "DEBUG";
    case SR_LOG_INFO: return "INFO";
    case SR_LOG_WARNING: return "WARNING";
    case SR_LOG_ERROR: return "ERROR";
  }
  return "LEVEL?";
}

inline std::ostream& operator<<(std::ostream& out, const LogLine& line) {
  return out << "{" << level_name(line.level) << " \"" << line.text << "\"}";
}
inline std::ostream& operator<<(std::ostream& out, const Published& p) {
  return out << "{" << p.destination << " \"" << p.payload << "\" flags " << p.flags << "}";
}
inline std::ostream& operator<<(std::ostream& out, const Subscription& s) {
  return out << "{" << s.source << " flags " << s.flags << "}";
}
inline std::ostream& operator<<(std::ostream& out, const Delivered& d) {
  return out << "{" << d.source << " \"" << d.payload << "\" flags " << d.flags << "}";
}
inline std::ostream& operator<<(std::ostream& out, const CheckProblem& p) {
  return out << "{" << level_name(p.level) << " " << (p.key.empty() ? "(section)" : p.key) << ": "
             << p.message << "}";
}

namespace detail {

inline int checked_fd(int fd, const char* what) {
  if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
  return fd;
}

}  // namespace detail

template <typename T>
class Instance;

// ---------------------------------------------------------------------------
// FakeHost

class FakeHost {
 public:
  enum class Clock { Manual, Real };
  // Where the manual clock starts: not 0, as CLOCK_MONOTONIC is not, so a
  // plugin that takes a reading of 0 for "never" is caught.
  static constexpr std::chrono::nanoseconds kManualStart = std::chrono::hours(100);

  explicit FakeHost(Clock clock = Clock::Manual) : FakeHost("Section", clock) {}
  explicit FakeHost(std::string section, Clock clock = Clock::Manual)
      : clock_(clock),
        section_(std::move(section)),
        epoll_(detail::checked_fd(epoll_create1(EPOLL_CLOEXEC), "FakeHost: epoll_create1")),
        wake_(detail::checked_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "FakeHost: eventfd")) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
      throw std::system_error(errno, std::generic_category(), "FakeHost: epoll_ctl");
    api_ = make_api();
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  // Joins the worker threads, then calls every completion still queued
  // with cancelled = 1 (the ABI's "free user, touch nothing else").
  ~FakeHost() {
    epoch_.fetch_add(1);
    for (auto& [id, worker] : workers_) worker.join();
    workers_.clear();
    for (int round = 0; round < 100; ++round) {
      std::vector<Completion> batch = take_completions();
      if (batch.empty()) break;
      for (const Completion& c : batch) c.done(c.user, 1);
    }
  }

  // --- what a plugin is given -------------------------------------------

  // The services and the context, as create() receives them. Both live as
  // long as the FakeHost.
  const sr_host_api* api() const { return &api_; }
  sr_host_ctx* ctx() { return reinterpret_cast<sr_host_ctx*>(this); }
  Host host() { return Host(api(), ctx()); }

  // --- settings ---------------------------------------------------------

  void set_section(std::string section) { section_ = std::move(section); }
  const std::string& section() const { return section_; }
  // log_enabled answers yes from `level` up (default: every level).
  void set_log_level(sr_log_level level) { log_level_ = level; }
  // subscribe and subscribe_ex answer SR_ERROR (as when a connection
  // refuses); still recorded.
  void refuse_subscriptions(bool refuse = true) { refuse_subscriptions_ = refuse; }
  // What the catalogue service serves a connection, in this order.
  void set_catalogue(std::vector<CatalogueEntry> entries) { catalogue_ = std::move(entries); }
  // Pretend to be a host of an older ABI minor (0 or 1): struct_size stops
  // before the services that minor lacks, and they are NULL.
  void emulate_abi_minor(uint32_t minor) {
    api_ = make_api();
    if (minor >= 2) return;
    api_.subscribe_ex = nullptr;
    api_.unsubscribe = nullptr;
    api_.deliver_ex = nullptr;
    api_.catalogue = nullptr;
    api_.poll_end = nullptr;
    api_.struct_size = static_cast<uint32_t>(offsetof(sr_host_api, subscribe_ex));
    if (minor >= 1) return;
    api_.set_status = nullptr;
    api_.struct_size = static_cast<uint32_t>(offsetof(sr_host_api, set_status));
  }

  // --- what the plugin sent ---------------------------------------------

  const std::vector<LogLine>& logs() const { return logs_; }
  const std::vector<Published>& published() const { return published_; }
  const std::vector<Subscription>& subscriptions() const { return subscriptions_; }
  const std::vector<Subscription>& unsubscriptions() const { return unsubscriptions_; }
  const std::vector<Delivered>& delivered() const { return delivered_; }
  // Every set_status line, in order.
  const std::vector<std::string>& statuses() const { return statuses_; }
  // Ended asynchronous polls, and of those the ones ended as failed.
  size_t poll_done_count() const { return poll_done_count_; }
  size_t poll_failed_count() const { return poll_failed_count_; }
  size_t refresh_requests() const { return refresh_requests_; }

  // The payloads published to `destination`, in order.
  std::vector<std::string> payloads_to(std::string_view destination) const {
    std::vector<std::string> payloads;
    for (const Published& p : published_)
      if (p.destination == destination) payloads.push_back(p.payload);
    return payloads;
  }
  // A line at exactly `level` contains `fragment`.
  bool logged(sr_log_level level, std::string_view fragment) const {
    return std::any_of(logs_.begin(), logs_.end(), [&](const LogLine& line) {
      return line.level == level && line.text.find(fragment) != std::string::npos;
    });
  }
  // Forgets everything recorded so far (not timers, watches or work).
  void clear() {
    logs_.clear();
    published_.clear();
    subscriptions_.clear();
    unsubscriptions_.clear();
    delivered_.clear();
    statuses_.clear();
    poll_done_count_ = 0;
    poll_failed_count_ = 0;
    refresh_requests_ = 0;
  }

  // --- clock and loop ---------------------------------------------------

  std::chrono::nanoseconds now() const { return std::chrono::nanoseconds(now_ns()); }

  // Moves the clock on by `span` and fires the timers due: with the manual
  // clock each at its own deadline, in deadline order (ties in the order
  // they were added), a repeating one once per period in the span; with the
  // real clock those due now. Fd events and completions wait for pump().
  void advance(std::chrono::nanoseconds span) {
    const auto by = static_cast<uint64_t>(std::max<int64_t>(span.count(), 0));
    if (clock_ == Clock::Real) {
      offset_ns_ += by;
      fire_due_timers();
      return;
    }
    const uint64_t target = manual_ns_ + by;
    while (!timer_queue_.empty() && timer_queue_.begin()->first <= target) {
      const auto [deadline, id] = *timer_queue_.begin();
      manual_ns_ = std::max(manual_ns_, deadline);
      fire_timer(id, manual_ns_, false);
    }
    manual_ns_ = target;
  }

  // Dispatches, without blocking, whatever is ready: fd events, posted
  // callbacks, finished run_blocking work, timers due. Repeats while a
  // round dispatched something (a callback may post another), at most 100
  // rounds, so an fd that stays ready cannot hang the test. Returns how many
  // callbacks ran.
  size_t pump() {
    size_t total = 0;
    for (int round = 0; round < 100; ++round) {
      const size_t n = dispatch_round(0);
      total += n;
      if (n == 0) break;
    }
    return total;
  }

  // Dispatches like pump(), blocking in epoll between rounds, until
  // `predicate` holds (true) or `limit` of real time has passed (false).
  // For worker threads, child processes, sockets, eventfds: anything that
  // becomes ready on its own. The manual clock does not move meanwhile.
  bool run_until(const std::function<bool()>& predicate,
                 std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (predicate()) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now >= give_up) return false;
      int64_t wait = std::chrono::ceil<std::chrono::milliseconds>(give_up - now).count();
      if (!timer_queue_.empty()) wait = std::min(wait, until_next_timer_ms());
      dispatch_round(static_cast<int>(std::min<int64_t>(wait, 60'000)));
    }
  }

  // Timers and fd watches registered now; run_blocking work not yet
  // completed plus completions queued.
  size_t timer_count() const { return timers_.size(); }
  size_t watch_count() const { return watches_.size(); }
  size_t outstanding() const {
    std::lock_guard lock(mutex_);
    size_t posts = 0;
    for (const Completion& c : completed_) posts += c.worker == 0;
    return workers_.size() + posts;
  }

 private:
  template <typename T>
  friend class Instance;

  static constexpr uint64_t kWakeId = 0;  // watch ids start at 1

  struct TimerEntry {
    uint64_t deadline;
    uint64_t interval;
    sr_timer_cb callback;
    void* user;
  };
  struct Watch {
    int fd;
    sr_fd_cb callback;
    void* user;
  };
  // A posted callback (worker 0) or a finished run_blocking job.
  struct Completion {
    sr_done_fn done;
    void* user;
    uint64_t epoch;
    uint64_t worker;
  };

  static FakeHost& of(sr_host_ctx* ctx) { return *reinterpret_cast<FakeHost*>(ctx); }

  uint64_t now_ns() const {
    if (clock_ == Clock::Manual) return manual_ns_;
    const auto steady = std::chrono::steady_clock::now().time_since_epoch();
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(steady).count()) +
           offset_ns_;
  }

  // Instance<T> takes the context before create() and gives it back after
  // destroy(): what the instance left behind goes, as in the daemon.
  void attach() {
    if (attached_)
      throw std::logic_error(
          "FakeHost: one instance at a time (the daemon gives each section its own context)");
    attached_ = true;
  }
  void detach() {
    attached_ = false;
    epoch_.fetch_add(1);
    for (const auto& [id, watch] : watches_) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, watch.fd, nullptr);
    watches_.clear();
    timers_.clear();
    timer_queue_.clear();
  }

  // Removes a due timer from the queue (re-queueing a repeating one) and
  // calls it; the callback may cancel it or add others.
  void fire_timer(uint64_t id, uint64_t now, bool skip_missed) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    TimerEntry& timer = it->second;
    timer_queue_.erase({timer.deadline, id});
    const sr_timer_cb callback = timer.callback;
    void* const user = timer.user;
    if (timer.interval == 0) {
      timers_.erase(it);
    } else {
      timer.deadline += timer.interval;
      if (skip_missed && timer.deadline <= now)
        timer.deadline += ((now - timer.deadline) / timer.interval + 1) * timer.interval;
      timer_queue_.emplace(timer.deadline, id);
    }
    callback(user);
  }

  // How long epoll may sleep before the first timer is due: 0 when one is
  // due already; with the manual clock, which waiting does not move, no
  // limit otherwise.
  int64_t until_next_timer_ms() const {
    const uint64_t deadline = timer_queue_.begin()->first, current = now_ns();
    if (deadline <= current) return 0;
    if (clock_ == Clock::Manual) return INT64_MAX;
    return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::nanoseconds(deadline - current)).count();
  }

  size_t fire_due_timers() {
    const uint64_t now = now_ns();
    std::vector<uint64_t> due;  // first: callbacks may add or cancel timers
    for (auto it = timer_queue_.begin(); it != timer_queue_.end() && it->first <= now; ++it)
      due.push_back(it->second);
    for (uint64_t id : due) fire_timer(id, now, true);
    return due.size();
  }

  size_t dispatch_round(int timeout_ms) {
    epoll_event events[32];
    int n = epoll_wait(epoll_.get(), events, 32, timeout_ms);
    if (n < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "FakeHost: epoll_wait");
    size_t dispatched = 0;
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kWakeId) {
        dispatched += dispatch_completions();
        continue;
      }
      auto it = watches_.find(id);
      if (it == watches_.end()) continue;  // removed by an earlier callback of this round
      const Watch watch = it->second;      // copy: the callback may unwatch itself
      watch.callback(watch.user, watch.fd, events[i].events);
      ++dispatched;
    }
    return dispatched + fire_due_timers();
  }

  std::vector<Completion> take_completions() {
    uint64_t count = 0;
    [[maybe_unused]] auto r = read(wake_.get(), &count, sizeof count);
    std::vector<Completion> batch;
    std::lock_guard lock(mutex_);
    batch.swap(completed_);
    return batch;
  }

  size_t dispatch_completions() {
    std::vector<Completion> batch = take_completions();
    for (const Completion& c : batch) {
      if (c.worker != 0) {
        // The thread queued this as its last act: the join is immediate.
        auto it = workers_.find(c.worker);
        if (it != workers_.end()) {
          it->second.join();
          workers_.erase(it);
        }
      }
      c.done(c.user, c.epoch == epoch_.load() ? 0 : 1);
    }
    return batch.size();
  }

  // Any thread.
  void complete(const Completion& completion) {
    {
      std::lock_guard lock(mutex_);
      completed_.push_back(completion);
    }
    uint64_t one = 1;
    // A full counter still wakes epoll, so a failed write loses nothing.
    [[maybe_unused]] auto w = write(wake_.get(), &one, sizeof one);
  }

  // --- the services -----------------------------------------------------

  static int log_enabled(sr_host_ctx* ctx, int level) { return level >= of(ctx).log_level_ ? 1 : 0; }
  static void log(sr_host_ctx* ctx, int level, const char* msg, size_t len) {
    of(ctx).logs_.push_back({static_cast<sr_log_level>(level), std::string(msg, len)});
  }
  static void publish(sr_host_ctx* ctx, const char* destination, const char* payload, size_t len,
                      uint32_t flags) {
    of(ctx).published_.push_back({destination, std::string(payload, len), flags});
  }
  static int subscribe(sr_host_ctx* ctx, const char* source) { return subscribe_ex(ctx, source, 0); }
  static int subscribe_ex(sr_host_ctx* ctx, const char* source, uint32_t flags) {
    of(ctx).subscriptions_.push_back({source, flags});
    return of(ctx).refuse_subscriptions_ ? SR_ERROR : SR_OK;
  }
  static int unsubscribe(sr_host_ctx* ctx, const char* source, uint32_t flags) {
    of(ctx).unsubscriptions_.push_back({source, flags});
    return SR_OK;
  }
  static void poll_done(sr_host_ctx* ctx) { ++of(ctx).poll_done_count_; }
  static void poll_end(sr_host_ctx* ctx, int status) {
    ++of(ctx).poll_done_count_;
    if (status != SR_OK) ++of(ctx).poll_failed_count_;
  }
  static void deliver(sr_host_ctx* ctx, const char* source, const char* payload, size_t len) {
    deliver_ex(ctx, source, payload, len, 0);
  }
  static void deliver_ex(sr_host_ctx* ctx, const char* source, const char* payload, size_t len,
                         uint32_t flags) {
    of(ctx).delivered_.push_back({source, std::string(payload, len), flags});
  }
  static void request_refresh(sr_host_ctx* ctx) { ++of(ctx).refresh_requests_; }

  static uint64_t add_timer(sr_host_ctx* ctx, uint64_t first_delay_ns, uint64_t interval_ns, sr_timer_cb cb,
                            void* user) {
    if (!cb) return 0;
    FakeHost& self = of(ctx);
    const uint64_t id = self.next_timer_id_++;
    const uint64_t deadline = self.now_ns() + first_delay_ns;
    self.timers_.emplace(id, TimerEntry{deadline, interval_ns, cb, user});
    self.timer_queue_.emplace(deadline, id);
    return id;
  }
  static void cancel_timer(sr_host_ctx* ctx, uint64_t timer_id) {
    FakeHost& self = of(ctx);
    auto it = self.timers_.find(timer_id);
    if (it == self.timers_.end()) return;
    self.timer_queue_.erase({it->second.deadline, timer_id});
    self.timers_.erase(it);
  }
  static uint64_t watch_fd(sr_host_ctx* ctx, int fd, uint32_t events, sr_fd_cb cb, void* user) {
    if (!cb) return 0;
    FakeHost& self = of(ctx);
    const uint64_t id = self.next_watch_id_++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    if (epoll_ctl(self.epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return 0;
    self.watches_.emplace(id, Watch{fd, cb, user});
    return id;
  }
  static int modify_fd(sr_host_ctx* ctx, uint64_t watch_id, uint32_t events) {
    FakeHost& self = of(ctx);
    auto it = self.watches_.find(watch_id);
    if (it == self.watches_.end()) return SR_ERROR;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = watch_id;
    return epoll_ctl(self.epoll_.get(), EPOLL_CTL_MOD, it->second.fd, &ev) == 0 ? SR_OK : SR_ERROR;
  }
  static void unwatch_fd(sr_host_ctx* ctx, uint64_t watch_id) {
    FakeHost& self = of(ctx);
    auto it = self.watches_.find(watch_id);
    if (it == self.watches_.end()) return;
    epoll_ctl(self.epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
    self.watches_.erase(it);
  }
  static int run_blocking(sr_host_ctx* ctx, sr_work_fn work, sr_done_fn done, void* user) {
    if (!work || !done) return SR_ERROR;
    FakeHost& self = of(ctx);
    const uint64_t id = self.next_worker_id_++;
    const Completion completion{done, user, self.epoch_.load(), id};
    try {
      self.workers_.emplace(id, std::thread([&self, work, completion] {
                              work(completion.user);
                              self.complete(completion);
                            }));
    } catch (const std::system_error&) {
      return SR_ERROR;  // no thread to be had
    }
    return SR_OK;
  }
  static void post(sr_host_ctx* ctx, sr_done_fn done, void* user) {
    if (!done) return;
    FakeHost& self = of(ctx);
    self.complete(Completion{done, user, self.epoch_.load(), 0});
  }
  static uint64_t monotonic_ns(sr_host_ctx* ctx) { return of(ctx).now_ns(); }
  static const char* section_name(sr_host_ctx* ctx) { return of(ctx).section_.c_str(); }
  static void set_status(sr_host_ctx* ctx, const char* status) { of(ctx).statuses_.emplace_back(status); }

  static size_t catalogue(sr_host_ctx* ctx, sr_catalogue_fn fn, void* user) {
    return fn ? emit_catalogue(of(ctx).catalogue_, fn, user) : 0;
  }

  static sr_host_api make_api() {
    sr_host_api api{};
    api.struct_size = sizeof(sr_host_api);
    api.log_enabled = &FakeHost::log_enabled;
    api.log = &FakeHost::log;
    api.publish = &FakeHost::publish;
    api.subscribe = &FakeHost::subscribe;
    api.poll_done = &FakeHost::poll_done;
    api.poll_end = &FakeHost::poll_end;
    api.deliver = &FakeHost::deliver;
    api.request_refresh = &FakeHost::request_refresh;
    api.add_timer = &FakeHost::add_timer;
    api.cancel_timer = &FakeHost::cancel_timer;
    api.watch_fd = &FakeHost::watch_fd;
    api.modify_fd = &FakeHost::modify_fd;
    api.unwatch_fd = &FakeHost::unwatch_fd;
    api.run_blocking = &FakeHost::run_blocking;
    api.post = &FakeHost::post;
    api.monotonic_ns = &FakeHost::monotonic_ns;
    api.section_name = &FakeHost::section_name;
    api.set_status = &FakeHost::set_status;
    api.subscribe_ex = &FakeHost::subscribe_ex;
    api.unsubscribe = &FakeHost::unsubscribe;
    api.deliver_ex = &FakeHost::deliver_ex;
    api.catalogue = &FakeHost::catalogue;
    return api;
  }

  sr_host_api api_{};
  const Clock clock_;
  std::string section_;
  int log_level_ = SR_LOG_DEBUG;
  bool refuse_subscriptions_ = false;
  std::vector<CatalogueEntry> catalogue_;
  bool attached_ = false;

  std::vector<LogLine> logs_;
  std::vector<Published> published_;
  std::vector<Subscription> subscriptions_;
  std::vector<Subscription> unsubscriptions_;
  std::vector<Delivered> delivered_;
  std::vector<std::string> statuses_;
  size_t poll_done_count_ = 0;
  size_t poll_failed_count_ = 0;
  size_t refresh_requests_ = 0;

  uint64_t manual_ns_ = static_cast<uint64_t>(kManualStart.count());
  uint64_t offset_ns_ = 0;
  uint64_t next_timer_id_ = 1;
  std::map<uint64_t, TimerEntry> timers_;
  std::set<std::pair<uint64_t, uint64_t>> timer_queue_;  // (deadline, id)

  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: a completion is queued
  uint64_t next_watch_id_ = 1;
  std::map<uint64_t, Watch> watches_;

  // Completions made before the last detach() are cancelled ones.
  std::atomic<uint64_t> epoch_{1};
  uint64_t next_worker_id_ = 1;
  std::map<uint64_t, std::thread> workers_;  // loop thread only
  mutable std::mutex mutex_;                 // guards completed_
  std::vector<Completion> completed_;
};

// ---------------------------------------------------------------------------
// Instance<T>: one T created through the SDK's trampolines on a FakeHost.

template <typename T>
class Instance {
 public:
  using Values = std::vector<std::pair<std::string, std::string>>;

  // create() with exactly `values` (table spelling, "Address1" for a
  // numbered family). Throws std::runtime_error with the create error when
  // the class refuses them.
  Instance(FakeHost& host, const Values& values) : host_(host) {
    std::string error;
    instance_ = create(host, values, error);
    if (!instance_) throw std::runtime_error(error);
  }
  ~Instance() {
    kDef.destroy(instance_);
    host_.detach();
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // The create error for `values` ("no reason given" when create failed
  // without one, as the daemon says), or "" when the instance was created;
  // it is destroyed again at once.
  static std::string try_create(FakeHost& host, const Values& values) {
    std::string error;
    if (void* instance = create(host, values, error)) {
      kDef.destroy(instance);
      host.detach();
    }
    return error;
  }
  static std::string try_create(const Values& values) {
    FakeHost host;
    return try_create(host, values);
  }

  // What the class's static check() reports for `values`, in order; empty
  // when it has none. A check that refused without reporting why reads as
  // the daemon's message for it.
  static std::vector<CheckProblem> check(const Values& values) {
    std::vector<CheckProblem> problems;
    // Asked of the class, not of kDef.check: under -fsanitize GCC cannot
    // compare a function pointer in a constant expression.
    if constexpr (!requires { &T::check; }) return problems;
    std::vector<sr_param_value> params = to_params(values);
    auto report = [](void* user, int level, const char* key, const char* message) {
      static_cast<std::vector<CheckProblem>*>(user)->push_back(
          {static_cast<sr_log_level>(level), key ? key : "", message ? message : ""});
    };
    const int status = kDef.check(params.data(), params.size(), report, &problems);
    const bool said_why = std::any_of(problems.begin(), problems.end(),
                                      [](const CheckProblem& p) { return p.level >= SR_LOG_ERROR; });
    if (status != SR_OK && !said_why)
      problems.push_back(
          {SR_LOG_ERROR, "", fmt::format("{} refused the section without saying why", kDef.name)});
    return problems;
  }

  // The class description SR_PLUGIN_MODULE would export for T.
  static const sr_class_def& def() { return kDef; }

  // The hooks, as the daemon calls them: SR_OK, SR_ERROR (an exception,
  // logged to the host) or, from poll, SR_POLL_PENDING.
  int start() { return kDef.start(instance_); }
  int poll() {
    static_assert(T::kind == SR_KIND_SENSOR, "poll: only sensors are polled");
    return kDef.poll(instance_);
  }
  int refresh() {
    static_assert(T::kind != SR_KIND_CONNECTION, "refresh: connections are not refreshed");
    return kDef.refresh(instance_);
  }
  int command(const std::string& source, std::string_view payload) {
    static_assert(T::kind == SR_KIND_ACTUATOR || (T::kind == SR_KIND_SENSOR && requires { &T::on_command; }),
                  "command: only actuators and listening sensors take commands");
    return kDef.on_command(instance_, source.c_str(), payload.data(), payload.size());
  }
  int publish(const std::string& destination, std::string_view payload, uint32_t flags = 0) {
    static_assert(T::kind == SR_KIND_CONNECTION, "publish: only connections publish to the wire");
    const sr_publish_opts opts{sizeof(sr_publish_opts), flags};
    return kDef.conn_publish(instance_, destination.c_str(), payload.data(), payload.size(), &opts);
  }
  // The daemon calls conn_subscribe_ex, which every SDK connection has.
  int subscribe(const std::string& source, uint32_t flags = 0) {
    static_assert(T::kind == SR_KIND_CONNECTION, "subscribe: connections only");
    return kDef.conn_subscribe_ex(instance_, source.c_str(), flags);
  }
  int unsubscribe(const std::string& source, uint32_t flags = 0) {
    static_assert(T::kind == SR_KIND_CONNECTION, "unsubscribe: connections only");
    return kDef.conn_unsubscribe(instance_, source.c_str(), flags);
  }
  int catalogue_changed() {
    static_assert(T::kind == SR_KIND_CONNECTION, "catalogue_changed: connections only");
    return kDef.conn_catalogue_changed(instance_);
  }

  // The object the trampolines call, for inspecting its state.
  T& object() { return static_cast<sr::sdk::detail::Instance<T>*>(instance_)->object; }
  FakeHost& host() { return host_; }

 private:
  static constexpr sr_class_def kDef = sr::sdk::detail::make_class_def<T>();

  static std::vector<sr_param_value> to_params(const Values& values) {
    std::vector<sr_param_value> params;
    params.reserve(values.size());
    for (const auto& [key, value] : values) params.push_back({key.c_str(), value.c_str()});
    return params;
  }
  static void* create(FakeHost& host, const Values& values, std::string& error) {
    host.attach();
    std::vector<sr_param_value> params = to_params(values);
    char text[512] = {};  // the daemon's size
    void* instance = kDef.create(host.api(), host.ctx(), params.data(), params.size(), text, sizeof text);
    if (!instance) {
      host.detach();
      error = text[0] ? text : "no reason given";
    }
    return instance;
  }

  FakeHost& host_;
  void* instance_ = nullptr;
};

}  // namespace sr::sdk::testing
