#include "host/app.h"

#include "config.h"

#include "config/param_check.h"
#include "host/runtime.h"
#include "host/systemd_notify.h"
#include "log/logger.h"
#include "loop/event_loop.h"
#include "loop/worker_pool.h"

#include <fmt/format.h>

#include <csignal>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sr {
namespace {

constexpr int kExConfig = 78;
constexpr unsigned kWorkerThreads = 2;
constexpr auto kShutdownLimit = std::chrono::seconds(5);
constexpr uint64_t kRepeatFlushNs = 5'000'000'000ull;
constexpr uint64_t kStatusPeriodNs = 1'000'000'000ull;

// Last resort for a shutdown that hangs (a plugin stuck in a blocking call):
// the process still ends within kShutdownLimit, saying why.
class ShutdownGuard {
 public:
  ShutdownGuard() = default;
  ~ShutdownGuard() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void arm() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      if (!wake_.wait_for(lock, kShutdownLimit, [this] { return done_; })) {
        static const char message[] = "sensor_reporter: shutdown did not finish within 5 s; exiting anyway\n";
        [[maybe_unused]] auto n = write(STDERR_FILENO, message, sizeof message - 1);
        _exit(1);
      }
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

namespace {

// A secret (SR_PARAM_SECRET: Password, API-Token) in a configuration every
// user can read, or a secret file (SR_PARAM_SECRET_FILE: PasswordFile,
// API-TokenFile, Keyfile) every user can read, is a leak waiting to happen:
// a warning for each, at its key's line. A relative secret file is looked
// for from the working directory, as the plugin will.
void warn_if_secret_readable(const config::ParseResult& parsed, config::Plan& plan) {
  struct stat config_stat {};
  const bool config_readable = stat(parsed.ini.path.c_str(), &config_stat) == 0 && (config_stat.st_mode & S_IROTH);
  for (const config::SecretSetting& secret : plan.secrets) {
    std::string message;
    if (secret.is_file) {
      struct stat st {};
      if (stat(secret.value.c_str(), &st) != 0 || !(st.st_mode & S_IROTH)) continue;
      message = fmt::format("{} holds a secret and every user can read it (mode {:04o}); chmod o-r it", secret.value,
                            st.st_mode & 07777);
    } else if (config_readable) {
      message = fmt::format("this file holds a secret and every user can read it (mode {:04o}); chmod o-r it{}",
                            config_stat.st_mode & 07777,
                            secret.file_key.empty() ? "" : ", or use " + secret.file_key);
    } else {
      continue;
    }
    plan.warnings.push_back(config::Diagnostic{config::Severity::Warning, parsed.ini.path, secret.line,
                                               secret.section, secret.key, std::move(message)});
  }
}

// Reading a configuration (the file, its parse, the plan, the checks) leaves
// the heap full of freed blocks between the sections' long-lived ones, and
// glibc keeps them: at 10,000 sections half the private memory was free heap
// (issue 17). Hand the free pages back once the sections are running.
void release_startup_heap() { malloc_trim(0); }

}  // namespace

config::Plan load_plan(const std::string& path, PluginRegistry& registry, bool keep_going) {
  config::ParseResult parsed = config::parse_file(path);
  config::Plan plan = config::build_plan(parsed, registry, keep_going);
  warn_if_secret_readable(parsed, plan);
  return plan;
}

void print_diagnostics(const config::Plan& plan, std::FILE* out) {
  // Secret values are masked where each diagnostic is made (param_check.h);
  // masked again here, in case a message quotes one some other way.
  const std::vector<std::string> secrets = plan.secret_values();
  for (const auto& d : plan.warnings) fmt::print(out, "warning: {}\n", config::scrub_secrets(d.to_string(), secrets));
  for (const auto& d : plan.errors) fmt::print(out, "{}\n", config::scrub_secrets(d.to_string(), secrets));
  if (!plan.errors.empty())
    fmt::print(out, "{}: {} error{}\n", plan.path, plan.errors.size(), plan.errors.size() == 1 ? "" : "s");
}

int run_check(const CliOptions& options, PluginRegistry& registry) {
  config::Plan plan = load_plan(options.config_path, registry, options.keep_going);
  print_diagnostics(plan, stderr);
  if (plan.ok())
    fmt::print("{}: OK, {} section{} would run\n", plan.path, plan.components.size(),
               plan.components.size() == 1 ? "" : "s");
  return plan.exit_code();
}

int run_daemon(const CliOptions& options, PluginRegistry& registry) {
  config::Plan plan = load_plan(options.config_path, registry, options.keep_going);
  print_diagnostics(plan, stderr);
  if (!plan.ok()) return plan.exit_code();

  // Block the signals before any thread exists so that every thread inherits
  // the mask and they arrive only through the loop's signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  log::Logger logger(plan.logging, stdout, log::Logger::journal_from_environment());
  // No secret of the configuration in any line, whoever writes it.
  logger.mask(plan.secret_values());
  EventLoop loop;
  WorkerPool workers(loop, kWorkerThreads);
  Services services{loop, workers, logger};
  ShutdownGuard guard;
  SystemdNotifier systemd(loop);

  std::unique_ptr<Runtime> runtime;
  // STATUS= as `systemctl status` shows it: a connection's status text
  // comes from its plugin, so secrets are masked here too.
  std::vector<std::string> secrets = plan.secret_values();
  auto running = [&] { return config::scrub_secrets(runtime->status_line(), secrets); };

  runtime = std::make_unique<Runtime>(services, std::move(plan));
  logger.info("", "sensor_reporter {} starting with {}", SR_VERSION, options.config_path);
  auto failures = runtime->start();
  if (!failures.empty() && !options.keep_going) {
    logger.error("", "{} section{} could not be created; stopping (use --keep-going to run without them)",
                 failures.size(), failures.size() == 1 ? "" : "s");
    runtime->stop();
    workers.stop();
    loop.drain();
    return kExConfig;
  }
  logger.info("", "running {} section{}", runtime->component_count(), runtime->component_count() == 1 ? "" : "s");
  release_startup_heap();
  systemd.ready(running());

  auto reload = [&] {
    logger.info("", "SIGHUP: reloading {}", options.config_path);
    systemd.reloading();
    // A module missing or broken at start may have been installed since.
    registry.forget_failures();
    config::Plan next = load_plan(options.config_path, registry, options.keep_going);
    // The new secrets, before anything of the new file is logged; the old
    // ones stay masked (the old sections may log while they stop).
    logger.mask(next.secret_values());
    for (const auto& secret : next.secret_values()) secrets.push_back(secret);
    for (const auto& d : next.warnings) logger.warning("", "{}", d.to_string());
    if (!next.ok()) {
      for (const auto& d : next.errors) logger.error("", "{}", d.to_string());
      logger.error("", "reload failed with {} error{}; the running configuration stays as it was",
                   next.errors.size(), next.errors.size() == 1 ? "" : "s");
      systemd.ready(fmt::format("{}; the last reload failed, see the log", running()));
      return;
    }
    const size_t before = runtime->component_count();
    auto next_runtime = std::make_unique<Runtime>(services, std::move(next));
    // Unchanged sections move over untouched (an unchanged MQTT connection
    // keeps its session); the rest of the old runtime is destroyed before
    // anything new is created, so a changed section can reclaim its GPIO
    // line or port.
    const size_t kept = next_runtime->adopt_unchanged(*runtime);
    runtime->stop();
    logger.configure(next_runtime->plan().logging);
    runtime = std::move(next_runtime);
    runtime->start();
    release_startup_heap();
    logger.info("", "reloaded: {} section{} running ({} kept, {} stopped, {} created)", runtime->component_count(),
                runtime->component_count() == 1 ? "" : "s", kept, before - kept, runtime->component_count() - kept);
    systemd.ready(running());
  };
  loop.handle_signals({SIGTERM, SIGINT, SIGHUP}, [&](int signo) {
    if (signo == SIGHUP) {
      reload();
      return;
    }
    logger.info("", "{}: stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    systemd.stopping();
    guard.arm();
    loop.stop();
  });
  loop.add_timer(kRepeatFlushNs, kRepeatFlushNs, [&] { logger.flush_repeats(); });
  // Connection states change on their own; systemd hears of it within a
  // second (status() sends only what changed).
  loop.add_timer(kStatusPeriodNs, kStatusPeriodNs, [&] { systemd.status(running()); });

  loop.run();
  runtime->stop();
  workers.stop();
  loop.drain();
  logger.info("", "stopped");
  return 0;
}

}  // namespace sr
