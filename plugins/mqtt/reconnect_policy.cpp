#include "reconnect_policy.hpp"

#include <algorithm>

namespace sr::mqtt {

ReconnectPolicy::ReconnectPolicy(Duration min_delay, Duration max_delay, Duration fast_phase, std::uint64_t seed)
    : min_(min_delay), max_(std::max(max_delay, min_delay)), fast_phase_(fast_phase), random_(seed) {}

ReconnectPolicy::Duration ReconnectPolicy::next_delay(Duration outage) {
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

}  // namespace sr::mqtt
