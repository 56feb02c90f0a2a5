#include "host/systemd_notify.h"

#include <fmt/format.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace sr {

namespace {

// The notification protocol is systemd's stable interface (sd_notify(3) gives
// a reference implementation for programs that do not link libsystemd): one
// datagram of newline-separated KEY=VALUE lines to the AF_UNIX socket named by
// $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name. We speak it
// directly: libsystemd and the libraries it pulls in (libgcrypt, liblzma,
// libzstd, liblz4, libcap) cost 1 MB of resident memory for one sendto().
// Returns the address length, or 0 when there is nothing usable to talk to.
socklen_t notify_address(sockaddr_un& address) {
  const char* name = std::getenv("NOTIFY_SOCKET");
  if (!name || (name[0] != '/' && name[0] != '@')) return 0;  // unset, or vsock: (not used on boards)
  size_t length = std::strlen(name);
  if (length < 2 || length >= sizeof address.sun_path) return 0;
  address = {};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, name, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract: no terminating NUL counted
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length + (name[0] == '/' ? 1 : 0));
}

uint64_t parse_u64(const char* text) {
  uint64_t value = 0;
  if (!text) return 0;
  const char* end = text + std::strlen(text);
  auto [ptr, error] = std::from_chars(text, end, value);
  return error == std::errc() && ptr == end ? value : 0;
}

// $WATCHDOG_USEC, if the watchdog is meant for this process ($WATCHDOG_PID,
// when set, names the process the service manager watches).
uint64_t watchdog_usec() {
  const char* pid = std::getenv("WATCHDOG_PID");
  if (pid && parse_u64(pid) != static_cast<uint64_t>(getpid())) return 0;
  return parse_u64(std::getenv("WATCHDOG_USEC"));
}

}  // namespace

SystemdNotifier::SystemdNotifier(EventLoop& loop) : loop_(loop) {
  address_length_ = notify_address(address_);
  if (address_length_ == 0) return;
  socket_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!socket_) {
    address_length_ = 0;
    return;
  }
  if (uint64_t usec = watchdog_usec(); usec > 0) {
    watchdog_us_ = usec;
    // Half the interval, as systemd recommends. The timer runs on the event
    // loop: if the loop stops making progress, the pings stop with it.
    uint64_t interval_ns = usec * 1000 / 2;
    watchdog_timer_ = loop_.add_timer(interval_ns, interval_ns, [this] { send("WATCHDOG=1"); });
  }
}

SystemdNotifier::~SystemdNotifier() {
  if (watchdog_timer_) loop_.cancel_timer(watchdog_timer_);
}

void SystemdNotifier::send(const std::string& message) {
  if (address_length_ == 0) return;
  // Best effort, like sd_notify(): a service manager that went away must not
  // stop the daemon. MSG_DONTWAIT: a full socket buffer must not block the loop.
  while (::sendto(socket_.get(), message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                  reinterpret_cast<const sockaddr*>(&address_), address_length_) < 0 &&
         errno == EINTR) {
  }
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
