#include "mqtt_actuator.hpp"
#include "mqtt_connection.hpp"
#include "mqtt_sensor.hpp"

SR_PLUGIN_MODULE("mqtt", "1.0.0", sr::mqtt::MqttConnection, sr::mqtt::MqttSensor, sr::mqtt::MqttActuator)
