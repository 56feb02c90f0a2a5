// Loader tests (SPEC 2, 3.3, 5): the real binary against the deliberately
// broken modules in the build tree's test/plugins directory. Each broken
// module has its own exact diagnostic and exit code: 69 when a module cannot
// be used, 78 when the configuration asks for something that does not exist
// or cannot be created.
#include "config.h"
#include "support/process.h"
#include "util/text.h"

#include <doctest/doctest.h>
#include "support/doctest_lines.h"
#include "support/known_classes.h"

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

using namespace std::chrono_literals;


namespace {

using sr::test::TempDir;
using Lines = std::vector<std::string>;

std::string test_dir() { return sr::test::test_plugin_dir(); }
std::string module(const std::string& name) { return test_dir() + "/" + name + ".so"; }

// A one-section configuration whose sensor uses `class_string`.
std::string sensor_ini(const TempDir& dir, const std::string& class_string) {
  return dir.write("test.ini", "[Sensor_A]\nClass = " + class_string + "\nPoll = 1\n");
}

sr::test::RunResult check(const std::string& ini, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{sr::test::binary(), "--check", "--plugin-dir", test_dir()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(ini);
  return sr::test::run(argv, {}, 10s);
}

// The --check report of one bad Class line (line 2 of sensor_ini).
std::string class_error(const std::string& ini, const std::string& message) {
  return ini + ":2: [Sensor_A] Class: " + message + "\n" + ini + ": 1 error\n";
}

// Log lines as "LEVEL message", whether the logger wrote timestamps
// ("2024-05-01 12:00:00.000 ERROR   [S] text") or journald priorities
// ("<3>[S] text", when the tests run under systemd).
Lines log_lines(const std::string& output) {
  Lines lines;
  for (const auto& raw : sr::split_trimmed(output, '\n')) {
    std::string line(raw);
    if (line.size() > 3 && line[0] == '<' && line[2] == '>') {
      const char* level = line[1] == '3' ? "ERROR" : line[1] == '4' ? "WARNING" : line[1] == '6' ? "INFO" : "DEBUG";
      lines.push_back(std::string(level) + " " + line.substr(3));
    } else if (line.size() > 24 && line[4] == '-' && line[10] == ' ' && line[23] == ' ') {
      std::string rest = line.substr(24);
      auto space = rest.find(' ');
      auto message = rest.find_first_not_of(' ', space);
      lines.push_back(rest.substr(0, space) + " " + (message == std::string::npos ? "" : rest.substr(message)));
    }
  }
  return lines;
}

bool has_line(const Lines& lines, const std::string& wanted) {
  for (const auto& line : lines)
    if (line == wanted) return true;
  return false;
}

// Every directory the daemon searches with these --plugin-dir entries.
std::string searched_dirs(std::vector<std::string> dirs = {test_dir()}) {
  for (auto& dir : sr::split_trimmed(sr::test::plugin_path(), ':'))
    if (!dir.empty()) dirs.push_back(dir);
  dirs.emplace_back(SR_PLUGIN_DIR);
  return sr::join(dirs, ", ");
}

// The test modules that cannot be loaded, as an unknown class names them.
constexpr const char* kBrokenTestModules =
    "bad_default.so, bad_pattern.so, no_entry.so, undefined_symbol.so, wrong_abi.so";

// Connection, a sensor whose factory throws and a heartbeat that logs every
// publish at DEBUG.
constexpr const char* kThrowingConfig =
    "[Connection_L]\n"
    "Class = local.local_conn.LocalConnection\n"
    "Name = local\n"
    "\n"
    "[Sensor_Bad]\n"
    "Class = throwing.throwing.Throwing\n"
    "Connection = local\n"
    "\n"
    "[Sensor_HB]\n"
    "Class = heartbeat.heartbeat.Heartbeat\n"
    "Connection = local\n"
    "Poll = 1\n"
    "Num-Dest = hb/num\n"
    "Str-Dest = hb/str\n"
    "Level = DEBUG\n";

}  // namespace

TEST_CASE(
    "a Class whose module file does not exist and whose class no module has: 69, naming every directory "
    "searched and the classes there are") {
  TempDir dir;
  std::string ini = sensor_ini(dir, "nosuch.nosuch.NoSuch");
  auto r = check(ini);
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err ==
        class_error(ini, "cannot find plugin module 'nosuch' (nosuch.so); searched: " + searched_dirs() +
                             "; class 'NoSuch' is unknown: no module on the path has it; available "
                             "classes: " +
                             sr::join(sr::test::known_classes(/*with_test_modules=*/true), ", ") +
                             "; not loadable: " + kBrokenTestModules +
                             " (see sensor_reporter --list-plugins)"));
}

TEST_CASE(
    "a Class whose module does not exist but whose class one module has: a warning with file:line and the "
    "path to write, and --check passes") {
  TempDir dir;
  std::string ini =
      dir.write("test.ini", "[Sensor_A]\nDestination = d\nValues = 1\nClass = nosuchmodule.x.TestSensor\n");
  auto r = check(ini);
  CHECK(r.exit_code == 0);
  CHECK(r.err == "warning: " + ini +
                     ":4: [Sensor_A] Class: no plugin module 'nosuchmodule' (nosuchmodule.so); using "
                     "sr_test.test.TestSensor from " +
                     module("sr_test") + " (write that instead)\n");
  CHECK(r.out == ini + ": OK, 1 section would run\n");
}

TEST_CASE("the daemon runs a section whose class was found in another module, at start and after SIGHUP") {
  TempDir dir;
  auto config = [&](const std::string& sensor_class, const std::string& value) {
    return "[Connection_L]\nClass = local.local_conn.LocalConnection\nName = local\n\n"
           "[Actuator_Out]\nClass = sr_test.test.TestActuator\nConnection = local\nCommandSrc = cmd\n"
           "Output = " +
           dir.file("out.txt") +
           "\n\n"
           "[Sensor_Fallback]\nClass = " +
           sensor_class + "\nConnection = local\nPoll = 60\nDestination = cmd\nValues = " + value + "\n";
  };
  // Line 12 is the sensor's Class line.
  auto warning = [&](const std::string& ini) {
    return ini + ":12: [Sensor_Fallback] Class: no plugin module 'nosuchmodule' (nosuchmodule.so); using " +
           "sr_test.test.TestSensor from " + module("sr_test") + " (write that instead)";
  };
  std::string ini = dir.write("test.ini", config("nosuchmodule.x.TestSensor", "ON"));
  sr::test::Process daemon({sr::test::binary(), "--plugin-dir", test_dir(), ini});
  // The sensor really runs: its first poll reaches the actuator.
  REQUIRE(sr::test::wait_until([&] { return sr::test::read_file(dir.file("out.txt")) == "cmd ON\n"; }, 10s));
  CHECK(daemon.stderr_text() == "warning: " + warning(ini) + "\n");

  // A reload that keeps the misplaced module warns again and runs the new value.
  dir.write("test.ini", config("nosuchmodule.x.TestSensor", "OFF"));
  size_t before_reload = daemon.output().size();
  daemon.signal(SIGHUP);
  REQUIRE(sr::test::wait_until(
      [&] { return sr::test::read_file(dir.file("out.txt")) == "cmd ON\ncmd OFF\n"; }, 10s));
  REQUIRE(daemon.wait_for_output("reloaded: 3 sections running", 10s, before_reload));
  Lines lines = log_lines(daemon.output().substr(before_reload));
  CAPTURE(lines);
  CHECK(has_line(lines, "WARNING " + warning(ini)));

  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("a Class whose module does not exist and whose class two modules have: 69, listing both paths") {
  TempDir dir;
  std::string twins = test_dir() + "/twin";
  std::string ini = sensor_ini(dir, "nosuchmodule.x.TwinSensor");
  auto r = check(ini, {"--plugin-dir", twins});
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err ==
        class_error(ini, "cannot find plugin module 'nosuchmodule' (nosuchmodule.so); searched: " +
                             searched_dirs({test_dir(), twins}) +
                             "; class 'TwinSensor' is in more than one module; write one of: "
                             "twin_a.twin.TwinSensor (" +
                             twins + "/twin_a.so), twin_b.twin.TwinSensor (" + twins + "/twin_b.so)"));
}

TEST_CASE(
    "a module that exists decides alone: no looking elsewhere for a class it lacks or when it is broken") {
  TempDir dir;
  // Throwing is a class of throwing.so, but module sr_test exists.
  std::string lacking = sensor_ini(dir, "sr_test.x.Throwing");
  auto r = check(lacking);
  CHECK(r.exit_code == 78);
  CHECK(r.err.starts_with(lacking + ":2: [Sensor_A] Class: module 'sr_test' (" + module("sr_test") +
                          ") has no class 'Throwing'; it provides: sr_test.test.TestSensor, "));
  // TestSensor is a class of sr_test.so, but module wrong_abi exists.
  std::string broken = sensor_ini(dir, "wrong_abi.x.TestSensor");
  r = check(broken);
  CHECK(r.exit_code == 69);
  CHECK(r.err ==
        class_error(broken, "plugin module " + module("wrong_abi") +
                                " was built for plugin ABI 2.0; this sensor_reporter provides ABI 1.2"));
}

TEST_CASE("a module dlopen refuses: 69, with dlerror's text and the hint") {
  TempDir dir;
  std::string ini = sensor_ini(dir, "undefined_symbol.x.Anything");
  auto r = check(ini);
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err == class_error(ini, "cannot load plugin module " + module("undefined_symbol") + ": " +
                                      module("undefined_symbol") +
                                      ": undefined symbol: sensor_reporter_no_such_function (hint: an undefined "
                                      "symbol or missing library usually means the module was built against "
                                      "another sensor_reporter or needs a package that is not installed)"));
}

TEST_CASE("a shared object without the entry point: 69, naming the file and the symbol") {
  TempDir dir;
  std::string ini = sensor_ini(dir, "no_entry.x.Anything");
  auto r = check(ini);
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err == class_error(ini, "plugin module " + module("no_entry") +
                                      " has no entry point 'sensor_reporter_plugin' (not a sensor_reporter "
                                      "plugin, or built without SR_PLUGIN_MODULE)"));
}

TEST_CASE("a module built for another plugin ABI: 69, naming the file and both versions") {
  TempDir dir;
  std::string ini = sensor_ini(dir, "wrong_abi.x.Anything");
  auto r = check(ini);
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err == class_error(ini, "plugin module " + module("wrong_abi") +
                                      " was built for plugin ABI 2.0; this sensor_reporter provides ABI 1.2"));
}

TEST_CASE("a class the module does not have: 78, listing the classes it does have") {
  TempDir dir;
  std::string ini = sensor_ini(dir, "sr_test.test.Nope");
  auto r = check(ini);
  CHECK(r.exit_code == 78);
  CHECK(r.out == "");
  CHECK(r.err == class_error(ini, "module 'sr_test' (" + module("sr_test") +
                                      ") has no class 'Nope'; it provides: sr_test.test.TestSensor, "
                                      "sr_test.test.TestActuator, sr_test.test.TestFamilies, sr_test.policy.PolicySensor, "
                                      "sr_test.policy.PolicyActuator"));
}

TEST_CASE("a module whose parameter table has an invalid default is refused: 69") {
  TempDir dir;
  std::string ini = sensor_ini(dir, "bad_default.bad.BadDefault");
  auto r = check(ini);
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err == class_error(ini, "plugin module " + module("bad_default") +
                                      " is refused: class BadDefault: parameter Threshold: invalid default: "
                                      "'abc' is not a number"));
}

TEST_CASE("a module whose parameter table has an invalid pattern is refused, naming class and key: 69") {
  TempDir dir;
  std::string ini = sensor_ini(dir, "bad_pattern.bad.BadPattern");
  auto r = check(ini);
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  // The rest of the line is the C library's regerror() text.
  CHECK(r.err.starts_with(ini + ":2: [Sensor_A] Class: plugin module " + module("bad_pattern") +
                          " is refused: class BadPattern: parameter Address: invalid pattern '[0-9': "));
}

TEST_CASE("a broken module next to a good one does not stop the good one from loading") {
  TempDir dir;
  std::string ini = dir.write("test.ini",
                              "[Sensor_A]\nClass = sr_test.test.TestSensor\nDestination = d\nValues = 1\n\n"
                              "[Sensor_B]\nClass = wrong_abi.x.Anything\n");
  auto r = check(ini);
  CHECK(r.exit_code == 69);
  CHECK(r.err == ini + ":7: [Sensor_B] Class: plugin module " + module("wrong_abi") +
                     " was built for plugin ABI 2.0; this sensor_reporter provides ABI 1.2\n" + ini + ": 1 error\n");
}

TEST_CASE("--check does not create instances: a throwing factory passes the check") {
  TempDir dir;
  std::string ini = dir.write("test.ini", kThrowingConfig);
  auto r = check(ini);
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  CHECK(r.out == ini + ": OK, 3 sections would run\n");
}

TEST_CASE("a factory that throws at startup: the daemon logs the reason and exits 78") {
  TempDir dir;
  std::string ini = dir.write("test.ini", kThrowingConfig);
  sr::test::Process daemon({sr::test::binary(), "--plugin-dir", test_dir(), ini});
  auto code = daemon.wait_exit(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 78);
  Lines lines = log_lines(daemon.stdout_text());
  CAPTURE(lines);
  CHECK(has_line(lines, "ERROR [Sensor_Bad] cannot create throwing.throwing.Throwing: sensor hardware not found"));
  CHECK(has_line(lines, "ERROR 1 section could not be created; stopping (use --keep-going to run without them)"));
  CHECK_FALSE(has_line(lines, "INFO running 2 sections"));
  CHECK(daemon.stderr_text() == "");
}

TEST_CASE("a factory that throws with --keep-going: the other sections run until SIGTERM, exit 0") {
  TempDir dir;
  std::string ini = dir.write("test.ini", kThrowingConfig);
  sr::test::Process daemon({sr::test::binary(), "--keep-going", "--plugin-dir", test_dir(), ini});
  REQUIRE(daemon.wait_for_output("[Sensor_HB] publish hb/str = 00:00:00", 10s));
  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  Lines lines = log_lines(daemon.stdout_text());
  CAPTURE(lines);
  CHECK(has_line(lines, "ERROR [Sensor_Bad] cannot create throwing.throwing.Throwing: sensor hardware not found"));
  CHECK(has_line(lines, "INFO running 2 sections"));
  // The uptime in ms at the first poll: 0 on a quick machine, 1 or more
  // under a sanitizer on a busy one. That the section ran is the point.
  CHECK(std::any_of(lines.begin(), lines.end(),
                    [](const std::string& l) { return l.starts_with("DEBUG [Sensor_HB] publish hb/num = "); }));
  CHECK(has_line(lines, "INFO SIGTERM: stopping"));
  CHECK(has_line(lines, "INFO stopped"));
}

TEST_CASE("--list-plugins with the test directory lists the good classes and warns about each broken module") {
  auto r = sr::test::run({sr::test::binary(), "--list-plugins", "--plugin-dir", test_dir()}, {}, 10s);
  CHECK(r.exit_code == 0);
  // The test directory comes first on the path, its modules in name order.
  CHECK(r.err ==
        "warning: plugin module " + module("bad_default") +
            " is refused: class BadDefault: parameter Threshold: invalid default: 'abc' is not a number\n"
            "warning: plugin module " +
            module("bad_pattern") +
            " is refused: class BadPattern: parameter Address: invalid pattern '[0-9': Unmatched [, [^, [:, [., "
            "or [=\n"
            "warning: plugin module " +
            module("no_entry") +
            " has no entry point 'sensor_reporter_plugin' (not a sensor_reporter plugin, or built without "
            "SR_PLUGIN_MODULE)\n"
            "warning: cannot load plugin module " +
            module("undefined_symbol") + ": " + module("undefined_symbol") +
            ": undefined symbol: sensor_reporter_no_such_function (hint: an undefined symbol or missing library "
            "usually means the module was built against another sensor_reporter or needs a package that is not "
            "installed)\n"
            "warning: plugin module " +
            module("wrong_abi") + " was built for plugin ABI 2.0; this sensor_reporter provides ABI 1.2\n");
  Lines out;
  for (auto& line : sr::split_trimmed(r.out, '\n'))
    if (!line.empty()) out.emplace_back(line);
  CAPTURE(out);
  auto listed = [&](const std::string& row) { return has_line(out, row); };
  CHECK(listed("CLASS                KIND        PATH                                     SUMMARY"));
  CHECK(listed("Heartbeat            sensor      heartbeat.heartbeat.Heartbeat            "
               "Publishes the uptime of its section: milliseconds and HH:MM:SS"));
  CHECK(listed("LocalConnection      connection  local.local_conn.LocalConnection         "
               "Delivers readings to actuators in this process, optionally as ON/OFF"));
  CHECK(listed("TestActuator         actuator    sr_test.test.TestActuator                "
               "Records every command to a file (tests only)"));
  CHECK(listed("TestSensor           sensor      sr_test.test.TestSensor                  "
               "Publishes a fixed sequence of values (tests only)"));
  CHECK(listed("Throwing             sensor      throwing.throwing.Throwing               "
               "Fails to create (tests only)"));
  for (const auto& line : out) {
    CAPTURE(line);
    CHECK(line.find("BadDefault") == std::string::npos);
    CHECK(line.find("wrong_abi") == std::string::npos);
  }
}
