// local.local_conn.LocalConnection — connection (SPEC 6.2).
//
// Delivers readings from sensors to actuators in the same process: a reading
// sent to destination D becomes a command for the actuators whose CommandSrc
// is D on this connection. An optional rule turns readings into ON/OFF:
// OnEq (string equality), else OnGT, else OnLT (numbers; 0 is a valid
// threshold). TOGGLE and button timestamps pass as TOGGLE. Actuator state
// echoes are never looped back. Delivery is deferred by the host to the
// event loop, so a rule chain cannot recurse inside a sensor's stack.
//
//   [Connection_Local]
//   Class = local.local_conn.LocalConnection
//   Name = local
//   OnGT = 25
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sr::local {

struct Rule {
  enum class Kind { None, Equal, Greater, Less };
  Kind kind = Kind::None;
  std::string text;  // Equal
  double threshold = 0;
};

// The command a reading becomes, or nullopt (with `why`) when it cannot be
// translated, e.g. a non-number under OnGT. A toggle (sdk::is_toggle_command)
// becomes TOGGLE under every rule.
std::optional<std::string> translate(const Rule& rule, std::string_view reading, std::string& why);

class LocalConnection {
 public:
  static constexpr sr_kind kind = SR_KIND_CONNECTION;
  static constexpr const char* name = "LocalConnection";
  static constexpr const char* path = "local.local_conn.LocalConnection";
  static constexpr const char* summary = "Delivers readings to actuators in this process, optionally as ON/OFF";
  static constexpr sr_param_def params[] = {
      sdk::string_param("OnEq").help("command ON when the reading equals this text, else OFF"),
      sdk::float_param("OnGT").help("command ON when the reading is greater than this number, else OFF"),
      sdk::float_param("OnLT").help("command ON when the reading is less than this number, else OFF"),
      // Narrows the host's common Format: rules compare bare readings, so
      // the host never hands this class a JSON envelope (docs/mqtt.md).
      sdk::choice_param("Format", "raw")
          .fallback("raw")
          .help("raw only: rules compare the bare reading, even from a section with Format = json"),
      sdk::end_params};

  LocalConnection(sdk::Host host, const sdk::Params& params);
  void publish(std::string_view destination, std::string_view payload, uint32_t flags);
  void subscribe(std::string_view source, uint32_t flags = 0);

  const Rule& rule() const { return rule_; }

 private:
  sdk::Host host_;
  Rule rule_;
};

}  // namespace sr::local
