// The catalogue of malformed and hostile configuration files in
// test/data/bad_configs (README.md there): every file is refused with its
// exact FILE:LINE diagnostics and exit code 78, both by --check and by a
// daemon start; nothing is written to stdout and nothing starts.
#include "support/doctest_lines.h"
#include "support/process.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <regex>
#include <string>
#include <vector>

using namespace sr::test;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

std::string catalogue_dir() { return source_dir() + "/test/data/bad_configs"; }

std::vector<std::string> ini_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".ini") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
  return text;
}

// The build tree's NAME.so as the daemon names it in diagnostics.
std::string module_file(const std::string& module) {
  std::string path = plugin_path();
  size_t start = 0;
  for (;;) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && fs::exists(dir + "/" + module + ".so")) return dir + "/" + module + ".so";
    if (end == std::string::npos) return "<" + module + ".so is not on the plugin path>";
    start = end + 1;
  }
}

// The .expected file next to `ini`, placeholders filled in.
std::string expected_for(const std::string& ini) {
  std::string text = read_file(ini.substr(0, ini.size() - 4) + ".expected");
  text = replace_all(text, "@FILE@", ini);
  static const std::regex module(R"(@MODULE:([a-z_]+)@)");
  std::smatch match;
  while (std::regex_search(text, match, module))
    text.replace(static_cast<size_t>(match.position(0)), static_cast<size_t>(match.length(0)),
                 module_file(match[1].str()));
  return text;
}

// The log without each line's "YYYY-MM-DD HH:MM:SS.mmm " timestamp.
std::string without_timestamps(const std::string& log) {
  static const std::regex stamp(R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} )", std::regex::multiline);
  return std::regex_replace(log, stamp, "");
}

RunResult run_reporter(std::vector<std::string> args) {
  args.insert(args.begin(), {binary(), "--plugin-dir", test_plugin_dir()});
  return run(args, {}, 20s);
}

struct Outcome {
  std::string ini;
  RunResult check;
  RunResult start;
};

// Both runs of every file, a few files at a time: the catalogue stays fast
// under ASan too.
std::vector<Outcome> run_all(const std::vector<std::string>& files) {
  std::vector<Outcome> outcomes(files.size());
  constexpr size_t kParallel = 4;
  for (size_t first = 0; first < files.size(); first += kParallel) {
    std::vector<std::future<void>> batch;
    for (size_t i = first; i < std::min(first + kParallel, files.size()); ++i)
      batch.push_back(std::async(std::launch::async, [&outcomes, &files, i] {
        outcomes[i] = Outcome{files[i], run_reporter({"--check", files[i]}), run_reporter({files[i]})};
      }));
    for (auto& f : batch) f.get();
  }
  return outcomes;
}

}  // namespace

TEST_CASE("every file of the catalogue is refused with its exact FILE:LINE diagnostics and exit code 78") {
  auto files = ini_files(catalogue_dir());
  REQUIRE(files.size() >= 30);
  for (const auto& outcome : run_all(files)) {
    CAPTURE(outcome.ini);
    std::string expected = expected_for(outcome.ini);
    REQUIRE(!expected.empty());
    CHECK(outcome.check.exit_code == 78);
    CHECK(outcome.check.out == "");
    CHECK(outcome.check.err == expected);
    // A daemon start refuses the same file with the same text, before
    // anything is created.
    CHECK(outcome.start.exit_code == 78);
    CHECK(outcome.start.out == "");
    CHECK(outcome.start.err == expected);
  }
}

TEST_CASE("files whose problem only the plugin can see pass --check and stop the daemon at startup with 78") {
  auto files = ini_files(catalogue_dir() + "/startup");
  REQUIRE(files.size() >= 1);
  for (const auto& outcome : run_all(files)) {
    CAPTURE(outcome.ini);
    std::string expected = expected_for(outcome.ini);
    CHECK(outcome.check.exit_code == 0);
    CHECK(outcome.check.out.starts_with(outcome.ini + ": OK, "));
    CHECK(outcome.start.exit_code == 78);
    CHECK(outcome.start.err + without_timestamps(outcome.start.out) == expected);
  }
}

TEST_CASE("a daemon start with a missing file or a directory: 78, cannot read") {
  TempDir dir;
  auto missing = run_reporter({dir.file("gone.ini")});
  CHECK(missing.exit_code == 78);
  CHECK(missing.out == "");
  CHECK(missing.err == dir.file("gone.ini") + ": cannot read: No such file or directory\n" + dir.file("gone.ini") +
                           ": 1 error\n");
  auto directory = run_reporter({dir.path()});
  CHECK(directory.exit_code == 78);
  CHECK(directory.err == dir.path() + ": cannot read: Is a directory\n" + dir.path() + ": 1 error\n");
}
