// The item states waiting to be sent to openHAB: the latest value per item,
// items in the order they first became pending.
//
// openHAB keeps one state per item, so while it is unreachable (or while the
// previous update of an item is still on the wire) only the newest reading of
// each item is worth sending. Bounded by a number of items: beyond it the
// item pending longest is dropped and counted.
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
  explicit PendingStates(std::size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}

  // Keeps `value` as the state to send for `item`, replacing an older one.
  void put(const std::string& item, std::string value) {
    if (auto it = values_.find(item); it != values_.end()) {
      it->second = std::move(value);
      return;
    }
    if (values_.size() >= capacity_) {
      values_.erase(order_.front());
      order_.pop_front();
      ++dropped_;
    }
    values_.emplace(item, std::move(value));
    order_.push_back(item);
  }

  // Puts a value back after a failed send, unless a newer one arrived.
  void put_back(const std::string& item, std::string value) {
    if (values_.count(item) == 0) put(item, std::move(value));
  }

  // The oldest pending item not in `busy`, removed from the set.
  std::optional<std::pair<std::string, std::string>> take(const std::unordered_set<std::string>& busy) {
    for (auto it = order_.begin(); it != order_.end(); ++it) {
      if (busy.count(*it)) continue;
      auto value = values_.find(*it);
      std::pair<std::string, std::string> taken{*it, std::move(value->second)};
      values_.erase(value);
      order_.erase(it);
      return taken;
    }
    return std::nullopt;
  }

  std::size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  std::size_t capacity() const { return capacity_; }
  // Items dropped for want of room since the last call.
  std::uint64_t take_dropped() { return std::exchange(dropped_, 0); }

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, std::string> values_;
  std::deque<std::string> order_;
  std::uint64_t dropped_ = 0;
};

}  // namespace sr::openhab
