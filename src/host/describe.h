// Human-readable listings of plugin classes: --list-plugins and --describe.
#pragma once

#include "plugin/registry.h"

#include <string>

namespace sr {

std::string format_class_list(const std::vector<PluginClass>& classes);
std::string format_class_description(const PluginClass& plugin);
// The per-class part of sensor_reporter.ini(5), in roff: one subsection per
// class with its parameters and messages, then the keys common to each kind.
std::string format_man_classes(const std::vector<PluginClass>& classes);

}  // namespace sr
