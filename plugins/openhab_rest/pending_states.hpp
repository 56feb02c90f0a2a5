// The item states waiting to be sent to openHAB, per item in the order they
// were published; items in the order they first became pending.
//
// While openHAB answers, every update is sent (a rule on "received update"
// sees each one), one item's updates in order: an item's next update waits
// until the previous one is answered. While openHAB is unreachable only the
// newest state of each item is worth keeping (openHAB keeps one state per
// item), so the queue collapses to one value per item (latest_only).
//
// Bounded: at most `item_capacity` items (beyond it the item pending longest
// is dropped) and `per_item` values per item (beyond it the item's oldest
// value is dropped); both counted.
//
// Not thread-safe; used on the event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace sr::openhab {

class PendingStates {
 public:
  explicit PendingStates(std::size_t item_capacity, std::size_t per_item = 64)
      : capacity_(item_capacity > 0 ? item_capacity : 1), per_item_(per_item > 0 ? per_item : 1) {}

  // Queues `value` for `item` (replaces what is queued in latest-only mode).
  void put(const std::string& item, std::string value) {
    auto it = values_.find(item);
    if (it == values_.end()) {
      if (values_.size() >= capacity_) {
        dropped_ += values_[order_.front()].size();
        values_.erase(order_.front());
        order_.pop_front();
      }
      it = values_.emplace(item, std::deque<std::string>{}).first;
      order_.push_back(item);
    }
    std::deque<std::string>& queue = it->second;
    if (latest_only_) queue.clear();  // replaced by a newer state: not a loss
    if (queue.size() >= per_item_) {
      queue.pop_front();
      ++dropped_;
    }
    queue.push_back(std::move(value));
  }

  // A value whose send failed: it is older than anything queued for its item.
  void put_back(const std::string& item, std::string value) {
    auto it = values_.find(item);
    if (it == values_.end()) {
      put(item, std::move(value));
      return;
    }
    if (latest_only_) return;  // a newer state is queued
    it->second.push_front(std::move(value));
    if (it->second.size() > per_item_) {
      it->second.pop_back();
      ++dropped_;
    }
  }

  // True while openHAB is unreachable: keep one state per item.
  void latest_only(bool on) {
    latest_only_ = on;
    if (!on) return;
    for (auto& [item, queue] : values_)
      while (queue.size() > 1) queue.pop_front();
  }

  // The oldest value of the first pending item not in `busy`.
  std::optional<std::pair<std::string, std::string>> take(const std::unordered_set<std::string>& busy) {
    for (auto it = order_.begin(); it != order_.end(); ++it) {
      if (busy.count(*it)) continue;
      auto entry = values_.find(*it);
      std::pair<std::string, std::string> taken{*it, std::move(entry->second.front())};
      entry->second.pop_front();
      if (entry->second.empty()) {
        values_.erase(entry);
        order_.erase(it);
      }
      return taken;
    }
    return std::nullopt;
  }

  std::size_t items() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  std::size_t capacity() const { return capacity_; }
  // Values dropped for want of room since the last call.
  std::uint64_t take_dropped() { return std::exchange(dropped_, 0); }

 private:
  std::size_t capacity_;
  std::size_t per_item_;
  bool latest_only_ = true;  // openHAB is unreachable until it has answered
  std::unordered_map<std::string, std::deque<std::string>> values_;
  std::deque<std::string> order_;
  std::uint64_t dropped_ = 0;
};

}  // namespace sr::openhab
