// ChildProcess — helper of exec.exec_sensor.ExecSensor and
// exec.exec_actuator.ExecActuator; see child_process.hpp for the contract.
//
//   [Actuator_Say]
//   Class = exec.exec_actuator.ExecActuator
//   Connection = MQTT
//   Command = /usr/local/bin/say
//   CommandSrc = say
//   ResultsDest = say/result
#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace sr::exec {
namespace {

// Per readiness callback: a child that writes without pause must not keep
// the loop from everything else.
constexpr std::size_t kReadBudget = 256 * 1024;
constexpr int kReapWaitMs = 1000;

std::string errno_text(int error_number) { return std::strerror(error_number); }

// posix_spawn's C objects, destroyed on every path out of start().
struct SpawnActions {
  posix_spawn_file_actions_t value;
  SpawnActions() { posix_spawn_file_actions_init(&value); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&value); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};
struct SpawnAttributes {
  posix_spawnattr_t value;
  SpawnAttributes() { posix_spawnattr_init(&value); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&value); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

void make_pipe(sdk::UniqueFd& read_end, sdk::UniqueFd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot create a pipe: " + errno_text(errno));
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  // Only our end: the child's stdout must stay blocking.
  int flags = fcntl(fds[0], F_GETFL);
  if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) != 0)
    throw std::runtime_error("cannot make a pipe non-blocking: " + errno_text(errno));
}

void check(int rc, const char* what) {
  if (rc != 0)
    throw std::runtime_error(std::string("cannot prepare the child: ") + what + ": " + errno_text(rc));
}

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t start = text.find_first_not_of(sdk::kWhitespace);
  while (start != std::string_view::npos) {
    std::size_t end = text.find_first_of(sdk::kWhitespace, start);
    words.emplace_back(text.substr(start, end - start));
    start = text.find_first_not_of(sdk::kWhitespace, end);
  }
  return words;
}

std::string_view strip_trailing_whitespace(std::string_view text) {
  // npos + 1 is 0: all whitespace leaves nothing.
  return text.substr(0, text.find_last_not_of(sdk::kWhitespace) + 1);
}

std::string join_words(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) {
    if (!text.empty()) text += ' ';
    text += word;
  }
  return text;
}

std::string ChildResult::status_text() const {
  if (timed_out) return "timed out";
  if (exited) return fmt::format("exited with code {}", exit_code);
  const char* name = strsignal(signal);
  return fmt::format("was killed by signal {} ({})", signal, name ? name : "unknown");
}

ChildProcess::ChildProcess(sdk::Host host, ChildLimits limits) : host_(host), limits_(limits) {}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  // SIGKILL is prompt unless the leader sits in an uninterruptible sleep;
  // rather leave a zombie than hang the daemon's shutdown.
  if (!exited_ && pidfd_) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    while (::poll(&p, 1, kReapWaitMs) < 0 && errno == EINTR) {
    }
  }
  int status = 0;
  ::waitpid(pid_, &status, WNOHANG);
  release();
}

void ChildProcess::start(const std::vector<std::string>& argv, std::chrono::nanoseconds timeout, Done done) {
  if (running()) throw std::logic_error("a command is still running");
  if (argv.empty()) throw std::runtime_error("cannot run an empty command");

  sdk::UniqueFd out_read, out_write, err_read, err_write;
  make_pipe(out_read, out_write);
  make_pipe(err_read, err_write);

  SpawnActions actions;
  check(posix_spawn_file_actions_addopen(&actions.value, STDIN_FILENO, "/dev/null", O_RDONLY, 0), "stdin");
  check(posix_spawn_file_actions_adddup2(&actions.value, out_write.get(), STDOUT_FILENO), "stdout");
  check(posix_spawn_file_actions_adddup2(&actions.value, err_write.get(), STDERR_FILENO), "stderr");

  SpawnAttributes attributes;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  check(posix_spawnattr_setflags(&attributes.value,
                                 POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
        "flags");
  check(posix_spawnattr_setpgroup(&attributes.value, 0), "process group");
  check(posix_spawnattr_setsigmask(&attributes.value, &none), "signal mask");
  check(posix_spawnattr_setsigdefault(&attributes.value, &all), "signal dispositions");

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  // glibc's posix_spawn returns only after the exec succeeded or failed, so a
  // missing executable is reported here, and the child is already in its
  // own group when we get its pid.
  int rc = posix_spawnp(&pid, args[0], &actions.value, &attributes.value, args.data(), environ);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot run '{}': {}", argv[0], errno_text(rc)));
  // The child holds its own copies: EOF comes when it (and whatever it
  // started) closes them.
  out_write.reset();
  err_write.reset();

  pid_ = pid;
  out_.fd = std::move(out_read);
  err_.fd = std::move(err_read);
  exited_ = timed_out_ = killed_ = false;
  result_ = ChildResult{};
  out_.text.clear();
  err_.text.clear();
  out_.dropped = err_.dropped = 0;
  out_.cap = limits_.stdout_cap;
  err_.cap = limits_.stderr_cap;
  try {
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) throw std::runtime_error("cannot watch the child (pidfd_open): " + errno_text(errno));
    pidfd_.reset(pidfd);
    pid_watch_ = host_.watch_fd(pidfd_.get(), EPOLLIN, [this](uint32_t) { on_exit(); });
    out_.watch = host_.watch_fd(out_.fd.get(), EPOLLIN, [this](uint32_t) { on_readable(out_); });
    err_.watch = host_.watch_fd(err_.fd.get(), EPOLLIN, [this](uint32_t) { on_readable(err_); });
    deadline_ = host_.add_timer(timeout, std::chrono::nanoseconds(0), [this] { on_deadline(); });
  } catch (...) {
    ::kill(-pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    release();
    throw;
  }
  done_ = std::move(done);
}

bool ChildProcess::read_some(Stream& stream, std::size_t budget) {
  char buffer[16384];
  std::size_t total = 0;
  while (total < budget) {
    ssize_t n = ::read(stream.fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    if (n == 0) return true;
    auto got = static_cast<std::size_t>(n);
    total += got;
    std::size_t room = stream.cap > stream.text.size() ? stream.cap - stream.text.size() : 0;
    std::size_t keep = got < room ? got : room;
    stream.text.append(buffer, keep);
    stream.dropped += got - keep;
  }
  return false;
}

void ChildProcess::on_readable(Stream& stream) {
  if (!read_some(stream, kReadBudget)) return;
  stream.watch.reset();
  stream.fd.reset();
  maybe_finish();
}

void ChildProcess::on_exit() {
  // Look, but leave the zombie: it keeps the group id ours until finish().
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
    return;
  exited_ = true;
  if (info.si_code == CLD_EXITED) {
    result_.exited = true;
    result_.exit_code = info.si_status;
  } else {
    result_.signal = info.si_status;
  }
  pid_watch_.reset();
  if (killed_)
    finish();  // whatever still holds the pipes has been SIGKILLed or left the group
  else
    maybe_finish();
}

void ChildProcess::on_deadline() {
  timed_out_ = true;
  ::kill(-pid_, SIGTERM);
  if (limits_.kill_grace.count() <= 0) {
    on_grace_over();
    return;
  }
  grace_ = host_.add_timer(limits_.kill_grace, std::chrono::nanoseconds(0), [this] { on_grace_over(); });
}

void ChildProcess::on_grace_over() {
  ::kill(-pid_, SIGKILL);
  killed_ = true;
  if (exited_) finish();
}

void ChildProcess::maybe_finish() {
  if (exited_ && !out_.fd && !err_.fd) finish();
}

void ChildProcess::finish() {
  for (Stream* stream : {&out_, &err_})
    if (stream->fd) read_some(*stream, kReadBudget);
  // After a timeout nothing of the group may outlive the run, including
  // members that ignored SIGTERM while the leader obeyed it.
  if (timed_out_) ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  ChildResult result = std::move(result_);
  result.timed_out = timed_out_;
  result.out = std::move(out_.text);
  result.out_dropped = out_.dropped;
  result.err = std::move(err_.text);
  result.err_dropped = err_.dropped;
  Done done = std::move(done_);
  release();
  // Last: done may start the next command or destroy this object.
  if (done) done(std::move(result));
}

void ChildProcess::release() {
  pid_watch_.reset();
  out_.watch.reset();
  err_.watch.reset();
  deadline_.cancel();
  grace_.cancel();
  pidfd_.reset();
  out_.fd.reset();
  err_.fd.reset();
  out_.text.clear();
  err_.text.clear();
  done_ = nullptr;
  pid_ = -1;
  exited_ = timed_out_ = killed_ = false;
}

std::optional<std::string> check_command_line(std::string_view command) {
  if (command.find_first_of("\"'") == std::string_view::npos) return std::nullopt;
  return std::string(
      "contains quote characters, but no shell runs the command: they are passed to it as part of the words");
}

}  // namespace sr::exec
