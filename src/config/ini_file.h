// The INI layer: reads a sensor_reporter configuration file with the rules of
// Python's configparser (SPEC 3.1), so that files written for the original
// sensor_reporter mean the same thing here.
//
// Ownership and lifetime: everything is a value type. Every `const Entry*` and
// `const Section*` handed out points into the IniFile it came from and stays
// valid as long as that IniFile is alive and not modified. Nothing here is
// shared between threads; parse on the thread that uses the result.
#pragma once

#include <sensor_reporter/text.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace sr::config {

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string file;     // path as given
  int line = 0;         // 1-based; 0 when not tied to a line
  std::string section;  // may be empty
  std::string key;      // may be empty
  std::string message;

  // "FILE:LINE: [SECTION] KEY: MESSAGE"; ":LINE" is left out when line == 0,
  // "[SECTION] " and "KEY: " when they are empty.
  std::string to_string() const;
};

struct Entry {
  std::string key;    // as written in the file (original case), e.g. "Num-Dest"
  std::string value;  // after joining continuation lines and interpolation
  std::string raw;    // after joining continuation lines, before interpolation
  int line = 0;       // line of the key
};

struct Section {
  std::string name;            // case-sensitive
  int line = 0;                // line of the [header]; 0 for an absent [DEFAULT]
  std::vector<Entry> entries;  // own keys, file order

  // [DEFAULT] entries whose value changes when interpolated with this
  // section's keys (configparser expands a DEFAULT value in the context of the
  // section that reads it: DEFAULT `Script = %(Root)s/x` follows a `Root` that
  // the section overrides). Only the entries that differ from DEFAULT's own
  // value are kept; IniFile::lookup consults them. Not written in the file.
  std::vector<Entry> inherited;

  // Own keys only, case-insensitive; nullptr if absent.
  const Entry* find(std::string_view key) const;
};

struct IniFile {
  std::string path;
  std::vector<Section> sections;  // file order, WITHOUT [DEFAULT]
  Section defaults;               // the [DEFAULT] section (may be empty, name "DEFAULT")

  // Own key first, then DEFAULT fallback; case-insensitive; nullptr if absent.
  const Entry* lookup(const Section& section, std::string_view key) const;
  // Case-sensitive; like configparser's has_section(), never finds [DEFAULT].
  const Section* find_section(std::string_view name) const;
};

struct ParseResult {
  IniFile ini;
  std::vector<Diagnostic> errors;    // in line order
  std::vector<Diagnostic> warnings;  // in line order
  bool ok() const { return errors.empty(); }
};

// A missing or unreadable file yields one error naming the path and strerror.
ParseResult parse_file(const std::string& path);
// Same rules on text already in memory (tests, reload); `name` goes into the
// diagnostics as the file.
ParseResult parse_text(std::string_view text, const std::string& name);

// The SDK's, so that the host and the plugins read the same words.
using sdk::iequals;
using sdk::parse_bool;
using sdk::to_lower;

}  // namespace sr::config
