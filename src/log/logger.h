// sr::log — the host's logger (SPEC section 8).
//
// One Logger per process, owned by the host. Every line goes to the console; optionally
// also to syslog(3) and to a size-rotated file. Repeated identical warnings/errors from
// one section are collapsed into a "repeated N times" line so a broken sensor polled
// every second cannot flood the journal.
//
// Threading: every public member may be called from any thread; a single mutex
// serialises formatting and all sinks, so lines from different threads never interleave.
#pragma once

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sr::log {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3 };

// Accepts "DEBUG", "INFO", "WARNING"/"WARN", "ERROR", "CRITICAL" (mapped to Error),
// case-insensitive. Leaves `out` untouched and returns false for anything else.
bool parse_level(std::string_view text, Level& out);

// "DEBUG", "INFO", "WARNING", "ERROR".
std::string_view level_name(Level level);

struct Options {
  Level level = Level::Info;          // global level ([Logging] Level)
  bool syslog = false;                // also send to syslog(3)
  std::string file{};                 // also append to this file, rotating; empty = none
  std::uint64_t max_size = 67108864;  // bytes before rotation
  int num_files = 10;                 // rotated files kept: FILE.1 .. FILE.N; 0 = truncate in place
};

// Injectable so tests can pin timestamps and move the rate-limit window.
using Clock = std::function<std::chrono::system_clock::time_point()>;

struct FileCloser {
  void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

class Logger {
 public:
  // How long identical warnings/errors of one section are collapsed.
  static constexpr std::chrono::seconds repeat_window{30};

  // `out` is borrowed (stdout in production) and must outlive the Logger.
  // `journal`: started by systemd, so console lines carry "<N>" priorities instead of a
  // timestamp (journald adds its own). `clock` is called with the lock held; it must not log.
  Logger(Options options, std::FILE* out, bool journal,
         Clock clock = std::chrono::system_clock::now);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Re-applied on config reload: reopens the file (so an externally rotated or newly
  // writable file is picked up) and reports an unusable file afresh.
  void configure(const Options& options);

  // Every line written from now on shows util/text.h's kMaskedValue instead
  // of each of `secrets` (the configuration's SR_PARAM_SECRET values), from
  // the host and from plugins alike. Adds to those given before: after a
  // reload the old sections may still log while they stop.
  void mask(const std::vector<std::string>& secrets);

  void set_section_level(std::string section, Level level);
  void clear_section_levels();

  // The section's own level if one was set, else the global level.
  bool enabled(std::string_view section, Level level) const;

  // `section` may be empty: the line then has no "[...] " part. `message` is written
  // as-is, embedded newlines included.
  void write(Level level, std::string_view section, std::string_view message);

  template <typename... Args>
  void debug(std::string_view section, fmt::format_string<Args...> format, Args&&... args) {
    log(Level::Debug, section, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(std::string_view section, fmt::format_string<Args...> format, Args&&... args) {
    log(Level::Info, section, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warning(std::string_view section, fmt::format_string<Args...> format, Args&&... args) {
    log(Level::Warning, section, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void error(std::string_view section, fmt::format_string<Args...> format, Args&&... args) {
    log(Level::Error, section, format, std::forward<Args>(args)...);
  }

  // Ends runs of suppressed repeats whose window has expired and logs their count.
  // Called every few seconds by the event loop; without it a run that simply stops is
  // only reported when its section next logs a warning/error.
  void flush_repeats();

  // True when stdout is connected to the journal (systemd sets JOURNAL_STREAM).
  static bool journal_from_environment();

 private:
  // A run of identical warnings/errors from one section.
  struct Run {
    Level level;
    std::string message;
    std::chrono::system_clock::time_point started;
    std::uint64_t suppressed = 0;
  };

  template <typename... Args>
  void log(Level level, std::string_view section, fmt::format_string<Args...> format,
           Args&&... args) {
    // Checked before formatting so disabled debug lines cost no allocation.
    if (!enabled(section, level)) return;
    write(level, section, fmt::format(format, std::forward<Args>(args)...));
  }

  bool enabled_locked(std::string_view section, Level level) const;
  void emit_repeats_locked(std::string_view section, const Run& run,
                           std::chrono::system_clock::time_point now);
  void emit_locked(Level level, std::string_view section, std::string_view message,
                   std::chrono::system_clock::time_point now);
  void write_console_locked(Level level, std::string_view section, std::string_view message,
                            std::chrono::system_clock::time_point now);
  void write_file_locked(const std::string& line);
  bool open_file_locked(const char* mode);
  void rotate_file_locked();
  void report_file_error_locked(std::string_view what, int error);

  mutable std::mutex mutex_;
  Options options_;
  std::FILE* out_;  // borrowed
  bool journal_;
  Clock clock_;
  std::map<std::string, Level, std::less<>> section_levels_;
  std::map<std::string, Run, std::less<>> runs_;  // by section
  std::vector<std::string> secrets_;               // masked in every line
  FilePtr file_;
  std::uint64_t file_size_ = 0;
  bool file_rotatable_ = false;  // only regular files: never rename /dev/null & co.
  // Set after a file failure was reported; cleared by the next successful write, so a
  // full disk yields one console line instead of one per message.
  bool file_error_reported_ = false;
};

}  // namespace sr::log
