// The one event loop: epoll over a timerfd (all timers), a signalfd, an
// eventfd (work posted from other threads) and the fds plugins watch.
//
// Threading: everything runs on the thread that calls run(), except post(),
// which any thread may call. Callbacks may add or cancel timers and watches,
// including their own.
#pragma once

#include <sensor_reporter/handle.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sr {

class EventLoop {
 public:
  using Callback = std::function<void()>;
  using FdCallback = std::function<void(uint32_t events)>;
  using SignalCallback = std::function<void(int signo)>;
  using Clock = std::function<uint64_t()>;  // monotonic nanoseconds

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  static uint64_t monotonic_ns();
  uint64_t now_ns() const { return monotonic_ns(); }

  // A timer first fires after first_delay_ns, then every interval_ns (0: once).
  // Repeating timers keep their phase (deadline += interval), so they never
  // drift; a timer that fell behind skips the missed ticks instead of
  // firing them in a burst. Returns an id (never 0).
  uint64_t add_timer(uint64_t first_delay_ns, uint64_t interval_ns, Callback callback);
  void cancel_timer(uint64_t id);

  uint64_t watch_fd(int fd, uint32_t events, FdCallback callback);  // 0 on failure (errno set)
  bool modify_fd(uint64_t id, uint32_t events);
  void unwatch_fd(uint64_t id);

  // The signals must already be blocked in every thread (sigprocmask before
  // any thread starts); they are then delivered here through a signalfd.
  bool handle_signals(std::initializer_list<int> signals, SignalCallback callback);

  // Thread-safe: run callback on the loop thread soon.
  void post(Callback callback);
  // Loop thread only: run callback after the current dispatch finishes, so
  // callers never run inside each other's stacks.
  void defer(Callback callback);

  // Runs until stop(). Returns false if epoll failed.
  bool run();
  // One dispatch round waiting at most timeout_ms (-1: forever); for tests and
  // for bounded shutdown phases.
  void run_once(int timeout_ms);
  void stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }

  // Runs every posted and deferred callback now (used at shutdown so work
  // handed back by threads is released, not leaked).
  void drain();

  size_t timer_count() const { return timers_.size(); }
  size_t watch_count() const { return watches_.size(); }

 private:
  struct Timer {
    uint64_t deadline;
    uint64_t interval;
    Callback callback;
  };
  struct Watch {
    int fd;
    FdCallback callback;
  };

  void arm_timerfd();
  bool timer_due() const;
  void dispatch_timers(bool timerfd_fired);
  void dispatch_posted();
  void dispatch_deferred();
  void dispatch_signals();

  sdk::UniqueFd epoll_;
  sdk::UniqueFd timer_fd_;
  sdk::UniqueFd event_fd_;
  sdk::UniqueFd signal_fd_;
  SignalCallback signal_callback_;

  uint64_t next_id_ = 16;  // ids below are the loop's own fds
  std::unordered_map<uint64_t, Timer> timers_;
  std::set<std::pair<uint64_t, uint64_t>> timer_queue_;  // (deadline, id)
  uint64_t armed_deadline_ = 0;
  std::unordered_map<uint64_t, Watch> watches_;

  std::mutex posted_mutex_;
  std::vector<Callback> posted_;
  std::deque<Callback> deferred_;
  bool stopping_ = false;
};

}  // namespace sr
