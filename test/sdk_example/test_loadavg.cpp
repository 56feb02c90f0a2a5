// Unit test of the LoadAverage class without the daemon, through the
// installed SDK's test helper (sensor_reporter/testing.hpp): the class is
// created and polled through the same trampolines the module exports, on a
// FakeHost that records what it publishes and logs. No test framework: a
// failed expectation is printed and the exit code is 1 (`meson test` runs it).
#include "loadavg.hpp"

#include <sensor_reporter/testing.hpp>

#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using loadavg::LoadAverage;
using sr::sdk::testing::FakeHost;
using sr::sdk::testing::Instance;

int failures = 0;

void expect(bool ok, const char* what, int line) {
  if (ok) return;
  ++failures;
  fmt::print(stderr, "test_loadavg.cpp:{}: FAILED: {}\n", line, what);
}
#define EXPECT(...) expect((__VA_ARGS__), #__VA_ARGS__, __LINE__)

// A scratch file standing in for /proc/loadavg, removed at the end.
struct ScratchFile {
  std::string path;
  ScratchFile() {
    const char* dir = getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/loadavg-test-XXXXXX";
    int fd = mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path = pattern;
  }
  ~ScratchFile() { unlink(path.c_str()); }
  void write(const std::string& text) const { std::ofstream(path) << text; }
};

void poll_publishes_the_first_field(const ScratchFile& file) {
  file.write("0.42 0.30 0.20 1/100 4242\n");
  FakeHost host("Sensor_Load");
  Instance<LoadAverage> load(host, {{"Destination", "load"}, {"Poll", "60"}, {"File", file.path}});
  EXPECT(load.poll() == SR_OK);
  file.write("1.50 0.30 0.20 1/100 4242\n");
  EXPECT(load.poll() == SR_OK);
  EXPECT(host.payloads_to("load") == std::vector<std::string>{"0.42", "1.50"});
  EXPECT(host.logs().empty());
}

void refresh_repeats_the_last_reading_and_nothing_before_one(const ScratchFile& file) {
  file.write("0.42 0.30 0.20 1/100 4242\n");
  FakeHost host;
  Instance<LoadAverage> load(host, {{"Destination", "load"}, {"Poll", "60"}, {"File", file.path}});
  EXPECT(load.refresh() == SR_OK);
  EXPECT(host.published().empty());
  EXPECT(load.poll() == SR_OK);
  file.write("9.99\n");  // a refresh republishes, it does not read
  EXPECT(load.refresh() == SR_OK);
  EXPECT(host.payloads_to("load") == std::vector<std::string>{"0.42", "0.42"});
}

void an_unreadable_file_fails_the_poll_with_a_logged_reason() {
  FakeHost host;
  Instance<LoadAverage> load(host,
                             {{"Destination", "load"}, {"Poll", "60"}, {"File", "/nonexistent/loadavg"}});
  EXPECT(load.poll() == SR_ERROR);
  EXPECT(host.logged(SR_LOG_ERROR, "poll failed: cannot read /nonexistent/loadavg"));
  EXPECT(host.published().empty());
}

void a_section_without_destination_is_refused() {
  EXPECT(Instance<LoadAverage>::try_create({{"Poll", "60"}}) == "missing parameter Destination");
}

}  // namespace

int main() {
  ScratchFile file;
  poll_publishes_the_first_field(file);
  refresh_repeats_the_last_reading_and_nothing_before_one(file);
  an_unreadable_file_fails_the_poll_with_a_logged_reason();
  a_section_without_destination_is_refused();
  fmt::print("test_loadavg: {}\n", failures == 0 ? "all passed" : fmt::format("{} failed", failures));
  return failures == 0 ? 0 : 1;
}
