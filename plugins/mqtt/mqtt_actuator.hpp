// mqtt.mqtt_actuator.MqttActuator — actuator (issue 15 part 4).
//
// Forwards every command from CommandSrc to a whole topic of another device
// (not under RootTopic), translated by `Payloads`: with `Payloads = ON=on,
// OFF=off` the command ON from a LocalConnection rule reaches a Tasmota plug
// as `on` on cmnd/plug_fillerup/POWER. Without Payloads a command is
// forwarded unchanged. With it, a command it does not name is not forwarded
// (one DEBUG line): on `Connection = rule, MQTT` the actuator also hears,
// through MQTT, the reading its rule is fed from (<RootTopic>/<CommandSrc>),
// which must not reach the plug. The topic goes to the MQTT connections of
// the section; a LocalConnection ignores whole topics. No state of its own:
// a refresh publishes nothing.
//
// Parameters:
//   CommandSrc  where commands come from
//   Topic       the whole topic commands are published to; no wildcards
//   Payloads    COMMAND=payload pairs, comma separated; commands compared
//               case-insensitively, payloads sent as written (trimmed)
//
//   [Actuator_Plug]
//   Class = mqtt.mqtt_actuator.MqttActuator
//   Connection = co2_rule, MQTT
//   CommandSrc = co2
//   Topic = cmnd/plug_fillerup/POWER
//   Payloads = ON=on, OFF=off, TOGGLE=toggle
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sr::mqtt {

// COMMAND -> payload pairs in the order written.
using PayloadMap = std::vector<std::pair<std::string, std::string>>;

// Parses a Payloads value; the error names the item that is wrong.
std::variant<PayloadMap, std::string> parse_payload_map(std::string_view text);

class MqttActuator {
 public:
  static constexpr sr_kind kind = SR_KIND_ACTUATOR;
  static constexpr const char* name = "MqttActuator";
  static constexpr const char* path = "mqtt.mqtt_actuator.MqttActuator";
  static constexpr const char* summary =
      "Forwards its commands to another device's MQTT topic, e.g. a Tasmota plug's cmnd/<device>/POWER";
  static constexpr sr_param_def params[] = {
      sdk::string_param("CommandSrc").required().help("where commands come from"),
      sdk::string_param("Topic")
          .required()
          .not_empty()
          .pattern("[^+#]+", "a topic without the wildcards + and #")
          .help("whole topic the commands are published to (not under RootTopic), e.g. "
                "cmnd/plug_fillerup/POWER"),
      sdk::string_param("Payloads")
          .help("COMMAND=payload pairs, comma separated (ON=on, OFF=off): only these commands are forwarded, "
                "as their payload; absent: every command unchanged"),
      sdk::end_params};
  // A malformed Payloads is reported by --check, with its line.
  static void check(const sdk::Params& params, sdk::CheckReport& report);
  static constexpr sr_io_def ios[] = {
      sdk::accepts("CommandSrc", SR_VALUE_STRING, "command for another device"),
      sdk::end_ios};

  MqttActuator(sdk::Host host, const sdk::Params& params);
  void on_command(std::string_view source, std::string_view payload);

 private:
  sdk::Host host_;
  std::string topic_;
  PayloadMap payloads_;
};

}  // namespace sr::mqtt
