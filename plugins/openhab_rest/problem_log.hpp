// Once-per-cause error reporting for the openHAB connection.
//
// A Number item fed "ERROR" by an ExecSensor every 10 s would otherwise
// write the same 400 line 8,640 times a day. Each (item, cause) is reported
// the first time; repeats within `quiet` are only counted and mentioned when
// the cause shows up again after that, and an item that is accepted again
// after a problem says so once.
//
// Not thread-safe; used on the event loop. Bounded: at most `max_keys`
// causes are remembered (the oldest forgotten first).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace sr::openhab {

class ProblemLog {
 public:
  using Clock = std::chrono::nanoseconds;

  explicit ProblemLog(Clock quiet = std::chrono::minutes(10), std::size_t max_keys = 1000)
      : quiet_(quiet), max_keys_(max_keys) {}

  // Should the problem `cause` of `key` be logged now? nullopt: stay quiet.
  // Otherwise the number of repeats that went unreported since the last line.
  std::optional<std::uint64_t> report(const std::string& key, const std::string& cause, Clock now) {
    std::string id = key + '\n' + cause;
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      if (entries_.size() >= max_keys_ && !order_.empty()) {
        entries_.erase(order_.front());
        order_.pop_front();
      }
      entries_.emplace(id, Entry{now, 0});
      order_.push_back(id);
      return std::uint64_t{0};
    }
    Entry& entry = it->second;
    if (now - entry.last_logged < quiet_) {
      ++entry.suppressed;
      return std::nullopt;
    }
    std::uint64_t suppressed = entry.suppressed;
    entry = Entry{now, 0};
    return suppressed;
  }

  // `key` worked: forget its problems. True when it had any (worth a line).
  bool clear(const std::string& key) {
    bool had = false;
    const std::string prefix = key + '\n';
    for (auto it = entries_.lower_bound(prefix);
         it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
      it = entries_.erase(it);
      had = true;
    }
    if (had)
      std::erase_if(order_, [&](const std::string& id) { return id.compare(0, prefix.size(), prefix) == 0; });
    return had;
  }

 private:
  struct Entry {
    Clock last_logged;
    std::uint64_t suppressed;
  };
  Clock quiet_;
  std::size_t max_keys_;
  std::map<std::string, Entry> entries_;
  std::deque<std::string> order_;
};

}  // namespace sr::openhab
