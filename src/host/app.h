// The daemon's life: load and validate the configuration, run it on the
// event loop, reload on SIGHUP, stop cleanly on SIGTERM/SIGINT.
#pragma once

#include "cli.h"
#include "config/plan.h"
#include "plugin/registry.h"

#include <cstdio>

namespace sr {

// Parses and validates a file; never creates anything.
config::Plan load_plan(const std::string& path, PluginRegistry& registry, bool keep_going);
// Prints warnings and errors as FILE:LINE: [SECTION] KEY: MESSAGE lines.
void print_diagnostics(const config::Plan& plan, std::FILE* out);

// --check: exit code 0, 69 or 78.
int run_check(const CliOptions& options, PluginRegistry& registry);
// The daemon. Exit code per sysexits.
int run_daemon(const CliOptions& options, PluginRegistry& registry);

}  // namespace sr
