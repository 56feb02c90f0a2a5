#include "host/systemd_notify.h"

#include "config.h"

#include <fmt/format.h>

#ifdef SR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace sr {

SystemdNotifier::SystemdNotifier(EventLoop& loop) : loop_(loop) {
#ifdef SR_HAVE_SYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_us_ = usec;
    // Half the interval, as systemd recommends. The timer runs on the event
    // loop: if the loop stops making progress, the pings stop with it.
    uint64_t interval_ns = usec * 1000 / 2;
    watchdog_timer_ = loop_.add_timer(interval_ns, interval_ns, [this] { send("WATCHDOG=1"); });
  }
#endif
}

SystemdNotifier::~SystemdNotifier() {
  if (watchdog_timer_) loop_.cancel_timer(watchdog_timer_);
}

void SystemdNotifier::send([[maybe_unused]] const std::string& message) {
#ifdef SR_HAVE_SYSTEMD
  sd_notify(0, message.c_str());
#endif
}

void SystemdNotifier::ready(std::string_view status) {
  last_status_ = status;
  send(fmt::format("READY=1\nSTATUS={}", status));
}

void SystemdNotifier::reloading() {
  // MONOTONIC_USEC lets systemd (253+, Type=notify-reload) match the reload
  // to this notification; older versions ignore it.
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", EventLoop::monotonic_ns() / 1000));
}

void SystemdNotifier::stopping() { send("STOPPING=1"); }

void SystemdNotifier::status(std::string_view status) {
  if (status == last_status_) return;
  last_status_ = status;
  send(fmt::format("STATUS={}", status));
}

}  // namespace sr
