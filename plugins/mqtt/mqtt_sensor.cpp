#include "mqtt_sensor.hpp"

#include "json_field.hpp"

namespace sr::mqtt {

MqttSensor::MqttSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      topic_(sdk::trim(params.get("Topic"))),
      field_(sdk::trim(params.find("Field").value_or(""))),
      destination_(params.get("Destination")) {
  // False when a connection of the section cannot take a whole topic (one
  // built before ABI 1.2, or openHAB's): the MQTT ones still deliver, so the
  // section runs, and says why some connection stays deaf.
  if (!host_.subscribe(topic_, SR_SUBSCRIBE_ABSOLUTE))
    host_.warning("not every connection of this section listens to {}: only MQTT connections can", topic_);
}

void MqttSensor::on_command(std::string_view, std::string_view payload) {
  std::string reading;
  if (field_.empty()) {
    reading = payload;
  } else {
    auto value = extract_field(payload, field_);
    if (auto* error = std::get_if<FieldError>(&value)) {
      host_.warning("{}: no reading for {}: the message {}: '{}'", topic_, field_, error->why,
                    sdk::printable(payload));
      return;
    }
    reading = std::move(std::get<std::string>(value));
  }
  host_.publish(destination_, reading);
  last_ = std::move(reading);
}

void MqttSensor::refresh() {
  if (last_) host_.publish(destination_, *last_);
}

}  // namespace sr::mqtt
