// Unit tests for the exec module (SPEC 7.2, 7.3): the ChildProcess helper,
// exec.exec_sensor.ExecSensor and exec.exec_actuator.ExecActuator, driven by
// a real sr::EventLoop through a host table whose timers and fd watches are
// the loop's own. Commands are real processes: small scripts written into a
// TempDir. Nothing sleeps to synchronise: every wait runs the loop until a
// condition holds or a deadline passes.
#include "exec/child_process.hpp"
#include "exec/exec_actuator.hpp"
#include "exec/exec_sensor.hpp"

#include "loop/event_loop.h"
#include "support/doctest_lines.h"
#include "support/process.h"
#include "support/strict_host.h"

#include <sensor_reporter/sdk.hpp>

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using sr::exec::ChildProcess;
using sr::exec::ChildResult;
using sr::exec::ExecActuator;
using sr::exec::ExecSensor;
using sr::test::TempDir;

namespace {

struct Published {
  std::string destination;
  std::string payload;
  bool operator==(const Published&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Published& p) {
  return out << "{" << p.destination << ", " << p.payload << "}";
}

}  // namespace

template <>
struct doctest::StringMaker<std::vector<Published>> {
  static doctest::String convert(const std::vector<Published>& items) {
    std::string text = "{";
    for (const auto& p : items) text += " {" + p.destination + ", " + p.payload.substr(0, 80) + "}";
    return (text + " }").c_str();
  }
};

namespace {

struct Logged {
  int level;
  std::string message;
};

// The host services, backed by a real event loop. Services an exec plugin
// has no business calling fail the test.
struct LoopHost {
  sr::EventLoop loop;
  std::vector<Published> published;
  std::vector<Logged> logs;
  std::vector<std::string> subscribed;
  int poll_done_calls = 0;
  int poll_failed_calls = 0;  // of those, ended as failed (poll_end)

  sr_host_ctx* ctx() { return reinterpret_cast<sr_host_ctx*>(this); }
  static LoopHost& of(sr_host_ctx* ctx) { return *reinterpret_cast<LoopHost*>(ctx); }
  sr::sdk::Host host();

  // Runs the loop until `condition` holds; false when the deadline passed.
  bool run_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      loop.run_once(20);
    }
    return true;
  }
  std::string log_text() const {
    std::string text;
    for (const auto& l : logs) text += l.message + "\n";
    return text;
  }
  bool logged(int level, const std::string& part) const {
    for (const auto& l : logs)
      if (l.level == level && l.message.find(part) != std::string::npos) return true;
    return false;
  }
};

const sr_host_api kLoopApi = [] {
  sr_host_api api = sr::test::strict_host_api();
  api.log = [](sr_host_ctx* ctx, int level, const char* msg, size_t len) {
    LoopHost::of(ctx).logs.push_back({level, std::string(msg, len)});
  };
  api.publish = [](sr_host_ctx* ctx, const char* destination, const char* payload, size_t len, uint32_t) {
    LoopHost::of(ctx).published.push_back({destination, std::string(payload, len)});
  };
  api.subscribe = [](sr_host_ctx* ctx, const char* source) {
    LoopHost::of(ctx).subscribed.emplace_back(source);
    return SR_OK;
  };
  api.poll_done = [](sr_host_ctx* ctx) { ++LoopHost::of(ctx).poll_done_calls; };
  api.poll_end = [](sr_host_ctx* ctx, int status) {
    ++LoopHost::of(ctx).poll_done_calls;
    if (status != SR_OK) ++LoopHost::of(ctx).poll_failed_calls;
  };
  sr::test::serve_loop<LoopHost>(api);
  api.monotonic_ns = [](sr_host_ctx*) { return sr::EventLoop::monotonic_ns(); };
  api.section_name = [](sr_host_ctx*) { return "Exec_Test"; };
  return api;
}();

sr::sdk::Host LoopHost::host() { return sr::sdk::Host(&kLoopApi, ctx()); }

// Orphaned members of a killed group are reparented to us (not to an init
// that may reap them late or never), so that a zombie is not mistaken for a
// survivor.
void become_subreaper() { REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0); }

// No process of the group is left (zombies reparented to us are reaped
// first: only live processes count).
bool group_gone(pid_t pgid) {
  while (waitpid(-pgid, nullptr, WNOHANG) > 0) {
  }
  return kill(-pgid, 0) == -1 && errno == ESRCH;
}

std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.write(name, "#!/bin/sh\n" + body);
  REQUIRE(chmod(path.c_str(), 0755) == 0);
  return path;
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

// Writes its arguments one per line to `file` (what arrived as argv, exactly),
// then prints "ran".
std::string args_script(const TempDir& dir, const std::string& file) {
  return script(dir, "args.sh",
                "for arg in \"$@\"; do printf '%s\\n' \"$arg\"; done > '" + file + "'\necho ran\n");
}

// A group whose leader and its background child ignore SIGTERM; once both
// exist the leader writes its pid (= the group id) to `pid_file`.
std::string stubborn_script(const TempDir& dir, const std::string& pid_file) {
  return script(dir, "stubborn.sh",
                "trap '' TERM\nsleep 100 &\necho $$ > '" + pid_file + ".new'\nmv '" + pid_file + ".new' '" +
                    pid_file + "'\nsleep 100\n");
}

pid_t read_pid(const std::string& file) {
  std::string text = sr::test::read_file(file);
  return text.empty() ? -1 : static_cast<pid_t>(std::stol(text));
}

// ChildProcess::start and a place for the result.
struct Run {
  std::optional<ChildResult> result;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point ended;
  ChildProcess::Done done() {
    return [this](ChildResult r) {
      result = std::move(r);
      ended = std::chrono::steady_clock::now();
    };
  }
  std::chrono::duration<double> elapsed() const { return ended - started; }
};

// An ExecSensor or ExecActuator created through the SDK's trampolines, as the
// host creates it.
template <typename T>
class Instance {
 public:
  static constexpr sr_class_def def = sr::sdk::detail::make_class_def<T>();
  Instance(LoopHost& host, std::vector<std::pair<std::string, std::string>> params)
      : params_(std::move(params)) {
    std::vector<sr_param_value> values;
    for (const auto& [key, value] : params_) values.push_back({key.c_str(), value.c_str()});
    char err[256] = {};
    instance_ = def.create(&kLoopApi, host.ctx(), values.data(), values.size(), err, sizeof err);
    REQUIRE_MESSAGE(instance_ != nullptr, err);
  }
  ~Instance() { destroy(); }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  void destroy() {
    if (instance_) def.destroy(instance_);
    instance_ = nullptr;
  }
  int poll() { return def.poll(instance_); }
  int refresh() { return def.refresh(instance_); }
  int command(const std::string& payload) {
    return def.on_command(instance_, "cmd", payload.data(), payload.size());
  }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
  void* instance_ = nullptr;
};

// What T's check() reports through its descriptor, as "level key: message".
template <typename T>
std::vector<std::string> check_report(const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<sr_param_value> values;
  for (const auto& [key, value] : params) values.push_back({key.c_str(), value.c_str()});
  std::vector<std::string> lines;
  REQUIRE((Instance<T>::def.check != nullptr));
  int rc = Instance<T>::def.check(
      values.data(), values.size(),
      [](void* ctx, int level, const char* key, const char* message) {
        static_cast<std::vector<std::string>*>(ctx)->push_back(
            fmt::format("{} {}: {}", level, key ? key : "", message));
      },
      &lines);
  CHECK(rc == SR_OK);  // a warning does not fail the check
  return lines;
}

}  // namespace

// ---------------------------------------------------------------------------
// Command lines

TEST_CASE("split_words splits on runs of spaces, tabs and newlines, and nothing else") {
  using sr::exec::split_words;
  CHECK(split_words("  echo \t hello\n\nworld  ") == std::vector<std::string>{"echo", "hello", "world"});
  CHECK(split_words("") == std::vector<std::string>{});
  CHECK(split_words(" \t\n ") == std::vector<std::string>{});
  CHECK(split_words("a;b 'c d' \"e\" $(x) >y \\") ==
        std::vector<std::string>{"a;b", "'c", "d'", "\"e\"", "$(x)", ">y", "\\"});
}

TEST_CASE("strip_trailing_whitespace keeps leading and inner whitespace") {
  using sr::exec::strip_trailing_whitespace;
  CHECK(strip_trailing_whitespace("  a b \t\n\r\n ") == "  a b");
  CHECK(strip_trailing_whitespace(" \n") == "");
}

// ---------------------------------------------------------------------------
// ChildProcess

TEST_CASE("ChildProcess reports stdout, stderr and the exit code, and leaves nothing on the loop") {
  LoopHost host;
  Run run;
  {
    ChildProcess child(host.host());
    child.start({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10s, run.done());
    CHECK(child.running());
    REQUIRE(host.run_until([&] { return run.result.has_value(); }));
    CHECK_FALSE(child.running());
  }
  CHECK(run.result->exited);
  CHECK(run.result->exit_code == 3);
  CHECK_FALSE(run.result->timed_out);
  CHECK(run.result->out == "out\n");
  CHECK(run.result->err == "err\n");
  CHECK(run.result->status_text() == "exited with code 3");
  CHECK_FALSE(run.result->success());
  CHECK(host.loop.watch_count() == 0);
  CHECK(host.loop.timer_count() == 0);
}

TEST_CASE("ChildProcess reports a child killed by a signal") {
  LoopHost host;
  Run run;
  ChildProcess child(host.host());
  child.start({"sh", "-c", "kill -KILL $$"}, 10s, run.done());
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  CHECK_FALSE(run.result->exited);
  CHECK(run.result->signal == SIGKILL);
  CHECK(run.result->status_text() == "was killed by signal 9 (Killed)");
}

TEST_CASE("ChildProcess: a missing executable is a clear error at start, and nothing is left behind") {
  LoopHost host;
  ChildProcess child(host.host());
  bool called = false;
  CHECK_THROWS_WITH(child.start({"/no/such"}, 10s, [&](ChildResult) { called = true; }),
                    "cannot run '/no/such': No such file or directory");
  CHECK_THROWS_WITH(child.start({"no-such-program-in-path"}, 10s, [&](ChildResult) { called = true; }),
                    "cannot run 'no-such-program-in-path': No such file or directory");
  CHECK_FALSE(child.running());
  CHECK(host.loop.watch_count() == 0);
  CHECK(host.loop.timer_count() == 0);
  // Still usable afterwards.
  Run run;
  child.start({"true"}, 10s, run.done());
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  CHECK(run.result->success());
  CHECK_FALSE(called);
}

TEST_CASE("ChildProcess: a file without execute permission cannot run") {
  LoopHost host;
  TempDir dir;
  std::string path = dir.write("plain.txt", "echo hi\n");
  ChildProcess child(host.host());
  CHECK_THROWS_WITH(child.start({path}, 10s, [](ChildResult) {}),
                    ("cannot run '" + path + "': Permission denied").c_str());
}

TEST_CASE("ChildProcess starts the child in its own process group with stdin from /dev/null") {
  LoopHost host;
  Run run;
  ChildProcess child(host.host());
  // cat would wait forever on an inherited terminal or pipe.
  child.start({"cat"}, 10s, run.done());
  pid_t pid = child.pid();
  REQUIRE(pid > 0);
  CHECK(getpgid(pid) == pid);
  CHECK(getpgid(pid) != getpgrp());
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  CHECK(run.result->success());
  CHECK(run.result->out == "");
}

TEST_CASE("ChildProcess: the child starts with no blocked and no ignored signals, whatever the daemon has") {
  LoopHost host;
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&blocked, s);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &blocked, &previous) == 0);
  auto previous_pipe = std::signal(SIGPIPE, SIG_IGN);
  Run run;
  ChildProcess child(host.host());
  child.start({"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"}, 10s, run.done());
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  std::signal(SIGPIPE, previous_pipe);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  // Signals 1..31: glibc's posix_spawn leaves its two internal real-time
  // signals (32, 33) ignored, which no program relies on.
  auto mask_of = [&](const std::string& key) {
    size_t at = run.result->out.find(key + ":\t");
    REQUIRE(at != std::string::npos);
    return std::stoull(run.result->out.substr(at + key.size() + 2, 16), nullptr, 16) & 0x7fffffffull;
  };
  CHECK(mask_of("SigBlk") == 0);
  CHECK(mask_of("SigIgn") == 0);
}

TEST_CASE(
    "ChildProcess timeout: SIGTERM, then SIGKILL after the grace, and no process of the group remains") {
  become_subreaper();
  LoopHost host;
  Run run;
  ChildProcess child(host.host());
  child.start({"sh", "-c", "trap '' TERM; sleep 100 & sleep 100"}, 200ms, run.done());
  pid_t pgid = child.pid();
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  CHECK(run.result->timed_out);
  CHECK(run.result->status_text() == "timed out");
  CHECK_FALSE(run.result->success());
  // The group ignored SIGTERM: only the SIGKILL after the grace ended it.
  CHECK(run.elapsed().count() >= 0.2 + 0.5);
  CHECK(run.elapsed().count() < 5);
  CHECK(sr::test::wait_until([&] { return group_gone(pgid); }, 5s));
  CHECK(host.loop.watch_count() == 0);
  CHECK(host.loop.timer_count() == 0);
}

TEST_CASE("ChildProcess timeout: a group that obeys SIGTERM ends without waiting for the grace") {
  LoopHost host;
  Run run;
  ChildProcess child(host.host(), sr::exec::ChildLimits{sr::exec::kStdoutCap, sr::exec::kStderrCap, 30s});
  child.start({"sleep", "100"}, 100ms, run.done());
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  CHECK(run.result->timed_out);
  CHECK(run.elapsed().count() < 10);  // far below the 30 s grace
}

TEST_CASE("ChildProcess: a background child still holding stdout after the leader exited ends in a timeout") {
  become_subreaper();
  LoopHost host;
  Run run;
  ChildProcess child(host.host());
  child.start({"sh", "-c", "trap '' TERM; sleep 100 & echo hi"}, 300ms, run.done());
  pid_t pgid = child.pid();
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  CHECK(run.result->timed_out);
  CHECK(run.result->out == "hi\n");
  CHECK(sr::test::wait_until([&] { return group_gone(pgid); }, 5s));
}

TEST_CASE("ChildProcess keeps the first 64 KiB of stdout and counts the rest") {
  LoopHost host;
  TempDir dir;
  std::string big = script(dir, "big.sh", "head -c 200000 /dev/zero | tr '\\0' x\necho tail >&2\n");
  Run run;
  ChildProcess child(host.host());
  child.start({big}, 10s, run.done());
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  CHECK(run.result->success());
  CHECK(run.result->out == std::string(65536, 'x'));
  CHECK(run.result->out_dropped == 200000 - 65536);
  CHECK(run.result->err == "tail\n");
}

TEST_CASE("ChildProcess: endless output neither blocks the loop nor grows memory; the timeout still fires") {
  LoopHost host;
  Run run;
  ChildProcess child(host.host());
  child.start({"yes"}, 300ms, run.done());
  bool timer_fired = false;
  host.loop.add_timer(50'000'000, 0, [&] { timer_fired = true; });
  REQUIRE(host.run_until([&] { return run.result.has_value(); }));
  CHECK(timer_fired);
  CHECK(run.result->timed_out);
  CHECK(run.result->out.size() == 65536);
  CHECK(run.result->out.substr(0, 4) == "y\ny\n");
  CHECK(run.result->out_dropped > 0);
}

TEST_CASE("ChildProcess: destroying it while a command runs kills the whole group and reaps the leader") {
  become_subreaper();
  LoopHost host;
  TempDir dir;
  std::string stubborn = stubborn_script(dir, dir.file("pid"));
  pid_t pgid = -1;
  {
    ChildProcess child(host.host());
    child.start({stubborn}, 60s, [](ChildResult) { FAIL_CHECK("done must not run after destruction"); });
    pgid = child.pid();
    // The background grandchild exists before the destructor runs.
    REQUIRE(host.run_until([&] { return read_pid(dir.file("pid")) == pgid; }));
  }
  CHECK(host.loop.watch_count() == 0);
  CHECK(host.loop.timer_count() == 0);
  // Reaped by the destructor: no zombie leader left to us.
  errno = 0;
  CHECK(waitpid(pgid, nullptr, WNOHANG) == -1);
  CHECK(errno == ECHILD);
  CHECK(sr::test::wait_until([&] { return group_gone(pgid); }, 5s));
}

TEST_CASE("ChildProcess: done may start the next command on the same object") {
  LoopHost host;
  ChildProcess child(host.host());
  std::vector<std::string> outputs;
  child.start({"echo", "first"}, 10s, [&](ChildResult first) {
    outputs.push_back(first.out);
    child.start({"echo", "second"}, 10s, [&](ChildResult second) { outputs.push_back(second.out); });
  });
  REQUIRE(host.run_until([&] { return outputs.size() == 2; }));
  CHECK(outputs == std::vector<std::string>{"first\n", "second\n"});
  CHECK_FALSE(child.running());
  CHECK(host.loop.watch_count() == 0);
}

TEST_CASE("ChildProcess refuses a second start while a command runs") {
  LoopHost host;
  Run run;
  ChildProcess child(host.host());
  child.start({"sleep", "100"}, 10s, run.done());
  CHECK_THROWS_AS(child.start({"true"}, 10s, [](ChildResult) {}), std::logic_error);
  CHECK(child.running());
}

// ---------------------------------------------------------------------------
// ExecSensor

TEST_CASE(
    "ExecSensor's table: Script, Destination and Poll required, Timeout optional; it publishes Destination") {
  const auto& def = Instance<ExecSensor>::def;
  CHECK(def.kind == SR_KIND_SENSOR);
  CHECK(std::string(def.path) == "exec.exec_sensor.ExecSensor");
  std::vector<std::string> names;
  for (const sr_param_def* p = def.params; p->name; ++p) names.emplace_back(p->name);
  CHECK(names == std::vector<std::string>{"Script", "Destination", "Poll", "Timeout"});
  CHECK(def.params[0].flags == (SR_PARAM_REQUIRED | SR_PARAM_NOT_EMPTY));
  CHECK((def.check != nullptr));
  CHECK(def.params[2].type == SR_PARAM_FLOAT);
  CHECK((def.params[2].flags & SR_PARAM_REQUIRED) != 0);
  CHECK(def.params[2].min > 0);
  CHECK((def.params[3].flags & SR_PARAM_REQUIRED) == 0);
  CHECK(def.params[3].default_value == nullptr);
  REQUIRE(def.ios != nullptr);
  CHECK(std::string(def.ios[0].key) == "Destination");
  CHECK(def.ios[0].direction == SR_IO_PUBLISHES);
  CHECK(def.ios[1].key == nullptr);
}

TEST_CASE("check() warns of quotes in Script and Command, which no shell removes, and of nothing else") {
  auto quotes = [](const char* key) {
    return std::vector<std::string>{fmt::format(
        "{} {}: contains quote characters, but no shell runs the command: they are passed to it as part of "
        "the words",
        static_cast<int>(SR_LOG_WARNING), key)};
  };
  CHECK(check_report<ExecSensor>({{"Script", "echo \"a b\""}, {"Destination", "out"}, {"Poll", "60"}}) ==
        quotes("Script"));
  CHECK(check_report<ExecSensor>({{"Script", "echo a b"}, {"Destination", "out"}, {"Poll", "60"}}).empty());
  // No Script at all: the host reports it missing; check() has nothing to add.
  CHECK(check_report<ExecSensor>({{"Destination", "out"}, {"Poll", "60"}}).empty());
  CHECK(check_report<ExecActuator>({{"Command", "say 'hi'"}, {"CommandSrc", "cmd"}}) == quotes("Command"));
  CHECK(check_report<ExecActuator>({{"Command", "say hi"}, {"CommandSrc", "cmd"}}).empty());
  CHECK(check_report<ExecActuator>({{"CommandSrc", "cmd"}}).empty());
}

TEST_CASE(
    "ExecSensor runs a multi-word Script (runs of blanks split it) and publishes stdout without trailing "
    "whitespace") {
  LoopHost host;
  Instance<ExecSensor> sensor(
      host,
      {{"Script", "printf  %s|%s|\\n\\t\\n  \t one \t  two  "}, {"Destination", "out"}, {"Poll", "60"}});
  CHECK(sensor.refresh() == SR_OK);
  CHECK(host.published.empty());  // nothing before the first run
  CHECK(sensor.poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return host.poll_done_calls == 1; }));
  CHECK(host.published == std::vector<Published>{{"out", "one|two|"}});
  CHECK(sensor.refresh() == SR_OK);
  CHECK(host.published == std::vector<Published>{{"out", "one|two|"}, {"out", "one|two|"}});
  CHECK(host.logs.empty());
}

TEST_CASE(
    "ExecSensor on a non-zero exit logs the code and stderr and publishes nothing, not the previous value") {
  LoopHost host;
  TempDir dir;
  std::string flaky = script(dir, "flaky.sh",
                             "if [ -e '" + dir.file("fail") +
                                 "' ]; then echo partial; echo boom >&2; exit 3; fi\n"
                                 "echo good\n");
  Instance<ExecSensor> sensor(host, {{"Script", flaky}, {"Destination", "out"}, {"Poll", "60"}});
  CHECK(sensor.poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return host.poll_done_calls == 1; }));
  CHECK(host.published == std::vector<Published>{{"out", "good"}});
  CHECK(host.poll_failed_calls == 0);

  dir.write("fail", "");
  CHECK(sensor.poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return host.poll_done_calls == 2; }));
  CHECK(host.poll_failed_calls == 1);  // no reading: the host counts a failed poll
  CHECK(host.published == std::vector<Published>{{"out", "good"}});
  REQUIRE(host.logs.size() == 1);
  CHECK(host.logs[0].level == SR_LOG_ERROR);
  CHECK(host.logs[0].message == "'" + flaky + "' exited with code 3; nothing published; stderr: boom");
  // A refresh still offers the last value that was actually published.
  sensor.refresh();
  CHECK(host.published == std::vector<Published>{{"out", "good"}, {"out", "good"}});
}

TEST_CASE("ExecSensor timeout: the group is killed (TERM ignored) and ERROR is published") {
  become_subreaper();
  LoopHost host;
  TempDir dir;
  std::string stubborn = stubborn_script(dir, dir.file("pid"));
  Instance<ExecSensor> sensor(
      host, {{"Script", stubborn}, {"Destination", "out"}, {"Poll", "60"}, {"Timeout", "0.3"}});
  CHECK(sensor.poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return host.poll_done_calls == 1; }));
  CHECK(host.poll_failed_calls == 1);
  CHECK(host.published == std::vector<Published>{{"out", "ERROR"}});
  CHECK(host.logged(SR_LOG_ERROR,
                    "'" + stubborn + "' did not finish within 0.3 s; its process group was killed"));
  pid_t pgid = read_pid(dir.file("pid"));
  REQUIRE(pgid > 0);
  CHECK(sr::test::wait_until([&] { return group_gone(pgid); }, 5s));
  sensor.refresh();
  CHECK(host.published == std::vector<Published>{{"out", "ERROR"}, {"out", "ERROR"}});
}

TEST_CASE("ExecSensor without Timeout times out after Poll seconds") {
  LoopHost host;
  Instance<ExecSensor> sensor(host, {{"Script", "sleep 100"}, {"Destination", "out"}, {"Poll", "0.2"}});
  CHECK(sensor.poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return host.poll_done_calls == 1; }));
  CHECK(host.poll_failed_calls == 1);
  CHECK(host.published == std::vector<Published>{{"out", "ERROR"}});
  CHECK(host.logged(SR_LOG_ERROR, "'sleep 100' did not finish within 0.2 s"));
}

TEST_CASE("ExecSensor publishes the first 64 KiB of a huge output and logs how much was dropped") {
  LoopHost host;
  TempDir dir;
  std::string big = script(dir, "big.sh", "head -c 200000 /dev/zero | tr '\\0' x\n");
  Instance<ExecSensor> sensor(host, {{"Script", big}, {"Destination", "out"}, {"Poll", "60"}});
  CHECK(sensor.poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return host.poll_done_calls == 1; }));
  REQUIRE(host.published.size() == 1);
  CHECK(host.published[0].payload == std::string(65536, 'x'));
  REQUIRE(host.logs.size() == 1);
  CHECK(host.logs[0].level == SR_LOG_WARNING);
  CHECK(host.logs[0].message ==
        "'" + big + "' wrote 200000 bytes to stdout; published the first 65536, dropped 134464");
}

TEST_CASE("ExecSensor: shell metacharacters in Script are literal arguments") {
  LoopHost host;
  TempDir dir;
  std::string args = args_script(dir, dir.file("args.txt"));
  std::string script_line =
      args + " ; touch " + dir.file("x") + " | $(touch " + dir.file("y") + ") > " + dir.file("z");
  Instance<ExecSensor> sensor(host, {{"Script", script_line}, {"Destination", "out"}, {"Poll", "60"}});
  CHECK(sensor.poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return host.poll_done_calls == 1; }));
  CHECK(host.published == std::vector<Published>{{"out", "ran"}});
  CHECK(sr::test::read_file(dir.file("args.txt")) ==
        ";\ntouch\n" + dir.file("x") + "\n|\n$(touch\n" + dir.file("y") + ")\n>\n" + dir.file("z") + "\n");
  CHECK_FALSE(exists(dir.file("x")));
  CHECK_FALSE(exists(dir.file("y")));
  CHECK_FALSE(exists(dir.file("z")));
}

TEST_CASE("ExecSensor with a missing executable logs a clear error, publishes nothing, fails the poll and keeps polling") {
  LoopHost host;
  Instance<ExecSensor> sensor(host, {{"Script", "/no/such arg"}, {"Destination", "out"}, {"Poll", "60"}});
  CHECK(sensor.poll() == SR_ERROR);  // failed, nothing pending: the host need not wait
  CHECK(sensor.poll() == SR_ERROR);
  CHECK(host.published.empty());
  REQUIRE(host.logs.size() == 2);
  CHECK(host.logs[0].level == SR_LOG_ERROR);
  CHECK(host.logs[0].message == "cannot run '/no/such': No such file or directory");
  CHECK(host.poll_done_calls == 0);
  CHECK(host.loop.watch_count() == 0);
  CHECK(host.loop.timer_count() == 0);
}

TEST_CASE("ExecSensor logs stderr of a successful run as a warning and still publishes") {
  LoopHost host;
  TempDir dir;
  std::string noisy = script(dir, "noisy.sh", "echo warn >&2\necho value\n");
  Instance<ExecSensor> noisy_sensor(host, {{"Script", noisy}, {"Destination", "out"}, {"Poll", "60"}});
  CHECK(noisy_sensor.poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return host.poll_done_calls == 1; }));
  CHECK(host.published == std::vector<Published>{{"out", "value"}});
  REQUIRE(host.logs.size() == 1);
  CHECK(host.logs[0].level == SR_LOG_WARNING);
  CHECK(host.logs[0].message == "'" + noisy + "' stderr: warn");
}

TEST_CASE("ExecSensor destroyed while its command runs kills the command's group") {
  become_subreaper();
  LoopHost host;
  TempDir dir;
  auto sensor = std::make_unique<Instance<ExecSensor>>(
      host, std::vector<std::pair<std::string, std::string>>{
                {"Script", stubborn_script(dir, dir.file("pid"))}, {"Destination", "out"}, {"Poll", "60"}});
  CHECK(sensor->poll() == SR_POLL_PENDING);
  REQUIRE(host.run_until([&] { return read_pid(dir.file("pid")) > 0; }));
  pid_t pgid = read_pid(dir.file("pid"));
  sensor.reset();
  CHECK(host.loop.watch_count() == 0);
  CHECK(host.loop.timer_count() == 0);
  CHECK(sr::test::wait_until([&] { return group_gone(pgid); }, 5s));
  CHECK(host.published.empty());
  CHECK(host.poll_done_calls == 0);
}

TEST_CASE("ExecSensor refuses an empty Script") {
  LoopHost host;
  std::vector<sr_param_value> values{{"Script", "  \t "}, {"Destination", "out"}, {"Poll", "60"}};
  char err[128] = {};
  CHECK(Instance<ExecSensor>::def.create(&kLoopApi, host.ctx(), values.data(), values.size(), err,
                                         sizeof err) == nullptr);
  CHECK(std::string(err) == "Script is empty");
}

// ---------------------------------------------------------------------------
// ExecActuator

TEST_CASE("ExecActuator's table: Command and CommandSrc required, Timeout 10, ResultsDest optional") {
  const auto& def = Instance<ExecActuator>::def;
  CHECK(def.kind == SR_KIND_ACTUATOR);
  CHECK(std::string(def.path) == "exec.exec_actuator.ExecActuator");
  std::vector<std::string> names;
  for (const sr_param_def* p = def.params; p->name; ++p) names.emplace_back(p->name);
  CHECK(names == std::vector<std::string>{"Command", "CommandSrc", "Timeout", "ResultsDest"});
  CHECK(std::string(def.params[2].default_value) == "10");
  CHECK((def.params[3].flags & SR_PARAM_REQUIRED) == 0);
  REQUIRE(def.ios != nullptr);
  CHECK(std::string(def.ios[0].key) == "CommandSrc");
  CHECK(def.ios[0].direction == SR_IO_ACCEPTS);
  CHECK(std::string(def.ios[1].key) == "ResultsDest");
  CHECK(def.ios[1].direction == SR_IO_PUBLISHES);
}

TEST_CASE("ExecActuator: a payload full of shell metacharacters arrives as literal arguments") {
  LoopHost host;
  TempDir dir;
  std::string args = args_script(dir, dir.file("args.txt"));
  Instance<ExecActuator> actuator(
      host, {{"Command", args + " fixed"}, {"CommandSrc", "cmd"}, {"ResultsDest", "result"}});
  CHECK(host.subscribed == std::vector<std::string>{"cmd"});
  std::string payload = "; rm -rf / | $(touch " + dir.file("x") + ") > " + dir.file("y") + " && \\";
  CHECK(actuator.command(payload) == SR_OK);
  REQUIRE(host.run_until([&] { return host.published.size() == 1; }));
  CHECK(host.published == std::vector<Published>{{"result", "ran"}});
  CHECK(sr::test::read_file(dir.file("args.txt")) ==
        "fixed\n;\nrm\n-rf\n/\n|\n$(touch\n" + dir.file("x") + ")\n>\n" + dir.file("y") + "\n&&\n\\\n");
  CHECK_FALSE(exists(dir.file("x")));
  CHECK_FALSE(exists(dir.file("y")));
}

TEST_CASE("ExecActuator: NA, an empty payload and blanks add no arguments") {
  LoopHost host;
  TempDir dir;
  std::string args = args_script(dir, dir.file("args.txt"));
  Instance<ExecActuator> actuator(
      host, {{"Command", args + " fixed"}, {"CommandSrc", "cmd"}, {"ResultsDest", "result"}});
  for (std::string payload : {"NA", "", " \t ", " NA ", "\r\nNA\t\f"}) {
    CAPTURE(payload);
    dir.write("args.txt", "stale\n");
    size_t before = host.published.size();
    actuator.command(payload);
    REQUIRE(host.run_until([&] { return host.published.size() == before + 1; }));
    CHECK(sr::test::read_file(dir.file("args.txt")) == "fixed\n");
  }
  // But NA inside other words is an argument like any other.
  actuator.command("NA NA");
  REQUIRE(host.run_until([&] { return host.published.size() == 6; }));
  CHECK(sr::test::read_file(dir.file("args.txt")) == "fixed\nNA\nNA\n");
}

TEST_CASE("ExecActuator publishes ERROR on a non-zero exit, a timeout and a command that cannot run") {
  become_subreaper();
  LoopHost host;
  TempDir dir;
  std::string tool = script(dir, "tool.sh",
                            "case \"$1\" in\n"
                            "  fail) echo broken >&2; exit 2;;\n"
                            "  hang) echo $$ > '" +
                                dir.file("pid") +
                                "'; trap '' TERM; sleep 100;;\n"
                                "  *) echo \"ok $1\";;\n"
                                "esac\n");
  Instance<ExecActuator> actuator(
      host, {{"Command", tool}, {"CommandSrc", "cmd"}, {"ResultsDest", "result"}, {"Timeout", "0.3"}});
  actuator.command("fail");
  REQUIRE(host.run_until([&] { return host.published.size() == 1; }));
  CHECK(host.published.back() == Published{"result", "ERROR"});
  CHECK(host.logged(SR_LOG_ERROR, "'" + tool + " fail' exited with code 2; stderr: broken"));

  actuator.command("hang");
  REQUIRE(host.run_until([&] { return host.published.size() == 2; }));
  CHECK(host.published.back() == Published{"result", "ERROR"});
  CHECK(host.logged(SR_LOG_ERROR,
                    "'" + tool + " hang' did not finish within 0.3 s; its process group was killed"));
  pid_t pgid = read_pid(dir.file("pid"));
  REQUIRE(pgid > 0);
  CHECK(sr::test::wait_until([&] { return group_gone(pgid); }, 5s));

  actuator.command("fine");
  REQUIRE(host.run_until([&] { return host.published.size() == 3; }));
  CHECK(host.published.back() == Published{"result", "ok fine"});

  Instance<ExecActuator> missing(host,
                                 {{"Command", "/no/such"}, {"CommandSrc", "cmd"}, {"ResultsDest", "result"}});
  missing.command("x");
  CHECK(host.published.back() == Published{"result", "ERROR"});
  CHECK(host.logged(SR_LOG_ERROR, "cannot run '/no/such': No such file or directory"));
}

TEST_CASE(
    "ExecActuator without ResultsDest runs the command and publishes nothing; refresh publishes nothing") {
  LoopHost host;
  TempDir dir;
  std::string args = args_script(dir, dir.file("args.txt"));
  Instance<ExecActuator> actuator(host, {{"Command", args}, {"CommandSrc", "cmd"}});
  actuator.command("hello");
  REQUIRE(host.run_until([&] { return sr::test::read_file(dir.file("args.txt")) == "hello\n"; }));
  // The run is over once nothing of it is left on the loop.
  REQUIRE(host.run_until([&] { return host.loop.watch_count() == 0; }));
  CHECK(actuator.refresh() == SR_OK);
  CHECK(host.published.empty());
}

TEST_CASE("ExecActuator runs commands one at a time, in the order they came") {
  LoopHost host;
  TempDir dir;
  std::string markers = dir.file("markers.txt");
  std::string slow = script(dir, "slow.sh",
                            "echo \"start $1\" >> '" + markers + "'\nsleep 0.1\necho \"end $1\" >> '" +
                                markers + "'\necho \"done $1\"\n");
  Instance<ExecActuator> actuator(host,
                                  {{"Command", slow}, {"CommandSrc", "cmd"}, {"ResultsDest", "result"}});
  // All three arrive before the loop runs once: they must queue, not overlap.
  actuator.command("a");
  actuator.command("b");
  actuator.command("c");
  REQUIRE(host.run_until([&] { return host.published.size() == 3; }));
  CHECK(sr::test::read_file(markers) == "start a\nend a\nstart b\nend b\nstart c\nend c\n");
  CHECK(host.published ==
        std::vector<Published>{{"result", "done a"}, {"result", "done b"}, {"result", "done c"}});
}

TEST_CASE("ExecActuator queues at most 100 commands behind the running one and logs how many it dropped") {
  LoopHost host;
  TempDir dir;
  std::string gate = dir.file("gate");
  std::string out = dir.file("out.txt");
  // Every run waits for the gate file; the first holds the queue.
  std::string gated = script(
      dir, "gated.sh", "while [ ! -e '" + gate + "' ]; do sleep 0.01; done\necho \"$1\" >> '" + out + "'\n");
  Instance<ExecActuator> actuator(host, {{"Command", gated}, {"CommandSrc", "cmd"}});
  for (int i = 0; i < 106; ++i) actuator.command(std::to_string(i));  // 1 running, 100 queued, 5 dropped
  CHECK(std::count_if(host.logs.begin(), host.logs.end(),
                      [](const Logged& l) { return l.level >= SR_LOG_WARNING; }) == 1);
  CHECK(host.logged(SR_LOG_WARNING,
                    "100 commands are already waiting; dropping new ones until the queue has room"));
  dir.write("gate", "");
  REQUIRE(host.run_until([&] { return host.loop.watch_count() == 0 && exists(out); }, 60s));
  std::string expected;
  for (int i = 0; i <= 100; ++i) expected += std::to_string(i) + "\n";
  CHECK(sr::test::read_file(out) == expected);
  CHECK(host.logged(SR_LOG_WARNING, "5 command(s) were dropped while the queue was full"));
}

TEST_CASE("ExecActuator destroyed with a command running and others queued kills the running one") {
  become_subreaper();
  LoopHost host;
  TempDir dir;
  std::string stubborn = stubborn_script(dir, dir.file("pid"));
  auto actuator = std::make_unique<Instance<ExecActuator>>(
      host, std::vector<std::pair<std::string, std::string>>{{"Command", stubborn}, {"CommandSrc", "cmd"}});
  actuator->command("");
  actuator->command("");
  REQUIRE(host.run_until([&] { return read_pid(dir.file("pid")) > 0; }));
  pid_t pgid = read_pid(dir.file("pid"));
  actuator.reset();
  CHECK(host.loop.watch_count() == 0);
  CHECK(host.loop.timer_count() == 0);
  CHECK(sr::test::wait_until([&] { return group_gone(pgid); }, 5s));
  CHECK(host.logged(SR_LOG_INFO, "stopping: 1 queued command(s) will not run"));
}

TEST_CASE("check_command_line warns of quotes, which no shell removes") {
  using sr::exec::check_command_line;
  CHECK(check_command_line("/usr/bin/uptime -p") == std::nullopt);
  CHECK(check_command_line("") == std::nullopt);
  REQUIRE(check_command_line("echo \"hello world\"").has_value());
  CHECK(*check_command_line("echo 'x'") ==
        "contains quote characters, but no shell runs the command: they are passed to it as part of the words");
}
