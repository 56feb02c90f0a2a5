// ABI growth (plugin_abi.h, "Compatibility rules"): the real binary against
// the modules of test/plugins/abi, built against other layouts than today's.
// Modules built with the frozen 1.0 and 1.1 layouts, and one whose every
// struct and table entry is longer than this host's (a later minor that
// answers this host's minor), load, describe and run; a module that insists
// on a newer minor, or whose structs are shorter than the minor it declares,
// is refused with a message naming the file and what is wrong.
#include "plugins/abi/frozen_abi.h"
#include "support/process.h"

#include <sensor_reporter/plugin_abi.h>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using sr::test::TempDir;

std::string abi_dir() { return sr::test::test_plugin_dir() + "/abi"; }
std::string module(const std::string& name) { return abi_dir() + "/" + name + ".so"; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A --describe row with the column padding squeezed to one space.
std::string squeezed(const std::string& line) {
  std::string out;
  for (char c : line)
    if (c != ' ' || (!out.empty() && out.back() != ' ')) out += c;
  return out;
}

std::vector<std::string> squeezed_lines(const std::string& text) {
  std::vector<std::string> lines;
  for (const auto& line : lines_of(text)) lines.push_back(squeezed(line));
  return lines;
}

bool has_line(const std::vector<std::string>& lines, const std::string& wanted) {
  for (const auto& line : lines)
    if (line == wanted) return true;
  return false;
}

sr::test::RunResult describe(const std::string& class_name) {
  return sr::test::run({sr::test::binary(), "--plugin-dir", abi_dir(), "--describe", class_name}, {}, 10s);
}

// The --check report of one bad Class line.
sr::test::RunResult check_class(const TempDir& dir, const std::string& class_string) {
  std::string ini = dir.write("test.ini", "[Sensor_A]\nClass = " + class_string + "\nPoll = 1\n");
  return sr::test::run({sr::test::binary(), "--check", "--plugin-dir", abi_dir(), ini}, {}, 10s);
}
std::string class_error(const TempDir& dir, const std::string& message) {
  std::string ini = dir.file("test.ini");
  return ini + ":2: [Sensor_A] Class: " + message + "\n" + ini + ": 1 error\n";
}

// systemd's notification socket, as far as STATUS= goes.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~NotifySocket() { close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  // Reads what has arrived; true when some message contains `text`.
  bool received(const std::string& text) {
    char buffer[4096];
    for (ssize_t n; (n = recv(fd_, buffer, sizeof buffer, 0)) > 0;)
      messages_.emplace_back(buffer, static_cast<size_t>(n));
    for (const auto& m : messages_)
      if (m.find(text) != std::string::npos) return true;
    return false;
  }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  int fd_ = -1;
  std::vector<std::string> messages_;
};

// Readings go round between the three modules through LocalConnection:
// 1.0 sensor -> 1.1 actuator, 1.1 sensor -> grown actuator, grown sensor ->
// 1.0 actuator.
std::string ring_config(const TempDir& dir) {
  return fmt::format(R"([Connection_L]
Class = local.local_conn.LocalConnection
Name = local

[Actuator_10]
Class = abi_1_0.frozen.Abi10Actuator
Connection = local
CommandSrc = from_grown
Output = {0}/received_10

[Actuator_11]
Class = abi_1_1.frozen.Abi11Actuator
Connection = local
CommandSrc = from_10
Output = {0}/received_11

[Actuator_G]
Class = abi_grown.grown.GrownActuator
Connection = local
CommandSrc = from_11
Output = {0}/received_grown

[Sensor_10]
Class = abi_1_0.frozen.Abi10Sensor
Connection = local
Poll = 1
Destination = from_10

[Sensor_11]
Class = abi_1_1.frozen.Abi11Sensor
Connection = local
Poll = 1
Destination = from_11
Value = hello from 1.1

[Sensor_G]
Class = abi_grown.grown.GrownSensor
Connection = local
Poll = 1
Destination = from_grown
)",
                     dir.path());
}

std::string first_line(const std::string& path) {
  std::string text = sr::test::read_file(path);
  return text.substr(0, text.find('\n'));
}

// The diagnostics of the three modules the host refuses. The sizes are
// those of this platform's layout (104 and 112 bytes, 48 and 64 on LP64).
std::string newer_minor_refused() {
  return fmt::format(
      "plugin module {} was built for plugin ABI {}.{}; this sensor_reporter provides ABI {}.{}",
      module("newer_minor"), SR_ABI_MAJOR, SR_ABI_MINOR + 1, SR_ABI_MAJOR, SR_ABI_MINOR);
}
std::string short_class_refused() {
  return fmt::format(
      "plugin module {} is refused: class ShortClass: class descriptor is {} bytes; ABI 1.0 needs at least "
      "{}",
      module("short_class"), offsetof(sr_class_def, conn_subscribe), sizeof(frozen::v1_0::sr_class_def));
}
std::string short_param_refused() {
  return fmt::format(
      "plugin module {} is refused: class ShortParam: parameter table entry 2 is {} bytes; ABI 1.0 needs at "
      "least {}",
      module("short_param"), offsetof(sr_param_def, choices), sizeof(frozen::v1_0::sr_param_def));
}

}  // namespace

TEST_CASE("modules built with the 1.0 and 1.1 layouts and one grown past this host's run side by side") {
  TempDir dir;
  std::string ini = dir.write("sr.ini", ring_config(dir));
  NotifySocket notify(dir.file("notify"));
  sr::test::Process daemon({sr::test::binary(), "--plugin-dir", abi_dir(), ini},
                           {"NOTIFY_SOCKET=" + dir.file("notify")});
  bool all_received = sr::test::wait_until(
      [&] {
        return !first_line(dir.file("received_10")).empty() && !first_line(dir.file("received_11")).empty() &&
               !first_line(dir.file("received_grown")).empty();
      },
      15s);
  CAPTURE(daemon.output());
  REQUIRE(all_received);
  // Each actuator got the reading of the module before it in the ring, with
  // the parameter defaults of that module's table applied.
  CHECK(first_line(dir.file("received_11")) == "from_10 from abi_1_0");
  CHECK(first_line(dir.file("received_grown")) == "from_11 hello from 1.1");
  CHECK(first_line(dir.file("received_10")) == "from_grown from abi_grown");
  // The 1.1 module uses the service 1.1 appended (set_status) through its
  // frozen 1.1 table.
  bool status =
      sr::test::wait_until([&] { return notify.received("[Actuator_11] last command: from abi_1_0"); }, 10s);
  CAPTURE(notify.messages());
  CHECK(status);

  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(daemon.stderr_text() == "");
}

TEST_CASE("--describe reads a 1.0 module's tables: every parameter, default, range and message") {
  auto r = describe("Abi10Sensor");
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  auto lines = squeezed_lines(r.out);
  CAPTURE(r.out);
  REQUIRE(lines.size() > 7);
  CHECK(lines[0] ==
        "abi_1_0.frozen.Abi10Sensor (sensor) — Publishes a fixed value (tests only, ABI 1.0 layout)");
  CHECK(lines[1] == "module abi_1_0 1.0.0 (" + module("abi_1_0") + ")");
  CHECK(lines[4] == "Destination string required - where Value goes");
  CHECK(lines[5] == "Value string optional from abi_1_0 what every poll publishes");
  CHECK(lines[6] == "Unused integer 1..9 optional 5 a ranged parameter, read only by --describe");
  CHECK(lines[7] == "common to every section of this kind:");
  CHECK(has_line(lines, "publishes Destination text"));
}

TEST_CASE("--describe walks a grown module's tables by their own entry size, not the host's") {
  auto r = describe("GrownSensor");
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  auto lines = squeezed_lines(r.out);
  CAPTURE(r.out);
  // The three parameters, in order, then the common ones: nothing read from
  // the bytes a later minor appended to each entry.
  REQUIRE(lines.size() > 7);
  CHECK(lines[1] == "module abi_grown 9.0.0 (" + module("abi_grown") + ")");
  CHECK(lines[4] == "Destination string required - where Value goes");
  CHECK(lines[5] == "Value string optional from abi_grown what every poll publishes");
  CHECK(lines[6] == "Unused integer 1..9 optional 5 a ranged parameter, read only by --describe");
  CHECK(lines[7] == "common to every section of this kind:");
  CHECK(has_line(lines, "publishes Destination text"));
}

TEST_CASE("a module that declares a newer minor than the host's is refused: 69, naming both versions") {
  TempDir dir;
  auto r = check_class(dir, "newer_minor.grown.GrownSensor");
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err == class_error(dir, newer_minor_refused()));
}

TEST_CASE("a class descriptor shorter than the 1.0 layout is refused: 69, naming the file, class and sizes") {
  TempDir dir;
  auto r = check_class(dir, "short_class.short.ShortClass");
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err == class_error(dir, short_class_refused()));
}

TEST_CASE("a parameter entry shorter than the 1.0 layout is refused: 69, naming the entry and sizes") {
  TempDir dir;
  auto r = check_class(dir, "short_param.short.ShortParam");
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err == class_error(dir, short_param_refused()));
}

TEST_CASE("--list-plugins over the ABI modules lists the loadable classes and warns about the others") {
  auto r = sr::test::run({sr::test::binary(), "--list-plugins", "--plugin-dir", abi_dir()}, {}, 10s);
  CHECK(r.exit_code == 0);
  CAPTURE(r.out);
  auto lines = lines_of(r.out);
  for (const char* name :
       {"Abi10Actuator", "Abi10Sensor", "Abi11Actuator", "Abi11Sensor", "GrownActuator", "GrownSensor"}) {
    CAPTURE(name);
    bool listed = false;
    for (const auto& line : lines) listed |= line.starts_with(std::string(name) + " ");
    CHECK(listed);
  }
  // In module name order.
  CHECK(lines_of(r.err) == std::vector<std::string>{"warning: " + newer_minor_refused(),
                                                    "warning: " + short_class_refused(),
                                                    "warning: " + short_param_refused()});
}
