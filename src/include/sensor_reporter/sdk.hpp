// sensor_reporter plugin SDK: header-only C++ over plugin_abi.h.
//
// A plugin class is a plain C++ class with a few static members describing it
// and the member functions that apply to its kind; one SR_PLUGIN_MODULE line
// generates the module's entry point, descriptor and noexcept trampolines:
//
//   class Heartbeat {
//    public:
//     static constexpr sr_kind kind = SR_KIND_SENSOR;
//     static constexpr const char* name = "Heartbeat";
//     static constexpr const char* path = "heartbeat.heartbeat.Heartbeat";
//     static constexpr const char* summary = "Publishes the uptime";
//     static constexpr sr_param_def params[] = {
//         sr::sdk::string_param("Num-Dest").required().help("..."),
//         sr::sdk::end_params};
//     static constexpr sr_io_def ios[] = {..., sr::sdk::end_ios};
//     Heartbeat(sr::sdk::Host host, const sr::sdk::Params& params);
//     void poll();      // sensors (or sr::sdk::PollResult poll() for async work)
//     void refresh();   // sensors and actuators
//   };
//   SR_PLUGIN_MODULE("heartbeat", "1.0.0", Heartbeat)
//
// Optional members by kind: sensors poll()/refresh()/start() and, for a
// sensor that subscribes, on_command(source, payload); actuators
// on_command(source, payload)/refresh()/start(); connections
// publish(destination, payload, flags)/subscribe(source[, flags])/
// unsubscribe(source, flags)/catalogue_changed()/start(). Any kind: a static
// check(const Params&, CheckReport&) for rules a table cannot express.
//
// Exceptions never leave a trampoline: one thrown by the constructor becomes
// the create() error text; one thrown later is logged to the section and the
// callback reports SR_ERROR.
//
// ABI versions: the generated entry point answers the host's version
// (plugin_abi.h, "Negotiation"). A module built with this SDK runs under every
// host of ABI 1.x back to 1.0: a service newer than the host does nothing
// (Host::set_status under a 1.0 host). A host newer than the module reads it
// by the module's own layout; a host of another major refuses it, naming both
// versions.
//
// Exports: link the module with the SDK's linker version script so the entry
// point is its only dynamic symbol. Hidden visibility alone is not enough:
// libstdc++'s namespaces are default-visible, so every weak std:: template
// instantiation would be exported too. With meson:
//   sdk = dependency('sensor_reporter-plugin')
//   link_args : ['-Wl,-z,defs',
//                '-Wl,--version-script=' + sdk.get_variable(pkgconfig : 'version_script')]
//
// Threading and lifetime: everything runs on the host's event-loop thread,
// except the work function given to Host::run_blocking (a worker thread) and
// Host::post (callable from any thread). Timer and FdWatch handles cancel on
// destruction; the host also drops every timer and watch of an instance when
// it destroys it.
#pragma once

#include <sensor_reporter/handle.hpp>
#include <sensor_reporter/plugin_abi.h>
#include <sensor_reporter/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#define SR_PLUGIN_EXPORT __attribute__((visibility("default")))

namespace sr::sdk {

// ---------------------------------------------------------------------------
// Parameter and I/O tables

// Builder for one sr_param_def, usable in constant expressions.
struct Param {
  sr_param_def def{};

  constexpr Param(sr_param_type type, const char* name) {
    def.struct_size = sizeof(sr_param_def);
    def.type = static_cast<uint32_t>(type);
    def.name = name;
  }
  constexpr Param required() const {
    Param p = *this;
    p.def.flags |= SR_PARAM_REQUIRED;
    return p;
  }
  constexpr Param fallback(const char* value) const {
    Param p = *this;
    p.def.default_value = value;
    return p;
  }
  constexpr Param min(double value) const {
    Param p = *this;
    p.def.min = value;
    p.def.flags |= SR_PARAM_HAS_MIN;
    return p;
  }
  constexpr Param max(double value) const {
    Param p = *this;
    p.def.max = value;
    p.def.flags |= SR_PARAM_HAS_MAX;
    return p;
  }
  constexpr Param help(const char* text) const {
    Param p = *this;
    p.def.help = text;
    return p;
  }
  // ABI 1.2: the whole value must match the POSIX extended regular expression
  // `regex`; `what` says what such a value is, for the error message.
  constexpr Param pattern(const char* regex, const char* what) const {
    Param p = *this;
    p.def.pattern = regex;
    p.def.pattern_text = what;
    return p;
  }
  // ABI 1.2: a password or token, masked wherever the host shows it.
  constexpr Param secret() const { return with_flag(SR_PARAM_SECRET); }
  // The path of a file holding a secret (PasswordFile): the host warns when
  // every user can read it. Read it with read_secret_file().
  constexpr Param secret_file() const { return with_flag(SR_PARAM_SECRET_FILE); }
  // ABI 1.2: an empty or blank value is refused.
  constexpr Param not_empty() const { return with_flag(SR_PARAM_NOT_EMPTY); }
  // ABI 1.2: a numbered family, Name1, Name2, ... (plugin_abi.h,
  // SR_PARAM_NUMBERED); `partner`, when given, is the family whose numbers
  // must be the same set. A module using it needs a 1.2 host.
  constexpr Param numbered(const char* partner = nullptr) const {
    Param p = with_flag(SR_PARAM_NUMBERED);
    p.def.paired_with = partner;
    return p;
  }
  constexpr Param with_flag(uint32_t flag) const {
    Param p = *this;
    p.def.flags |= flag;
    return p;
  }
  constexpr operator sr_param_def() const { return def; }  // NOLINT: implicit by design
};

constexpr Param string_param(const char* name) { return Param(SR_PARAM_STRING, name); }
constexpr Param int_param(const char* name) { return Param(SR_PARAM_INT, name); }
constexpr Param float_param(const char* name) { return Param(SR_PARAM_FLOAT, name); }
constexpr Param bool_param(const char* name) { return Param(SR_PARAM_BOOL, name); }
constexpr Param choice_param(const char* name, const char* choices) {
  Param p(SR_PARAM_CHOICE, name);
  p.def.choices = choices;
  return p;
}
inline constexpr sr_param_def end_params{};

// Builder for one sr_io_def, usable in constant expressions.
struct Io {
  sr_io_def def{};

  constexpr Io(sr_io_direction direction, const char* key, sr_value_type type, const char* measures,
               const char* unit, const char* values) {
    def.struct_size = sizeof(sr_io_def);
    def.direction = static_cast<uint32_t>(direction);
    def.value_type = static_cast<uint32_t>(type);
    def.key = key;
    def.values = values;
    def.unit = unit;
    def.measures = measures;
  }
  // ABI 1.2: the parameter `param` chooses the unit: choices "C=°C|F=°F".
  constexpr Io unit_from(const char* param, const char* choices) const {
    Io io = *this;
    io.def.unit_param = param;
    io.def.unit_choices = choices;
    return io;
  }
  // ABI 1.2: the parameter `param` lists the two values ("OFF,ON").
  constexpr Io values_from(const char* param) const {
    Io io = *this;
    io.def.values_param = param;
    return io;
  }
  constexpr operator sr_io_def() const { return def; }  // NOLINT: implicit by design
};

constexpr Io publishes(const char* key, sr_value_type type, const char* measures, const char* unit = nullptr,
                       const char* values = nullptr) {
  return Io(SR_IO_PUBLISHES, key, type, measures, unit, values);
}
constexpr Io accepts(const char* key, sr_value_type type, const char* measures,
                     const char* values = nullptr) {
  return Io(SR_IO_ACCEPTS, key, type, measures, nullptr, values);
}
inline constexpr sr_io_def end_ios{};

// The secret a `.secret_file()` parameter names: the file's first line,
// without its line end ("\n" or "\r\n"); the rest of the file is ignored.
// Throws std::runtime_error naming the file and the reason when it cannot be
// read. Never put the result in a log line (the host masks only the
// configuration's own secrets).
inline std::string read_secret_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "re"), &std::fclose);
  if (!file) throw std::runtime_error(fmt::format("{}: {}", path, std::strerror(errno)));
  std::string secret;
  for (int c = std::fgetc(file.get()); c != EOF && c != '\n'; c = std::fgetc(file.get()))
    secret += static_cast<char>(c);
  if (std::ferror(file.get())) throw std::runtime_error(fmt::format("{}: {}", path, std::strerror(errno)));
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  return secret;
}

// ---------------------------------------------------------------------------
// Parameters as handed to the constructor: validated, defaults applied.

// The number of choices of the CHOICE parameter `key` in `table` (0 when it
// is not one), for a static_assert beside the enum that Params::choice maps
// it to: static_assert(sdk::choice_count(params, "PUD") == 3).
// Walks the array by index: under -fsanitize=null GCC cannot evaluate a
// pointer walk in a constant expression.
template <size_t N>
constexpr size_t choice_count(const sr_param_def (&table)[N], std::string_view key) {
  for (size_t i = 0; i < N && table[i].name; ++i) {
    const sr_param_def& p = table[i];
    if (std::string_view(p.name) != key || p.type != SR_PARAM_CHOICE || !p.choices) continue;
    size_t count = 1;
    for (size_t c = 0; p.choices[c]; ++c) count += p.choices[c] == '|';
    return count;
  }
  return 0;
}

// One member of a numbered family (SR_PARAM_NUMBERED): Address2 is {2, value}.
struct NumberedValue {
  unsigned number;
  std::string value;
  bool operator==(const NumberedValue&) const = default;
};

// The values create() receives, read by the class's own table: a key the
// section left out answers the table's default, so no default is written
// twice (the host applies the same defaults; a unit test's hand-made values
// get them here). Reading a key that is neither set nor in the table, or a
// value that is not of the asked type, throws: the constructor's exception
// becomes the section's create error.
class Params {
 public:
  using Values = std::vector<std::pair<std::string, std::string>>;

  Params(const sr_param_def* table, const sr_param_value* values, size_t count) : table_(table) {
    for (size_t i = 0; i < count; ++i) values_.emplace_back(values[i].key, values[i].value);
  }
  Params(const sr_param_def* table, Values values) : table_(table), values_(std::move(values)) {}

  // The section sets `key`, or the table gives it a default.
  bool has(std::string_view key) const { return text(key).has_value(); }

  // The value of `key` as V: std::string, bool, an integer type or a
  // floating-point type. Throws when there is none.
  template <typename V = std::string>
  V get(std::string_view key) const {
    const auto value = text(key);
    if (!value) {
      if (!def(key)) throw std::logic_error(fmt::format("parameter {} is not in the class's table", key));
      throw std::runtime_error(fmt::format("missing parameter {}", key));
    }
    return convert<V>(key, *value);
  }
  // Like get, but nullopt when the section does not set `key` and the table
  // has no default for it.
  template <typename V = std::string>
  std::optional<V> find(std::string_view key) const {
    const auto value = text(key);
    if (!value) return std::nullopt;
    return convert<V>(key, *value);
  }

  // A CHOICE parameter as the enum whose values are the table's choices in
  // their order ("UP|DOWN|OFF": Up = 0, Down = 1, Off = 2), compared
  // case-insensitively. Pin the enum to the table with choice_count.
  template <typename Enum>
    requires std::is_enum_v<Enum>
  Enum choice(std::string_view key) const {
    const sr_param_def* d = def(key);
    if (!d || d->type != SR_PARAM_CHOICE || !d->choices)
      throw std::logic_error(fmt::format("parameter {} is not a choice in the class's table", key));
    const std::string value = get(key);
    std::string_view choices = d->choices;
    for (size_t index = 0;; ++index) {
      const size_t bar = choices.find('|');
      if (iequals(trim(choices.substr(0, bar)), trim(value))) return static_cast<Enum>(index);
      if (bar == std::string_view::npos) break;
      choices.remove_prefix(bar + 1);
    }
    throw std::runtime_error(fmt::format("{} '{}' is not one of {}", key, value, d->choices));
  }

  // The members of the numbered family `family` that the section sets
  // (Address1, Address2, ... as {1, ...}, {2, ...}), by number.
  std::vector<NumberedValue> numbered(std::string_view family) const {
    std::vector<NumberedValue> members;
    for (const auto& [key, value] : values_) {
      std::string_view k = key;
      if (k.size() <= family.size() || k.substr(0, family.size()) != family) continue;
      unsigned number = 0;
      auto digits = k.substr(family.size());
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
      if (error == std::errc() && end == digits.data() + digits.size() && digits[0] != '0')
        members.push_back({number, value});
    }
    std::sort(members.begin(), members.end(),
              [](const NumberedValue& a, const NumberedValue& b) { return a.number < b.number; });
    return members;
  }

 private:
  const sr_param_def* def(std::string_view key) const {
    for (const sr_param_def* p = table_; p && p->name; ++p)
      if (key == p->name) return p;
    return nullptr;
  }
  // The section's value, else the table's default.
  std::optional<std::string_view> text(std::string_view key) const {
    for (const auto& [k, v] : values_)
      if (k == key) return v;
    if (const sr_param_def* d = def(key); d && d->default_value) return d->default_value;
    return std::nullopt;
  }
  template <typename V>
  static V convert(std::string_view key, std::string_view value) {
    if constexpr (std::is_same_v<V, std::string>) {
      return std::string(value);
    } else if constexpr (std::is_same_v<V, bool>) {
      if (auto b = parse_bool(value)) return *b;
      throw std::runtime_error(fmt::format("{} '{}' is not yes/no, true/false, on/off or 1/0", key, value));
    } else if constexpr (std::is_arithmetic_v<V>) {
      std::string_view digits = trim(value);
      // The host's check reads floats with strtod, which allows a sign.
      if (std::is_floating_point_v<V> && digits.size() > 1 && digits[0] == '+') digits.remove_prefix(1);
      V number{};
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
      if (error != std::errc() || end != digits.data() + digits.size() || digits.empty())
        throw std::runtime_error(fmt::format("{} '{}' is not a {}", key, value,
                                             std::is_integral_v<V> ? "whole number" : "number"));
      return number;
    } else {
      static_assert(std::is_same_v<V, std::string>, "Params::get<V>: V is std::string, bool or a number");
    }
  }

  const sr_param_def* table_;
  Values values_;
};

// What a class's static check(params, report) reports: problems a table
// cannot express (one value against another, a doubtful value). The host
// calls it before create() and in --check, and prints each problem with the
// file:line of its key (plugin_abi.h, sr_class_def.check).
class CheckReport {
 public:
  CheckReport(sr_check_report_fn report, void* report_ctx) : report_(report), ctx_(report_ctx) {}
  // key: the parameter the problem concerns; empty for the whole section.
  void error(std::string_view key, std::string_view message) {
    failed_ = true;
    emit(SR_LOG_ERROR, key, message);
  }
  void warning(std::string_view key, std::string_view message) { emit(SR_LOG_WARNING, key, message); }
  bool failed() const { return failed_; }

 private:
  void emit(int level, std::string_view key, std::string_view message) {
    const std::string k(key), m(message);
    report_(ctx_, level, k.empty() ? nullptr : k.c_str(), m.c_str());
  }
  sr_check_report_fn report_;
  void* ctx_;
  bool failed_ = false;
};

// ---------------------------------------------------------------------------
// Host services

class Host;

// One section that uses a connection, as Host::catalogue() returns it
// (plugin_abi.h, sr_catalogue_entry): copies, valid after the call.
struct CatalogueIo {
  sr_io_direction direction = SR_IO_PUBLISHES;
  sr_value_type value_type = SR_VALUE_STRING;
  std::string key;     // "Destination2"
  std::string topic;   // its value
  std::string values;  // binary values as the section chose them; may be empty
  std::string unit;    // as the section chose it; may be empty
  std::string measures;
};
struct CatalogueEntry {
  sr_kind kind = SR_KIND_SENSOR;
  std::string section;
  std::string class_name;
  std::string class_path;
  std::string summary;
  std::vector<CatalogueIo> ios;
  std::vector<std::pair<std::string, std::string>> params;  // secrets read "********"
};

// The host's side of Host::catalogue(): hands `fn` a C view of each entry,
// valid during the call. Returns the number of entries. (The daemon and
// testing.hpp's FakeHost both serve the catalogue through it.)
inline size_t emit_catalogue(const std::vector<CatalogueEntry>& entries, sr_catalogue_fn fn, void* user) {
  auto text_or_null = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
  for (const CatalogueEntry& entry : entries) {
    std::vector<sr_catalogue_io> ios;
    for (const CatalogueIo& io : entry.ios)
      ios.push_back(sr_catalogue_io{sizeof(sr_catalogue_io), static_cast<uint32_t>(io.direction),
                                    static_cast<uint32_t>(io.value_type), io.key.c_str(), io.topic.c_str(),
                                    text_or_null(io.values), text_or_null(io.unit), text_or_null(io.measures)});
    std::vector<sr_param_value> params;
    for (const auto& [key, value] : entry.params) params.push_back({key.c_str(), value.c_str()});
    const sr_catalogue_entry c{sizeof(sr_catalogue_entry),
                               static_cast<uint32_t>(entry.kind),
                               entry.section.c_str(),
                               entry.class_name.c_str(),
                               entry.class_path.c_str(),
                               entry.summary.c_str(),
                               ios.data(),
                               ios.size(),
                               params.data(),
                               params.size()};
    fn(user, &c);
  }
  return entries.size();
}

// What a sensor's poll() may return when it does its work asynchronously.
// Failed: the poll got no reading (it logged why); the host counts it toward
// its back-off, like a poll that threw, without a second log line.
enum class PollResult { Done, Pending, Failed };

// Owns a host timer; cancels it on destruction. Movable.
class Timer {
 public:
  Timer() = default;
  Timer(Timer&& other) noexcept { *this = std::move(other); }
  Timer& operator=(Timer&& other) noexcept {
    if (this != &other) {
      cancel();
      api_ = std::exchange(other.api_, nullptr);
      ctx_ = other.ctx_;
      id_ = std::exchange(other.id_, 0);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~Timer() { cancel(); }
  void cancel() {
    if (api_ && id_) api_->cancel_timer(ctx_, id_);
    id_ = 0;
    // Cancelled from inside its own callback: the callback is still running,
    // so the state is freed by the trampoline when it returns.
    if (state_ && state_->firing) {
      state_->cancelled = true;
      state_.release();
    }
    state_.reset();
  }
  // False once cancelled, or once a one-shot timer has fired.
  bool active() const { return id_ != 0 && state_ && !(state_->one_shot && state_->fired); }

 private:
  friend class Host;
  struct State {
    std::function<void()> callback;
    const sr_host_api* api;
    sr_host_ctx* ctx;
    bool one_shot = false;
    bool fired = false;
    bool firing = false;
    bool cancelled = false;
  };
  const sr_host_api* api_ = nullptr;
  sr_host_ctx* ctx_ = nullptr;
  uint64_t id_ = 0;
  std::unique_ptr<State> state_;
};

// Owns a host fd watch (not the fd); removes it on destruction. Movable.
class FdWatch {
 public:
  FdWatch() = default;
  FdWatch(FdWatch&& other) noexcept { *this = std::move(other); }
  FdWatch& operator=(FdWatch&& other) noexcept {
    if (this != &other) {
      reset();
      api_ = std::exchange(other.api_, nullptr);
      ctx_ = other.ctx_;
      id_ = std::exchange(other.id_, 0);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~FdWatch() { reset(); }
  void reset() {
    if (api_ && id_) api_->unwatch_fd(ctx_, id_);
    id_ = 0;
    // Removed from inside its own callback: freed by the trampoline.
    if (state_ && state_->firing) {
      state_->cancelled = true;
      state_.release();
    }
    state_.reset();
  }
  bool modify(uint32_t epoll_events) {
    return api_ && id_ && api_->modify_fd(ctx_, id_, epoll_events) == SR_OK;
  }
  bool active() const { return id_ != 0; }

 private:
  friend class Host;
  struct State {
    std::function<void(uint32_t)> callback;
    const sr_host_api* api;
    sr_host_ctx* ctx;
    bool firing = false;
    bool cancelled = false;
  };
  const sr_host_api* api_ = nullptr;
  sr_host_ctx* ctx_ = nullptr;
  uint64_t id_ = 0;
  std::unique_ptr<State> state_;
};

namespace detail {
inline void log_exception(const sr_host_api* api, sr_host_ctx* ctx, std::string_view where) noexcept {
  try {
    std::string text;
    try {
      throw;
    } catch (const std::exception& e) {
      text = fmt::format("{} failed: {}", where, e.what());
    } catch (...) {
      text = fmt::format("{} failed with an unknown exception", where);
    }
    api->log(ctx, SR_LOG_ERROR, text.data(), text.size());
  } catch (...) {
    // Out of memory while reporting: nothing sensible left to do.
  }
}
}  // namespace detail

// A copyable view of the host services given to one instance.
class Host {
 public:
  Host(const sr_host_api* api, sr_host_ctx* ctx) : api_(api), ctx_(ctx) {}

  const sr_host_api* api() const { return api_; }
  sr_host_ctx* ctx() const { return ctx_; }
  std::string_view section() const { return api_->section_name(ctx_); }

  bool log_enabled(sr_log_level level) const { return api_->log_enabled(ctx_, level) != 0; }
  void log(sr_log_level level, std::string_view message) const {
    api_->log(ctx_, level, message.data(), message.size());
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    emit(SR_LOG_DEBUG, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    emit(SR_LOG_INFO, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warning(fmt::format_string<Args...> format, Args&&... args) const {
    emit(SR_LOG_WARNING, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    emit(SR_LOG_ERROR, format, std::forward<Args>(args)...);
  }

  // flags: SR_PUBLISH_RETAIN, SR_PUBLISH_NO_RETAIN, SR_PUBLISH_ECHO and, under
  // a 1.2 host, SR_PUBLISH_ABSOLUTE (a whole topic, outside the root).
  void publish(const std::string& destination, std::string_view payload, uint32_t flags = 0) const {
    api_->publish(ctx_, destination.c_str(), payload.data(), payload.size(), flags);
  }
  // Commands for `source` then arrive through on_command(source, payload).
  // False when a connection refused it (it logged why). flags: 0 or, under a
  // 1.2 host, SR_SUBSCRIBE_ABSOLUTE; an older host cannot, and says false.
  bool subscribe(const std::string& source, uint32_t flags = 0) const {
    if (flags == 0) return api_->subscribe(ctx_, source.c_str()) == SR_OK;
    return has(offsetof(sr_host_api, subscribe_ex), api_->subscribe_ex) &&
           api_->subscribe_ex(ctx_, source.c_str(), flags) == SR_OK;
  }
  // Since 1.2: commands for `source` are no longer wanted (an older host
  // keeps the subscription until the instance is destroyed).
  void unsubscribe(const std::string& source, uint32_t flags = 0) const {
    if (has(offsetof(sr_host_api, unsubscribe), api_->unsubscribe))
      api_->unsubscribe(ctx_, source.c_str(), flags);
  }
  // Ends the asynchronous poll that poll() started by returning Pending.
  // ok false: it got no reading, which counts toward the host's back-off
  // (a host older than 1.2 hears only that it ended).
  void poll_done(bool ok = true) const {
    if (!ok && has(offsetof(sr_host_api, poll_end), api_->poll_end))
      api_->poll_end(ctx_, SR_ERROR);
    else
      api_->poll_done(ctx_);
  }
  // Connections only: a command arrived for `source` (subscribed with flags).
  void deliver(const std::string& source, std::string_view payload, uint32_t flags = 0) const {
    if (flags != 0 && has(offsetof(sr_host_api, deliver_ex), api_->deliver_ex))
      api_->deliver_ex(ctx_, source.c_str(), payload.data(), payload.size(), flags);
    else
      api_->deliver(ctx_, source.c_str(), payload.data(), payload.size());
  }
  // Connections only, since 1.2: the sections that use this connection
  // (empty under an older host).
  std::vector<CatalogueEntry> catalogue() const {
    std::vector<CatalogueEntry> entries;
    if (!has(offsetof(sr_host_api, catalogue), api_->catalogue)) return entries;
    api_->catalogue(
        ctx_,
        [](void* user, const sr_catalogue_entry* e) {
          auto text = [](const char* s) { return std::string(s ? s : ""); };
          CatalogueEntry entry;
          entry.kind = static_cast<sr_kind>(e->kind);
          entry.section = text(e->section);
          entry.class_name = text(e->class_name);
          entry.class_path = text(e->class_path);
          entry.summary = text(e->summary);
          for (size_t i = 0; i < e->io_count; ++i) {
            const sr_catalogue_io& io = e->ios[i];
            entry.ios.push_back(CatalogueIo{
                static_cast<sr_io_direction>(io.direction), static_cast<sr_value_type>(io.value_type),
                text(io.key), text(io.topic), text(io.values), text(io.unit), text(io.measures)});
          }
          for (size_t i = 0; i < e->param_count; ++i)
            entry.params.emplace_back(text(e->params[i].key), text(e->params[i].value));
          static_cast<std::vector<CatalogueEntry>*>(user)->push_back(std::move(entry));
        },
        &entries);
    return entries;
  }
  void request_refresh() const { api_->request_refresh(ctx_); }
  // Connections: the state line systemd shows. A host older than ABI 1.1
  // has no such service; then this does nothing.
  void set_status(const std::string& status) const {
    if (has(offsetof(sr_host_api, set_status), api_->set_status)) api_->set_status(ctx_, status.c_str());
  }

  std::chrono::nanoseconds now() const { return std::chrono::nanoseconds(api_->monotonic_ns(ctx_)); }

  // interval zero: one shot.
  Timer add_timer(std::chrono::nanoseconds first_delay, std::chrono::nanoseconds interval,
                  std::function<void()> callback) const {
    Timer timer;
    timer.state_ = std::make_unique<Timer::State>(Timer::State{std::move(callback), api_, ctx_});
    timer.state_->one_shot = interval.count() == 0;
    timer.id_ = api_->add_timer(ctx_, static_cast<uint64_t>(first_delay.count()),
                                static_cast<uint64_t>(interval.count()), &Host::on_timer, timer.state_.get());
    if (timer.id_ == 0) throw std::runtime_error("cannot create a timer");
    timer.api_ = api_;
    timer.ctx_ = ctx_;
    return timer;
  }

  FdWatch watch_fd(int fd, uint32_t epoll_events, std::function<void(uint32_t)> callback) const {
    FdWatch watch;
    watch.state_ = std::make_unique<FdWatch::State>(FdWatch::State{std::move(callback), api_, ctx_});
    watch.id_ = api_->watch_fd(ctx_, fd, epoll_events, &Host::on_fd, watch.state_.get());
    if (watch.id_ == 0) throw std::runtime_error(fmt::format("cannot watch fd {}", fd));
    watch.api_ = api_;
    watch.ctx_ = ctx_;
    return watch;
  }

  // Runs work() on a worker thread and done(result) on the loop. work must
  // not touch the instance (capture copies): the instance may be destroyed
  // meanwhile, in which case done is never called. If work throws, the error
  // is logged and done is not called. A sensor's poll uses poll_async.
  template <typename Work, typename Done>
  void run_blocking(Work work, Done done) const {
    start_job(std::move(work), std::move(done), false);
  }
  // For a sensor's poll(): run_blocking, then the poll is reported done in
  // every case, unless the instance is gone. It counts as failed when work
  // or done threw, or when done returns false (done may return bool: did
  // the poll get a reading?). poll() returns what this returns.
  template <typename Work, typename Done>
  PollResult poll_async(Work work, Done done) const {
    start_job(std::move(work), std::move(done), true);
    return PollResult::Pending;
  }

  // Thread-safe: run fn on the loop soon (never if the instance is gone).
  void post(std::function<void()> fn) const {
    struct Posted {
      std::function<void()> fn;
      Host host;
    };
    auto posted = std::make_unique<Posted>(Posted{std::move(fn), *this});
    api_->post(
        ctx_,
        [](void* user, int cancelled) {
          std::unique_ptr<Posted> p(static_cast<Posted*>(user));
          if (cancelled) return;
          try {
            p->fn();
          } catch (...) {
            detail::log_exception(p->host.api_, p->host.ctx_, "posted callback");
          }
        },
        posted.release());
  }

 private:
  template <typename Work, typename Done>
  void start_job(Work work, Done done, bool ends_poll) const {
    using Result = std::invoke_result_t<Work&>;
    static_assert(!std::is_void_v<Result>, "background work must return a value");
    struct Job {
      Work work;
      Done done;
      Host host;
      bool ends_poll;
      std::optional<Result> result;
      std::string failure;
    };
    auto job = std::make_unique<Job>(Job{std::move(work), std::move(done), *this, ends_poll, {}, {}});
    auto run = [](void* user) {
      auto* j = static_cast<Job*>(user);
      try {
        j->result.emplace(j->work());
      } catch (const std::exception& e) {
        j->failure = e.what();
      } catch (...) {
        j->failure = "unknown exception";
      }
    };
    auto finish = [](void* user, int cancelled) {
      std::unique_ptr<Job> j(static_cast<Job*>(user));
      if (cancelled) return;
      bool ok = false;
      if (!j->result) {
        j->host.error("background work failed: {}", j->failure);
      } else {
        try {
          if constexpr (std::is_same_v<std::invoke_result_t<Done&, Result&&>, bool>)
            ok = j->done(std::move(*j->result));
          else {
            j->done(std::move(*j->result));
            ok = true;
          }
        } catch (...) {
          detail::log_exception(j->host.api_, j->host.ctx_, "background result");
        }
      }
      if (j->ends_poll) j->host.poll_done(ok);
    };
    if (api_->run_blocking(ctx_, run, finish, job.get()) != SR_OK)
      throw std::runtime_error("cannot start background work");
    job.release();  // now owned by the host until finish runs
  }
  // A service appended after 1.0 exists when the host's table reaches it.
  template <typename Fn>
  bool has(size_t offset, Fn fn) const {
    return api_->struct_size >= offset + sizeof fn && fn != nullptr;
  }
  template <typename... Args>
  void emit(sr_log_level level, fmt::format_string<Args...> format, Args&&... args) const {
    if (!log_enabled(level)) return;
    log(level, fmt::format(format, std::forward<Args>(args)...));
  }
  static void on_timer(void* user) {
    auto* state = static_cast<Timer::State*>(user);
    state->fired = true;
    state->firing = true;
    try {
      state->callback();
    } catch (...) {
      detail::log_exception(state->api, state->ctx, "timer");
    }
    state->firing = false;
    if (state->cancelled) delete state;
  }
  static void on_fd(void* user, int /*fd*/, uint32_t events) {
    auto* state = static_cast<FdWatch::State*>(user);
    state->firing = true;
    try {
      state->callback(events);
    } catch (...) {
      detail::log_exception(state->api, state->ctx, "fd watch");
    }
    state->firing = false;
    if (state->cancelled) delete state;
  }

  const sr_host_api* api_;
  sr_host_ctx* ctx_;
};

// For a sensor whose poll() returned Pending and ends its work in a callback
// of its own (a child process, an fd): reports the poll done when it goes
// out of scope, whatever the callback did. The poll counts as failed when
// failed() was called or when the scope is left by an exception. Movable;
// dismiss() when the poll goes on elsewhere.
class PollDone {
 public:
  explicit PollDone(Host host) : host_(host), exceptions_(std::uncaught_exceptions()) {}
  PollDone(PollDone&& other) noexcept
      : host_(other.host_),
        armed_(std::exchange(other.armed_, false)),
        failed_(other.failed_),
        exceptions_(other.exceptions_) {}
  PollDone& operator=(PollDone&&) = delete;
  PollDone(const PollDone&) = delete;
  PollDone& operator=(const PollDone&) = delete;
  ~PollDone() {
    if (armed_) host_.poll_done(!failed_ && std::uncaught_exceptions() == exceptions_);
  }
  // This poll got no reading.
  void failed() { failed_ = true; }
  void dismiss() { armed_ = false; }

 private:
  Host host_;
  bool armed_ = true;
  bool failed_ = false;
  int exceptions_;
};

// ---------------------------------------------------------------------------
// Trampolines

namespace detail {

// Constructed in place: a plugin may hand `this` to timers and watches from
// its constructor, so the object never moves.
template <typename T>
struct Instance {
  Instance(Host h, const Params& params) : host(h), object(h, params) {}
  Host host;
  T object;
};

template <typename T>
struct Adapter {
  static void* create(const sr_host_api* api, sr_host_ctx* ctx, const sr_param_value* params, size_t count,
                      char* err, size_t err_size) noexcept {
    try {
      Host host(api, ctx);
      return new Instance<T>(host, Params(T::params, params, count));
    } catch (const std::exception& e) {
      copy_error(err, err_size, e.what());
    } catch (...) {
      copy_error(err, err_size, "unknown exception");
    }
    return nullptr;
  }
  static void destroy(void* instance) noexcept {
    auto* self = static_cast<Instance<T>*>(instance);
    try {
      delete self;
    } catch (...) {
      // Destructors are noexcept; kept for symmetry with the other trampolines.
    }
  }
  template <typename Fn>
  static int guard(void* instance, const char* where, Fn&& fn) noexcept {
    auto* self = static_cast<Instance<T>*>(instance);
    try {
      return fn(self->object);
    } catch (...) {
      log_exception(self->host.api(), self->host.ctx(), where);
      return SR_ERROR;
    }
  }
  static int start(void* instance) noexcept {
    return guard(instance, "start", [](T& t) {
      if constexpr (requires { t.start(); }) t.start();
      return SR_OK;
    });
  }
  static int poll(void* instance) noexcept {
    return guard(instance, "poll", [](T& t) {
      if constexpr (requires { t.poll(); }) {
        if constexpr (std::is_same_v<decltype(t.poll()), PollResult>)
          switch (t.poll()) {
            case PollResult::Pending: return SR_POLL_PENDING;
            case PollResult::Failed: return SR_ERROR;
            case PollResult::Done: break;
          }
        else
          t.poll();
      }
      return SR_OK;
    });
  }
  static int refresh(void* instance) noexcept {
    return guard(instance, "refresh", [](T& t) {
      if constexpr (requires { t.refresh(); }) t.refresh();
      return SR_OK;
    });
  }
  static int on_command(void* instance, const char* source, const char* payload, size_t len) noexcept {
    return guard(instance, "command", [&](T& t) {
      if constexpr (requires { t.on_command(std::string_view{}, std::string_view{}); })
        t.on_command(std::string_view(source), std::string_view(payload, len));
      return SR_OK;
    });
  }
  static int conn_publish(void* instance, const char* destination, const char* payload, size_t len,
                          const sr_publish_opts* opts) noexcept {
    return guard(instance, "publish", [&](T& t) {
      if constexpr (requires { t.publish(std::string_view{}, std::string_view{}, uint32_t{}); })
        t.publish(std::string_view(destination), std::string_view(payload, len), opts ? opts->flags : 0u);
      return SR_OK;
    });
  }
  static int conn_subscribe(void* instance, const char* source) noexcept {
    return guard(instance, "subscribe", [&](T& t) {
      if constexpr (requires { t.subscribe(std::string_view{}); }) t.subscribe(std::string_view(source));
      return SR_OK;
    });
  }
  static int conn_subscribe_ex(void* instance, const char* source, uint32_t flags) noexcept {
    return guard(instance, "subscribe", [&](T& t) {
      if constexpr (requires { t.subscribe(std::string_view{}, uint32_t{}); })
        t.subscribe(std::string_view(source), flags);
      else if constexpr (requires { t.subscribe(std::string_view{}); }) {
        if (flags != 0)
          throw std::runtime_error(fmt::format("cannot subscribe to {}: no absolute topics here", source));
        t.subscribe(std::string_view(source));
      }
      return SR_OK;
    });
  }
  static int conn_unsubscribe(void* instance, const char* source, uint32_t flags) noexcept {
    return guard(instance, "unsubscribe", [&](T& t) {
      if constexpr (requires { t.unsubscribe(std::string_view{}, uint32_t{}); })
        t.unsubscribe(std::string_view(source), flags);
      return SR_OK;
    });
  }
  static int conn_catalogue_changed(void* instance) noexcept {
    return guard(instance, "catalogue", [](T& t) {
      if constexpr (requires { t.catalogue_changed(); }) t.catalogue_changed();
      return SR_OK;
    });
  }
  static int check(const sr_param_value* params, size_t count, sr_check_report_fn report,
                   void* report_ctx) noexcept {
    try {
      CheckReport checks(report, report_ctx);
      T::check(Params(T::params, params, count), checks);
      return checks.failed() ? SR_ERROR : SR_OK;
    } catch (const std::exception& e) {
      report(report_ctx, SR_LOG_ERROR, nullptr, e.what());
    } catch (...) {
      report(report_ctx, SR_LOG_ERROR, nullptr, "check failed with an unknown exception");
    }
    return SR_ERROR;
  }
  static void copy_error(char* err, size_t err_size, const char* text) noexcept {
    if (!err || err_size == 0) return;
    size_t n = std::strlen(text);
    if (n >= err_size) n = err_size - 1;
    std::memcpy(err, text, n);
    err[n] = '\0';
  }
};

template <typename T>
constexpr const sr_io_def* ios_of() {
  if constexpr (requires { T::ios; })
    return T::ios;
  else
    return nullptr;
}

// A hook the class declares under a known name but with a signature the
// trampoline cannot call would otherwise be ignored silently (the detection
// is by call expression): refuse it at compile time instead. An overloaded
// name has no single address and is left to the call-expression detection.
// A concept, so that the return type is looked at only when the call is valid.
template <typename T>
concept callable_poll = requires(T& t) {
  { t.poll() } -> std::same_as<void>;
} || requires(T& t) {
  { t.poll() } -> std::same_as<PollResult>;
};

template <typename T>
constexpr void check_hook_signatures() {
  if constexpr (requires { &T::poll; })
    static_assert(callable_poll<T>, "a plugin's poll must be: void poll() or sr::sdk::PollResult poll()");
  if constexpr (requires { &T::refresh; })
    static_assert(requires(T& t) { t.refresh(); }, "a plugin's refresh must be: void refresh()");
  if constexpr (requires { &T::start; })
    static_assert(requires(T& t) { t.start(); }, "a plugin's start must be: void start()");
  if constexpr (requires { &T::on_command; })
    static_assert(requires(T& t) { t.on_command(std::string_view{}, std::string_view{}); },
                  "a plugin's on_command must be: void on_command(std::string_view source, "
                  "std::string_view payload)");
  if constexpr (requires { &T::publish; })
    static_assert(requires(T& t) { t.publish(std::string_view{}, std::string_view{}, uint32_t{}); },
                  "a connection's publish must be: void publish(std::string_view destination, "
                  "std::string_view payload, uint32_t flags)");
  if constexpr (requires { &T::subscribe; })
    static_assert(requires(T& t) { t.subscribe(std::string_view{}); } ||
                      requires(T& t) { t.subscribe(std::string_view{}, uint32_t{}); },
                  "a connection's subscribe must be: void subscribe(std::string_view source[, uint32_t flags])");
  if constexpr (requires { &T::unsubscribe; })
    static_assert(requires(T& t) { t.unsubscribe(std::string_view{}, uint32_t{}); },
                  "a connection's unsubscribe must be: void unsubscribe(std::string_view source, uint32_t flags)");
  if constexpr (requires { &T::catalogue_changed; })
    static_assert(requires(T& t) { t.catalogue_changed(); },
                  "a connection's catalogue_changed must be: void catalogue_changed()");
}

template <typename T>
constexpr sr_class_def make_class_def() {
  check_hook_signatures<T>();
  sr_class_def def{};
  def.struct_size = sizeof(sr_class_def);
  def.kind = static_cast<uint32_t>(T::kind);
  def.name = T::name;
  def.path = T::path;
  def.summary = T::summary;
  def.params = T::params;
  def.ios = ios_of<T>();
  def.create = &Adapter<T>::create;
  def.destroy = &Adapter<T>::destroy;
  def.start = &Adapter<T>::start;
  if constexpr (T::kind == SR_KIND_SENSOR) def.poll = &Adapter<T>::poll;
  if constexpr (T::kind != SR_KIND_CONNECTION) def.refresh = &Adapter<T>::refresh;
  // A sensor that listens (MqttSensor: another device's topic) takes its
  // messages through the same callback as an actuator's commands.
  if constexpr (T::kind == SR_KIND_ACTUATOR ||
                (T::kind == SR_KIND_SENSOR && requires { &T::on_command; }))
    def.on_command = &Adapter<T>::on_command;
  if constexpr (T::kind == SR_KIND_CONNECTION) {
    def.conn_publish = &Adapter<T>::conn_publish;
    def.conn_subscribe = &Adapter<T>::conn_subscribe;
    def.conn_subscribe_ex = &Adapter<T>::conn_subscribe_ex;
    def.conn_unsubscribe = &Adapter<T>::conn_unsubscribe;
    def.conn_catalogue_changed = &Adapter<T>::conn_catalogue_changed;
  }
  if constexpr (requires { &T::check; }) {
    static_assert(
        std::is_same_v<decltype(&T::check), void (*)(const Params&, CheckReport&)>,
        "a plugin's check must be: static void check(const sr::sdk::Params&, sr::sdk::CheckReport&)");
    def.check = &Adapter<T>::check;
  }
  return def;
}

// True when the class's parameter table uses something only a 1.2 host
// understands in a way that matters (a numbered family: an older host would
// drop Address1 as an unknown key and create the instance without it).
template <typename T>
constexpr bool needs_1_2_host() {
  for (const sr_param_def* p = T::params; p->name; ++p)
    if (p->flags & SR_PARAM_NUMBERED) return true;
  return false;
}

template <typename T>
struct ClassDef {
  static constexpr sr_class_def value = make_class_def<T>();
};

template <typename... Ts>
inline constexpr const sr_class_def* class_table[] = {&ClassDef<Ts>::value...};

// The oldest ABI minor whose host the module can run under. The SDK fills the
// 1.0 layout of every struct and guards each later host service by
// struct_size (Host::set_status), so 0, unless a class's table has a
// numbered family (needs_1_2_host): an older host then refuses the module,
// naming both versions, instead of running it without its numbered keys.
template <typename... Ts>
constexpr uint32_t oldest_host_minor() {
  return (needs_1_2_host<Ts>() || ...) ? 2 : 0;
}

// The minor the entry point answers a host with (plugin_abi.h,
// "Negotiation"): its own minor to a host of another major or of the same or
// a newer minor (the host refuses the first); the host's own minor to an
// older host that can run the module; `oldest` to a host older than that,
// which the host refuses naming both versions.
constexpr uint32_t answered_minor(uint32_t host_major, uint32_t host_minor, uint32_t oldest) {
  if (host_major != SR_ABI_MAJOR || host_minor >= SR_ABI_MINOR) return SR_ABI_MINOR;
  return host_minor > oldest ? host_minor : oldest;
}

// One static descriptor per minor this SDK can answer, identical but for
// abi_minor; struct_size is always what this SDK wrote (a longer struct than
// an older host knows, which reads only its own part).
template <typename... Ts>
struct ModuleDescriptors {
  static constexpr auto make(const char* name, const char* version) {
    std::array<sr_module_descriptor, SR_ABI_MINOR + 1> descriptors{};
    for (uint32_t minor = 0; minor <= SR_ABI_MINOR; ++minor)
      descriptors[minor] = sr_module_descriptor{
          SR_ABI_MAJOR,
          minor,
          sizeof(sr_module_descriptor),
          static_cast<uint32_t>(sizeof(class_table<Ts...>) / sizeof(const sr_class_def*)),
          name,
          version,
          class_table<Ts...>};
    return descriptors;
  }
};

}  // namespace detail
}  // namespace sr::sdk

// Declares the module: its name (the .so's base name), version and classes.
// Defines the entry point SR_PLUGIN_ENTRY, which answers the host's version
// (detail::answered_minor). Link the module with the SDK's version script,
// sensor_reporter/plugin.map (pkg-config --variable=version_script
// sensor_reporter-plugin), so that the entry point is its only export.
#define SR_PLUGIN_MODULE(MODULE_NAME, MODULE_VERSION, ...)                                     \
  extern "C" SR_PLUGIN_EXPORT const sr_module_descriptor* SR_PLUGIN_ENTRY(                     \
      uint32_t host_abi_major, uint32_t host_abi_minor) noexcept {                             \
    static constexpr auto descriptors =                                                        \
        ::sr::sdk::detail::ModuleDescriptors<__VA_ARGS__>::make(MODULE_NAME, MODULE_VERSION);  \
    return &descriptors[::sr::sdk::detail::answered_minor(                                     \
        host_abi_major, host_abi_minor, ::sr::sdk::detail::oldest_host_minor<__VA_ARGS__>())]; \
  }
