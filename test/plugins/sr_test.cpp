// Classes used only by the test suite (module "sr_test"):
//  - TestSensor publishes the next of its comma-separated Values on each
//    poll; PollDuration > 0 makes each poll asynchronous and that slow;
//    ThrowOnPoll makes every poll throw; BlockFor > 0 makes every poll block
//    the event loop that long (a stuck plugin, for the watchdog test).
//  - TestActuator appends "SOURCE PAYLOAD" lines to the file Output for every
//    command it receives and publishes the payload as its state: to StateDest,
//    or (INI-era style) back to CommandSrc as an echo; again on refresh.
#include <sensor_reporter/sdk.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

class TestSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "TestSensor";
  static constexpr const char* path = "sr_test.test.TestSensor";
  static constexpr const char* summary = "Publishes a fixed sequence of values (tests only)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("Destination").required().help("where values go"),
      sr::sdk::string_param("Values").required().help("comma-separated values, one per poll"),
      sr::sdk::float_param("PollDuration").fallback("0").min(0).help("seconds each poll takes"),
      sr::sdk::bool_param("ThrowOnPoll").fallback("no").help("every poll throws"),
      sr::sdk::float_param("BlockFor").fallback("0").min(0).help("seconds every poll blocks the event loop"),
      sr::sdk::end_params};

  TestSensor(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host),
        destination_(params.get("Destination")),
        duration_(params.get<double>("PollDuration")),
        throw_on_poll_(params.get<bool>("ThrowOnPoll")),
        block_for_(params.get<double>("BlockFor")) {
    std::string values = params.get("Values");
    size_t start = 0;
    for (;;) {
      size_t comma = values.find(',', start);
      values_.push_back(values.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }

  sr::sdk::PollResult poll() {
    if (throw_on_poll_) throw std::runtime_error("test sensor failure");
    // Deliberately wrong plugin behaviour: blocks the whole event loop.
    if (block_for_ > 0) std::this_thread::sleep_for(std::chrono::duration<double>(block_for_));
    if (duration_ <= 0) {
      publish_next();
      return sr::sdk::PollResult::Done;
    }
    slow_ = host_.add_timer(std::chrono::nanoseconds(static_cast<long long>(duration_ * 1e9)), {}, [this] {
      publish_next();
      host_.poll_done();
    });
    return sr::sdk::PollResult::Pending;
  }
  void refresh() {
    if (next_ > 0) host_.publish(destination_, values_[next_ - 1]);
  }

 private:
  void publish_next() {
    if (next_ < values_.size()) host_.publish(destination_, values_[next_++]);
  }

  sr::sdk::Host host_;
  std::string destination_;
  double duration_;
  bool throw_on_poll_;
  double block_for_;
  std::vector<std::string> values_;
  size_t next_ = 0;
  sr::sdk::Timer slow_;
};

class TestActuator {
 public:
  static constexpr sr_kind kind = SR_KIND_ACTUATOR;
  static constexpr const char* name = "TestActuator";
  static constexpr const char* path = "sr_test.test.TestActuator";
  static constexpr const char* summary = "Records every command to a file (tests only)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("CommandSrc").required().help("where commands come from"),
      sr::sdk::string_param("Output").required().help("file that receives one line per command"),
      sr::sdk::string_param("StateDest").help("where the last command is published on refresh"),
      sr::sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sr::sdk::accepts("CommandSrc", SR_VALUE_COMMAND, "switch", "OFF,ON"), sr::sdk::end_ios};

  TestActuator(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host),
        output_(params.get("Output")),
        command_src_(params.get("CommandSrc")),
        state_dest_(params.find("StateDest").value_or("")) {
    host_.subscribe(command_src_);
  }
  void on_command(std::string_view source, std::string_view payload) {
    std::FILE* file = std::fopen(output_.c_str(), "ae");
    if (!file) throw std::runtime_error("cannot open " + output_);
    std::fprintf(file, "%.*s %.*s\n", static_cast<int>(source.size()), source.data(),
                 static_cast<int>(payload.size()), payload.data());
    std::fclose(file);
    last_ = payload;
    refresh();
  }
  void refresh() {
    if (last_.empty()) return;
    if (!state_dest_.empty())
      host_.publish(state_dest_, last_);
    else
      host_.publish(command_src_, last_, SR_PUBLISH_ECHO);
  }

 private:
  sr::sdk::Host host_;
  std::string output_;
  std::string command_src_;
  std::string state_dest_;
  std::string last_;
};

// ABI 1.2 constraints for the config tests: a numbered family Address<n>
// paired with Destination<n>, a secret with a pattern, a not-empty key and a
// check() that compares two values. Publishes nothing. With Label = leak it
// misbehaves: it logs its Token and puts it in its status, which the host
// must mask (test_secrets.cpp).
class TestFamilies {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "TestFamilies";
  static constexpr const char* path = "sr_test.test.TestFamilies";
  static constexpr const char* summary = "Numbered families and constraints (tests only)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("Address").required().numbered("Destination").help("an address"),
      sr::sdk::string_param("Destination").numbered("Address").help("where Address<n> is published"),
      sr::sdk::string_param("Token").secret().pattern("[0-9a-f]{8}", "8 hex digits").help("a secret"),
      sr::sdk::string_param("Label").not_empty().help("must not be blank"),
      sr::sdk::int_param("Low").fallback("0"),
      sr::sdk::int_param("High").fallback("10"),
      sr::sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sr::sdk::publishes("Destination", SR_VALUE_STRING, "address"), sr::sdk::end_ios};

  static void check(const sr::sdk::Params& params, sr::sdk::CheckReport& report) {
    if (params.get<long long>("High") < params.get<long long>("Low"))
      report.error("High", "High is below Low");
    if (params.find("Label") == "warn") report.warning("Label", "Label says warn");
    if (params.find("Label") == "whole") report.error("", "the whole section is wrong");
    if (params.find("Token") == "deadbeef")
      report.warning("Token", "token " + params.get("Token") + " is well known");
  }
  TestFamilies(sr::sdk::Host host, const sr::sdk::Params& params) {
    if (params.find("Label") != "leak") return;
    const std::string token = params.find("Token").value_or("");
    host.warning("my token is {}", token);
    host.set_status("token " + token);
  }
};

}  // namespace

// The host's failure policy and ABI 1.2 routing (test_host_policy.cpp):
//  - PolicySensor publishes "<n>" (the poll count) to Destination on each
//    poll; the first FailPolls polls fail, after them FailAgain more fail
//    whenever the file FailFile exists; Hang makes every poll pending
//    forever; Absolute publishes with SR_PUBLISH_ABSOLUTE; FailStart makes
//    start() fail.
//  - PolicyActuator is TestActuator with Absolute (SR_SUBSCRIBE_ABSOLUTE)
//    and, when the file UnsubscribeFile exists at a command, unsubscribes;
//    the command FAIL fails.
namespace {

class PolicySensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "PolicySensor";
  static constexpr const char* path = "sr_test.policy.PolicySensor";
  static constexpr const char* summary = "Fails, hangs or publishes absolutely on demand (tests only)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("Destination").required().help("where the poll count goes"),
      sr::sdk::int_param("FailPolls").fallback("0").min(0).help("the first this many polls fail"),
      sr::sdk::string_param("FailFile").help("while this file exists, polls fail"),
      sr::sdk::bool_param("Hang").fallback("no").help("every poll stays pending forever"),
      sr::sdk::bool_param("Absolute").fallback("no").help("Destination is a whole topic"),
      sr::sdk::bool_param("FailStart").fallback("no").help("start() fails"),
      sr::sdk::bool_param("Async").fallback("no").help("polls end later, through poll_done(ok)"),
      sr::sdk::end_params};

  PolicySensor(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host),
        destination_(params.get("Destination")),
        fail_polls_(params.get<long long>("FailPolls")),
        fail_file_(params.find("FailFile").value_or("")),
        hang_(params.get<bool>("Hang")),
        flags_(params.get<bool>("Absolute") ? SR_PUBLISH_ABSOLUTE : 0u),
        fail_start_(params.get<bool>("FailStart")),
        async_(params.get<bool>("Async")) {}

  void start() {
    if (fail_start_) throw std::runtime_error("start fails on purpose");
  }

  sr::sdk::PollResult poll() {
    ++polls_;
    host_.info("poll {}", polls_);
    if (hang_) return sr::sdk::PollResult::Pending;  // never calls poll_done
    if (async_) {
      // Ends on the next loop round, with the verdict poll_done carries.
      ending_ = host_.add_timer(std::chrono::nanoseconds(0), {}, [this] {
        const std::string failure = why_failing();
        if (failure.empty())
          host_.publish(destination_, std::to_string(polls_), flags_);
        else
          host_.error("{}", failure);
        host_.poll_done(failure.empty());
      });
      return sr::sdk::PollResult::Pending;
    }
    if (const std::string failure = why_failing(); !failure.empty()) throw std::runtime_error(failure);
    host_.publish(destination_, std::to_string(polls_), flags_);
    return sr::sdk::PollResult::Done;
  }

 private:
  sr::sdk::Host host_;
  std::string destination_;
  long long fail_polls_;
  std::string fail_file_;
  bool hang_;
  uint32_t flags_;
  bool fail_start_;
  bool async_;
  long long polls_ = 0;
  sr::sdk::Timer ending_;

  // Empty when this poll succeeds.
  std::string why_failing() const {
    if (polls_ <= fail_polls_) return fmt::format("poll {} fails on purpose", polls_);
    if (!fail_file_.empty()) {
      if (std::FILE* f = std::fopen(fail_file_.c_str(), "re")) {
        std::fclose(f);
        return "FailFile exists";
      }
    }
    return {};
  }
};

class PolicyActuator {
 public:
  static constexpr sr_kind kind = SR_KIND_ACTUATOR;
  static constexpr const char* name = "PolicyActuator";
  static constexpr const char* path = "sr_test.policy.PolicyActuator";
  static constexpr const char* summary = "Records commands; absolute sources, unsubscribe (tests only)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("CommandSrc").required().help("where commands come from"),
      sr::sdk::string_param("Output").required().help("file that receives one line per command"),
      sr::sdk::bool_param("Absolute").fallback("no").help("CommandSrc is a whole topic"),
      sr::sdk::string_param("UnsubscribeFile").help("when this file exists at a command, unsubscribe"),
      sr::sdk::end_params};

  PolicyActuator(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host),
        command_src_(params.get("CommandSrc")),
        output_(params.get("Output")),
        flags_(params.get<bool>("Absolute") ? SR_SUBSCRIBE_ABSOLUTE : 0u),
        unsubscribe_file_(params.find("UnsubscribeFile").value_or("")) {
    if (!host_.subscribe(command_src_, flags_)) host_.warning("subscribing to {} was refused", command_src_);
  }
  void on_command(std::string_view source, std::string_view payload) {
    if (payload == "FAIL") throw std::runtime_error("the command FAIL fails");
    std::FILE* file = std::fopen(output_.c_str(), "ae");
    if (!file) throw std::runtime_error("cannot open " + output_);
    std::fprintf(file, "%.*s %.*s\n", static_cast<int>(source.size()), source.data(),
                 static_cast<int>(payload.size()), payload.data());
    std::fclose(file);
    if (!unsubscribe_file_.empty()) {
      if (std::FILE* f = std::fopen(unsubscribe_file_.c_str(), "re")) {
        std::fclose(f);
        host_.unsubscribe(command_src_, flags_);
        host_.info("unsubscribed from {}", command_src_);
      }
    }
  }

 private:
  sr::sdk::Host host_;
  std::string command_src_;
  std::string output_;
  uint32_t flags_;
  std::string unsubscribe_file_;
};

}  // namespace

SR_PLUGIN_MODULE("sr_test", "1.0.0", TestSensor, TestActuator, TestFamilies, PolicySensor, PolicyActuator)
