#include "local_connection.hpp"

SR_PLUGIN_MODULE("local", "1.0.0", sr::local::LocalConnection)
