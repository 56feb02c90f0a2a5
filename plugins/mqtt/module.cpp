#include "mqtt_connection.hpp"

SR_PLUGIN_MODULE("mqtt", "1.0.0", sr::mqtt::MqttConnection)
