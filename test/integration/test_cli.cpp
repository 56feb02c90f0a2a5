// Command-line tests (SPEC 2): the real binary as a user runs it, with the
// build tree's plugins. Output is compared as whole text; exit codes follow
// sysexits (0, 64 usage, 69 plugin unavailable, 78 configuration).
#include "support/process.h"
#include "util/text.h"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include "support/doctest_lines.h"
#include "support/known_classes.h"

#include <filesystem>
#include <string>
#include <vector>

using namespace std::chrono_literals;


namespace {

using sr::test::TempDir;
using Lines = std::vector<std::string>;

sr::test::RunResult run(std::vector<std::string> args) {
  args.insert(args.begin(), sr::test::binary());
  return sr::test::run(args, {}, 10s);
}

constexpr const char* kTryHelp = "Try 'sensor_reporter --help'.\n";

constexpr const char* kUsage =
    "Usage: sensor_reporter [OPTIONS] CONFIG.ini\n"
    "Bridges local sensors and actuators to MQTT, as configured in CONFIG.ini.\n"
    "\n"
    "  --check              validate CONFIG.ini against every plugin's parameter table,\n"
    "                       print all problems and exit 0 or 78; touches no hardware\n"
    "  --list-plugins       list every class on the plugin path\n"
    "  --describe CLASS     print the parameters of CLASS\n"
    "  --plugin-dir DIR     search DIR for plugins first (repeatable); see also\n"
    "                       SENSOR_REPORTER_PLUGIN_PATH (colon separated)\n"
    "  --keep-going         skip sections with problems instead of refusing to start\n"
    "  --version            print the version\n"
    "  --help               print this help\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP re-reads CONFIG.ini (an invalid\n"
    "file is reported and the running configuration kept).\n"
    "Exit codes: 0 clean stop, 64 usage, 69 plugin unavailable, 78 configuration, 1 other.\n";

// The build tree's .so file of `module`, as the daemon names it.
std::string module_file(const std::string& module) {
  for (auto& dir : sr::split_trimmed(sr::test::plugin_path(), ':'))
    if (!dir.empty() && std::filesystem::exists(dir + "/" + module + ".so")) return dir + "/" + module + ".so";
  return "<" + module + ".so is not on the plugin path>";
}

// The classes of the build tree's plugins, sorted.
std::vector<std::string> available_classes() { return sr::test::known_classes(); }

Lines non_empty_lines(const std::string& text) {
  Lines lines;
  for (auto& line : sr::split_trimmed(text, '\n'))
    if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string heartbeat_description() {
  return "heartbeat.heartbeat.Heartbeat (sensor) — Publishes the uptime of its section: milliseconds and HH:MM:SS\n"
         "module heartbeat 1.0.0 (" +
         module_file("heartbeat") +
         ")\n"
         "\n"
         // The TYPE column is as wide as the widest type (Level's choices).
         "  PARAMETER              TYPE                                        DEFAULT      HELP\n"
         "  Num-Dest               string                            required  -            destination of the uptime in integer milliseconds\n"
         "  Str-Dest               string                            required  -            destination of the uptime as HH:MM:SS or D:HH:MM:SS\n"
         "  Poll                   number >= 1                       required  -            seconds between heartbeats (>= 1)\n"
         "common to every section of this kind:\n"
         "  Class                  string                            required  -            plugin class, e.g. heartbeat.heartbeat.Heartbeat\n"
         "  Connection             string                            optional  -            comma-separated connection Names to publish to\n"
         "  Retain                 boolean                           optional  -            retain this section's messages (overrides the connection)\n"
         "  Level                  DEBUG|INFO|WARNING|ERROR|CRITICAL optional  -            log level of this section\n"
         "  Format                 raw|json                          optional  -            payload of this section's messages: raw or json; default the Format of each connection\n"
         "  Discovery              boolean                           optional  -            no: leave this section out of discovery\n"
         "  DiscoveryName          string                            optional  -            name in Home Assistant or Homie; default the section name\n"
         "  DiscoveryComponent     string                            optional  -            sensor, binary_sensor, event, device_automation or text instead of the class's choice\n"
         "  DiscoveryDeviceClass   string                            optional  -            Home Assistant device_class instead of the class's choice\n"
         "\n"
         "messages:\n"
         "  publishes Num-Dest               uptime [ms]\n"
         "  publishes Str-Dest               uptime\n";
}

}  // namespace

// ---------------------------------------------------------------------------
// Help, version and usage errors

TEST_CASE("--help prints the usage on stdout and exits 0") {
  auto r = run({"--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == kUsage);
  CHECK(r.err == "");
}

TEST_CASE("-h is --help") {
  auto r = run({"-h"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == kUsage);
}

TEST_CASE("--version prints the version and the plugin ABI") {
  auto r = run({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "sensor_reporter 0.1.0 (plugin ABI 1.2)\n");
  CHECK(r.err == "");
}

TEST_CASE("no configuration file is a usage error: 64") {
  auto r = run({});
  CHECK(r.exit_code == 64);
  CHECK(r.out == "");
  CHECK(r.err == std::string("sensor_reporter: a configuration file is required\n") + kTryHelp);
}

TEST_CASE("--check without a configuration file is a usage error: 64") {
  auto r = run({"--check"});
  CHECK(r.exit_code == 64);
  CHECK(r.err == std::string("sensor_reporter: a configuration file is required\n") + kTryHelp);
}

TEST_CASE("two configuration files are a usage error: 64") {
  auto r = run({"a.ini", "b.ini"});
  CHECK(r.exit_code == 64);
  CHECK(r.out == "");
  CHECK(r.err == std::string("sensor_reporter: only one configuration file may be given\n") + kTryHelp);
}

TEST_CASE("an unknown option is a usage error: 64, getopt's message and the hint") {
  auto r = run({"--bogus", "a.ini"});
  CHECK(r.exit_code == 64);
  CHECK(r.out == "");
  CHECK(r.err == sr::test::binary() + ": unrecognized option '--bogus'\n" + kTryHelp);
}

TEST_CASE("--describe without a class is a usage error: 64") {
  auto r = run({"--describe"});
  CHECK(r.exit_code == 64);
  CHECK(r.err == sr::test::binary() + ": option '--describe' requires an argument\n" + kTryHelp);
}

TEST_CASE("a configuration file after --list-plugins is a usage error: 64") {
  auto r = run({"--list-plugins", "a.ini"});
  CHECK(r.exit_code == 64);
  CHECK(r.out == "");
  CHECK(r.err == std::string("sensor_reporter: unexpected argument 'a.ini'\n") + kTryHelp);
}

// ---------------------------------------------------------------------------
// Plugin discovery

TEST_CASE("--describe Heartbeat prints its parameter table, the common keys and its messages") {
  auto r = run({"--describe", "Heartbeat"});
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  CHECK(r.out == heartbeat_description());
}

TEST_CASE("--describe shows numbered families, patterns, not-empty and secrets, and where a unit comes from") {
  auto r = run({"--plugin-dir", sr::test::test_plugin_dir(), "--describe", "TestFamilies"});
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  auto has = [&](const std::string& text) { return r.out.find(text) != std::string::npos; };
  CHECK(has("  Address<n>             string                            required  -            an address (numbered "
            "Address1, Address2, ... without a gap, bare Address = Address1, each with its Destination<n>)\n"));
  CHECK(has("  Token                  string                            optional  -            a secret (must be 8 "
            "hex digits; secret: shown as ********)\n"));
  CHECK(has("  Label                  string                            optional  -            must not be blank "
            "(not empty)\n"));
  auto ds = run({"--describe", "Ds18x20Sensor"});
  CHECK(ds.out.ends_with("  publishes Destination            temperature [°C]\n"
                         "                                   unit chosen by TempUnit: C=°C|F=°F\n"));
}

TEST_CASE("--describe accepts the dotted INI path as well as the bare name") {
  auto r = run({"--describe", "heartbeat.heartbeat.Heartbeat"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == heartbeat_description());
}

TEST_CASE(
    "--describe of a dotted path whose module does not exist describes the one class of that name, warning") {
  auto r = run({"--describe", "nosuch.x.Heartbeat"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == heartbeat_description());
  CHECK(r.err == "warning: no plugin module 'nosuch' (nosuch.so); using heartbeat.heartbeat.Heartbeat from " +
                     module_file("heartbeat") + " (write that instead)\n");
}

TEST_CASE("--describe of an unknown class: 78, listing the classes that exist") {
  auto r = run({"--describe", "Nope"});
  CHECK(r.exit_code == 78);
  CHECK(r.out == "");
  CHECK(r.err == "sensor_reporter: unknown class 'Nope'; available classes: " + sr::join(available_classes(), ", ") +
                     "\n");
}

TEST_CASE("--describe of a dotted path into a missing module: 69") {
  auto r = run({"--describe", "nosuch.x.Nope"});
  CHECK(r.exit_code == 69);
  CHECK(r.out == "");
  CHECK(r.err.starts_with("sensor_reporter: cannot find plugin module 'nosuch' (nosuch.so); searched: "));
}

TEST_CASE("--list-plugins lists every class with kind, path and summary") {
  auto r = run({"--list-plugins"});
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  Lines lines = non_empty_lines(r.out);
  CAPTURE(lines);
  REQUIRE(lines.size() == available_classes().size() + 1);
  CHECK(lines[0] == "CLASS                KIND        PATH                                     SUMMARY");
  // One row per class, sorted by name, starting with the class name.
  auto classes = available_classes();
  for (size_t i = 0; i < classes.size(); ++i) CHECK(lines[i + 1].starts_with(classes[i] + " "));
  CHECK(std::find(lines.begin(), lines.end(),
                  "Heartbeat            sensor      heartbeat.heartbeat.Heartbeat            "
                  "Publishes the uptime of its section: milliseconds and HH:MM:SS") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(),
                  "LocalConnection      connection  local.local_conn.LocalConnection         "
                  "Delivers readings to actuators in this process, optionally as ON/OFF") != lines.end());
}

// ---------------------------------------------------------------------------
// --check

TEST_CASE("--check of the shipped conf/sensor_reporter.ini is OK") {
  std::string ini = sr::test::source_dir() + "/conf/sensor_reporter.ini";
  auto r = run({"--check", ini});
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  CHECK(r.out == ini + ": OK, 2 sections would run\n");
}

TEST_CASE("--check of a missing file: 78, cannot read") {
  TempDir dir;
  std::string ini = dir.file("absent.ini");
  auto r = run({"--check", ini});
  CHECK(r.exit_code == 78);
  CHECK(r.out == "");
  CHECK(r.err == ini + ": cannot read: No such file or directory\n" + ini + ": 1 error\n");
}

TEST_CASE("--check of a directory: 78, cannot read") {
  TempDir dir;
  auto r = run({"--check", dir.path()});
  CHECK(r.exit_code == 78);
  CHECK(r.err == dir.path() + ": cannot read: Is a directory\n" + dir.path() + ": 1 error\n");
}

TEST_CASE("--check reports all five mistakes of a file with file:line, sorted by line, and exits 78") {
  TempDir dir;
  std::string ini = dir.write("five.ini",
                              "[Connection_L]\n"                             // 1
                              "Class = local.local_conn.LocalConnection\n"   // 2
                              "Name = local\n"                               // 3
                              "Name = again\n"                               // 4 duplicate key
                              "\n"                                           // 5
                              "[Sensor_HB]\n"                                // 6 Str-Dest missing
                              "Class = heartbeat.heartbeat.Heartbeat\n"      // 7
                              "Connection = local\n"                         // 8
                              "Poll = 5\n"                                   // 9
                              "Num-Dest = 50% done\n"                        // 10 lone %
                              "Retain = maybe\n"                             // 11 bad boolean
                              "\n"                                           // 12
                              "[Sensor_Other]\n"                             // 13
                              "Class = heartbeat.heartbeat.NoSuchClass\n"    // 14 unknown class
                              "Poll = 1\n");                                 // 15
  auto r = run({"--check", ini});
  CHECK(r.exit_code == 78);
  CHECK(r.out == "");
  Lines expected{
      ini + ":4: [Connection_L] Name: duplicate key (first defined at line 3)",
      ini + ":6: [Sensor_HB] Str-Dest: required key is missing",
      ini + ":10: [Sensor_HB] Num-Dest: '%' must be written '%%' (or use %(key)s)",
      ini + ":11: [Sensor_HB] Retain: 'maybe' is not a boolean (use yes/no, true/false, on/off or 1/0)",
      ini + ":14: [Sensor_Other] Class: module 'heartbeat' (" + module_file("heartbeat") +
          ") has no class 'NoSuchClass'; it provides: heartbeat.heartbeat.Heartbeat",
      ini + ": 5 errors",
  };
  CHECK(non_empty_lines(r.err) == expected);
}

TEST_CASE("--check prints warnings but still passes a file whose only problem is an unknown key") {
  TempDir dir;
  std::string ini = dir.write("warn.ini",
                              "[Sensor_HB]\n"
                              "Class = Heartbeat\n"
                              "Poll = 5\n"
                              "Num-Dest = hb/num\n"
                              "Str-Dest = hb/str\n"
                              "Str-Dst = typo\n");
  auto r = run({"--check", ini});
  CHECK(r.exit_code == 0);
  CHECK(r.err == "warning: " + ini + ":6: [Sensor_HB] Str-Dst: unknown key, ignored (did you mean 'Str-Dest'?)\n");
  CHECK(r.out == ini + ": OK, 1 section would run\n");
}

TEST_CASE("--check warns when a file holding a Password can be read by every user") {
  TempDir dir;
  std::string ini = dir.write("secret.ini",
                              "[Connection1]\n"
                              "Class = mqtt.mqtt_conn.MqttConnection\n"
                              "Name = MQTT\n"
                              "Host = 127.0.0.1\n"
                              "RootTopic = sr\n"
                              "User = me\n"
                              "Password = hunter2\n");
  REQUIRE(chmod(ini.c_str(), 0644) == 0);
  auto open_file = run({"--check", ini});
  CHECK(open_file.exit_code == 0);
  CHECK(open_file.err == "warning: " + ini +
                             ":7: [Connection1] Password: this file holds a secret and every user can read it "
                             "(mode 0644); chmod o-r it, or use PasswordFile\n");
  REQUIRE(chmod(ini.c_str(), 0640) == 0);
  auto closed_file = run({"--check", ini});
  CHECK(closed_file.exit_code == 0);
  CHECK(closed_file.err == "");
}
