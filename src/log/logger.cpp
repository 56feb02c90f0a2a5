#include "log/logger.h"

#include "util/text.h"

#include <sensor_reporter/text.hpp>

#include <sys/stat.h>
#include <syslog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <system_error>

namespace sr::log {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

using sdk::iequals;

// The syslog(3) priorities; journald reads the same numbers from the "<N>" prefix.
int priority(Level level) {
  switch (level) {
    case Level::Debug:
      return LOG_DEBUG;
    case Level::Info:
      return LOG_INFO;
    case Level::Warning:
      return LOG_WARNING;
    case Level::Error:
      return LOG_ERR;
  }
  return LOG_ERR;
}

// "YYYY-MM-DD HH:MM:SS.mmm" in local time.
std::string timestamp(TimePoint now) {
  using namespace std::chrono;
  const auto seconds = floor<std::chrono::seconds>(now);
  const auto millis = duration_cast<milliseconds>(now - seconds).count();
  const std::time_t time = system_clock::to_time_t(seconds);
  std::tm local{};
  localtime_r(&time, &local);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}", local.tm_year + 1900,
                     local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec,
                     millis);
}

// "[Section] message", or just the message when there is no section.
std::string body(std::string_view section, std::string_view message) {
  if (section.empty()) return std::string(message);
  return fmt::format("[{}] {}", section, message);
}

std::string timestamped_line(Level level, std::string_view section, std::string_view message,
                             TimePoint now) {
  return fmt::format("{} {:<7} {}\n", timestamp(now), level_name(level), body(section, message));
}

// openlog() configures process-wide state; doing it once keeps a config reload from
// resetting it and keeps several Logger instances (tests) harmless.
void open_syslog_once() {
  static std::once_flag once;
  std::call_once(once, [] { openlog("sensor_reporter", LOG_PID, LOG_DAEMON); });
}

}  // namespace

bool parse_level(std::string_view text, Level& out) {
  static constexpr std::pair<std::string_view, Level> names[] = {
      {"DEBUG", Level::Debug},  {"INFO", Level::Info},   {"WARNING", Level::Warning},
      {"WARN", Level::Warning}, {"ERROR", Level::Error}, {"CRITICAL", Level::Error},
  };
  for (const auto& [name, level] : names) {
    if (iequals(text, name)) {
      out = level;
      return true;
    }
  }
  return false;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Debug:
      return "DEBUG";
    case Level::Info:
      return "INFO";
    case Level::Warning:
      return "WARNING";
    case Level::Error:
      return "ERROR";
  }
  return "ERROR";
}

Logger::Logger(Options options, std::FILE* out, bool journal, Clock clock)
    : out_(out), journal_(journal), clock_(std::move(clock)) {
  configure(options);
}

Logger::~Logger() {
  // A run still being suppressed at shutdown would otherwise vanish without its count.
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_();
  for (const auto& [section, run] : runs_) emit_repeats_locked(section, run, now);
}

void Logger::configure(const Options& options) {
  std::lock_guard lock(mutex_);
  options_ = options;
  file_.reset();
  file_error_reported_ = false;
  if (options_.syslog) open_syslog_once();
  // Opened now rather than on first write so a bad path is reported at startup/reload.
  // "e" = O_CLOEXEC: children started by plugins must not inherit the log file.
  if (!options_.file.empty()) open_file_locked("ae");
}

void Logger::mask(const std::vector<std::string>& secrets) {
  std::lock_guard lock(mutex_);
  for (const auto& secret : secrets)
    if (!secret.empty() && std::find(secrets_.begin(), secrets_.end(), secret) == secrets_.end())
      secrets_.push_back(secret);
}

void Logger::set_section_level(std::string section, Level level) {
  std::lock_guard lock(mutex_);
  section_levels_.insert_or_assign(std::move(section), level);
}

void Logger::clear_section_levels() {
  std::lock_guard lock(mutex_);
  section_levels_.clear();
}

bool Logger::enabled(std::string_view section, Level level) const {
  std::lock_guard lock(mutex_);
  return enabled_locked(section, level);
}

bool Logger::enabled_locked(std::string_view section, Level level) const {
  const auto it = section_levels_.find(section);
  const Level threshold = it != section_levels_.end() ? it->second : options_.level;
  return level >= threshold;
}

void Logger::write(Level level, std::string_view section, std::string_view text) {
  std::lock_guard lock(mutex_);
  if (!enabled_locked(section, level)) return;
  const std::string masked = secrets_.empty() ? std::string() : scrub_secrets(text, secrets_);
  const std::string_view message = secrets_.empty() ? text : std::string_view(masked);
  const TimePoint now = clock_();
  if (level >= Level::Warning) {
    const auto it = runs_.find(section);
    if (it == runs_.end()) {
      runs_.emplace(std::string(section), Run{level, std::string(message), now});
    } else {
      Run& run = it->second;
      if (run.level == level && run.message == message && now - run.started < repeat_window) {
        ++run.suppressed;
        return;
      }
      // The count goes out before the new message so the log reads in order.
      emit_repeats_locked(section, run, now);
      run = Run{level, std::string(message), now};
    }
  }
  emit_locked(level, section, message, now);
}

void Logger::flush_repeats() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_();
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (now - it->second.started >= repeat_window) {
      emit_repeats_locked(it->first, it->second, now);
      // Forgetting the run lets the next identical message through as a fresh one.
      it = runs_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Logger::journal_from_environment() { return std::getenv("JOURNAL_STREAM") != nullptr; }

void Logger::emit_repeats_locked(std::string_view section, const Run& run, TimePoint now) {
  if (run.suppressed == 0) return;
  emit_locked(run.level, section,
              fmt::format("previous message repeated {} times: {}", run.suppressed, run.message),
              now);
}

void Logger::emit_locked(Level level, std::string_view section, std::string_view message,
                         TimePoint now) {
  write_console_locked(level, section, message, now);
  if (options_.syslog) {
    // "%s" with the prebuilt "[Section] message": a '%' in the message is not a directive.
    syslog(priority(level), "%s", body(section, message).c_str());
  }
  if (!options_.file.empty()) write_file_locked(timestamped_line(level, section, message, now));
}

void Logger::write_console_locked(Level level, std::string_view section, std::string_view message,
                                  TimePoint now) {
  if (out_ == nullptr) return;
  // journald timestamps lines itself; it only needs the priority.
  const std::string line = journal_
                               ? fmt::format("<{}>{}\n", priority(level), body(section, message))
                               : timestamped_line(level, section, message, now);
  // One fwrite per message so a multi-line message is never split by another thread's
  // output; there is nowhere left to report a failing console, so errors are ignored.
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

void Logger::write_file_locked(const std::string& line) {
  // After a failure the file is closed; each message retries, so logging resumes by
  // itself once the disk has room or the directory exists again.
  if (!file_ && !open_file_locked("ae")) return;
  if (file_rotatable_ && file_size_ > 0 && file_size_ + line.size() > options_.max_size) {
    rotate_file_locked();
    if (!file_) return;
  }
  if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() ||
      std::fflush(file_.get()) != 0) {
    const int error = errno;
    // Closing drops what stdio still buffers, so a full disk cannot make it grow.
    file_.reset();
    report_file_error_locked("cannot write", error);
    return;
  }
  file_size_ += line.size();
  file_error_reported_ = false;
}

bool Logger::open_file_locked(const char* mode) {
  FilePtr file(std::fopen(options_.file.c_str(), mode));
  if (!file) {
    report_file_error_locked("cannot open", errno);
    return false;
  }
  struct stat status {};
  file_rotatable_ = fstat(fileno(file.get()), &status) == 0 && S_ISREG(status.st_mode);
  file_size_ = file_rotatable_ ? std::uint64_t(status.st_size) : 0;
  file_ = std::move(file);
  return true;
}

void Logger::rotate_file_locked() {
  file_.reset();
  const std::string& path = options_.file;
  if (options_.num_files <= 0) {
    open_file_locked("we");
    return;
  }
  // Oldest first so nothing is overwritten before it moved; FILE.N is dropped by the
  // last rename onto it. Failures (mostly "not there yet") are ignored: at worst the
  // file keeps growing, which beats losing lines.
  for (int i = options_.num_files - 1; i >= 1; --i) {
    std::rename(fmt::format("{}.{}", path, i).c_str(), fmt::format("{}.{}", path, i + 1).c_str());
  }
  std::rename(path.c_str(), (path + ".1").c_str());
  open_file_locked("ae");
}

void Logger::report_file_error_locked(std::string_view what, int error) {
  if (file_error_reported_) return;
  file_error_reported_ = true;
  // Console only: the file is what failed, and syslog is not always configured.
  write_console_locked(Level::Error, "Logging",
                       fmt::format("{} log file {}: {}; logging to console only", what,
                                   options_.file, std::generic_category().message(error)),
                       clock_());
}

}  // namespace sr::log
