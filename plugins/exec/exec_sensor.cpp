// exec.exec_sensor.ExecSensor — polling sensor (SPEC 7.2); the contract is in
// exec_sensor.hpp. Parameters: Script, Destination, Poll, Timeout.
//
//   [Sensor_Uptime]
//   Class = exec.exec_sensor.ExecSensor
//   Connection = MQTT
//   Script = /usr/bin/uptime -p
//   Destination = uptime
//   Poll = 60
#include "exec_sensor.hpp"

#include <stdexcept>
#include <utility>

namespace sr::exec {

ExecSensor::ExecSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      argv_(split_words(params.get("Script"))),
      command_(join_words(argv_)),
      destination_(params.get("Destination")),
      // Timeout has no default of its own in the table: it is Poll's value.
      timeout_(params.find<double>("Timeout").value_or(params.get<double>("Poll"))),
      child_(host) {
  if (argv_.empty()) throw std::runtime_error("Script is empty");
  if (!(timeout_.count() > 0))
    throw std::runtime_error("Timeout (or Poll, its default) must be greater than 0");
}

ExecSensor::~ExecSensor() {
  if (child_.running())
    host_.info("stopping: killing '{}' (pid {}) that is still running", command_, child_.pid());
}

sdk::PollResult ExecSensor::poll() {
  // The host does not poll while a run is pending; should it anyway, the
  // running command keeps going and reports poll_done when it ends.
  if (child_.running()) return sdk::PollResult::Pending;
  try {
    child_.start(argv_, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout_),
                 [this](ChildResult result) { finished(std::move(result)); });
  } catch (const std::exception& e) {
    host_.error("{}", e.what());
    return sdk::PollResult::Failed;
  }
  return sdk::PollResult::Pending;
}

void ExecSensor::refresh() {
  if (last_published_) host_.publish(destination_, *last_published_);
}

void ExecSensor::finished(ChildResult result) {
  // Whatever happens below, the host must learn that this poll is over, or
  // it would skip every later one; a run without a reading counts as a
  // failed poll (the host backs off).
  sdk::PollDone poll_done(host_);
  std::string_view err = strip_trailing_whitespace(result.err);
  std::string err_note = result.err_dropped ? fmt::format(" (+{} bytes)", result.err_dropped) : "";
  if (result.timed_out) {
    host_.error("'{}' did not finish within {:g} s; its process group was killed{}{}{}", command_,
                timeout_.count(), err.empty() ? "" : "; stderr: ", err, err_note);
    publish("ERROR");
    poll_done.failed();
  } else if (!result.success()) {
    host_.error("'{}' {}; nothing published{}{}{}", command_, result.status_text(),
                err.empty() ? "" : "; stderr: ", err, err_note);
    poll_done.failed();
  } else {
    if (result.out_dropped)
      host_.warning("'{}' wrote {} bytes to stdout; published the first {}, dropped {}", command_,
                    result.out.size() + result.out_dropped, result.out.size(), result.out_dropped);
    if (!err.empty()) host_.warning("'{}' stderr: {}{}", command_, err, err_note);
    publish(std::string(strip_trailing_whitespace(result.out)));
  }
}

void ExecSensor::publish(std::string value) {
  host_.publish(destination_, value);
  last_published_ = std::move(value);
}

// Quotes reach the program as they are (no shell).
void ExecSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (auto script = params.find("Script"))
    if (auto warning = check_command_line(*script)) report.warning("Script", *warning);
}

}  // namespace sr::exec
