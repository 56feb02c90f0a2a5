#include "loop/worker_pool.h"

namespace sr {

WorkerPool::WorkerPool(EventLoop& loop, unsigned threads) : loop_(loop) {
  // Threads start lazily in submit(): most configurations never block, and
  // an idle daemon should not carry thread stacks it does not use.
  capacity_ = threads == 0 ? 1 : threads;
  threads_.reserve(capacity_);
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::submit(Work work, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(Job{std::move(work), std::move(done)});
    if (threads_.size() < capacity_ && busy_ + queue_.size() > threads_.size())
      threads_.emplace_back([this] { run_worker(); });
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::run_worker() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and nothing left
    Job job = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    job.work();
    loop_.post(std::move(job.done));
    lock.lock();
    --busy_;
  }
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
}

size_t WorkerPool::busy() const {
  std::lock_guard lock(mutex_);
  return busy_ + queue_.size();
}

}  // namespace sr
