// When to try the broker again after a failed or lost connection.
//
// The first seconds of an outage retry at ReconnectMin (with jitter), so a
// broker restart is picked up within about ReconnectMin; only an outage that
// lasts longer backs off exponentially up to ReconnectMax. Jitter (each delay
// drawn from [delay/2, delay]) keeps a fleet of reporters from reconnecting in
// lockstep after a broker restart.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace sr::mqtt {

class ReconnectPolicy {
 public:
  using Duration = std::chrono::nanoseconds;

  ReconnectPolicy(Duration min_delay, Duration max_delay, Duration fast_phase = std::chrono::seconds(10),
                  std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt; `outage` is how long the broker has
  // been unreachable so far.
  Duration next_delay(Duration outage);
  // A connection was accepted: start over.
  void reset() { attempts_after_fast_phase_ = 0; }

 private:
  Duration min_;
  Duration max_;
  Duration fast_phase_;
  unsigned attempts_after_fast_phase_ = 0;
  std::mt19937_64 random_;
};

}  // namespace sr::mqtt
