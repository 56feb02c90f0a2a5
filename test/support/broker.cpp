#include "support/broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>

namespace sr::test {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

bool wait_port_open(int port, std::chrono::milliseconds timeout) {
  return wait_until(
      [port] {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(static_cast<uint16_t>(port));
        bool open = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        close(fd);
        return open;
      },
      timeout);
}

bool wait_socket_open(const std::string& path, std::chrono::milliseconds timeout) {
  return wait_until(
      [&path] {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        path.copy(address.sun_path, sizeof address.sun_path - 1);
        bool open = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        close(fd);
        return open;
      },
      timeout);
}

Broker::Broker(std::string listener_options, std::string global_options, bool start_now, bool unix_listener)
    : port_(free_port()), unix_listener_(unix_listener) {
  std::string config = "per_listener_settings false\n"
                       "allow_anonymous true\n"
                       "persistence true\n"
                       "persistence_location " + dir_.path() + "/\n"
                       "autosave_interval 1\n"
                       "autosave_on_changes true\n"
                       "queue_qos0_messages true\n"
                       "log_dest stdout\n"
                       "log_type error\nlog_type warning\nlog_type notice\n"
                       // Stay root when run as root: the files are in a private directory.
                       "user root\n" +
                       global_options + "\nlistener " + std::to_string(port_) + " 127.0.0.1\n" + listener_options +
                       "\n" + (unix_listener ? "listener 0 " + socket_path() + "\n" : "");
  config_path_ = dir_.write("mosquitto.conf", config);
  if (start_now) start();
}

Broker::~Broker() {
  if (process_) kill();
}

void Broker::start() {
  if (process_) return;
  process_ = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", config_path_});
  if (!wait_port_open(port_, 10s) || (unix_listener_ && !wait_socket_open(socket_path(), 10s)))
    throw std::runtime_error("mosquitto did not start:\n" + process_->output());
}

void Broker::stop() {
  if (!process_) return;
  process_->signal(SIGTERM);
  if (!process_->wait_exit(10s)) process_->signal(SIGKILL);
  process_->wait_exit(10s);
  last_log_ = process_->output();
  earlier_logs_ += last_log_;
  process_.reset();
}

void Broker::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait_exit(10s);
  last_log_ = process_->output();
  earlier_logs_ += last_log_;
  process_.reset();
}

void Broker::reload() {
  if (process_) process_->signal(SIGHUP);
}

}  // namespace sr::test
