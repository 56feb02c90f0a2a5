// Unit tests for the INI layer (SPEC 3.1): one test case per configparser rule.
#include "config/ini_file.h"

#include <doctest/doctest.h>
#include "support/doctest_lines.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace sr::config;


namespace {

std::vector<std::string> strings(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const auto& d : diagnostics) out.push_back(d.to_string());
  return out;
}

using Lines = std::vector<std::string>;

// Value of `key` as seen from section `name`; "<absent>" if there is none.
std::string get(const ParseResult& result, std::string_view name, std::string_view key) {
  const Section* section = name == "DEFAULT" ? &result.ini.defaults : result.ini.find_section(name);
  REQUIRE(section != nullptr);
  const Entry* entry = result.ini.lookup(*section, key);
  return entry ? entry->value : "<absent>";
}

}  // namespace

TEST_CASE("sections and keys: both delimiters, the first one wins, whitespace trimmed") {
  auto result = parse_text(
      "[Sensor1]\n"
      "  Class   =   heartbeat.heartbeat.Heartbeat  \n"
      "Poll: 10\n"
      "Url = http://host:8080/x\n"
      "Pair: a=b\n"
      "[Connection1]\n"
      "Name=mqtt\n",
      "conf.ini");
  REQUIRE(result.ok());
  CHECK(result.warnings.empty());
  REQUIRE(result.ini.sections.size() == 2);
  const Section& sensor = result.ini.sections[0];
  CHECK(sensor.name == "Sensor1");
  CHECK(sensor.line == 1);
  REQUIRE(sensor.entries.size() == 4);
  CHECK(sensor.entries[0].key == "Class");
  CHECK(sensor.entries[0].value == "heartbeat.heartbeat.Heartbeat");
  CHECK(sensor.entries[0].line == 2);
  CHECK(sensor.entries[1].key == "Poll");
  CHECK(sensor.entries[1].value == "10");
  CHECK(sensor.entries[1].line == 3);
  CHECK(sensor.entries[2].key == "Url");
  CHECK(sensor.entries[2].value == "http://host:8080/x");
  CHECK(sensor.entries[3].key == "Pair");
  CHECK(sensor.entries[3].value == "a=b");
  CHECK(result.ini.sections[1].name == "Connection1");
  CHECK(result.ini.sections[1].line == 6);
  CHECK(get(result, "Connection1", "Name") == "mqtt");
  CHECK(result.ini.path == "conf.ini");
}

TEST_CASE("full-line comments, blank lines, a UTF-8 BOM and CRLF line ends are ignored") {
  auto result = parse_text(
      "\xEF\xBB\xBF[Logging]\r\n"
      "# a comment\r\n"
      "; another = comment\r\n"
      "\r\n"
      "    # an indented comment\r\n"
      "Level = DEBUG\r\n"
      "   \r\n",
      "conf.ini");
  REQUIRE(result.ok());
  REQUIRE(result.ini.sections.size() == 1);
  CHECK(result.ini.sections[0].name == "Logging");
  REQUIRE(result.ini.sections[0].entries.size() == 1);
  CHECK(result.ini.sections[0].entries[0].value == "DEBUG");
  CHECK(result.ini.sections[0].entries[0].line == 6);
}

TEST_CASE("no inline comments: ';' and '#' after a value are part of it") {
  auto result = parse_text(
      "[Sensor1]\n"
      "Pin = 17 # gpio\n"
      "Topic = a ; b\n"
      "Password = x;y\n",
      "conf.ini");
  REQUIRE(result.ok());
  CHECK(get(result, "Sensor1", "Pin") == "17 # gpio");
  CHECK(get(result, "Sensor1", "Topic") == "a ; b");
  CHECK(get(result, "Sensor1", "Password") == "x;y");
}

TEST_CASE("a line longer than libinih's buffer is an error, never a truncated value") {
  std::string fits = "Fits = " + std::string(198 - 7, 'a');  // 198 characters
  std::string too_long = "Long = " + std::string(199 - 7, 'b');  // 199 characters
  auto result = parse_text("[Sensor1]\n" + fits + "\n" + too_long +
                               "\n"
                               "    continuation of the long line\n"
                               "After = ok\n",
                           "conf.ini");
  CHECK(strings(result.errors) == Lines{"conf.ini:3: line is 199 characters long; the limit is 198"});
  CHECK(get(result, "Sensor1", "Fits") == std::string(191, 'a'));
  CHECK(get(result, "Sensor1", "Long") == "<absent>");
  CHECK(get(result, "Sensor1", "After") == "ok");
  CHECK(result.ini.sections[0].entries.size() == 2);
}

TEST_CASE("a line holding a NUL byte is an error naming it; the value is not cut at the NUL") {
  using namespace std::string_literals;
  auto result = parse_text("[Sensor1]\nValues = OFF, \0ON\n    and more\nAfter = ok\nKey\0 = x\n"s, "conf.ini");
  CHECK(strings(result.errors) == Lines{"conf.ini:2: line holds a NUL byte (is this a text file?)",
                                        "conf.ini:5: line holds a NUL byte (is this a text file?)"});
  CHECK(get(result, "Sensor1", "Values") == "<absent>");
  CHECK(get(result, "Sensor1", "After") == "ok");
  CHECK(result.ini.sections[0].entries.size() == 1);
}

TEST_CASE("every line that is not a header, key or continuation is reported, not only the first") {
  auto result = parse_text(
      "Orphan = 1\n"
      "[Sensor1]\n"
      "just some words\n"
      "Class = x\n"
      "[unclosed\n"
      "= no key\n"
      "[]\n",
      "conf.ini");
  CHECK(strings(result.errors) == Lines{
                                      "conf.ini:1: Orphan: key before the first [section] header",
                                      "conf.ini:3: expected '[section]' or 'key = value'",
                                      "conf.ini:5: expected '[section]' or 'key = value'",
                                      "conf.ini:6: expected '[section]' or 'key = value'",
                                      "conf.ini:7: expected '[section]' or 'key = value'",
                                  });
  CHECK(get(result, "Sensor1", "Class") == "x");
  CHECK(result.ini.defaults.entries.empty());
}

TEST_CASE("section names are case-sensitive, keys case-insensitive, values keep their case") {
  auto result = parse_text(
      "[Sensor1]\n"
      "Num-Dest = MixedCase/Topic\n"
      "[sensor1]\n"
      "class = Lower\n",
      "conf.ini");
  REQUIRE(result.ok());
  REQUIRE(result.ini.sections.size() == 2);
  const Section* upper = result.ini.find_section("Sensor1");
  const Section* lower = result.ini.find_section("sensor1");
  REQUIRE(upper != nullptr);
  REQUIRE(lower != nullptr);
  CHECK(upper != lower);
  CHECK(result.ini.find_section("SENSOR1") == nullptr);
  const Entry* entry = upper->find("NUM-DEST");
  REQUIRE(entry != nullptr);
  CHECK(entry->key == "Num-Dest");
  CHECK(entry->value == "MixedCase/Topic");
  CHECK(result.ini.lookup(*lower, "Class")->value == "Lower");
}

TEST_CASE("[DEFAULT] supplies fallbacks for every section and is not one of the sections") {
  auto result = parse_text(
      "[DEFAULT]\n"
      "Level = WARNING\n"
      "PinNumbering = BCM\n"
      "[Logging]\n"
      "Level = DEBUG\n"
      "[Sensor1]\n"
      "Class = x\n",
      "conf.ini");
  REQUIRE(result.ok());
  REQUIRE(result.ini.sections.size() == 2);
  CHECK(result.ini.sections[0].name == "Logging");
  CHECK(result.ini.find_section("DEFAULT") == nullptr);
  CHECK(result.ini.defaults.name == "DEFAULT");
  CHECK(result.ini.defaults.line == 1);
  CHECK(get(result, "Logging", "level") == "DEBUG");
  CHECK(get(result, "Sensor1", "LEVEL") == "WARNING");
  CHECK(result.ini.lookup(result.ini.sections[1], "pinnumbering")->line == 3);
  CHECK(result.ini.sections[1].find("Level") == nullptr);  // find: own keys only
  CHECK(get(result, "Sensor1", "Missing") == "<absent>");

  auto without = parse_text("[Sensor1]\nClass = x\n", "conf.ini");
  CHECK(without.ini.defaults.name == "DEFAULT");
  CHECK(without.ini.defaults.entries.empty());
  CHECK(get(without, "Sensor1", "Level") == "<absent>");
}

TEST_CASE("continuation lines: indented deeper than the key, joined with newlines") {
  auto result = parse_text(
      "[Sensor1]\n"
      "Script = line one\n"
      "    line two ; kept\n"
      "\n"
      "  # a comment does not end the value\n"
      "\tline three\n"
      "\n"
      "Next = 1\n"
      "  [NotAHeader]\n"
      "[Sensor2]\n"
      "  Class = indented keys are keys\n"
      "  Poll = 5\n"
      "    continued\n"
      "[Sensor3]\n"
      "    no key to continue\n",
      "conf.ini");
  CHECK(strings(result.errors) == Lines{"conf.ini:15: continuation line without a key"});
  // configparser keeps the blank line inside the value and drops the one at its end.
  CHECK(get(result, "Sensor1", "Script") == "line one\nline two ; kept\n\nline three");
  CHECK(get(result, "Sensor1", "Next") == "1\n[NotAHeader]");
  CHECK(result.ini.find_section("NotAHeader") == nullptr);
  CHECK(get(result, "Sensor2", "Class") == "indented keys are keys");
  CHECK(get(result, "Sensor2", "Poll") == "5\ncontinued");
  CHECK(result.ini.find_section("Sensor3")->entries.empty());
}

TEST_CASE("a duplicate section is an error naming both lines; the first one is kept") {
  auto result = parse_text(
      "[Logging]\n"
      "Level = INFO\n"
      "[Sensor1]\n"
      "Class = first\n"
      "[DEFAULT]\n"
      "A = 1\n"
      "[DEFAULT]\n"
      "B = 2\n"
      "[Sensor1]\n"
      "Class = second\n"
      "Extra = dropped\n",
      "conf.ini");
  CHECK(strings(result.errors) ==
        Lines{
            "conf.ini:7: [DEFAULT] duplicate section (first defined at line 5)",
            "conf.ini:9: [Sensor1] duplicate section (first defined at line 3)",
        });
  REQUIRE(result.ini.sections.size() == 2);
  CHECK(get(result, "Sensor1", "Class") == "first");
  CHECK(get(result, "Sensor1", "Extra") == "<absent>");
  CHECK(get(result, "Sensor1", "B") == "<absent>");
}

TEST_CASE("a duplicate key (in any case) is an error naming both lines; the first value is kept") {
  auto result = parse_text(
      "[Sensor1]\n"
      "Class = x\n"
      "\n"
      "\n"
      "Poll = 5\n"
      "  continued\n"
      "poll = 10\n"
      "  also dropped\n",
      "conf.ini");
  CHECK(strings(result.errors) ==
        Lines{"conf.ini:7: [Sensor1] poll: duplicate key (first defined at line 5)"});
  CHECK(get(result, "Sensor1", "Poll") == "5\ncontinued");
  CHECK(result.ini.sections[0].entries.size() == 2);
}

TEST_CASE("interpolation: %(key)s from the section or DEFAULT, recursively; %% is a literal %") {
  auto result = parse_text(
      "[DEFAULT]\n"
      "Root = /opt/sr\n"
      "Script = %(root)s/bin/run\n"
      "[Sensor1]\n"
      "Cmd = %(Script)s --all\n"
      "Percent = 100%%\n"
      "Name = s1\n"
      "Topic = home/%(name)s/%(NAME)s\n"
      "Multi = a\n"
      "  %(name)s\n"
      "[Sensor2]\n"
      "Root = /srv\n",
      "conf.ini");
  REQUIRE(result.ok());
  CHECK(get(result, "DEFAULT", "Script") == "/opt/sr/bin/run");
  CHECK(get(result, "Sensor1", "Script") == "/opt/sr/bin/run");
  CHECK(get(result, "Sensor1", "Cmd") == "/opt/sr/bin/run --all");
  CHECK(get(result, "Sensor1", "Percent") == "100%");
  CHECK(get(result, "Sensor1", "Topic") == "home/s1/s1");
  CHECK(get(result, "Sensor1", "Multi") == "a\ns1");
  // A DEFAULT value read from a section expands with that section's keys.
  CHECK(get(result, "Sensor2", "Script") == "/srv/bin/run");
  CHECK(result.ini.find_section("Sensor1")->find("Cmd")->raw == "%(Script)s --all");
  CHECK(result.ini.find_section("Sensor1")->find("Percent")->raw == "100%%");
  CHECK(result.ini.defaults.find("Script")->raw == "%(root)s/bin/run");
}

TEST_CASE("interpolation errors name the key and its line") {
  auto result = parse_text(
      "[DEFAULT]\n"
      "Base = %(nowhere)s\n"
      "[Sensor1]\n"
      "Loop = %(Loop)s\n"
      "[Connection1]\n"
      "Name = mqtt\n"
      "Open = %(name\n"
      "Format = %(name)d\n"
      "Empty = %()s\n"
      "Ref = %(Password)s\n"
      "Absent = %(missing)s\n"
      "Password = ab%cd\n",
      "conf.ini");
  CHECK(strings(result.errors) ==
        Lines{
            "conf.ini:2: [DEFAULT] Base: bad interpolation: no key 'nowhere' in section or DEFAULT",
            "conf.ini:4: [Sensor1] Loop: interpolation too deep",
            "conf.ini:7: [Connection1] Open: bad interpolation: expected '%(key)s'",
            "conf.ini:8: [Connection1] Format: bad interpolation: expected '%(key)s'",
            "conf.ini:9: [Connection1] Empty: bad interpolation: expected '%(key)s'",
            "conf.ini:10: [Connection1] Ref: '%' must be written '%%' (or use %(key)s)",
            "conf.ini:11: [Connection1] Absent: bad interpolation: no key 'missing' in section or DEFAULT",
            "conf.ini:12: [Connection1] Password: '%' must be written '%%' (or use %(key)s)",
        });
  CHECK(result.ini.find_section("Connection1")->find("Password")->raw == "ab%cd");
}

TEST_CASE("an empty value is the empty string") {
  auto result = parse_text(
      "[Sensor1]\n"
      "Toggle =\n"
      "Dest:   \n",
      "conf.ini");
  REQUIRE(result.ok());
  CHECK(get(result, "Sensor1", "Toggle") == "");
  CHECK(get(result, "Sensor1", "Dest") == "");
}

TEST_CASE("diagnostics carry the file name as given and format as FILE:LINE: [SECTION] KEY: MESSAGE") {
  auto result = parse_text("[Sensor1] # trailing\nA = 1\nA = 2\n", "/etc/sr/my.ini");
  REQUIRE(result.errors.size() == 1);
  const Diagnostic& d = result.errors[0];
  CHECK(d.severity == Severity::Error);
  CHECK(d.file == "/etc/sr/my.ini");
  CHECK(d.line == 3);
  CHECK(d.section == "Sensor1");
  CHECK(d.key == "A");
  CHECK(d.message == "duplicate key (first defined at line 2)");
  // configparser ignores text after the header's closing bracket; we say so.
  CHECK(strings(result.warnings) == Lines{"/etc/sr/my.ini:1: [Sensor1] text after ']' is ignored"});
  CHECK(result.warnings[0].severity == Severity::Warning);

  CHECK(Diagnostic{Severity::Error, "f.ini", 0, "", "", "m"}.to_string() == "f.ini: m");
  CHECK(Diagnostic{Severity::Error, "f.ini", 4, "", "K", "m"}.to_string() == "f.ini:4: K: m");
  CHECK(Diagnostic{Severity::Error, "f.ini", 0, "S", "", "m"}.to_string() == "f.ini: [S] m");
}

TEST_CASE("parse_file reads a file and reports a missing or unreadable one with strerror") {
  auto directory = std::filesystem::temp_directory_path() / "sr_test_ini";
  std::filesystem::create_directories(directory);
  auto path = (directory / "good.ini").string();
  std::ofstream(path) << "[Sensor1]\nClass = x\n";
  auto good = parse_file(path);
  CHECK(good.ok());
  CHECK(good.ini.path == path);
  CHECK(get(good, "Sensor1", "Class") == "x");

  auto missing = (directory / "missing.ini").string();
  CHECK(strings(parse_file(missing).errors) ==
        Lines{missing + ": cannot read: No such file or directory"});
  CHECK(strings(parse_file(directory.string()).errors) ==
        Lines{directory.string() + ": cannot read: Is a directory"});
  std::filesystem::remove_all(directory);
}

TEST_CASE("parse_bool accepts yes/no, true/false, on/off, 1/0 in any case and nothing else") {
  for (const char* text : {"yes", "TRUE", " On ", "1", "Yes\t"}) CHECK_MESSAGE(parse_bool(text) == true, text);
  for (const char* text : {"no", "False", "OFF", " 0"}) CHECK_MESSAGE(parse_bool(text) == false, text);
  for (const char* text : {"", "y", "t", "2", "yes please", "enabled"})
    CHECK_MESSAGE(parse_bool(text) == std::nullopt, text);
}

TEST_CASE("to_lower and iequals are ASCII case folding") {
  CHECK(to_lower("Num-Dest_X1") == "num-dest_x1");
  CHECK(iequals("Class", "cLASS"));
  CHECK_FALSE(iequals("Class", "Classes"));
  CHECK_FALSE(iequals("Poll", "Pol1"));
}

TEST_CASE("interpolation that grows exponentially is cut off with an error, not run for ever") {
  // Found by fuzzing: each key refers to the next one 8 times, 8 levels deep.
  std::string text = "[Sensor_X]\n";
  for (char key = 'a'; key < 'i'; ++key) {
    text += std::string(1, key) + " = ";
    for (int i = 0; i < 8; ++i) text += key == 'h' ? "xxxxxxxxxxxxxxxx" : "%(" + std::string(1, static_cast<char>(key + 1)) + ")s";
    text += "\n";
  }
  auto result = parse_text(text, "conf.ini");
  REQUIRE_FALSE(result.errors.empty());
  CHECK(result.errors.front().to_string() ==
        "conf.ini:2: [Sensor_X] a: value longer than 65536 characters after interpolation");
}
