// Human-readable listings of plugin classes: --list-plugins and --describe.
#pragma once

#include "plugin/registry.h"

#include <string>

namespace sr {

std::string format_class_list(const std::vector<PluginClass>& classes);
std::string format_class_description(const PluginClass& plugin);

}  // namespace sr
