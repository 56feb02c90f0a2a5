// Talks to systemd for a Type=notify service: READY=1 once the configuration
// runs, STATUS= lines, RELOADING=1 around a SIGHUP reload, STOPPING=1, and
// WATCHDOG=1 from a loop timer, so that a stuck loop stops the pings and
// systemd restarts the service. Outside systemd (no NOTIFY_SOCKET) every
// call does nothing. Speaks the notify protocol itself (see the .cpp: why).
#pragma once

#include "loop/event_loop.h"
#include <sensor_reporter/handle.hpp>

#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace sr {

class SystemdNotifier {
 public:
  explicit SystemdNotifier(EventLoop& loop);
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  void ready(std::string_view status);
  void reloading();
  void stopping();
  // Sent only when it differs from the last one.
  void status(std::string_view status);

  uint64_t watchdog_interval_us() const { return watchdog_us_; }

 private:
  void send(const std::string& message);

  EventLoop& loop_;
  sdk::UniqueFd socket_;
  sockaddr_un address_{};
  socklen_t address_length_ = 0;
  uint64_t watchdog_timer_ = 0;
  uint64_t watchdog_us_ = 0;
  std::string last_status_;
};

}  // namespace sr
