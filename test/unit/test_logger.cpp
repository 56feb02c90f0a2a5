#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "log/logger.h"

namespace {

using namespace std::chrono_literals;
using sr::log::Level;
using sr::log::Logger;
using sr::log::Options;
using TimePoint = std::chrono::system_clock::time_point;

// Timestamps are local time; pin the zone so the expected strings hold anywhere.
void use_utc() {
  setenv("TZ", "UTC", 1);
  tzset();
}

// 2024-01-02 03:04:05.678 UTC
TimePoint fixed_time() {
  using namespace std::chrono;
  return sys_days{year{2024} / January / 2} + 3h + 4min + 5s + 678ms;
}

// A clock the test moves by hand.
struct ManualClock {
  TimePoint now = fixed_time();
  sr::log::Clock clock() {
    return [this] { return now; };
  }
};

// Console sink backed by memory.
class Capture {
 public:
  Capture() : file_(open_memstream(&buffer_, &size_)) {}
  ~Capture() {
    std::fclose(file_);
    std::free(buffer_);
  }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* file_;
};

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/test_logger.XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

int count(const std::string& text, std::string_view needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("parse_level accepts the INI level names case-insensitively") {
  Level level = Level::Info;
  CHECK(sr::log::parse_level("DEBUG", level));
  CHECK(level == Level::Debug);
  CHECK(sr::log::parse_level("info", level));
  CHECK(level == Level::Info);
  CHECK(sr::log::parse_level("Warning", level));
  CHECK(level == Level::Warning);
  CHECK(sr::log::parse_level("warn", level));
  CHECK(level == Level::Warning);
  CHECK(sr::log::parse_level("ERROR", level));
  CHECK(level == Level::Error);
  level = Level::Debug;
  CHECK(sr::log::parse_level("critical", level));
  CHECK(level == Level::Error);

  level = Level::Info;
  CHECK_FALSE(sr::log::parse_level("NOTSET", level));
  CHECK_FALSE(sr::log::parse_level("", level));
  CHECK_FALSE(sr::log::parse_level("INFOX", level));
  CHECK(level == Level::Info);  // untouched on failure

  CHECK(sr::log::level_name(Level::Debug) == "DEBUG");
  CHECK(sr::log::level_name(Level::Info) == "INFO");
  CHECK(sr::log::level_name(Level::Warning) == "WARNING");
  CHECK(sr::log::level_name(Level::Error) == "ERROR");
}

TEST_CASE("console lines outside the journal carry a local timestamp and padded level") {
  use_utc();
  Capture out;
  ManualClock clock;
  Logger logger(Options{.level = Level::Debug}, out.file(), false, clock.clock());

  logger.info("Sensor1", "value {}", 42);
  logger.warning("Sensor1", "low battery");
  logger.debug("Sensor1", "tick");
  logger.error("", "no section");

  CHECK(out.text() ==
        "2024-01-02 03:04:05.678 INFO    [Sensor1] value 42\n"
        "2024-01-02 03:04:05.678 WARNING [Sensor1] low battery\n"
        "2024-01-02 03:04:05.678 DEBUG   [Sensor1] tick\n"
        "2024-01-02 03:04:05.678 ERROR   no section\n");
}

TEST_CASE("console lines under the journal carry the syslog priority and no timestamp") {
  Capture out;
  ManualClock clock;
  Logger logger(Options{.level = Level::Debug}, out.file(), true, clock.clock());

  logger.error("Sensor1", "gpio: pin {} is outside 0..27", 40);
  logger.warning("Sensor1", "slow");
  logger.info("Sensor1", "started");
  logger.debug("Sensor1", "tick");
  logger.info("", "no section");

  CHECK(out.text() ==
        "<3>[Sensor1] gpio: pin 40 is outside 0..27\n"
        "<4>[Sensor1] slow\n"
        "<6>[Sensor1] started\n"
        "<7>[Sensor1] tick\n"
        "<6>no section\n");
}

TEST_CASE("a multi-line message is written as-is in one line") {
  Capture out;
  Logger logger(Options{}, out.file(), true);
  logger.write(Level::Info, "Exec", "first\nsecond");
  CHECK(out.text() == "<6>[Exec] first\nsecond\n");
}

TEST_CASE("journal_from_environment follows JOURNAL_STREAM") {
  unsetenv("JOURNAL_STREAM");
  CHECK_FALSE(Logger::journal_from_environment());
  setenv("JOURNAL_STREAM", "8:1234", 1);
  CHECK(Logger::journal_from_environment());
  unsetenv("JOURNAL_STREAM");
}

TEST_CASE("global and per-section levels") {
  Capture out;
  Logger logger(Options{}, out.file(), true);  // global Info

  CHECK_FALSE(logger.enabled("A", Level::Debug));
  CHECK(logger.enabled("A", Level::Info));
  logger.debug("A", "hidden");
  logger.info("A", "shown");

  logger.set_section_level("A", Level::Debug);
  logger.set_section_level("B", Level::Error);
  CHECK(logger.enabled("A", Level::Debug));
  CHECK_FALSE(logger.enabled("B", Level::Warning));
  CHECK_FALSE(logger.enabled("C", Level::Debug));  // other sections keep the global level
  logger.debug("A", "a debug");
  logger.warning("B", "b warning");
  logger.error("B", "b error");
  logger.debug("C", "c debug");

  logger.clear_section_levels();
  logger.debug("A", "hidden again");
  logger.warning("B", "b warning again");

  logger.configure(Options{.level = Level::Error});
  logger.warning("C", "filtered by new global level");

  CHECK(out.text() ==
        "<6>[A] shown\n"
        "<7>[A] a debug\n"
        "<3>[B] b error\n"
        "<4>[B] b warning again\n");
}

TEST_CASE("identical errors are collapsed and counted when a different one arrives") {
  Capture out;
  ManualClock clock;
  Logger logger(Options{}, out.file(), true, clock.clock());

  for (int i = 0; i < 5; ++i) {
    logger.error("Sensor1", "read failed: {}", "EIO");
    clock.now += 1s;
  }
  logger.info("Sensor1", "info does not end the run");
  CHECK(out.text() ==
        "<3>[Sensor1] read failed: EIO\n"
        "<6>[Sensor1] info does not end the run\n");

  logger.error("Sensor1", "something else");
  CHECK(out.text() ==
        "<3>[Sensor1] read failed: EIO\n"
        "<6>[Sensor1] info does not end the run\n"
        "<3>[Sensor1] previous message repeated 4 times: read failed: EIO\n"
        "<3>[Sensor1] something else\n");
}

TEST_CASE("the same text at another level is a different message") {
  Capture out;
  Logger logger(Options{}, out.file(), true);
  logger.warning("S", "flaky");
  logger.warning("S", "flaky");
  logger.error("S", "flaky");
  CHECK(out.text() ==
        "<4>[S] flaky\n"
        "<4>[S] previous message repeated 1 times: flaky\n"
        "<3>[S] flaky\n");
}

TEST_CASE("flush_repeats ends a run after the 30 s window") {
  Capture out;
  ManualClock clock;
  Logger logger(Options{}, out.file(), true, clock.clock());

  logger.error("S", "boom");
  logger.error("S", "boom");
  logger.error("S", "boom");
  clock.now += 10s;
  logger.flush_repeats();  // window still open: nothing yet
  CHECK(out.text() == "<3>[S] boom\n");

  clock.now += 20s;  // exactly 30 s after the first
  logger.flush_repeats();
  CHECK(out.text() == "<3>[S] boom\n<3>[S] previous message repeated 2 times: boom\n");

  logger.flush_repeats();     // already reported: no second count
  logger.error("S", "boom");  // starts a new run and is shown
  logger.error("S", "boom");
  CHECK(out.text() ==
        "<3>[S] boom\n"
        "<3>[S] previous message repeated 2 times: boom\n"
        "<3>[S] boom\n");
}

TEST_CASE("an identical message after the window is shown even without flush_repeats") {
  Capture out;
  ManualClock clock;
  Logger logger(Options{}, out.file(), true, clock.clock());

  logger.warning("S", "late");
  clock.now += 29s;
  logger.warning("S", "late");  // inside the window: suppressed
  clock.now += 1s;
  logger.warning("S", "late");  // 30 s after the run began: new run
  CHECK(out.text() ==
        "<4>[S] late\n"
        "<4>[S] previous message repeated 1 times: late\n"
        "<4>[S] late\n");
}

TEST_CASE("rate limiting is per section, and never applies to debug/info") {
  Capture out;
  ManualClock clock;
  Logger logger(Options{.level = Level::Debug}, out.file(), true, clock.clock());

  for (int i = 0; i < 3; ++i) {
    logger.error("A", "down");
    logger.error("B", "down");
    logger.info("A", "same info");
    logger.debug("B", "same debug");
  }
  const auto shown = lines(out.text());
  CHECK(count(out.text(), "<3>[A] down\n") == 1);
  CHECK(count(out.text(), "<3>[B] down\n") == 1);
  CHECK(count(out.text(), "<6>[A] same info\n") == 3);
  CHECK(count(out.text(), "<7>[B] same debug\n") == 3);
  CHECK(shown.size() == 8);

  clock.now += 30s;
  logger.flush_repeats();
  CHECK(count(out.text(), "<3>[A] previous message repeated 2 times: down\n") == 1);
  CHECK(count(out.text(), "<3>[B] previous message repeated 2 times: down\n") == 1);
}

TEST_CASE("a run still suppressed at destruction reports its count") {
  Capture out;
  {
    Logger logger(Options{}, out.file(), true);
    logger.error("S", "x");
    logger.error("S", "x");
  }
  CHECK(out.text() == "<3>[S] x\n<3>[S] previous message repeated 1 times: x\n");
}

TEST_CASE("the file rotates to FILE.1 .. FILE.N before exceeding max_size") {
  use_utc();
  TempDir dir;
  const auto file = dir.path() / "sr.log";
  Capture out;
  ManualClock clock;
  // Each line is 43 bytes ("2024-01-02 03:04:05.678 INFO    [S] line N\n"): two fit in 100.
  Logger logger(Options{.file = file, .max_size = 100, .num_files = 2}, out.file(), true,
                clock.clock());
  for (int i = 1; i <= 7; ++i) logger.info("S", "line {}", i);

  const auto line = [](int i) {
    return fmt::format("2024-01-02 03:04:05.678 INFO    [S] line {}\n", i);
  };
  // The file uses the timestamped format even though the console is the journal.
  CHECK(read_file(file) == line(7));
  CHECK(read_file(dir.path() / "sr.log.1") == line(5) + line(6));
  CHECK(read_file(dir.path() / "sr.log.2") == line(3) + line(4));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "sr.log.3"));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 3);
  CHECK(count(out.text(), "<6>[S] line") == 7);  // console unaffected
}

TEST_CASE("an existing file counts towards max_size and num_files 0 truncates in place") {
  use_utc();
  TempDir dir;
  const auto file = dir.path() / "sr.log";
  std::ofstream(file) << std::string(90, 'x') << '\n';
  Capture out;
  ManualClock clock;
  Logger logger(Options{.file = file, .max_size = 100, .num_files = 0}, out.file(), true,
                clock.clock());
  logger.info("S", "line 1");
  logger.info("S", "line 2");
  CHECK(read_file(file) ==
        "2024-01-02 03:04:05.678 INFO    [S] line 1\n"
        "2024-01-02 03:04:05.678 INFO    [S] line 2\n");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("a full disk keeps console logging and is reported once") {
  Capture out;
  Logger logger(Options{.file = "/dev/full"}, out.file(), true);
  logger.info("S", "one");
  logger.info("S", "two");
  logger.error("S", "three");
  CHECK(out.text() ==
        "<6>[S] one\n"
        "<3>[Logging] cannot write log file /dev/full: No space left on device; logging to "
        "console only\n"
        "<6>[S] two\n"
        "<3>[S] three\n");
}

TEST_CASE("a file in a missing directory is reported once, and again after a success") {
  TempDir dir;
  const auto missing = dir.path() / "missing";
  const auto file = missing / "sr.log";
  Capture out;
  // max_size 1: every write after the first rotates, i.e. reopens the path.
  Logger logger(Options{.file = file, .max_size = 1, .num_files = 1}, out.file(), true);
  const std::string report = "<3>[Logging] cannot open log file " + file.string() +
                             ": No such file or directory; logging to console only\n";
  CHECK(out.text() == report);  // reported at startup

  logger.info("S", "a");
  CHECK(count(out.text(), "cannot open") == 1);

  std::filesystem::create_directory(missing);
  logger.info("S", "b");  // opens and succeeds
  CHECK(read_file(file) != "");

  const auto moved = dir.path() / "moved";
  std::filesystem::rename(missing, moved);
  logger.info("S", "c");  // rotation cannot reopen the path
  logger.info("S", "d");
  CHECK(count(out.text(), "cannot open") == 2);
  CHECK(count(out.text(), "<6>[S] ") == 4);
  CHECK(count(read_file(moved / "sr.log"), "[S] b\n") == 1);

  // A reload retries at once and reports afresh.
  logger.configure(Options{.file = file});
  CHECK(count(out.text(), "cannot open") == 3);
}

TEST_CASE("concurrent writers never interleave lines") {
  Capture out;
  Logger logger(Options{}, out.file(), true);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < 200; ++i) logger.info("T", "thread {} message {}", t, i);
    });
  }
  for (auto& thread : threads) thread.join();
  const auto shown = lines(out.text());
  CHECK(shown.size() == 800);
  for (const auto& line : shown) CHECK(line.rfind("<6>[T] thread ", 0) == 0);
}

TEST_CASE("masked secrets read ******** in every line, to every sink, repeats and all") {
  TempDir dir;
  Capture out;
  Options options;
  options.file = (dir.path() / "log").string();
  Logger logger(options, out.file(), true);
  logger.mask({"hunter2", "", "tok.abc"});
  logger.mask({"hunter2"});  // given twice, kept once
  logger.warning("Connection1", "password {} refused", "hunter2");
  logger.warning("Connection1", "password {} refused", "hunter2");
  logger.info("", "token tok.abc and hunter2hunter2");
  logger.error("Connection1", "something else");
  const std::string console = out.text();
  CHECK(console ==
        "<4>[Connection1] password ******** refused\n"
        "<6>token ******** and ****************\n"
        "<4>[Connection1] previous message repeated 1 times: password ******** refused\n"
        "<3>[Connection1] something else\n");
  const std::string file = read_file(dir.path() / "log");
  CHECK(lines(file).size() == 4);
  CHECK(file.find("hunter2") == std::string::npos);
  CHECK(file.find("tok.abc") == std::string::npos);
}
