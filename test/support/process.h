// Test support: run the real binary as a child process and watch its output,
// and temporary directories. Every wait has a deadline; nothing sleeps as a
// substitute for a condition.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sr::test {

using namespace std::chrono_literals;

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, std::string_view content) const;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, std::string_view content);

// A child process with stdout and stderr captured (separately and merged).
class Process {
 public:
  // env: extra NAME=VALUE entries on top of the test's environment.
  // pipe_stdin: the child reads what write_stdin() sends (and sees the end
  // of its input when close_stdin() is called or the Process is destroyed);
  // otherwise it inherits the test's stdin.
  explicit Process(std::vector<std::string> argv, std::vector<std::string> env = {}, bool pipe_stdin = false);
  ~Process();  // SIGKILL and reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signo) const;
  // Writes all of `text` to the child's stdin (pipe_stdin only); false when
  // the child no longer reads it (exited). Never raises SIGPIPE.
  bool write_stdin(std::string_view text);
  void close_stdin();
  // True once `text` has appeared in the merged output (searched from
  // `from`, an offset into output()).
  bool wait_for_output(std::string_view text, std::chrono::milliseconds timeout, size_t from = 0);
  // Exit code (128 + signal number when killed), or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string output() const;  // stdout and stderr as they arrived
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  void read_loop(int out_fd, int err_fd);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<int> exit_code_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string merged_, out_, err_;
  std::thread reader_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs to completion (killed after `timeout`).
RunResult run(std::vector<std::string> argv, std::vector<std::string> env = {},
              std::chrono::milliseconds timeout = 20s);

// Checks `condition` until it holds or the deadline passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Paths of the build under test (compiled in by meson).
std::string binary();           // the sensor_reporter executable
std::string plugin_path();      // the build tree's plugin directories, colon separated
std::string test_plugin_dir();  // test/plugins in the build tree
std::string source_dir();       // the project's source root

}  // namespace sr::test
