// Unit tests for the configuration plan (SPEC 3.2, 3.3, 5): a parsed INI file
// checked against the parameter tables of the real plugin modules in the build
// tree. One test case per rule; diagnostics are compared as whole strings.
#include "config/plan.h"

#include "config/param_check.h"

#include "config/ini_file.h"
#include "plugin/registry.h"
#include "support/process.h"
#include "util/text.h"

#include <doctest/doctest.h>
#include "support/doctest_lines.h"
#include "support/known_classes.h"

#include <sensor_reporter/sdk.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

using namespace sr::config;


namespace {

using Lines = std::vector<std::string>;

std::vector<std::string> search_path() {
  std::vector<std::string> dirs;
  for (auto& dir : sr::split_trimmed(sr::test::plugin_path(), ':'))
    if (!dir.empty()) dirs.push_back(dir);
  dirs.push_back(sr::test::test_plugin_dir());
  return dirs;
}

// The directory of the build tree that holds `module`.so.
std::string module_dir(const std::string& module) {
  for (auto& dir : sr::split_trimmed(sr::test::plugin_path(), ':'))
    if (dir.size() > module.size() && dir.ends_with("/" + module)) return dir;
  return "<no " + module + " directory on the plugin path>";
}

Lines strings(const std::vector<Diagnostic>& diagnostics) {
  Lines out;
  for (const auto& d : diagnostics) out.push_back(d.to_string());
  return out;
}

// The registry must outlive every plan built with it: plans point at class
// descriptors inside the loaded modules.
// The test modules that cannot be loaded, as an unknown class names them.
constexpr const char* kBrokenTestModules =
    "bad_default.so, bad_pattern.so, no_entry.so, undefined_symbol.so, wrong_abi.so";

// A valid heartbeat section whose Class line (its second) is `class_line`.
std::string heartbeat_section(std::string_view section, std::string_view class_line) {
  return fmt::format("[{}]\n{}\nNum-Dest = n\nStr-Dest = s\nPoll = 1\n", section, class_line);
}

// The error of a dotted Class whose module is missing and whose class no
// module on search_path() has.
std::string missing_module_error(const std::string& module, const std::string& class_name) {
  return "cannot find plugin module '" + module + "' (" + module +
         ".so); searched: " + sr::join(search_path(), ", ") + "; class '" + class_name +
         "' is unknown: no module on the path has it; available classes: " +
         sr::join(sr::test::known_classes(/*with_test_modules=*/true), ", ") +
         "; not loadable: " + kBrokenTestModules + " (see sensor_reporter --list-plugins)";
}

struct Planner {
  sr::PluginRegistry registry{search_path()};
  Plan build(std::string_view text, bool keep_going = false) {
    ParseResult parsed = parse_text(text, "conf.ini");
    REQUIRE(parsed.ok());
    return build_plan(parsed, registry, keep_going);
  }
};

const ComponentPlan& component(const Plan& plan, std::string_view section) {
  const ComponentPlan* found = nullptr;
  for (const auto& c : plan.components)
    if (c.section == section) found = &c;
  INFO("section [", std::string(section), "]");
  REQUIRE(found != nullptr);
  return *found;
}

std::vector<std::string> sections(const Plan& plan) {
  std::vector<std::string> out;
  for (const auto& c : plan.components) out.push_back(c.section);
  return out;
}

}  // namespace

TEST_CASE("DEFAULT supplies a class parameter that the section does not set") {
  Planner planner;
  Plan plan = planner.build(
      "[DEFAULT]\n"
      "Poll = 30\n"
      "[Sensor1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = hb/num\n"
      "Str-Dest = hb/str\n"
      "[Sensor2]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = hb2/num\n"
      "Str-Dest = hb2/str\n"
      "Poll = 5\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) == Lines{});
  REQUIRE(plan.components.size() == 2);
  const ComponentPlan& first = component(plan, "Sensor1");
  CHECK(first.params == ParamList{{"Num-Dest", "hb/num"},
                                  {"Str-Dest", "hb/str"},
                                  {"Poll", "30"},
                                  {"Class", "heartbeat.heartbeat.Heartbeat"}});
  CHECK(first.poll_seconds == 30.0);
  // The section's own key wins over DEFAULT.
  CHECK(component(plan, "Sensor2").poll_seconds == 5.0);
}

TEST_CASE("DEFAULT keys that a class does not know draw no warning") {
  Planner planner;
  Plan plan = planner.build(
      "[DEFAULT]\n"
      "PinNumbering = BCM\n"
      "Destination = everywhere\n"
      "[Connection1]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = local\n"
      "[Sensor1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = 1\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) == Lines{});
  // ...and they do not leak into the parameters of classes without them.
  CHECK(component(plan, "Connection1").params ==
        ParamList{{"Format", "raw"}, {"Class", "local.local_conn.LocalConnection"}, {"Name", "local"}});
}

TEST_CASE("keys are case-insensitive and arrive in the table's spelling") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "CLASS = heartbeat.heartbeat.Heartbeat\n"
      "num-dest = Hb/Num\n"
      "STR-DEST = Hb/Str\n"
      "poll = 2\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) == Lines{});
  REQUIRE(plan.components.size() == 1);
  // Values keep their case.
  CHECK(plan.components[0].params == ParamList{{"Num-Dest", "Hb/Num"},
                                               {"Str-Dest", "Hb/Str"},
                                               {"Poll", "2"},
                                               {"Class", "heartbeat.heartbeat.Heartbeat"}});
}

TEST_CASE("section prefixes are case-sensitive: other sections are warned about and ignored") {
  Planner planner;
  Plan plan = planner.build(
      "[sensor1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "[logging]\n"
      "Level = DEBUG\n"
      "[Extra]\n"
      "[Logging]\n"
      "Level = INFO\n");
  CHECK(plan.ok());
  CHECK(plan.components.empty());
  CHECK(strings(plan.warnings) ==
        Lines{"conf.ini:1: [sensor1] not a Connection, Sensor, Actuator or Logging section; ignored",
              "conf.ini:3: [logging] not a Connection, Sensor, Actuator or Logging section; ignored",
              "conf.ini:5: [Extra] not a Connection, Sensor, Actuator or Logging section; ignored"});
  CHECK(plan.warnings[0].severity == Severity::Warning);
}

TEST_CASE("any suffix after the prefix declares a component") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection_Local]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = local\n"
      "[Sensor_Heartbeat]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = 1\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(sections(plan) == Lines{"Connection_Local", "Sensor_Heartbeat"});
  CHECK(plan.components[0].kind == SR_KIND_CONNECTION);
  CHECK(plan.components[1].kind == SR_KIND_SENSOR);
}

TEST_CASE("%(key)s and %% arrive resolved in the plan's parameters") {
  Planner planner;
  Plan plan = planner.build(
      "[DEFAULT]\n"
      "Root = house/hall\n"
      "[Sensor1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = %(root)s/uptime\n"
      "Str-Dest = 100%% %(Num-Dest)s\n"
      "Poll = 10\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) == Lines{});
  REQUIRE(plan.components.size() == 1);
  CHECK(plan.components[0].params == ParamList{{"Num-Dest", "house/hall/uptime"},
                                               {"Str-Dest", "100% house/hall/uptime"},
                                               {"Poll", "10"},
                                               {"Class", "heartbeat.heartbeat.Heartbeat"}});
}

TEST_CASE("booleans accept on/off, 1/0 and true/false in any case") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Retain = On\n"
      "[Sensor2]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Retain = 0\n"
      "[Sensor3]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Retain = TRUE\n"
      "ThrowOnPoll = nO\n"
      "[Sensor4]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n");
  CHECK(strings(plan.errors) == Lines{});
  REQUIRE(plan.components.size() == 4);
  CHECK(component(plan, "Sensor1").retain == true);
  CHECK(component(plan, "Sensor2").retain == false);
  CHECK(component(plan, "Sensor3").retain == true);
  // Absent: no override, the connection decides.
  CHECK_FALSE(component(plan, "Sensor4").retain.has_value());
  // The value is passed on as written; the plugin's own booleans too.
  CHECK(component(plan, "Sensor3").params ==
        ParamList{{"Destination", "d"},
                  {"Values", "1"},
                  {"PollDuration", "0"},
                  {"ThrowOnPoll", "nO"},
                  {"BlockFor", "0"},
                  {"Class", "sr_test.test.TestSensor"},
                  {"Retain", "TRUE"}});
}

TEST_CASE("a boolean that is not yes/no, true/false, on/off or 1/0 is an error naming key and line") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Retain = maybe\n"
      "ThrowOnPoll = \n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:5: [Sensor1] Retain: 'maybe' is not a boolean (use yes/no, true/false, on/off or 1/0)",
              "conf.ini:6: [Sensor1] ThrowOnPoll: '' is not a boolean (use yes/no, true/false, on/off or 1/0)"});
  CHECK(plan.components.empty());
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("numbers are checked for type and for the class's range") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = abc\n"
      "[Sensor2]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = 0.5\n"
      "[Sensor3]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = inf\n"
      "[Sensor4]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = 1\n"
      "[Sensor5]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "PollDuration = -0.25\n"
      "Poll = 10s\n");
  CHECK(strings(plan.errors) == Lines{"conf.ini:5: [Sensor1] Poll: 'abc' is not a number",
                                      "conf.ini:10: [Sensor2] Poll: 0.5 is below the minimum 1",
                                      "conf.ini:15: [Sensor3] Poll: 'inf' is not a number",
                                      "conf.ini:25: [Sensor5] PollDuration: -0.25 is below the minimum 0",
                                      "conf.ini:26: [Sensor5] Poll: '10s' is not a number"});
  // The minimum itself is allowed.
  CHECK(sections(plan) == Lines{"Sensor4"});
  CHECK(plan.components[0].poll_seconds == 1.0);
}

TEST_CASE("a number is decimal, as Python's float() reads it: hexadecimal is refused, a sign and exponent are not") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = 0x21\n"
      "[Sensor2]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = +1.5e1\n");
  CHECK(strings(plan.errors) == Lines{"conf.ini:5: [Sensor1] Poll: '0x21' is not a number"});
  REQUIRE(sections(plan) == Lines{"Sensor2"});
  CHECK(plan.components[0].poll_seconds == 15.0);
}

TEST_CASE("an unknown key is a warning that suggests the closest known key") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Pol = 5\n"
      "Zzzzzz = 1\n"
      "destinaton = x\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) ==
        Lines{"conf.ini:5: [Sensor1] Pol: unknown key, ignored (did you mean 'Poll'?)",
              "conf.ini:6: [Sensor1] Zzzzzz: unknown key, ignored",
              "conf.ini:7: [Sensor1] destinaton: unknown key, ignored (did you mean 'Destination'?)"});
  CHECK(plan.warnings[0].severity == Severity::Warning);
  // The misspelt key does not count as Poll.
  REQUIRE(plan.components.size() == 1);
  CHECK(plan.components[0].poll_seconds == 0.0);
}

TEST_CASE("Connection lists are split on commas and each name trimmed") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection1]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = a\n"
      "[Connection2]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = b\n"
      "[Sensor1]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Connection =  a ,   b\n"
      "[Actuator1]\n"
      "Class = sr_test.test.TestActuator\n"
      "CommandSrc = c\n"
      "Output = /dev/null\n"
      "Connection = b\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(component(plan, "Sensor1").connections == Lines{"a", "b"});
  CHECK(component(plan, "Actuator1").connections == Lines{"b"});
  CHECK(component(plan, "Connection1").name == "a");
  CHECK(component(plan, "Connection2").name == "b");
}

TEST_CASE("an unknown connection name is an error listing the defined names") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection1]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = mqtt\n"
      "[Connection2]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = local\n"
      "[Sensor1]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Connection = mqtt, zigbee\n"
      "[Actuator1]\n"
      "Class = sr_test.test.TestActuator\n"
      "CommandSrc = c\n"
      "Output = /dev/null\n"
      "Connection = lokal\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:11: [Sensor1] Connection: no connection is named 'zigbee'; defined: local, mqtt",
              "conf.ini:16: [Actuator1] Connection: no connection is named 'lokal' (did you mean 'local'?); "
              "defined: local, mqtt"});
  CHECK(sections(plan) == Lines{"Connection1", "Connection2"});
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("a missing required key is an error on the section header line") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection1]\n"
      "Class = local.local_conn.LocalConnection\n"
      "\n"
      "[Sensor1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Poll = 1\n"
      "[Sensor2]\n"
      "Poll = 1\n");
  CHECK(strings(plan.errors) == Lines{"conf.ini:1: [Connection1] Name: required key is missing",
                                      "conf.ini:4: [Sensor1] Str-Dest: required key is missing",
                                      "conf.ini:8: [Sensor2] Class: required key is missing"});
  CHECK(plan.components.empty());
}

TEST_CASE("a duplicate connection Name is an error at its Name line naming the other section's Name line") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection1]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = home\n"
      "[Connection2]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = home\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:6: [Connection2] Name: connection name 'home' is already used by [Connection1] (line 3)"});
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("Class accepts the dotted path and the bare class name") {
  Planner planner;
  Plan plan = planner.build(heartbeat_section("Sensor1", "Class = heartbeat.heartbeat.Heartbeat") +
                            heartbeat_section("Sensor2", "Class = Heartbeat") +
                            "[Actuator1]\n"
                            "Class = TestActuator\n"
                            "CommandSrc = c\n"
                            "Output = /dev/null\n");
  CHECK(strings(plan.errors) == Lines{});
  REQUIRE(plan.components.size() == 3);
  const ComponentPlan& dotted = component(plan, "Sensor1");
  const ComponentPlan& bare = component(plan, "Sensor2");
  REQUIRE(dotted.plugin.def != nullptr);
  CHECK(std::string(dotted.plugin.def->name) == "Heartbeat");
  CHECK(dotted.plugin.module->name == "heartbeat");
  CHECK(dotted.plugin.module->path == module_dir("heartbeat") + "/heartbeat.so");
  // Both spellings resolve to the very same class descriptor.
  CHECK(bare.plugin.def == dotted.plugin.def);
  CHECK(bare.plugin.module == dotted.plugin.module);
  const ComponentPlan& actuator = component(plan, "Actuator1");
  CHECK(std::string(actuator.plugin.def->path) == "sr_test.test.TestActuator");
  CHECK(actuator.plugin.module->name == "sr_test");
}

TEST_CASE("an unknown class of an existing module lists the classes the module provides") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = heartbeat.heartbeat.Nope\n"
      "[Actuator1]\n"
      "Class = sr_test.test.Nope\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:2: [Sensor1] Class: module 'heartbeat' (" + module_dir("heartbeat") +
                  "/heartbeat.so) has no class 'Nope'; it provides: heartbeat.heartbeat.Heartbeat",
              "conf.ini:4: [Actuator1] Class: module 'sr_test' (" + sr::test::test_plugin_dir() +
                  "/sr_test.so) has no class 'Nope'; it provides: sr_test.test.TestSensor, "
                  "sr_test.test.TestActuator, sr_test.test.TestFamilies, sr_test.policy.PolicySensor, sr_test.policy.PolicyActuator"});
  // The module is fine, the configuration is wrong.
  CHECK_FALSE(plan.plugin_unavailable);
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("an unknown bare class name lists every class on the plugin path and the modules that failed") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = Nope\n");
  // Broken test modules (no entry point, wrong ABI, bad default, undefined
  // symbol) are named as not loadable: the class might be in one of them,
  // so the exit code is 69.
  std::string available = sr::join(sr::test::known_classes(/*with_test_modules=*/true), ", ");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:2: [Sensor1] Class: unknown class 'Nope'; available classes: " + available +
              "; not loadable: " + kBrokenTestModules + " (see sensor_reporter --list-plugins)"});
  CHECK(plan.exit_code() == 69);
}

TEST_CASE("a module that is not on the plugin path is unavailable: exit code 69") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Num-Dest = n\n"
      "Str-Dest = s\n"
      "Poll = 0\n"
      "[Sensor2]\n"
      "Class = nosuch.nosuch.NoSuchSensor\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:5: [Sensor1] Poll: 0 is below the minimum 1",
              "conf.ini:7: [Sensor2] Class: " + missing_module_error("nosuch", "NoSuchSensor")});
  CHECK(plan.plugin_unavailable);
  // A missing module outranks the configuration error.
  CHECK(plan.exit_code() == 69);
}

TEST_CASE("a dotted Class whose module does not exist takes the one class of that name, with a warning") {
  Planner planner;
  Plan plan = planner.build(heartbeat_section("Sensor1", "Class = heartbeat.heartbeat.Heartbeat") +
                            heartbeat_section("Sensor2", "class = pulse.pulse_sensor.Heartbeat"));
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) ==
        Lines{"conf.ini:7: [Sensor2] class: no plugin module 'pulse' (pulse.so); using "
              "heartbeat.heartbeat.Heartbeat from " +
              module_dir("heartbeat") + "/heartbeat.so (write that instead)"});
  CHECK(plan.exit_code() == 0);
  // The very class the canonical path names, validated like any other.
  CHECK(component(plan, "Sensor2").plugin.def == component(plan, "Sensor1").plugin.def);
  CHECK(*find_param(component(plan, "Sensor2").params, "Num-Dest") == "n");
}

TEST_CASE("a dotted Class whose module does not exist and whose class is in two modules lists both") {
  std::string twins = sr::test::test_plugin_dir() + "/twin";
  sr::PluginRegistry registry(std::vector<std::string>{twins});
  ParseResult parsed = parse_text("[Sensor1]\nClass = gone.x.TwinSensor\n", "conf.ini");
  Plan plan = build_plan(parsed, registry, false);
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:2: [Sensor1] Class: cannot find plugin module 'gone' (gone.so); searched: " + twins +
              "; class 'TwinSensor' is in more than one module; write one of: twin_a.twin.TwinSensor (" +
              twins + "/twin_a.so), twin_b.twin.TwinSensor (" + twins + "/twin_b.so)"});
  CHECK(plan.warnings.empty());
  CHECK(plan.exit_code() == 69);
  // The bare name is ambiguous the same way.
  plan = build_plan(parse_text("[Sensor1]\nClass = TwinSensor\n", "conf.ini"), registry, false);
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:2: [Sensor1] Class: class 'TwinSensor' is ambiguous; write one of: "
              "twin_a.twin.TwinSensor (" +
              twins + "/twin_a.so), twin_b.twin.TwinSensor (" + twins + "/twin_b.so)"});
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("a dotted Class into a module that exists never looks elsewhere") {
  Planner planner;
  // TestSensor exists in sr_test, but module heartbeat is authoritative.
  Plan plan = planner.build("[Sensor1]\nClass = heartbeat.heartbeat.TestSensor\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:2: [Sensor1] Class: module 'heartbeat' (" + module_dir("heartbeat") +
              "/heartbeat.so) has no class 'TestSensor'; it provides: heartbeat.heartbeat.Heartbeat"});
  CHECK(plan.warnings.empty());
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("canonical_path: the declared path when it leads back to the class, else module.Class") {
  sr::LoadedModule module;
  module.name = "bt";
  sr_class_def def{};
  def.name = "GoveeSensor";
  sr::PluginClass plugin{&module, &def, {}, {}};
  def.path = "bt.govee_sensor.GoveeSensor";
  CHECK(sr::canonical_path(plugin) == "bt.govee_sensor.GoveeSensor");
  def.path = "govee.govee_sensor.GoveeSensor";  // another module's name
  CHECK(sr::canonical_path(plugin) == "bt.GoveeSensor");
  def.path = "bt.govee_sensor.Other";  // another class's name
  CHECK(sr::canonical_path(plugin) == "bt.GoveeSensor");
  def.path = "bt.GoveeSensor";
  CHECK(sr::canonical_path(plugin) == "bt.GoveeSensor");
  def.path = "btx.GoveeSensor";  // a longer module name that starts the same
  CHECK(sr::canonical_path(plugin) == "bt.GoveeSensor");
  def.path = nullptr;
  CHECK(sr::canonical_path(plugin) == "bt.GoveeSensor");
}

TEST_CASE("a class of the wrong kind for its section is an error") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = local\n"
      "[Connection1]\n"
      "Class = heartbeat.heartbeat.Heartbeat\n"
      "Name = hb\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:2: [Sensor1] Class: LocalConnection is a connection, but [Sensor1] declares a sensor",
              "conf.ini:5: [Connection1] Class: Heartbeat is a sensor, but [Connection1] declares a connection"});
  CHECK(plan.components.empty());
  CHECK(plan.exit_code() == 78);
}

// Known bug: plan.cpp builds the message with "a {}" for every kind, so an
// actuator reads "a actuator".
TEST_CASE("the kind-mismatch message says 'an actuator'") {
  Planner planner;
  Plan plan = planner.build(
      "[Actuator1]\n"
      "Class = sr_test.test.TestSensor\n"
      "[Sensor1]\n"
      "Class = sr_test.test.TestActuator\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:2: [Actuator1] Class: TestSensor is a sensor, but [Actuator1] declares an actuator",
              "conf.ini:4: [Sensor1] Class: TestActuator is an actuator, but [Sensor1] declares a sensor"});
}

TEST_CASE("components are created connections first, then actuators, then sensors, each in file order") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor_B]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "[Actuator_B]\n"
      "Class = sr_test.test.TestActuator\n"
      "CommandSrc = c\n"
      "Output = /dev/null\n"
      "[Connection_B]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = b\n"
      "[Sensor_A]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "[Actuator_A]\n"
      "Class = sr_test.test.TestActuator\n"
      "CommandSrc = c\n"
      "Output = /dev/null\n"
      "[Connection_A]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = a\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(sections(plan) ==
        Lines{"Connection_B", "Connection_A", "Actuator_B", "Actuator_A", "Sensor_B", "Sensor_A"});
  REQUIRE(plan.components.size() == 6);
  CHECK(plan.components[0].line == 9);
  CHECK(plan.components[1].line == 20);
  CHECK(plan.components[2].kind == SR_KIND_ACTUATOR);
  CHECK(plan.components[5].kind == SR_KIND_SENSOR);
}

TEST_CASE("every problem of a file is reported at once, in line order") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection1]\n"                           // 1
      "Class = local.local_conn.LocalConnection\n"  // 2
      "Name = local\n"                             // 3
      "OnGT = high\n"                              // 4  not a number
      "[Sensor1]\n"                                // 5
      "Class = heartbeat.heartbeat.Heartbeat\n"    // 6
      "Num-Dest = n\n"                             // 7
      "Str-Dest = s\n"                             // 8
      "Poll = 0.5\n"                               // 9  below the minimum
      "Retain = perhaps\n"                         // 10 not a boolean
      "[Sensor2]\n"                                // 11 Values missing
      "Class = sr_test.test.TestSensor\n"          // 12
      "Destination = d\n"                          // 13
      "Connection = remote\n"                      // 14 no such connection
      "[Actuator1]\n"                              // 15 fine
      "Class = sr_test.test.TestActuator\n"        // 16
      "CommandSrc = c\n"                           // 17
      "Output = /dev/null\n"                       // 18
      "Connection = local\n");                     // 19
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:4: [Connection1] OnGT: 'high' is not a number",
              "conf.ini:9: [Sensor1] Poll: 0.5 is below the minimum 1",
              "conf.ini:10: [Sensor1] Retain: 'perhaps' is not a boolean (use yes/no, true/false, on/off or 1/0)",
              "conf.ini:11: [Sensor2] Values: required key is missing",
              "conf.ini:14: [Sensor2] Connection: no connection is named 'remote'; defined: local"});
  for (const auto& d : plan.errors) CHECK(d.severity == Severity::Error);
  CHECK_FALSE(plan.ok());
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("keep_going drops bad sections and the sections that use them, as warnings") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection1]\n"                            // 1
      "Class = local.local_conn.LocalConnection\n"  // 2
      "Name = good\n"                              // 3
      "[Connection2]\n"                            // 4
      "Class = local.local_conn.LocalConnection\n"  // 5
      "Name = bad\n"                               // 6
      "OnLT = low\n"                               // 7
      "[Sensor1]\n"                                // 8
      "Class = sr_test.test.TestSensor\n"          // 9
      "Destination = d\n"                          // 10
      "Values = 1\n"                               // 11
      "Connection = good, bad\n"                   // 12
      "[Sensor2]\n"                                // 13
      "Class = sr_test.test.TestSensor\n"          // 14
      "Destination = d\n"                          // 15
      "Values = 1\n"                               // 16
      "Connection = good\n"                        // 17
      "[Sensor3]\n"                                // 18
      "Class = nosuch.mod.Thing\n",                // 19
      true);
  CHECK(strings(plan.errors) == Lines{});
  CHECK(
      strings(plan.warnings) ==
      Lines{"conf.ini:7: [Connection2] OnLT: 'low' is not a number (section skipped: --keep-going)",
            "conf.ini:12: [Sensor1] Connection: connection 'bad' was skipped (section skipped: --keep-going)",
            "conf.ini:19: [Sensor3] Class: " + missing_module_error("nosuch", "Thing") +
                " (section skipped: --keep-going)"});
  for (const auto& d : plan.warnings) CHECK(d.severity == Severity::Warning);
  CHECK(sections(plan) == Lines{"Connection1", "Sensor2"});
  CHECK_FALSE(plan.plugin_unavailable);
  CHECK(plan.exit_code() == 0);
}

TEST_CASE("without keep_going a bad connection fails the plan and its users draw no extra error") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection1]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = bad\n"
      "OnLT = low\n"
      "[Sensor1]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Connection = bad\n");
  // The connection exists (only its value is wrong), so the sensor that
  // names it draws no second error.
  CHECK(strings(plan.errors) == Lines{"conf.ini:4: [Connection1] OnLT: 'low' is not a number"});
  CHECK(strings(plan.warnings) == Lines{});
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("[Logging] keys land in plan.logging") {
  Planner planner;
  Plan plan = planner.build(
      "[Logging]\n"
      "Level = debug\n"
      "Syslog = Yes\n"
      "File = /var/log/sensor_reporter.log\n"
      "MaxSize = 2048\n"
      "NumFiles = 3\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) == Lines{});
  CHECK(plan.logging.level == sr::log::Level::Debug);
  CHECK(plan.logging.syslog == true);
  CHECK(plan.logging.file == "/var/log/sensor_reporter.log");
  CHECK(plan.logging.max_size == 2048);
  CHECK(plan.logging.num_files == 3);
}

TEST_CASE("[Logging] defaults: INFO, no syslog, no file, 64 MiB, 10 files") {
  Planner planner;
  Plan plan = planner.build("[Logging]\n");
  CHECK(plan.ok());
  CHECK(plan.logging.level == sr::log::Level::Info);
  CHECK(plan.logging.syslog == false);
  CHECK(plan.logging.file == "");
  CHECK(plan.logging.max_size == 67108864);
  CHECK(plan.logging.num_files == 10);
}

TEST_CASE("[Logging] values are checked like any other section's") {
  Planner planner;
  Plan plan = planner.build(
      "[Logging]\n"
      "Level = LOUD\n"
      "MaxSize = 100\n"
      "NumFiles = many\n"
      "Sylog = yes\n"
      "[Logging2]\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:2: [Logging] Level: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
              "conf.ini:3: [Logging] MaxSize: 100 is below the minimum 1024",
              "conf.ini:4: [Logging] NumFiles: 'many' is not an integer"});
  CHECK(strings(plan.warnings) ==
        Lines{"conf.ini:5: [Logging] Sylog: unknown key, ignored (did you mean 'Syslog'?)",
              "conf.ini:6: [Logging2] not a Connection, Sensor, Actuator or Logging section; ignored"});
  CHECK(plan.exit_code() == 78);
  // Nothing half-parsed: the bad values leave the defaults alone.
  CHECK(plan.logging.num_files == 10);
  CHECK(plan.logging.max_size == 67108864);
}

TEST_CASE("[Logging] NumFiles above 1000 is an error") {
  Planner planner;
  Plan plan = planner.build(
      "[Logging]\n"
      "NumFiles = 1001\n");
  CHECK(strings(plan.errors) == Lines{"conf.ini:2: [Logging] NumFiles: 1001 is above the maximum 1000"});
}

TEST_CASE("per-section Level is parsed into the component") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Level = warning\n"
      "[Sensor2]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(component(plan, "Sensor1").level == sr::log::Level::Warning);
  CHECK_FALSE(component(plan, "Sensor2").level.has_value());
}

TEST_CASE("a number that underflows is refused at validation, not thrown later by the plugin") {
  // Found by fuzzing: strtod accepts 1e-400 (as 0, ERANGE); std::stod throws.
  Planner planner;
  Plan plan = planner.build(
      "[Connection1]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = local\n"
      "OnGT = 1e-400\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:4: [Connection1] OnGT: '1e-400' is too close to 0 (write 0 or a larger number)"});
  CHECK(plan.exit_code() == 78);
}

// ABI 1.2 constraints, on sr_test.test.TestFamilies (test/plugins/sr_test.cpp).

TEST_CASE("a numbered family arrives numbered; the bare key counts as 1") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address = a\n"
      "Address2 = b\n"
      "destination1 = d/a\n"
      "Destination2 = d/b\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) == Lines{});
  const auto& params = component(plan, "Sensor1").params;
  auto has = [&](const std::string& key, const std::string& value) {
    return std::find(params.begin(), params.end(), sr::config::ParamList::value_type{key, value}) != params.end();
  };
  CHECK(has("Address1", "a"));
  CHECK(has("Address2", "b"));
  CHECK(has("Destination1", "d/a"));
  CHECK(has("Destination2", "d/b"));
}

TEST_CASE("numbered families: a gap, a missing partner and a missing required first key are errors") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address1 = a\n"
      "Address3 = c\n"
      "Destination1 = d/a\n"
      "Destination3 = d/c\n"
      "[Sensor2]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address1 = a\n"
      "Address2 = b\n"
      "Destination1 = d/a\n"
      "[Sensor3]\n"
      "Class = sr_test.test.TestFamilies\n");
  CHECK(strings(plan.errors) ==
        Lines{"conf.ini:4: [Sensor1] Address3: Address2 is missing: a numbered key follows the one before it "
              "without a gap",
              "conf.ini:6: [Sensor1] Destination3: Destination2 is missing: a numbered key follows the one before "
              "it without a gap",
              "conf.ini:10: [Sensor2] Address2: Destination2 is missing: Address<n> and Destination<n> come in pairs",
              "conf.ini:12: [Sensor3] Address1: required key is missing"});
}

TEST_CASE("a misspelt numbered key suggests the family with its number") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address1 = a\n"
      "Destination1 = d\n"
      "Adress2 = b\n");
  CHECK(strings(plan.warnings) == Lines{"conf.ini:5: [Sensor1] Adress2: unknown key, ignored (did you mean 'Address2'?)"});
}

TEST_CASE("pattern: a value must match as a whole, and a secret's value is masked in the error") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address = a\n"
      "Destination = d\n"
      "Token = hunter2-hunter2\n"
      "[Sensor2]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address = a\n"
      "Destination = d\n"
      "Token = 0123abcd\n");
  CHECK(strings(plan.errors) == Lines{"conf.ini:5: [Sensor1] Token: '********' is not 8 hex digits"});
  REQUIRE(plan.secrets.size() == 2);
  CHECK(plan.secrets[0].line == 5);
  CHECK(plan.secrets[0].key == "Token");
  CHECK(plan.secrets[1].value == "0123abcd");
}

TEST_CASE("not-empty refuses a blank value") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address = a\n"
      "Destination = d\n"
      "Label =   \n");
  CHECK(strings(plan.errors) == Lines{"conf.ini:5: [Sensor1] Label: must not be empty"});
}

TEST_CASE("check(): errors fail the plan at the key's line, warnings do not, secrets in messages are masked") {
  Planner planner;
  Plan plan = planner.build(
      "[Sensor1]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address = a\n"
      "Destination = d\n"
      "Label = warn\n"
      "Token = deadbeef\n"
      "[Sensor2]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address = a\n"
      "Destination = d\n"
      "High = -1\n"
      "[Sensor3]\n"
      "Class = sr_test.test.TestFamilies\n"
      "Address = a\n"
      "Destination = d\n"
      "Label = whole\n");
  CHECK(strings(plan.warnings) == Lines{"conf.ini:5: [Sensor1] Label: Label says warn",
                                        "conf.ini:6: [Sensor1] Token: token ******** is well known"});
  CHECK(strings(plan.errors) == Lines{"conf.ini:11: [Sensor2] High: High is below Low",
                                      "conf.ini:12: [Sensor3] the whole section is wrong"});
}

TEST_CASE("masked_value, find_param_def and scrub_secrets") {
  constexpr sr_param_def table[] = {
      sr::sdk::string_param("Password").secret(), sr::sdk::string_param("Address").numbered(),
      sr::sdk::string_param("Plain")};
  CHECK(masked_value(table[0], "hunter2") == "********");
  CHECK(masked_value(table[2], "hunter2") == "hunter2");
  CHECK(find_param_def(table, "password") == &table[0]);
  CHECK(find_param_def(table, "Address") == &table[1]);
  CHECK(find_param_def(table, "address12") == &table[1]);
  CHECK(find_param_def(table, "Address0") == nullptr);
  CHECK(find_param_def(table, "Address01") == nullptr);
  CHECK(find_param_def(table, "Plain2") == nullptr);
  CHECK(scrub_secrets("pw hunter2 and hunter2!", std::vector<std::string>{"hunter2", ""}) ==
        "pw ******** and ********!");
}

TEST_CASE("an exec Command with quotes draws a check() warning at its line; the plan stays valid") {
  Planner planner;
  Plan plan = planner.build(
      "[Actuator1]\n"
      "Class = exec.exec_actuator.ExecActuator\n"
      "Command = echo \"two words\"\n"
      "CommandSrc = run\n");
  CHECK(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) ==
        Lines{"conf.ini:3: [Actuator1] Command: contains quote characters, but no shell runs the command: they "
              "are passed to it as part of the words"});
  CHECK(plan.ok());
}

TEST_CASE("Format: a section's own wins, else the connection's, else raw; a raw-only connection stays raw") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection_Json]\n"
      "Class = mqtt.mqtt_conn.MqttConnection\n"
      "Name = json_conn\n"
      "Host = 127.0.0.1\n"
      "RootTopic = a\n"
      "Format = json\n"
      "[Connection_Plain]\n"
      "Class = mqtt.mqtt_conn.MqttConnection\n"
      "Name = plain\n"
      "Host = 127.0.0.1\n"
      "RootTopic = b\n"
      "[Connection_Local]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = local\n"
      "[Sensor_Raw]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Format = raw\n"
      "Connection = json_conn, plain, local\n"
      "[Sensor_Json]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "Format = JSON\n"
      "Connection = json_conn, plain, local\n"
      "[Actuator_Inherits]\n"
      "Class = sr_test.test.TestActuator\n"
      "CommandSrc = c\n"
      "Output = /dev/null\n"
      "Connection = json_conn, plain, local\n");
  REQUIRE(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) == Lines{});
  const ComponentPlan& json_conn = component(plan, "Connection_Json");
  const ComponentPlan& plain = component(plan, "Connection_Plain");
  const ComponentPlan& local = component(plan, "Connection_Local");
  CHECK(json_conn.format == PayloadFormat::Json);
  CHECK(plain.format == PayloadFormat::Raw);  // the table's default
  CHECK(json_conn.takes_json);
  CHECK_FALSE(local.takes_json);  // LocalConnection narrows Format to raw

  auto formats = [&](std::string_view section) {
    std::vector<std::string> out;
    for (const ComponentPlan* connection : {&json_conn, &plain, &local})
      out.emplace_back(format_name(payload_format(component(plan, section), *connection)));
    return out;
  };
  CHECK(component(plan, "Sensor_Raw").format == PayloadFormat::Raw);
  CHECK(component(plan, "Sensor_Json").format == PayloadFormat::Json);
  CHECK_FALSE(component(plan, "Actuator_Inherits").format.has_value());
  CHECK(formats("Sensor_Raw") == Lines{"raw", "raw", "raw"});
  CHECK(formats("Sensor_Json") == Lines{"json", "json", "raw"});
  CHECK(formats("Actuator_Inherits") == Lines{"json", "raw", "raw"});
}

TEST_CASE("Format = json on a section whose connections all take raw only is a warning at its line") {
  Planner planner;
  const std::string connections =
      "[Connection_Local]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = local\n"
      "[Connection_Mqtt]\n"
      "Class = mqtt.mqtt_conn.MqttConnection\n"
      "Name = mqtt\n"
      "Host = 127.0.0.1\n"
      "RootTopic = a\n";
  auto sensor = [](const std::string& name, const std::string& connection) {
    return "[" + name + "]\nClass = sr_test.test.TestSensor\nDestination = d\nValues = 1\nFormat = json\nConnection = " +
           connection + "\n";
  };
  Plan plan = planner.build(connections + sensor("Sensor_Local", "local") + sensor("Sensor_Both", "local, mqtt"));
  REQUIRE(strings(plan.errors) == Lines{});
  CHECK(strings(plan.warnings) ==
        Lines{"conf.ini:13: [Sensor_Local] Format: json has no effect: local takes raw values only, and gets them raw"});
  CHECK(component(plan, "Sensor_Local").format == PayloadFormat::Json);  // a warning, nothing changed
}

TEST_CASE("a Format other than raw or json is an error at its line; so is json on a raw-only class") {
  Planner planner;
  Plan plan = planner.build(
      "[Connection_Local]\n"
      "Class = local.local_conn.LocalConnection\n"
      "Name = local\n"
      "Format = json\n"
      "[Connection_Mqtt]\n"
      "Class = mqtt.mqtt_conn.MqttConnection\n"
      "Name = mqtt\n"
      "Host = 127.0.0.1\n"
      "RootTopic = a\n"
      "Format = xml\n"
      "[Sensor1]\n"
      "Class = sr_test.test.TestSensor\n"
      "Destination = d\n"
      "Values = 1\n"
      "format = yaml\n");
  CHECK(strings(plan.errors) == Lines{"conf.ini:4: [Connection_Local] Format: 'json' is not one of raw",
                                      "conf.ini:10: [Connection_Mqtt] Format: 'xml' is not one of raw, json",
                                      "conf.ini:15: [Sensor1] format: 'yaml' is not one of raw, json"});
  CHECK(plan.exit_code() == 78);
}

TEST_CASE("a changed Format is a changed definition: a reload recreates the section") {
  Planner planner;
  const std::string section = "[Sensor1]\nClass = sr_test.test.TestSensor\nDestination = d\nValues = 1\n";
  Plan before = planner.build(section);
  Plan after = planner.build(section + "Format = json\n");
  REQUIRE(before.ok());
  REQUIRE(after.ok());
  CHECK_FALSE(same_definition(component(before, "Sensor1"), component(after, "Sensor1")));
  CHECK(same_definition(component(before, "Sensor1"), component(planner.build(section), "Sensor1")));
}

TEST_CASE("ParamList: entries in order, found by key, equal by content; a NUL byte ends a key or value") {
  ParamList params{{"Poll", "1"}, {"Num-Dest", "hb/num"}, {"Empty", ""}};
  REQUIRE(params.size() == 3);
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& [key, value] : params) seen.emplace_back(key, value);
  CHECK(seen == std::vector<std::pair<std::string, std::string>>{{"Poll", "1"}, {"Num-Dest", "hb/num"}, {"Empty", ""}});
  CHECK((*std::next(params.begin())).second == "hb/num");
  CHECK(find_param(params, "Num-Dest") == std::optional<std::string_view>("hb/num"));
  CHECK(find_param(params, "Empty") == std::optional<std::string_view>(""));
  CHECK_FALSE(find_param(params, "num-dest"));
  // Values come back NUL-terminated: a plugin gets them as C strings.
  CHECK(std::string(find_param(params, "Num-Dest")->data()) == "hb/num");
  CHECK(params == ParamList{{"Poll", "1"}, {"Num-Dest", "hb/num"}, {"Empty", ""}});
  CHECK_FALSE(params == ParamList{{"Poll", "1"}, {"Num-Dest", "hb/num"}});

  // The fuzzer's find: "Name = lo\x17\0l" in a file. The list stays whole.
  ParamList cut;
  cut.emplace_back("Name", std::string_view("lo\x17\0l", 5));
  cut.emplace_back(std::string_view("K\0ey", 4), "v");
  cut.emplace_back("Last", "x");
  REQUIRE(cut.size() == 3);
  CHECK(find_param(cut, "Name") == std::optional<std::string_view>("lo\x17"));
  CHECK(find_param(cut, "K") == std::optional<std::string_view>("v"));
  CHECK(find_param(cut, "Last") == std::optional<std::string_view>("x"));
  CHECK(std::distance(cut.begin(), cut.end()) == 3);
}
