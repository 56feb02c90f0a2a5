// A private mosquitto broker for tests: on a free port on 127.0.0.1 only,
// in its own temporary directory, stopped (and restartable on the same
// port) by the test that owns it.
#pragma once

#include "support/process.h"

#include <memory>
#include <string>

namespace sr::test {

// A port nobody listens on right now (bound to 127.0.0.1:0, then released).
int free_port();
// True once something accepts TCP connections on 127.0.0.1:port.
bool wait_port_open(int port, std::chrono::milliseconds timeout);
// True once something accepts connections on the unix socket at path.
bool wait_socket_open(const std::string& path, std::chrono::milliseconds timeout);

class Broker {
 public:
  // listener_options: mosquitto.conf lines for the listener (TLS files,
  // require_certificate, ...); global_options: password_file, acl_file, ...
  // Persistence is on (saved on every change), so a persistent test client
  // keeps its subscription and queued messages across a broker kill.
  // unix_listener adds a listener on socket_path() next to the TCP one.
  explicit Broker(std::string listener_options = "", std::string global_options = "", bool start_now = true,
                  bool unix_listener = false);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  int port() const { return port_; }
  std::string socket_path() const { return dir_.path() + "/mosquitto.sock"; }
  const TempDir& dir() const { return dir_; }
  void start();           // on the same port as before
  void stop();            // SIGTERM and wait
  void kill();            // SIGKILL and wait (Last Wills are not sent by a dead broker)
  void reload();          // SIGHUP: re-reads password and ACL files
  bool running() const { return process_ != nullptr; }
  std::string log() const { return process_ ? process_->output() : last_log_; }
  // Every run's log since construction, the current one included.
  std::string all_logs() const { return earlier_logs_ + (process_ ? process_->output() : ""); }

 private:
  TempDir dir_;
  int port_;
  bool unix_listener_;
  std::string config_path_;
  std::unique_ptr<Process> process_;
  std::string last_log_;
  std::string earlier_logs_;
};

}  // namespace sr::test
