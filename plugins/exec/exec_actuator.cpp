// exec.exec_actuator.ExecActuator — actuator (SPEC 7.3); the contract is in
// exec_actuator.hpp. Parameters: Command, CommandSrc, Timeout, ResultsDest.
//
//   [Actuator_Say]
//   Class = exec.exec_actuator.ExecActuator
//   Connection = MQTT
//   Command = /usr/local/bin/say
//   CommandSrc = say
//   ResultsDest = say/result
#include "exec_actuator.hpp"

#include <stdexcept>
#include <utility>

namespace sr::exec {

ExecActuator::ExecActuator(sdk::Host host, const sdk::Params& params)
    : host_(host),
      argv_(split_words(params.get("Command"))),
      command_src_(params.get("CommandSrc")),
      results_dest_(params.find("ResultsDest")),
      timeout_(params.get<double>("Timeout")),
      child_(host) {
  if (argv_.empty()) throw std::runtime_error("Command is empty");
  if (!(timeout_.count() > 0)) throw std::runtime_error("Timeout must be greater than 0");
  host_.subscribe(command_src_);
}

ExecActuator::~ExecActuator() {
  if (child_.running())
    host_.info("stopping: killing '{}' (pid {}) that is still running", join_words(argv_), child_.pid());
  if (!queue_.empty()) host_.info("stopping: {} queued command(s) will not run", queue_.size());
}

void ExecActuator::on_command(std::string_view /*source*/, std::string_view payload) {
  // An argument cannot carry a NUL byte: rather than run the command with a
  // cut-short argument, refuse the message.
  if (payload.find('\0') != std::string_view::npos) {
    host_.error("command payload '{}' contains a NUL byte; not run", sdk::printable(payload));
    publish_result("ERROR");
    return;
  }
  std::vector<std::string> argv = argv_;
  if (sdk::trim(payload) != "NA")
    for (auto& word : split_words(payload)) argv.push_back(std::move(word));

  if (queue_.size() >= kCommandQueueLimit) {
    if (dropped_++ == 0)
      host_.warning("{} commands are already waiting; dropping new ones until the queue has room",
                    queue_.size());
    return;
  }
  queue_.push_back(std::move(argv));
  run_next();
}

void ExecActuator::run_next() {
  // A loop, not recursion: a command that cannot start is answered at once
  // and the next one tried.
  while (!child_.running() && !queue_.empty()) {
    if (dropped_) {
      host_.warning("{} command(s) were dropped while the queue was full", dropped_);
      dropped_ = 0;
    }
    std::vector<std::string> argv = std::move(queue_.front());
    queue_.pop_front();
    std::string command = join_words(argv);
    host_.debug("running '{}'", command);
    try {
      child_.start(argv, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout_),
                   [this, command](ChildResult result) { finished(command, std::move(result)); });
    } catch (const std::exception& e) {
      host_.error("{}", e.what());
      publish_result("ERROR");
    }
  }
}

void ExecActuator::finished(const std::string& command, ChildResult result) {
  std::string_view err = strip_trailing_whitespace(result.err);
  std::string err_note = result.err_dropped ? fmt::format(" (+{} bytes)", result.err_dropped) : "";
  if (result.timed_out) {
    host_.error("'{}' did not finish within {:g} s; its process group was killed{}{}{}", command,
                timeout_.count(), err.empty() ? "" : "; stderr: ", err, err_note);
    publish_result("ERROR");
  } else if (!result.success()) {
    host_.error("'{}' {}{}{}{}", command, result.status_text(), err.empty() ? "" : "; stderr: ", err,
                err_note);
    publish_result("ERROR");
  } else {
    if (result.out_dropped)
      host_.warning("'{}' wrote {} bytes to stdout; published the first {}, dropped {}", command,
                    result.out.size() + result.out_dropped, result.out.size(), result.out_dropped);
    if (!err.empty()) host_.warning("'{}' stderr: {}{}", command, err, err_note);
    publish_result(strip_trailing_whitespace(result.out));
  }
  run_next();
}

void ExecActuator::publish_result(std::string_view value) {
  if (results_dest_) host_.publish(*results_dest_, value);
}

// Quotes reach the program as they are: no shell.
void ExecActuator::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (auto command = params.find("Command"))
    if (auto warning = check_command_line(*command)) report.warning("Command", *warning);
}

}  // namespace sr::exec
