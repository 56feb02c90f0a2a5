// Turns a parsed INI file into a validated plan: which components to create,
// with which classes and resolved parameters, in creation order. Nothing is
// created here, so --check, startup and SIGHUP share one validation and every
// problem of a file is reported at once.
#pragma once

#include "config/command_policy.h"
#include "config/ini_file.h"
#include "log/logger.h"
#include "plugin/registry.h"

#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sr::config {

// A section's parameters (table spelling, defaults applied) in the order
// they were resolved, kept in one string "key\0value\0key\0value\0": about
// 100 bytes a section where a vector of string pairs took 320, which counts
// at 10,000 sections (issue 17). Every key and value comes back
// NUL-terminated, as sr_param_value wants it; one holding a NUL byte is cut
// there (emplace_back), as a plugin's C string always was.
class ParamList {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = ParamList::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    const_iterator() = default;
    explicit const_iterator(const char* at) : at_(at) {}
    value_type operator*() const;
    const_iterator& operator++();
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const const_iterator&) const = default;

   private:
    const char* at_ = nullptr;
  };

  ParamList() = default;
  ParamList(std::initializer_list<value_type> entries);

  void emplace_back(std::string_view key, std::string_view value);
  // Counted from the text (two NULs an entry) rather than kept: lists are
  // short and asked once per section.
  size_t size() const;
  bool empty() const { return text_.empty(); }
  const_iterator begin() const { return const_iterator(text_.data()); }
  const_iterator end() const { return const_iterator(text_.data() + text_.size()); }
  void shrink_to_fit() { text_.shrink_to_fit(); }
  bool operator==(const ParamList& other) const { return text_ == other.text_; }

 private:
  std::string text_;
};

// How a reading or state goes on the wire (the common key Format):
// as published, or in the JSON envelope of src/host/envelope.h.
enum class PayloadFormat { Raw, Json };
// "raw", "json": the spelling the table's choices use.
std::string_view format_name(PayloadFormat format);

struct ComponentPlan {
  std::string section;
  int line = 0;
  sr_kind kind = SR_KIND_SENSOR;
  PluginClass plugin{};
  ParamList params;                      // table spelling, defaults applied
  std::string name;                      // connections: their Name
  // Sensors and actuators: connection Names; emptied once a Runtime has
  // resolved them into Component::connections.
  std::vector<std::string> connections;
  std::optional<log::Level> level;
  double poll_seconds = 0;               // sensors; <= 0: not polled
  std::optional<bool> retain;            // per-section override
  // Actuators: Accept, AcceptPattern, MaxRate (null: none set). Follows
  // from `params`, so same_definition need not compare it. A pointer: 16
  // bytes in every section's plan rather than 64 (issue 17).
  std::shared_ptr<const CommandPolicy> command_policy;
  // Format as the section sets it (absent: the connection's); a connection's
  // own, which is the default of everything published through it.
  std::optional<PayloadFormat> format;
  // Connections: whether the class lets Format be json. A class that
  // declares Format itself with only the choice raw (LocalConnection's rules
  // compare bare values) never gets an envelope, whatever a section says.
  bool takes_json = true;
};

// The format in which `section`'s messages go through `connection`: the
// section's Format, else the connection's, else raw; always raw for a
// connection that does not take json.
PayloadFormat payload_format(const ComponentPlan& section, const ComponentPlan& connection);

// Same section with the same class and the same resolved keys: a reload may
// keep such a component running.
bool same_definition(const ComponentPlan& a, const ComponentPlan& b);

// A value of an SR_PARAM_SECRET parameter as the file sets it, or of an
// SR_PARAM_SECRET_FILE parameter (then `value` is the path: no secret).
struct SecretSetting {
  std::string section;
  std::string key;  // as written in the file
  int line = 0;
  std::string value;
  bool is_file = false;      // SR_PARAM_SECRET_FILE
  std::string file_key{};    // SR_PARAM_SECRET: the class's "<key>File" alternative, if it has one
};

struct Plan {
  std::string path;
  log::Options logging;
  // Creation order (SPEC 3.2): connections, actuators, sensors; file order
  // within each kind.
  std::vector<ComponentPlan> components;
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  bool plugin_unavailable = false;  // some error was a module that could not be loaded
  // Every secret and secret file the file sets, in file order (also those
  // of skipped sections): what to warn about, and the secrets to mask in
  // any text shown.
  std::vector<SecretSetting> secrets;
  // The values of `secrets` that are secrets (not file paths).
  std::vector<std::string> secret_values() const;

  bool ok() const { return errors.empty(); }
  int exit_code() const { return ok() ? 0 : plugin_unavailable ? 69 : 78; }
};

// keep_going: a section with problems is dropped (its problems become
// warnings) instead of failing the whole plan; so are the sensors and
// actuators that name a dropped connection.
Plan build_plan(const ParseResult& parsed, PluginRegistry& registry, bool keep_going);

// The value of `key` (as the table spells it) in `params`, if set; a view
// into `params`, NUL-terminated.
std::optional<std::string_view> find_param(const ParamList& params, std::string_view key);

// The parameters every section of a kind has besides its class's own table,
// and those of [Logging]: the host's own tables, without end markers.
std::span<const sr_param_def> common_params(sr_kind kind);
std::span<const sr_param_def> logging_params();

}  // namespace sr::config
