#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace sr::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/sr-test-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, std::string_view content) const {
  std::string full = file(name);
  write_file(full, content);
  return full;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

Process::Process(std::vector<std::string> argv, std::vector<std::string> env, bool pipe_stdin) {
  int out_pipe[2], err_pipe[2], in_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  // Close-on-exec: no other child (the daemon under test) inherits the
  // write end, so closing it here really ends the child's input.
  if (pipe_stdin && pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  // Environment: ours, with `env` entries replacing same-named ones.
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    vars[entry.substr(0, entry.find('='))] = entry;
  }
  // The build tree's plugins, so a test binary also works outside meson test.
  vars["SENSOR_REPORTER_PLUGIN_PATH"] = "SENSOR_REPORTER_PLUGIN_PATH=" + plugin_path();
  for (const auto& entry : env) vars[entry.substr(0, entry.find('='))] = entry;
  std::vector<std::string> env_strings;
  for (auto& [name, entry] : vars) env_strings.push_back(entry);
  std::vector<char*> envp, args;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (pipe_stdin) dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    // The test runner may block signals; the daemon must start with defaults.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(args[0], args.data(), envp.data());
    dprintf(STDERR_FILENO, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pipe_stdin) {
    close(in_pipe[0]);
    stdin_fd_ = in_pipe[1];
  }
  reader_ = std::thread([this, out = out_pipe[0], err = err_pipe[0]] { read_loop(out, err); });
}

Process::~Process() {
  close_stdin();
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  if (reader_.joinable()) reader_.join();
}

void Process::read_loop(int out_fd, int err_fd) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  char buffer[4096];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::lock_guard lock(mutex_);
      (i == 0 ? out_ : err_).append(buffer, static_cast<size_t>(n));
      merged_.append(buffer, static_cast<size_t>(n));
      changed_.notify_all();
    }
  }
}

bool Process::write_stdin(std::string_view text) {
  if (stdin_fd_ < 0) return false;
  while (!text.empty()) {
    // MSG_NOSIGNAL exists for sockets only: a write to a pipe whose reader
    // is gone raises SIGPIPE, so this thread blocks it around the write and
    // takes the pending one away before unblocking.
    sigset_t pipe_only, before;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
    ssize_t n = ::write(stdin_fd_, text.data(), text.size());
    int error = errno;
    if (n < 0 && error == EPIPE) {
      timespec zero{};
      sigtimedwait(&pipe_only, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
    if (n < 0 && error == EINTR) continue;
    if (n < 0) return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Process::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void Process::signal(int signo) const {
  if (!exit_code_) ::kill(pid_, signo);
}

bool Process::wait_for_output(std::string_view text, std::chrono::milliseconds timeout, size_t from) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(
      lock, timeout, [&] { return merged_.size() > from && merged_.find(text, from) != std::string::npos; });
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (reader_.joinable()) reader_.join();  // collect the last output
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);  // polling interval of a deadline wait
  }
}

std::string Process::output() const {
  std::lock_guard lock(mutex_);
  return merged_;
}
std::string Process::stdout_text() const {
  std::lock_guard lock(mutex_);
  return out_;
}
std::string Process::stderr_text() const {
  std::lock_guard lock(mutex_);
  return err_;
}

RunResult run(std::vector<std::string> argv, std::vector<std::string> env,
              std::chrono::milliseconds timeout) {
  Process process(std::move(argv), std::move(env));
  RunResult result;
  auto code = process.wait_exit(timeout);
  if (!code) {
    process.signal(SIGKILL);
    code = process.wait_exit(10s);
  }
  result.exit_code = code.value_or(-1);
  result.out = process.stdout_text();
  result.err = process.stderr_text();
  return result;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling interval of a deadline wait
  }
  return true;
}

std::string binary() { return SR_TEST_BINARY; }
std::string plugin_path() { return SR_TEST_PLUGIN_PATH; }
std::string test_plugin_dir() { return SR_TEST_PLUGIN_DIR; }
std::string source_dir() { return SR_TEST_SOURCE_DIR; }

}  // namespace sr::test
