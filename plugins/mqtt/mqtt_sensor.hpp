// mqtt.mqtt_sensor.MqttSensor — sensor (issue 15 part 4).
//
// Listens to one topic of another device on the MQTT connections in its
// `Connection` list (a whole topic, not under RootTopic) and publishes what
// arrives as its reading to `Destination` on every connection of the
// section, so a LocalConnection rule or another connection can act on a
// Tasmota plug's or a SnifferBuddy's telemetry. With `Field` the payload is
// JSON and the reading is that one value ("SCD30.CarbonDioxide"); a payload
// that is not JSON or lacks the field is one WARNING naming the topic and
// the field, and publishes nothing. Not polled: a reading is published when
// a message arrives, and the last one again on refresh.
//
// Parameters:
//   Topic        the whole topic to listen to; no wildcards
//   Field        dotted path of one value in a JSON payload; absent: the
//                payload itself is the reading
//   Destination  where the reading goes
//
// A connection without topics (LocalConnection) accepts the subscription and
// never delivers it, so `Connection = mqtt, rule` listens on mqtt and feeds
// the rule.
//
//   [Sensor_CO2]
//   Class = mqtt.mqtt_sensor.MqttSensor
//   Connection = MQTT, co2_rule
//   Topic = tele/snifferbuddy/SENSOR
//   Field = SCD30.CarbonDioxide
//   Destination = co2
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sr::mqtt {

class MqttSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "MqttSensor";
  static constexpr const char* path = "mqtt.mqtt_sensor.MqttSensor";
  static constexpr const char* summary =
      "Listens to another device's MQTT topic and publishes it, or one field of its JSON, as a reading";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Topic")
          .required()
          .not_empty()
          .pattern("[^+#]+", "a topic without the wildcards + and #")
          .help("whole topic to listen to (not under RootTopic), e.g. tele/snifferbuddy/SENSOR"),
      sdk::string_param("Field")
          .pattern("[^.]+(\\.[^.]+)*", "a dotted path such as SCD30.CarbonDioxide")
          .help("dotted path of one value in a JSON payload, e.g. SCD30.CarbonDioxide; absent: the whole "
                "payload"),
      sdk::string_param("Destination").required().help("destination of the reading"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Destination", SR_VALUE_STRING, "another device's reading"),
      sdk::end_ios};

  MqttSensor(sdk::Host host, const sdk::Params& params);
  void on_command(std::string_view source, std::string_view payload);
  void refresh();

 private:
  sdk::Host host_;
  std::string topic_;
  std::string field_;
  std::string destination_;
  std::optional<std::string> last_;
};

}  // namespace sr::mqtt
