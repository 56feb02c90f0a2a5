// exec.exec_sensor.ExecSensor — polling sensor (SPEC 7.2).
//
// Every poll runs Script and publishes its stdout, trailing whitespace
// removed, to Destination.
//
// Parameters:
//   Script       command line, split on whitespace and run without a shell
//                (`;`, `|`, `$(...)`, `>` are plain argument characters);
//                the program is looked up in PATH
//   Destination  where the output is published
//   Poll         seconds between runs (> 0)
//   Timeout      seconds a run may take; default: Poll
//
// Outcomes of a run:
//   exit 0      publish stdout (at most 64 KiB; a longer output is cut and the
//               number of dropped bytes logged); stderr, if any, is logged as
//               a warning
//   exit != 0   error logged with the exit code (or signal) and stderr;
//               nothing published (the original republished the old value)
//   timeout     the process group gets SIGTERM, SIGKILL 0.5 s later; error
//               logged, `ERROR` published
//   cannot run  error logged ("cannot run '/no/such': No such file or
//               directory"), nothing published; the next poll tries again
// Polls run asynchronously: poll() returns Pending and reports poll_done when
// the command ends, so the host skips (with one warning) the polls that fall
// due meanwhile. refresh() republishes the last published value (nothing
// before the first successful or timed-out run).
//
//   [Sensor_Uptime]
//   Class = exec.exec_sensor.ExecSensor
//   Connection = MQTT
//   Script = /usr/bin/uptime -p
//   Destination = uptime
//   Poll = 60
//   Timeout = 10
#pragma once

#include "child_process.hpp"

#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sr::exec {

class ExecSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "ExecSensor";
  static constexpr const char* path = "exec.exec_sensor.ExecSensor";
  static constexpr const char* summary = "Runs a command (no shell) every poll and publishes its output";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Script").required().not_empty().help(
          "command line, split on whitespace and run without a shell; the program is looked up in PATH"),
      sdk::string_param("Destination").required().help(
          "destination of the command's stdout, trailing whitespace removed"),
      sdk::float_param("Poll").required().min(0.01).help("seconds between runs (> 0)"),
      sdk::float_param("Timeout").min(0.01).help(
          "seconds a run may take before its process group is killed and ERROR published; default: Poll"),
      sdk::end_params};
  // --check warns of quotes, which no shell will interpret.
  static void check(const sdk::Params& params, sdk::CheckReport& report);
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Destination", SR_VALUE_STRING, "command output"),
      sdk::end_ios};

  ExecSensor(sdk::Host host, const sdk::Params& params);
  ~ExecSensor();
  ExecSensor(const ExecSensor&) = delete;
  ExecSensor& operator=(const ExecSensor&) = delete;

  sdk::PollResult poll();
  void refresh();

 private:
  void finished(ChildResult result);
  void publish(std::string value);

  sdk::Host host_;
  std::vector<std::string> argv_;
  std::string command_;  // argv_ joined, for log lines
  std::string destination_;
  std::chrono::duration<double> timeout_;
  std::optional<std::string> last_published_;
  ChildProcess child_;
};

}  // namespace sr::exec
