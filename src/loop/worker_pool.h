// A small pool of threads for blocking work (child processes, slow reads).
// Each job's result is handed back to the event loop with EventLoop::post, so
// plugins only ever see their results on the loop thread.
#pragma once

#include "loop/event_loop.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sr {

class WorkerPool {
 public:
  using Work = std::function<void()>;
  using Done = std::function<void()>;

  WorkerPool(EventLoop& loop, unsigned threads);
  ~WorkerPool();  // stop() then join
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // work runs on a worker; then done runs on the loop thread. Returns false
  // once the pool is stopping (nothing runs then).
  bool submit(Work work, Done done);
  // Stops taking jobs, lets queued and running ones finish (plugins bound
  // their blocking work with timeouts), joins the threads. Their done
  // callbacks are left on the loop for EventLoop::drain.
  void stop();
  size_t busy() const;

 private:
  struct Job {
    Work work;
    Done done;
  };
  void run_worker();

  EventLoop& loop_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  size_t capacity_ = 0;
};

}  // namespace sr
