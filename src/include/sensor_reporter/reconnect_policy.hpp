// sensor_reporter plugin SDK: when to try a server again after a failed or
// lost connection. Header-only; used by every connection plugin (MQTT,
// openHAB REST) so a fleet behaves the same whatever it talks to.
//
// The first seconds of an outage retry at the minimum delay (with jitter), so
// a server restart is picked up within about that delay; only an outage that
// lasts longer backs off exponentially up to the maximum. Jitter (each delay
// drawn from [delay/2, delay]) keeps a fleet of reporters from reconnecting
// in lockstep after a server restart.
//
// That jitter alone spreads a fleet over only delay/2: after a broker
// restart every reporter loses its link in the same instant, so with
// ReconnectMin 1 s all of them came back within the same half second (issue
// 17, bench_fleet). With a spread S, an established link that drops makes
// the first attempt at a random phase in [0, S] and, during the fast phase,
// every further one exactly S later. A fixed period with a random phase is
// what spreads a fleet evenly: whenever the broker comes back, each
// reporter's next attempt falls uniformly within the following S seconds
// (with [d/2, d] retries, those that tried while it was down all came back
// within d of its return: 66 of 100 in one second). S is capped by the
// maximum delay.
//
// Not thread-safe; one per connection, used on the event loop.
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>

namespace sr::sdk {

class ReconnectPolicy {
 public:
  using Duration = std::chrono::nanoseconds;

  ReconnectPolicy(Duration min_delay, Duration max_delay, Duration fast_phase = std::chrono::seconds(10),
                  std::uint64_t seed = std::random_device{}(), Duration loss_spread = Duration(0))
      : min_(min_delay),
        max_(std::max(max_delay, min_delay)),
        fast_phase_(fast_phase),
        loss_spread_(std::min(loss_spread, max_)),
        random_(seed) {}

  // The delay before the first attempt after an established link was lost:
  // [0, spread], or next_delay(0) when the policy has no spread.
  Duration first_delay_after_loss() {
    if (loss_spread_.count() <= 0) return next_delay(Duration(0));
    spreading_ = true;
    std::uniform_int_distribution<std::int64_t> spread(0, loss_spread_.count());
    return Duration(spread(random_));
  }

  // The delay before the next attempt; `outage` is how long the server has
  // been unreachable so far.
  Duration next_delay(Duration outage) {
    if (spreading_ && outage < fast_phase_) return loss_spread_;  // keeps the random phase
    Duration delay = min_;
    if (outage >= fast_phase_) {
      // Double per attempt, saturating well before the shift could overflow.
      unsigned shift = std::min(attempts_after_fast_phase_++, 30u);
      auto doubled = min_.count() > 0 ? min_ * (std::int64_t{1} << shift) : max_;
      delay = std::min<Duration>(doubled, max_);
    }
    std::uniform_int_distribution<std::int64_t> jitter(delay.count() / 2, delay.count());
    return Duration(jitter(random_));
  }
  // A connection was accepted: start over.
  void reset() {
    attempts_after_fast_phase_ = 0;
    spreading_ = false;
  }

 private:
  Duration min_;
  Duration max_;
  Duration fast_phase_;
  Duration loss_spread_;
  bool spreading_ = false;  // since a link loss, until the next connection
  unsigned attempts_after_fast_phase_ = 0;
  std::mt19937_64 random_;
};

// For a connection's check(): the range its ReconnectMin and ReconnectMax
// keys give must not be upside down. Both keys must be in the class's table
// (the table has checked each is a number); the message quotes them as
// written.
inline void check_reconnect_range(const Params& params, CheckReport& report) {
  if (params.get<double>("ReconnectMax") < params.get<double>("ReconnectMin"))
    report.error("ReconnectMax", fmt::format("ReconnectMax {} is below ReconnectMin {}",
                                             params.get("ReconnectMax"), params.get("ReconnectMin")));
}

}  // namespace sr::sdk
