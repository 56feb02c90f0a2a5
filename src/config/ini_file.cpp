// The INI layer on top of libinih, made to behave like Python's configparser
// (SPEC 3.1). libinih r55 (Debian 12) differs from configparser in ways that
// would silently change a file's meaning, so inih reads the text through our
// own line reader (`Parser::read_line`), which also classifies every line:
//
// - Long lines: inih reads into a fixed buffer and parses the rest of a longer
//   line as a new line. The reader reports such a line as an error and hands
//   inih an empty line instead, so no truncated value or garbage gets in.
// - Inline comments: inih cuts `value ; text` to `value`; configparser has no
//   inline comments and keeps the whole text. Keys and values are therefore
//   taken from the raw line, never from the strings inih hands the handler.
// - Continuation lines: inih calls the handler a second time with the same key
//   and only the new line as value, and treats ANY indented line after a key as
//   a continuation. configparser only continues a value with lines indented
//   deeper than the key, and keeps blank lines inside the value. The reader
//   decides what continues what; the handler joins the parts.
// - Errors: inih only returns the number of the first bad line. The reader
//   reports every bad line itself.
//
// inih's handler runs synchronously right after the reader has returned the
// line it belongs to, so the reader's line counter and classification are the
// handler's too (Debian builds inih with INI_HANDLER_LINENO=0). inih's runtime
// globals (ini_allow_inline_comments, ...) are a Debian patch and are not used.
#include "config/ini_file.h"

#include <ini.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>
#include <unordered_map>

#include <fmt/core.h>

namespace sr::config {
namespace {

constexpr std::string_view whitespace = " \t\r\n\v\f";
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";
// configparser's MAX_INTERPOLATION_DEPTH.
constexpr int max_interpolation_depth = 10;

using sdk::trim;

int indent_of(std::string_view line) {
  auto first = line.find_first_not_of(whitespace);
  return static_cast<int>(first == std::string_view::npos ? line.size() : first);
}

const Entry* find_entry(const std::vector<Entry>& entries, std::string_view key) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const Entry& entry) { return iequals(entry.key, key); });
  return it == entries.end() ? nullptr : &*it;
}

// configparser's BasicInterpolation: expands `rest` into `out` with the keys of
// `context`, falling back to `defaults`. Referenced values are expanded from
// their raw text in the same context, as configparser does. Returns an error
// message, empty on success.
constexpr std::size_t max_interpolated_size = 64 * 1024;

std::string expand(std::string_view rest, const Section& context, const Section& defaults,
                   int depth, std::string& out) {
  if (depth > max_interpolation_depth) return "interpolation too deep";
  while (!rest.empty()) {
    auto percent = rest.find('%');
    out.append(rest.substr(0, percent));
    // Found by fuzzing: keys that refer to each other many times grow
    // exponentially within the depth limit; bound the result instead.
    if (out.size() > max_interpolated_size)
      return fmt::format("value longer than {} characters after interpolation", max_interpolated_size);
    if (percent == std::string_view::npos) return {};
    rest.remove_prefix(percent);
    if (rest.starts_with("%%")) {
      out += '%';
      rest.remove_prefix(2);
      continue;
    }
    if (!rest.starts_with("%(")) return "'%' must be written '%%' (or use %(key)s)";
    auto close = rest.find(')', 2);
    if (close == std::string_view::npos || close == 2 || rest.substr(close + 1, 1) != "s")
      return "bad interpolation: expected '%(key)s'";
    auto name = rest.substr(2, close - 2);
    rest.remove_prefix(close + 2);
    const Entry* referenced = context.find(name);
    if (!referenced) referenced = defaults.find(name);
    if (!referenced) return fmt::format("bad interpolation: no key '{}' in section or DEFAULT", name);
    if (auto error = expand(referenced->raw, context, defaults, depth + 1, out); !error.empty())
      return error;
  }
  return {};
}

enum class LineKind { Ignored, Header, Key, Continuation };

class Parser {
 public:
  explicit Parser(const std::string& name) {
    result_.ini.path = name;
    result_.ini.defaults.name = "DEFAULT";
  }

  ParseResult run(std::string_view text) {
    text_ = text;
    int first_error_line = ini_parse_stream(&Parser::read_line, this, &Parser::on_key, this);
    check_handled();
    // Safety net: a line inih rejected must never pass unreported.
    if (first_error_line < 0) {
      report(Severity::Error, 0, "", "", fmt::format("libinih failed ({})", first_error_line));
    } else if (first_error_line > 0 && !has_error_at(first_error_line)) {
      report(Severity::Error, first_error_line, "", "", "libinih could not parse this line");
    }
    interpolate_all();
    auto by_line = [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; };
    std::stable_sort(result_.errors.begin(), result_.errors.end(), by_line);
    std::stable_sort(result_.warnings.begin(), result_.warnings.end(), by_line);
    return std::move(result_);
  }

 private:
  // inih's ini_reader: hands inih one line of text_ (fgets-like) per call.
  static char* read_line(char* buffer, int size, void* self) {
    return static_cast<Parser*>(self)->next_line(buffer, size);
  }

  // inih's ini_handler, called for key lines and continuation lines. inih's
  // section/name/value are not used (see the top of the file): the reader has
  // already split the raw line into key_ and value_.
  static int on_key(void* self, const char*, const char*, const char*) {
    auto& parser = *static_cast<Parser*>(self);
    if (parser.kind_ == LineKind::Key) parser.add_key();
    if (parser.kind_ == LineKind::Continuation) parser.add_continuation();
    parser.handled_ = true;
    return 1;  // our own diagnostics replace inih's "first error line"
  }

  char* next_line(char* buffer, int size) {
    check_handled();
    if (pos_ >= text_.size()) return nullptr;
    auto end = text_.find('\n', pos_);
    auto line = text_.substr(pos_, end == std::string_view::npos ? end : end - pos_);
    pos_ = end == std::string_view::npos ? text_.size() : end + 1;
    ++line_no_;
    if (line_no_ == 1 && line.starts_with(utf8_bom)) line.remove_prefix(utf8_bom.size());
    if (line.ends_with('\r')) line.remove_suffix(1);

    // inih needs room for the newline and the terminating NUL.
    auto limit = static_cast<std::size_t>(std::max(size - 2, 0));
    std::string for_inih = classify(line, limit);
    for_inih.resize(std::min(for_inih.size(), limit));  // classify keeps it short; never overflow
    for_inih += '\n';
    std::memcpy(buffer, for_inih.c_str(), for_inih.size() + 1);
    return buffer;
  }

  // Why no part of the line can be used, or "".
  static std::string whole_line_problem(std::string_view line, std::size_t limit) {
    if (line.size() > limit) return fmt::format("line is {} characters long; the limit is {}", line.size(), limit);
    // configparser would keep a NUL byte, but no key or value can hold one
    // (they reach plugins as C strings), and one in a text file means the
    // file is not what the user thinks it is.
    if (line.find('\0') != std::string_view::npos) return "line holds a NUL byte (is this a text file?)";
    return {};
  }

  // Decides what the line is (configparser's rules), updates the reader state
  // and returns the text inih should see.
  std::string classify(std::string_view line, std::size_t limit) {
    kind_ = LineKind::Ignored;
    handled_ = false;
    int indent = indent_of(line);
    bool continues = value_indent_ >= 0 && indent > value_indent_;

    if (std::string problem = whole_line_problem(line, limit); !problem.empty()) {
      report(Severity::Error, line_no_, "", "", problem);
      skip_value_lines(continues ? value_indent_ : indent);
      return {};
    }
    auto text = trim(line);
    if (text.empty()) {
      // configparser keeps blank lines inside a value (but not at its end).
      if (value_indent_ >= 0) ++blank_lines_;
      return {};
    }
    if (text.front() == '#' || text.front() == ';') return {};  // comments do not end a value
    if (continues) {
      // Continues a rejected or dropped line: nothing to join it to, and inih,
      // which saw no key, would call it an error of its own.
      if (!entry_) return {};
      kind_ = LineKind::Continuation;
      value_ = text;
      return " " + std::string(text);  // indented, so inih treats it as a continuation
    }

    bool key_open = value_indent_ >= 0;
    value_indent_ = -1;
    entry_ = nullptr;
    blank_lines_ = 0;
    if (text.front() == '[') {
      // configparser's `\[(?P<header>.+)\]`: the name runs to the LAST ']'.
      auto close = text.rfind(']');
      if (close != std::string_view::npos && close > 1) {
        open_section(text.substr(1, close - 1), trim(text.substr(close + 1)));
        return std::string(text);
      }
    } else if (auto delimiter = text.find_first_of("=:");
               delimiter != std::string_view::npos && delimiter > 0) {
      kind_ = LineKind::Key;
      key_ = trim(text.substr(0, delimiter));
      value_ = trim(text.substr(delimiter + 1));
      value_indent_ = indent;
      return std::string(text);
    }
    report(Severity::Error, line_no_, "", "",
           indent > 0 && seen_header_ && !key_open ? "continuation line without a key"
                                                   : "expected '[section]' or 'key = value'");
    skip_value_lines(indent);
    return {};
  }

  // After a rejected line, lines indented deeper belong to it: drop them
  // quietly instead of reporting each one or appending them to another key.
  void skip_value_lines(int indent) {
    value_indent_ = indent;
    entry_ = nullptr;
    blank_lines_ = 0;
  }

  void open_section(std::string_view name, std::string_view trailing) {
    seen_header_ = true;
    section_ = nullptr;  // keys of a duplicate section are dropped
    if (!trailing.empty())
      report(Severity::Warning, line_no_, std::string(name), "", "text after ']' is ignored");
    auto& ini = result_.ini;
    bool is_default = name == "DEFAULT";  // case-sensitive, as in configparser
    const auto [first, is_new] = section_lines_.try_emplace(std::string(name), line_no_);
    if (!is_new) {
      report(Severity::Error, line_no_, std::string(name), "",
             fmt::format("duplicate section (first defined at line {})", first->second));
      return;
    }
    if (is_default) {
      ini.defaults.line = line_no_;
      section_ = &ini.defaults;
    } else {
      // Invalidates the previous section_ and entry_, both just reset.
      section_ = &ini.sections.emplace_back(Section{std::string(name), line_no_, {}, {}});
    }
  }

  void add_key() {
    std::string key(key_);
    if (!seen_header_) {
      report(Severity::Error, line_no_, "", key, "key before the first [section] header");
      return;
    }
    if (!section_) return;  // inside a duplicate section, already reported
    if (const Entry* first = section_->find(key)) {
      report(Severity::Error, line_no_, section_->name, key,
             fmt::format("duplicate key (first defined at line {})", first->line));
      return;  // the first value stays
    }
    std::string value(value_);
    // Valid until the next key of this section, by which time entry_ is reset.
    entry_ = &section_->entries.emplace_back(Entry{std::move(key), value, value, line_no_});
  }

  void add_continuation() {
    if (!entry_) return;  // continues a rejected line
    entry_->raw.append(static_cast<std::size_t>(blank_lines_) + 1, '\n');
    entry_->raw += value_;
    entry_->value = entry_->raw;
    blank_lines_ = 0;
  }

  // A line we took for a key or continuation that inih did not hand to the
  // handler would otherwise vanish without a word.
  void check_handled() {
    bool expected = kind_ == LineKind::Key || kind_ == LineKind::Continuation;
    if (expected && !handled_)
      report(Severity::Error, line_no_, "", "", "libinih could not parse this line");
    kind_ = LineKind::Ignored;
  }

  // Eager, so that every bad value is reported at start-up rather than when a
  // plugin first reads it (configparser raises at get() time).
  void interpolate_all() {
    auto& ini = result_.ini;
    auto expand_entry = [&](Entry& entry, const Section& context, const std::string& section_name,
                            std::string_view note) {
      std::string value;
      auto error = expand(entry.raw, context, ini.defaults, 1, value);
      if (error.empty()) {
        entry.value = std::move(value);
        return true;
      }
      report(Severity::Error, entry.line, section_name, entry.key, error + std::string(note));
      return false;
    };

    // DEFAULT values must resolve within DEFAULT; a failure is reported once, here.
    std::vector<bool> default_ok;
    for (auto& entry : ini.defaults.entries)
      default_ok.push_back(expand_entry(entry, ini.defaults, ini.defaults.name, ""));

    for (auto& section : ini.sections) {
      for (auto& entry : section.entries) expand_entry(entry, section, section.name, "");
      // A DEFAULT value seen from this section uses this section's keys first.
      for (std::size_t i = 0; i < ini.defaults.entries.size(); ++i) {
        const Entry& fallback = ini.defaults.entries[i];
        if (!default_ok[i] || section.find(fallback.key) ||
            fallback.raw.find('%') == std::string::npos)
          continue;
        Entry seen = fallback;
        if (expand_entry(seen, section, section.name, " (in the value from [DEFAULT])") &&
            seen.value != fallback.value)
          section.inherited.push_back(std::move(seen));
      }
    }
  }

  bool has_error_at(int line) const {
    return std::any_of(result_.errors.begin(), result_.errors.end(),
                       [&](const Diagnostic& d) { return d.line == line; });
  }

  void report(Severity severity, int line, std::string section, std::string key,
              std::string message) {
    auto& list = severity == Severity::Error ? result_.errors : result_.warnings;
    list.push_back(Diagnostic{severity, result_.ini.path, line, std::move(section), std::move(key),
                              std::move(message)});
  }

  ParseResult result_;
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_no_ = 0;

  // The line inih is working on.
  LineKind kind_ = LineKind::Ignored;
  bool handled_ = false;
  std::string_view key_;
  std::string_view value_;

  bool seen_header_ = false;
  Section* section_ = nullptr;  // receives keys; null before a header or in a duplicate
  // Header line of each section so far: a duplicate is found without a scan
  // of every earlier section (10,000 sections made that quadratic).
  std::unordered_map<std::string, int> section_lines_;
  Entry* entry_ = nullptr;      // receives continuation lines; null if none
  int value_indent_ = -1;       // indentation of the line whose value may continue; -1: none
  int blank_lines_ = 0;         // blank lines since the last line of the value
};

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

std::string Diagnostic::to_string() const {
  std::string text = file;
  if (line > 0) text += fmt::format(":{}", line);
  text += ": ";
  if (!section.empty()) text += fmt::format("[{}] ", section);
  if (!key.empty()) text += fmt::format("{}: ", key);
  return text + message;
}

const Entry* Section::find(std::string_view key) const { return find_entry(entries, key); }

const Entry* IniFile::lookup(const Section& section, std::string_view key) const {
  if (const Entry* own = section.find(key)) return own;
  if (const Entry* seen = find_entry(section.inherited, key)) return seen;
  return defaults.find(key);
}

const Section* IniFile::find_section(std::string_view name) const {
  auto it = std::find_if(sections.begin(), sections.end(),
                         [&](const Section& section) { return section.name == name; });
  return it == sections.end() ? nullptr : &*it;
}

ParseResult parse_text(std::string_view text, const std::string& name) {
  return Parser(name).run(text);
}

ParseResult parse_file(const std::string& path) {
  auto fail = [&](int error) {
    ParseResult result;
    result.ini.path = path;
    result.ini.defaults.name = "DEFAULT";
    result.errors.push_back(Diagnostic{Severity::Error, path, 0, "", "",
                                       "cannot read: " + std::generic_category().message(error)});
    return result;
  };
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return fail(errno);
  std::string text;
  char buffer[4096];
  while (auto count = std::fread(buffer, 1, sizeof buffer, file.get())) text.append(buffer, count);
  if (std::ferror(file.get())) return fail(errno);  // e.g. EISDIR: fopen accepts a directory
  return parse_text(text, path);
}

}  // namespace sr::config
