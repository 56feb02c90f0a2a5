// systemd's side of the notify protocol for tests: a datagram socket that
// collects what the daemon sends to $NOTIFY_SOCKET (READY=1, STATUS=...).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace sr::test {

// A datagram socket like systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    socklen_t length = sizeof address;
    if (path[0] == '@') {  // abstract namespace: leading NUL, exact length
      address.sun_path[0] = '\0';
      length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    }
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0);
  }
  ~NotifySocket() {
    close(fd_);
    if (path_[0] == '/') unlink(path_.c_str());
  }
  // Every message received so far, plus those arriving until `predicate`
  // holds or the deadline passes.
  bool wait_for(const std::function<bool(const std::vector<std::string>&)>& predicate,
                std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!predicate(messages_)) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) messages_.emplace_back(buffer, static_cast<size_t>(n));
    }
    return true;
  }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

// A predicate for NotifySocket::wait_for: some message contains `text`.
inline std::function<bool(const std::vector<std::string>&)> has(const std::string& text) {
  return [text](const std::vector<std::string>& m) {
    return std::any_of(m.begin(), m.end(),
                       [&](const std::string& s) { return s.find(text) != std::string::npos; });
  };
}

}  // namespace sr::test
