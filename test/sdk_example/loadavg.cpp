// The loadavg module: the LoadAverage class (loadavg.hpp) behind the SDK's
// entry point.
#include "loadavg.hpp"

SR_PLUGIN_MODULE("loadavg", "1.0.0", loadavg::LoadAverage)
