// Every configuration shipped in conf/ passes --check with the plugins the
// build produced: examples must never drift from the parameter tables.
#include "support/process.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

using namespace sr::test;

namespace {

std::vector<std::string> shipped_configs() {
  std::vector<std::string> files{source_dir() + "/conf/sensor_reporter.ini"};
  for (const auto& entry : std::filesystem::directory_iterator(source_dir() + "/conf/examples"))
    if (entry.path().extension() == ".ini") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

bool plugin_built(const std::string& module) {
  std::string path = plugin_path();
  return path.find("/plugins/" + module) != std::string::npos;
}

}  // namespace

TEST_CASE("every shipped configuration passes --check without errors or warnings") {
  auto files = shipped_configs();
  REQUIRE(files.size() >= 4);
  for (const auto& file : files) {
    CAPTURE(file);
    // gpio is an optional module (libgpiod): its examples are checked where it is built;
    if (file.find("rpi_gpio") != std::string::npos && !plugin_built("gpio")) continue;
    // bt likewise (libsystemd for sd-bus).
    bool bt_example = file.find("govee_sensor") != std::string::npos || file.find("btle_sensor") != std::string::npos;
    if (bt_example && !plugin_built("bt")) continue;
    auto result = run({binary(), "--check", file});
    CHECK(result.exit_code == 0);
    CHECK(result.err == "");
    CHECK(result.out.find(": OK,") != std::string::npos);
  }
}

TEST_CASE("there is an example for every class the build provides") {
  auto listing = run({binary(), "--list-plugins"});
  REQUIRE(listing.exit_code == 0);
  std::string all_examples;
  for (const auto& file : shipped_configs()) all_examples += read_file(file);
  size_t line_start = listing.out.find('\n') + 1;  // skip the header
  while (line_start < listing.out.size()) {
    size_t end = listing.out.find('\n', line_start);
    std::string line = listing.out.substr(line_start, end - line_start);
    line_start = end + 1;
    // Columns: CLASS KIND PATH SUMMARY; the PATH is what an INI file names.
    std::istringstream fields(line);
    std::string name, kind, path;
    fields >> name >> kind >> path;
    CAPTURE(path);
    CHECK(all_examples.find("Class = " + path) != std::string::npos);
  }
}
