#include "heartbeat.hpp"

#include <fmt/format.h>

namespace sr::heartbeat {

std::string format_uptime(std::uint64_t milliseconds) {
  std::uint64_t seconds = milliseconds / 1000;
  std::uint64_t days = seconds / 86400;
  std::uint64_t hours = seconds / 3600 % 24;
  std::uint64_t minutes = seconds / 60 % 60;
  seconds %= 60;
  if (days == 0) return fmt::format("{:02}:{:02}:{:02}", hours, minutes, seconds);
  return fmt::format("{}:{:02}:{:02}:{:02}", days, hours, minutes, seconds);
}

Heartbeat::Heartbeat(sdk::Host host, const sdk::Params& params)
    : host_(host),
      num_dest_(params.get("Num-Dest")),
      str_dest_(params.get("Str-Dest")),
      created_(host.now()) {}

void Heartbeat::publish() {
  auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(host_.now() - created_);
  auto ms = static_cast<std::uint64_t>(uptime.count());
  host_.publish(num_dest_, fmt::format("{}", ms));
  host_.publish(str_dest_, format_uptime(ms));
}

}  // namespace sr::heartbeat
