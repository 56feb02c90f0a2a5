#include "openhab_connection.hpp"

SR_PLUGIN_MODULE("openhab_rest", "1.0.0", sr::openhab::OpenhabREST)
