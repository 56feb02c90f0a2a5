#include "heartbeat.hpp"

SR_PLUGIN_MODULE("heartbeat", "1.0.0", sr::heartbeat::Heartbeat)
