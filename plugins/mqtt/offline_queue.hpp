// Readings and states kept, in order, while the broker is unreachable.
// Bounded: beyond the capacity the oldest waiting entries are dropped and
// counted. With a QueueJournal (QueueFile) every entry is also in a file,
// and leaves it only once the broker has it: handed to libmosquitto is not
// enough, the publish callback (QoS 0: written to the socket; QoS 1 and 2:
// acknowledged) is. QoS 0 messages still unwritten when the link drops go
// back to waiting (libmosquitto forgets them); QoS 1 and 2 ones libmosquitto
// sends again by itself, so they stay in flight until acknowledged.
//
// Not thread-safe: owned by one connection on the event loop thread.
#pragma once

#include "offline_message.hpp"
#include "queue_journal.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace sr::mqtt {

class OfflineQueue {
 public:
  explicit OfflineQueue(std::size_t capacity) : capacity_(capacity) {}

  // Takes the file and what it held (oldest first); the cap applies to it.
  void attach(QueueJournal journal, std::vector<QueuedMessage> kept);

  // False when the queue is disabled (capacity 0) and the message was dropped.
  bool push(QueuedMessage message);
  // Nothing is waiting to be sent (some may be in flight).
  bool empty() const { return waiting_ == 0; }
  // Waiting to be sent.
  std::size_t size() const { return waiting_; }
  std::size_t capacity() const { return capacity_; }
  // Handed to libmosquitto, not yet confirmed.
  std::size_t in_flight() const { return by_mid_.size(); }

  // The oldest waiting message; !empty().
  const QueuedMessage& front() const { return entries_[next_].message; }
  // front() was handed to libmosquitto as `mid`: it stays (in the file)
  // until published(mid).
  void sent(int mid);
  // front() cannot be sent at all (refused by libmosquitto): dropped.
  void discard_front();
  // libmosquitto's publish callback.
  void published(int mid);
  // The link dropped: QoS 0 messages in flight wait again.
  void connection_lost();

  // Dropped since the last call.
  std::uint64_t take_dropped() {
    std::uint64_t n = dropped_;
    dropped_ = 0;
    return n;
  }

  // The file's state; everything below is a no-op without one.
  bool durable() const { return journal_.has_value(); }
  const QueueJournal* journal() const { return journal_ ? &*journal_ : nullptr; }
  bool needs_sync() const { return journal_ && journal_->needs_sync(); }
  bool sync();
  // A write to the file failed since the last call, or works again after
  // failing: the news to log once (empty: none).
  std::string take_journal_news();

 private:
  struct Entry {
    QueuedMessage message;
    enum class State { Waiting, InFlight, Done } state = State::Waiting;
    bool in_file = false;  // append() worked; leaves the file when done
  };
  void mark_done(std::size_t index);
  void pop_done();
  void skip_to_waiting();
  void journal_result(bool ok);

  std::size_t capacity_;
  std::deque<Entry> entries_;  // oldest first: done, in flight and waiting mixed only after a drop
  std::size_t next_ = 0;       // index of the oldest waiting entry (entries_.size() if none)
  std::size_t waiting_ = 0;
  std::unordered_map<int, std::size_t> by_mid_;  // in flight: mid -> entry sequence number
  std::uint64_t first_sequence_ = 0;             // sequence number of entries_.front()
  std::uint64_t dropped_ = 0;
  std::optional<QueueJournal> journal_;
  bool journal_failing_ = false;
  bool journal_news_ = false;
};

}  // namespace sr::mqtt
