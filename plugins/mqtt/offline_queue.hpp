// Readings and states kept, in order, while the broker is unreachable.
// Bounded: beyond the capacity the oldest entries are dropped and counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace sr::mqtt {

struct QueuedMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

class OfflineQueue {
 public:
  explicit OfflineQueue(std::size_t capacity) : capacity_(capacity) {}

  // False when the queue is disabled (capacity 0) and the message was dropped.
  bool push(QueuedMessage message) {
    if (capacity_ == 0) {
      ++dropped_;
      return false;
    }
    if (messages_.size() == capacity_) {
      messages_.pop_front();
      ++dropped_;
    }
    messages_.push_back(std::move(message));
    return true;
  }
  bool empty() const { return messages_.empty(); }
  std::size_t size() const { return messages_.size(); }
  std::size_t capacity() const { return capacity_; }
  QueuedMessage pop() {
    QueuedMessage front = std::move(messages_.front());
    messages_.pop_front();
    return front;
  }
  // Dropped since the last call.
  std::uint64_t take_dropped() {
    std::uint64_t n = dropped_;
    dropped_ = 0;
    return n;
  }

 private:
  std::size_t capacity_;
  std::deque<QueuedMessage> messages_;
  std::uint64_t dropped_ = 0;
};

}  // namespace sr::mqtt
