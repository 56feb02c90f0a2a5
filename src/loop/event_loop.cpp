#include "loop/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <system_error>

namespace sr {
namespace {

constexpr uint64_t kTimerFdId = 1;
constexpr uint64_t kEventFdId = 2;
constexpr uint64_t kSignalFdId = 3;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool add_to_epoll(int epoll_fd, int fd, uint32_t events, uint64_t id) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

}  // namespace

EventLoop::EventLoop()
    : epoll_(epoll_create1(EPOLL_CLOEXEC)),
      timer_fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!epoll_ || !timer_fd_ || !event_fd_) throw_errno("event loop setup");
  if (!add_to_epoll(epoll_.get(), timer_fd_.get(), EPOLLIN, kTimerFdId) ||
      !add_to_epoll(epoll_.get(), event_fd_.get(), EPOLLIN, kEventFdId))
    throw_errno("event loop setup");
}

EventLoop::~EventLoop() { drain(); }

uint64_t EventLoop::monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t EventLoop::add_timer(uint64_t first_delay_ns, uint64_t interval_ns, Callback callback) {
  uint64_t id = next_id_++;
  uint64_t deadline = now_ns() + first_delay_ns;
  timers_.emplace(id, Timer{deadline, interval_ns, std::move(callback)});
  timer_queue_.emplace(deadline, id);
  arm_timerfd();
  return id;
}

void EventLoop::cancel_timer(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  timer_queue_.erase({it->second.deadline, id});
  timers_.erase(it);
  // A timer that was already due was never put in the timerfd (arm_timerfd
  // skips those); with it gone the next deadline must be armed now, or the
  // loop sleeps past it. The timerfd may also stay armed for a deadline that
  // no longer exists; that wake-up finds nothing due and re-arms.
  arm_timerfd();
}

bool EventLoop::timer_due() const { return !timer_queue_.empty() && timer_queue_.begin()->first <= now_ns(); }

void EventLoop::arm_timerfd() {
  // An empty queue leaves the timerfd as it is: a stale expiry only wakes
  // the loop once to find nothing due.
  if (timer_queue_.empty()) return;
  uint64_t deadline = timer_queue_.begin()->first;
  if (deadline == armed_deadline_) return;
  // Already due: run_once dispatches it in this round without a wake-up from
  // the kernel. Re-arming for every due timer cost a syscall per loop round
  // (the flood benchmark's hot spot).
  if (deadline <= now_ns()) return;
  armed_deadline_ = deadline;
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(deadline / 1000000000ull);
  spec.it_value.tv_nsec = static_cast<long>(deadline % 1000000000ull);
  timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EventLoop::dispatch_timers(bool timerfd_fired) {
  if (timerfd_fired) {
    uint64_t expirations = 0;
    [[maybe_unused]] auto n = read(timer_fd_.get(), &expirations, sizeof expirations);
    armed_deadline_ = 0;
  }
  const uint64_t now = now_ns();
  // Collect first: callbacks may add or cancel timers.
  std::vector<uint64_t> due;
  for (auto it = timer_queue_.begin(); it != timer_queue_.end() && it->first <= now; ++it)
    due.push_back(it->second);
  for (uint64_t id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback
    Timer& timer = it->second;
    // Taken out and put back as the same node: no free and malloc per tick
    // (10,000 periodic timers tick 10,000 times a second; issue 17). Due
    // timers run in deadline order, so this one is usually the first.
    auto first = timer_queue_.begin();
    auto node = first->first == timer.deadline && first->second == id ? timer_queue_.extract(first)
                                                                        : timer_queue_.extract({timer.deadline, id});
    if (timer.interval == 0) {
      Callback callback = std::move(timer.callback);
      timers_.erase(it);
      callback();
      continue;
    }
    timer.deadline += timer.interval;
    if (timer.deadline <= now)  // fell behind: skip missed ticks, keep the phase
      timer.deadline += ((now - timer.deadline) / timer.interval + 1) * timer.interval;
    node.value() = {timer.deadline, id};
    // Usually the latest deadline of all: at the end, found without a search.
    timer_queue_.insert(timer_queue_.end(), std::move(node));
    // Copy: the callback may cancel this very timer.
    Callback callback = timer.callback;
    callback();
  }
  arm_timerfd();
}

uint64_t EventLoop::watch_fd(int fd, uint32_t events, FdCallback callback) {
  uint64_t id = next_id_++;
  if (!add_to_epoll(epoll_.get(), fd, events, id)) return 0;
  watches_.emplace(id, Watch{fd, std::move(callback)});
  return id;
}

bool EventLoop::modify_fd(uint64_t id, uint32_t events) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return false;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  return epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, it->second.fd, &ev) == 0;
}

void EventLoop::unwatch_fd(uint64_t id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  watches_.erase(it);
}

bool EventLoop::handle_signals(std::initializer_list<int> signals, SignalCallback callback) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  signal_fd_.reset(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd_) return false;
  signal_callback_ = std::move(callback);
  return add_to_epoll(epoll_.get(), signal_fd_.get(), EPOLLIN, kSignalFdId);
}

void EventLoop::dispatch_signals() {
  signalfd_siginfo info{};
  while (read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
    if (signal_callback_) signal_callback_(static_cast<int>(info.ssi_signo));
}

void EventLoop::post(Callback callback) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(callback));
  }
  uint64_t one = 1;
  // A full eventfd counter still wakes the loop, so a failed write is harmless.
  [[maybe_unused]] auto n = write(event_fd_.get(), &one, sizeof one);
}

void EventLoop::dispatch_posted() {
  uint64_t count = 0;
  [[maybe_unused]] auto n = read(event_fd_.get(), &count, sizeof count);
  std::vector<Callback> batch;
  {
    std::lock_guard lock(posted_mutex_);
    batch.swap(posted_);
  }
  for (auto& callback : batch) callback();
}

void EventLoop::defer(Callback callback) { deferred_.push_back(std::move(callback)); }

void EventLoop::dispatch_deferred() {
  // Bounded to what is queued now: a callback that defers again runs in the
  // next round, so a feedback loop cannot starve timers and fds.
  for (size_t n = deferred_.size(); n > 0 && !deferred_.empty(); --n) {
    Callback callback = std::move(deferred_.front());
    deferred_.pop_front();
    callback();
  }
}

void EventLoop::run_once(int timeout_ms) {
  if (!deferred_.empty() || timer_due()) timeout_ms = 0;
  epoll_event events[32];
  int n = epoll_wait(epoll_.get(), events, 32, timeout_ms);
  if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
  bool timers_dispatched = false;
  for (int i = 0; i < n; ++i) {
    const uint64_t id = events[i].data.u64;
    if (id == kTimerFdId) {
      dispatch_timers(true);
      timers_dispatched = true;
    } else if (id == kEventFdId) {
      dispatch_posted();
    } else if (id == kSignalFdId) {
      dispatch_signals();
    } else if (auto it = watches_.find(id); it != watches_.end()) {
      FdCallback callback = it->second.callback;  // copy: it may unwatch itself
      callback(events[i].events);
    }
  }
  if (!timers_dispatched && timer_due()) dispatch_timers(false);
  dispatch_deferred();
}

bool EventLoop::run() {
  stopping_ = false;
  while (!stopping_) run_once(-1);
  return true;
}

void EventLoop::drain() {
  for (int round = 0; round < 100; ++round) {
    std::vector<Callback> batch;
    {
      std::lock_guard lock(posted_mutex_);
      batch.swap(posted_);
    }
    if (batch.empty() && deferred_.empty()) return;
    for (auto& callback : batch) callback();
    dispatch_deferred();
  }
}

}  // namespace sr
