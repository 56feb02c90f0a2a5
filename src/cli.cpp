#include "cli.h"

#include <getopt.h>

#include <cstdio>

namespace sr {

void print_usage(std::FILE* out) {
  std::fputs(
      "Usage: sensor_reporter [OPTIONS] CONFIG.ini\n"
      "Bridges local sensors and actuators to MQTT, as configured in CONFIG.ini.\n"
      "\n"
      "  --check              validate CONFIG.ini against every plugin's parameter table,\n"
      "                       print all problems and exit 0 or 78; touches no hardware\n"
      "  --list-plugins       list every class on the plugin path\n"
      "  --describe CLASS     print the parameters of CLASS\n"
      "  --plugin-dir DIR     search DIR for plugins first (repeatable); see also\n"
      "                       SENSOR_REPORTER_PLUGIN_PATH (colon separated)\n"
      "  --keep-going         skip sections with problems instead of refusing to start\n"
      "  --version            print the version\n"
      "  --help               print this help\n"
      "\n"
      "Signals: SIGTERM/SIGINT stop cleanly, SIGHUP re-reads CONFIG.ini (an invalid\n"
      "file is reported and the running configuration kept).\n"
      "Exit codes: 0 clean stop, 64 usage, 69 plugin unavailable, 78 configuration, 1 other.\n",
      out);
}

std::optional<CliOptions> parse_cli(int argc, char** argv) {
  enum { kCheck = 1000, kList, kDescribe, kPluginDir, kKeepGoing, kVersion, kHelp };
  static const option long_options[] = {
      {"check", no_argument, nullptr, kCheck},
      {"list-plugins", no_argument, nullptr, kList},
      {"describe", required_argument, nullptr, kDescribe},
      {"plugin-dir", required_argument, nullptr, kPluginDir},
      {"keep-going", no_argument, nullptr, kKeepGoing},
      {"version", no_argument, nullptr, kVersion},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  CliOptions options;
  optind = 1;
  opterr = 1;
  int c;
  while ((c = getopt_long(argc, argv, "h", long_options, nullptr)) != -1) {
    switch (c) {
      case kCheck: options.mode = CliOptions::Mode::Check; break;
      case kList: options.mode = CliOptions::Mode::ListPlugins; break;
      case kDescribe:
        options.mode = CliOptions::Mode::Describe;
        options.describe_class = optarg;
        break;
      case kPluginDir: options.plugin_dirs.emplace_back(optarg); break;
      case kKeepGoing: options.keep_going = true; break;
      case kVersion: options.mode = CliOptions::Mode::Version; break;
      case 'h':
      case kHelp: options.mode = CliOptions::Mode::Help; break;
      default:  // getopt already said what was wrong
        std::fputs("Try 'sensor_reporter --help'.\n", stderr);
        return std::nullopt;
    }
  }
  const int positional = argc - optind;
  const bool needs_config = options.mode == CliOptions::Mode::Run || options.mode == CliOptions::Mode::Check;
  if (needs_config && positional != 1) {
    std::fputs(positional == 0 ? "sensor_reporter: a configuration file is required\n"
                               : "sensor_reporter: only one configuration file may be given\n",
               stderr);
    std::fputs("Try 'sensor_reporter --help'.\n", stderr);
    return std::nullopt;
  }
  if (!needs_config && positional > 0) {
    std::fprintf(stderr, "sensor_reporter: unexpected argument '%s'\nTry 'sensor_reporter --help'.\n", argv[optind]);
    return std::nullopt;
  }
  if (needs_config) options.config_path = argv[optind];
  return options;
}

}  // namespace sr
