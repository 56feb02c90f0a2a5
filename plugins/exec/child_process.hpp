// ChildProcess — the helper behind both exec classes (not a plugin class of
// its own): exec.exec_sensor.ExecSensor (polling sensor; Script, Destination,
// Poll, Timeout) and exec.exec_actuator.ExecActuator (actuator; Command,
// CommandSrc, Timeout, ResultsDest) each own one.
//
//   [Sensor_Uptime]
//   Class = exec.exec_sensor.ExecSensor
//   Connection = MQTT
//   Script = /usr/bin/uptime -p
//   Destination = uptime
//   Poll = 60
//
// One command at a time, entirely on the host's event loop (no threads):
//  - started with posix_spawnp (PATH search, no shell: argv is passed as is),
//    in a process group of its own, with an empty signal mask and default
//    dispositions (the daemon blocks SIGTERM/SIGINT/SIGHUP and ignores
//    SIGPIPE; a child must not inherit either), stdin from /dev/null;
//  - stdout and stderr are non-blocking pipes watched by the loop; stdout
//    keeps the first 64 KiB and counts the rest, stderr the first 4 KiB;
//  - the exit is seen through a pidfd. The exited leader is not reaped until
//    the run is over, so its pid (= the group id) cannot be recycled while we
//    may still signal the group;
//  - a run ends when the leader has exited and both pipes reached EOF. If that
//    has not happened when the timeout expires (a hung command, or a
//    background grandchild still holding the pipes), the group gets SIGTERM,
//    then SIGKILL after a 0.5 s grace, and the result says timed_out. After a
//    timeout nothing of the group survives: the final SIGKILL is sent even
//    when everything seemed to obey SIGTERM;
//  - destroying a ChildProcess while a command runs SIGKILLs the group at once
//    (no grace: shutdown must stay prompt) and reaps the leader, waiting at
//    most 1 s for it to die.
//
// Lifetime: `done` runs on the loop, at most once per start(), after the
// object has become idle again, so it may start the next command or destroy
// the ChildProcess. It is never called when start() throws, nor after the
// ChildProcess is destroyed.
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sr::exec {

inline constexpr std::size_t kStdoutCap = 64 * 1024;
inline constexpr std::size_t kStderrCap = 4 * 1024;
inline constexpr std::chrono::milliseconds kKillGrace{500};

// Words separated by runs of whitespace (spaces, tabs, newlines). There is no
// quoting: `;`, `|`, `$(...)`, `>` are ordinary characters of a word.
std::vector<std::string> split_words(std::string_view text);
std::string_view strip_trailing_whitespace(std::string_view text);

// Why a command line probably does not do what its author meant, or nullopt:
// quote characters, which would reach the program as part of a word since no
// shell splits the line.
std::optional<std::string> check_command_line(std::string_view command);
// Words joined by single spaces, for log lines.
std::string join_words(const std::vector<std::string>& words);

struct ChildResult {
  bool exited = false;  // ended by exit(); exit_code is meaningful
  int exit_code = -1;
  int signal = 0;          // ended by this signal (exited == false)
  bool timed_out = false;  // the timeout expired and the group was killed
  std::string out;         // the first stdout_cap bytes of stdout
  std::size_t out_dropped = 0;
  std::string err;  // the first stderr_cap bytes of stderr
  std::size_t err_dropped = 0;

  bool success() const { return !timed_out && exited && exit_code == 0; }
  // "exited with code 3", "was killed by signal 9 (Killed)", "timed out".
  std::string status_text() const;
};

struct ChildLimits {
  std::size_t stdout_cap = kStdoutCap;
  std::size_t stderr_cap = kStderrCap;
  std::chrono::nanoseconds kill_grace = kKillGrace;  // SIGTERM → SIGKILL after a timeout
};

class ChildProcess {
 public:
  using Done = std::function<void(ChildResult)>;

  explicit ChildProcess(sdk::Host host, ChildLimits limits = {});
  ~ChildProcess();
  // Callbacks registered with the host point at this object.
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv (argv[0] looked up in PATH). Throws std::runtime_error when
  // nothing could be started ("cannot run '/no/such': No such file or
  // directory"); std::logic_error when a command is still running.
  void start(const std::vector<std::string>& argv, std::chrono::nanoseconds timeout, Done done);

  bool running() const { return pid_ > 0; }
  // The leader's pid, which is also the process group id; -1 when idle.
  pid_t pid() const { return pid_; }

 private:
  struct Stream {
    sdk::UniqueFd fd;
    sdk::FdWatch watch;
    std::string text;
    std::size_t cap = 0;
    std::size_t dropped = 0;
  };

  // Reads what is there (at most `budget` bytes); true at EOF or on error.
  static bool read_some(Stream& stream, std::size_t budget);
  void on_readable(Stream& stream);
  void on_exit();
  void on_deadline();
  void on_grace_over();
  void maybe_finish();
  void finish();
  // Closes every handle and forgets the run (no callback, no reaping).
  void release();

  sdk::Host host_;
  ChildLimits limits_;
  pid_t pid_ = -1;
  sdk::UniqueFd pidfd_;
  Stream out_;
  Stream err_;
  sdk::FdWatch pid_watch_;
  sdk::Timer deadline_;
  sdk::Timer grace_;
  Done done_;
  bool exited_ = false;
  bool timed_out_ = false;
  bool killed_ = false;
  ChildResult result_;
};

}  // namespace sr::exec
