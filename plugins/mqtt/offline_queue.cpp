#include "offline_queue.hpp"

#include <fmt/format.h>

namespace sr::mqtt {

void OfflineQueue::attach(QueueJournal journal, std::vector<QueuedMessage> kept) {
  journal_.emplace(std::move(journal));
  for (QueuedMessage& message : kept) {
    entries_.push_back(Entry{std::move(message), Entry::State::Waiting, true});
    ++waiting_;
  }
  next_ = 0;
  while (waiting_ > capacity_) {
    mark_done(next_);
    ++dropped_;
    skip_to_waiting();
  }
  pop_done();
}

bool OfflineQueue::push(QueuedMessage message) {
  if (capacity_ == 0) {
    ++dropped_;
    return false;
  }
  if (waiting_ == capacity_) {
    mark_done(next_);
    ++dropped_;
    skip_to_waiting();
    pop_done();
  }
  bool in_file = false;
  if (journal_) {
    in_file = journal_->append(message);
    journal_result(in_file);
  }
  entries_.push_back(Entry{std::move(message), Entry::State::Waiting, in_file});
  ++waiting_;
  skip_to_waiting();
  // A long outage at the cap drops old entries from the front while new
  // ones are appended: the file would grow for ever without a rewrite. Only
  // with nothing in flight, when every entry left is waiting.
  if (journal_ && by_mid_.empty() && journal_->worth_compacting()) {
    std::vector<const QueuedMessage*> live;
    live.reserve(entries_.size());
    for (const Entry& entry : entries_) live.push_back(&entry.message);
    const bool ok = journal_->rewrite(live);
    if (ok)
      for (Entry& entry : entries_) entry.in_file = true;
    journal_result(ok);
  }
  return true;
}

void OfflineQueue::sent(int mid) {
  entries_[next_].state = Entry::State::InFlight;
  --waiting_;
  by_mid_[mid] = first_sequence_ + next_;
  ++next_;
  skip_to_waiting();
}

void OfflineQueue::discard_front() {
  mark_done(next_);
  skip_to_waiting();
  pop_done();
}

void OfflineQueue::published(int mid) {
  auto it = by_mid_.find(mid);
  if (it == by_mid_.end()) return;  // sent directly, never queued
  mark_done(static_cast<std::size_t>(it->second - first_sequence_));
  by_mid_.erase(it);
  pop_done();
}

void OfflineQueue::connection_lost() {
  for (auto it = by_mid_.begin(); it != by_mid_.end();) {
    Entry& entry = entries_[static_cast<std::size_t>(it->second - first_sequence_)];
    if (entry.message.qos != 0) {
      ++it;
      continue;
    }
    entry.state = Entry::State::Waiting;
    ++waiting_;
    it = by_mid_.erase(it);
  }
  next_ = 0;
  skip_to_waiting();
}

std::string OfflineQueue::take_journal_news() {
  if (!journal_news_ || !journal_) return {};
  journal_news_ = false;
  if (journal_failing_)
    return fmt::format("QueueFile {}: {}; queued readings are kept in memory only until it works again",
                       journal_->path(), journal_->error());
  return fmt::format("QueueFile {} is written again", journal_->path());
}

bool OfflineQueue::sync() {
  if (!journal_) return true;
  const bool ok = journal_->sync();
  journal_result(ok);
  return ok;
}

void OfflineQueue::mark_done(std::size_t index) {
  Entry& entry = entries_[index];
  if (entry.state == Entry::State::Waiting) --waiting_;
  entry.state = Entry::State::Done;
}

// Done entries leave from the front only, so the file's done count stays a
// prefix: one still in flight holds back the ones after it.
void OfflineQueue::pop_done() {
  std::size_t leaving_file = 0;
  while (!entries_.empty() && entries_.front().state == Entry::State::Done) {
    if (entries_.front().in_file) ++leaving_file;
    entries_.pop_front();
    ++first_sequence_;
    if (next_ > 0) --next_;
  }
  if (journal_ && leaving_file > 0) journal_->consume(leaving_file);
}

void OfflineQueue::skip_to_waiting() {
  while (next_ < entries_.size() && entries_[next_].state != Entry::State::Waiting) ++next_;
}

void OfflineQueue::journal_result(bool ok) {
  if (ok == !journal_failing_) return;
  journal_failing_ = !ok;
  journal_news_ = true;
}

}  // namespace sr::mqtt
