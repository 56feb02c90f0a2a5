#include "support/system_bus.h"

#include <csignal>
#include <stdexcept>

namespace sr::test {

SystemBus::SystemBus() {
  std::string config = dir_.write(
      "system.conf", R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=)" + dir_.file("system_bus_socket") +
                         R"(</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
)");
  // --print-address: printed once the socket listens, so the address is the
  // moment the bus is usable.
  daemon_ = std::make_unique<Process>(std::vector<std::string>{
      SR_TEST_DBUS_DAEMON, "--config-file=" + config, "--nofork", "--nopidfile", "--print-address=1"});
  if (!daemon_->wait_for_output("\n", std::chrono::seconds(10)))
    throw std::runtime_error("dbus-daemon printed no address: " + daemon_->output());
  std::string out = daemon_->stdout_text();
  address_ = out.substr(0, out.find('\n'));
  if (address_.rfind("unix:", 0) != 0) throw std::runtime_error("dbus-daemon: " + daemon_->output());
}

SystemBus::~SystemBus() {
  daemon_->signal(SIGTERM);
  if (!daemon_->wait_exit(std::chrono::seconds(5))) daemon_->signal(SIGKILL);
}

BluezDouble::BluezDouble(const SystemBus& bus, std::vector<std::string> args, bool start_now)
    : bus_(bus), args_(std::move(args)) {
  if (start_now) start();
}

BluezDouble::~BluezDouble() {
  if (process_) kill();
}

void BluezDouble::start() {
  if (process_) throw std::logic_error("the BlueZ double runs already");
  std::vector<std::string> argv{SR_TEST_BLUEZ_DOUBLE, "--bus", bus_.address()};
  argv.insert(argv.end(), args_.begin(), args_.end());
  process_ = std::make_unique<Process>(argv, std::vector<std::string>{}, true);
  if (!process_->wait_for_output("ready ", std::chrono::seconds(10)))
    throw std::runtime_error("the BlueZ double did not start: " + process_->output());
}

void BluezDouble::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait_exit(std::chrono::seconds(10));
  earlier_ += process_->output();
  process_.reset();
}

pid_t BluezDouble::pid() const { return process_ ? process_->pid() : -1; }

bool BluezDouble::command(const std::string& line, std::chrono::milliseconds timeout) {
  if (!process_) return false;
  std::string barrier = "barrier-" + std::to_string(++barrier_);
  size_t from = process_->output().size();
  if (!process_->write_stdin(line + "\necho " + barrier + "\n")) return false;
  return process_->wait_for_output(barrier + "\n", timeout, from);
}

bool BluezDouble::wait_for(std::string_view text, std::chrono::milliseconds timeout, size_t from) {
  return process_ && process_->wait_for_output(text, timeout, from);
}

std::string BluezDouble::output() const { return process_ ? process_->output() : std::string(); }

}  // namespace sr::test
