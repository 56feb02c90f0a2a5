// Command-line parsing (SPEC 2).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sr {

struct CliOptions {
  enum class Mode { Run, Check, ListPlugins, Describe, Version, Help };
  Mode mode = Mode::Run;
  std::string config_path;
  std::string describe_class;
  std::vector<std::string> plugin_dirs;
  bool keep_going = false;
};

// nullopt after printing a usage error to stderr (exit 64).
std::optional<CliOptions> parse_cli(int argc, char** argv);
void print_usage(std::FILE* out);

}  // namespace sr
