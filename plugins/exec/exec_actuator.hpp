// exec.exec_actuator.ExecActuator — actuator (SPEC 7.3).
//
// Every command received on CommandSrc runs Command with the message's
// whitespace-separated words appended as extra arguments (none when the
// message is empty or `NA`), never through a shell: a message such as
// `; rm -rf / | $(touch x)` arrives as six literal arguments.
//
// Parameters:
//   Command      command line, split on whitespace; program looked up in PATH
//   CommandSrc   where commands come from
//   Timeout      seconds a run may take (default 10); then the process group
//                gets SIGTERM, SIGKILL 0.5 s later
//   ResultsDest  where the result goes: stdout with trailing whitespace
//                removed (at most 64 KiB), or `ERROR` on a non-zero exit, a
//                timeout or a command that cannot run. Without it nothing is
//                published (the original published to a destination literally
//                named "None").
//
// Commands run one at a time, in the order they arrived, on the host's event
// loop (MQTT and the other plugins keep running meanwhile). Up to 100 wait
// behind the running one; beyond that new commands are dropped and the number
// dropped is logged. The actuator has no state of its own: a refresh
// publishes nothing.
//
//   [Actuator_Say]
//   Class = exec.exec_actuator.ExecActuator
//   Connection = MQTT
//   Command = /usr/local/bin/say --voice en
//   CommandSrc = say
//   ResultsDest = say/result
//   Timeout = 10
#pragma once

#include "child_process.hpp"

#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sr::exec {

inline constexpr std::size_t kCommandQueueLimit = 100;

class ExecActuator {
 public:
  static constexpr sr_kind kind = SR_KIND_ACTUATOR;
  static constexpr const char* name = "ExecActuator";
  static constexpr const char* path = "exec.exec_actuator.ExecActuator";
  static constexpr const char* summary =
      "Runs a command (no shell) for every message, the message's words as arguments";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Command").required().not_empty().help(
          "command line, split on whitespace and run without a shell; the program is looked up in PATH"),
      sdk::string_param("CommandSrc").required().help(
          "where commands come from; their words are appended as arguments (none for empty or NA)"),
      sdk::float_param("Timeout").fallback("10").min(0.01).help(
          "seconds a run may take before its process group is killed and ERROR published"),
      sdk::string_param("ResultsDest").help(
          "destination of the command's stdout, or ERROR; unset: nothing is published"),
      sdk::end_params};
  // --check warns of quotes, which no shell will interpret.
  static void check(const sdk::Params& params, sdk::CheckReport& report);
  static constexpr sr_io_def ios[] = {
      sdk::accepts("CommandSrc", SR_VALUE_STRING, "command arguments"),
      sdk::publishes("ResultsDest", SR_VALUE_STRING, "command output"),
      sdk::end_ios};

  ExecActuator(sdk::Host host, const sdk::Params& params);
  ~ExecActuator();
  ExecActuator(const ExecActuator&) = delete;
  ExecActuator& operator=(const ExecActuator&) = delete;

  void on_command(std::string_view source, std::string_view payload);
  // No state of its own: nothing to republish.
  void refresh() {}

 private:
  void run_next();
  void finished(const std::string& command, ChildResult result);
  void publish_result(std::string_view value);

  sdk::Host host_;
  std::vector<std::string> argv_;
  std::string command_src_;
  std::optional<std::string> results_dest_;
  std::chrono::duration<double> timeout_;
  std::deque<std::vector<std::string>> queue_;
  std::size_t dropped_ = 0;
  ChildProcess child_;
};

}  // namespace sr::exec
