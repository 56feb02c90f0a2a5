// A private D-Bus system bus with the BlueZ double on it, for tests and
// benchmarks of the bt module against BlueZ's D-Bus contract
// (test/support/bluez_double.cpp). Every wait has a deadline; nothing sleeps
// as a substitute for a condition. Each process is ended by its PID when its
// owner goes out of scope.
//
// The executables come from the build (SR_TEST_DBUS_DAEMON, the system's
// dbus-daemon, and SR_TEST_BLUEZ_DOUBLE), defined by meson for the programs
// that compile this file.
#pragma once

#include "support/process.h"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sr::test {

// dbus-daemon with a configuration written here: <type>system</type>, a
// unix socket in its own temporary directory, EXTERNAL authentication and a
// policy that allows everything (bluetooth.md §4.1), so that owning
// org.bluez needs no root and no /etc/dbus-1/system.d file.
class SystemBus {
 public:
  SystemBus();  // started, and its address known, or throws
  ~SystemBus();
  SystemBus(const SystemBus&) = delete;
  SystemBus& operator=(const SystemBus&) = delete;

  const std::string& address() const { return address_; }
  // For the daemon's environment: sd_bus_open_system() honours it.
  std::string env() const { return "DBUS_SYSTEM_BUS_ADDRESS=" + address_; }
  pid_t pid() const { return daemon_->pid(); }

 private:
  TempDir dir_;
  std::unique_ptr<Process> daemon_;
  std::string address_;
};

// The BlueZ double on a SystemBus, driven through its stdin. Its output is
// one line per event (see bluez_double.cpp); tests wait on those lines.
class BluezDouble {
 public:
  // args: more options (--temporary-timeout 2, --no-adapter, --powered-off).
  explicit BluezDouble(const SystemBus& bus, std::vector<std::string> args = {}, bool start_now = true);
  ~BluezDouble();
  BluezDouble(const BluezDouble&) = delete;
  BluezDouble& operator=(const BluezDouble&) = delete;

  // A new bluetoothd: returns once it owns org.bluez (its "ready" line).
  void start();
  // SIGKILL by PID and reaped: bluetoothd crashed; dbus-daemon announces
  // that org.bluez has no owner.
  void kill();
  bool running() const { return process_ != nullptr; }
  pid_t pid() const;

  // Sends one command and returns once the double has handled it (an echo
  // barrier after it came back): every line it printed is in output().
  bool command(const std::string& line, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True once `text` appears in the current run's output after `from`.
  bool wait_for(std::string_view text, std::chrono::milliseconds timeout, size_t from = 0);
  // The current run's output so far, and its length (a `from` for wait_for).
  std::string output() const;
  size_t mark() const { return output().size(); }
  // Every run's output, the current one included.
  std::string all_output() const { return earlier_ + output(); }

 private:
  const SystemBus& bus_;
  std::vector<std::string> args_;
  std::unique_ptr<Process> process_;
  std::string earlier_;
  int barrier_ = 0;
};

}  // namespace sr::test
