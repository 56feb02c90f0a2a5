// gpio.rpi_gpio.RpiGpioActuator; parameters and an example INI section in
// gpio_actuator.hpp.
#include "gpio_actuator.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace sr::gpio {

RpiGpioActuator::RpiGpioActuator(sdk::Host host, const sdk::Params& params)
    : RpiGpioActuator(host, params, *make_system_backend()) {}

RpiGpioActuator::RpiGpioActuator(sdk::Host host, const sdk::Params& params, Backend& backend)
    : host_(host),
      command_src_(params.get("CommandSrc")),
      state_dest_(params.find("StateDest").value_or("")),
      toggle_src_(params.find("ToggleCommandSrc").value_or("")) {
  const Initial initial = params.choice<Initial>("InitialState");
  initial_high_ = initial == Initial::On || initial == Initial::High;
  invert_ = params.get<bool>("InvertOut");
  // Neither key has a default in the table, so that the legacy name applies
  // only when SimulateButton is absent; neither given: no button.
  const std::optional<bool> simulate = params.find<bool>("SimulateButton");
  const std::optional<bool> legacy_toggle = params.find<bool>("Toggle");
  simulate_button_ = simulate.value_or(legacy_toggle.value_or(false));
  if (simulate && legacy_toggle && *simulate != *legacy_toggle)
    host_.warning("SimulateButton and its legacy name Toggle disagree; SimulateButton applies");
  const double debounce = params.get<double>("ToggleDebounce");
  toggle_debounce_ = std::chrono::nanoseconds(static_cast<long long>(std::llround(debounce * 1e9)));

  LineTarget target = open_line_target(backend, params);
  description_ = target.description;
  line_ = target.chip->request_output(target.offset, consumer_name(host_.section()), initial_high_);
  // A button rests; otherwise the logical state is what the level means.
  state_ = simulate_button_ ? false : initial_high_ != invert_;
  host_.info("{}: output, initially {}{}{}", description_, initial_high_ ? "high" : "low",
             invert_ ? ", inverted" : "", simulate_button_ ? ", simulated button" : "");

  if (!host_.subscribe(command_src_))
    host_.warning("not every connection accepted CommandSrc {}", command_src_);
  if (!toggle_src_.empty() && toggle_src_ != command_src_ && !host_.subscribe(toggle_src_))
    host_.warning("not every connection accepted ToggleCommandSrc {}", toggle_src_);
}

void RpiGpioActuator::on_command(std::string_view source, std::string_view payload) {
  std::string_view command = sdk::trim(payload);
  if (simulate_button_) {
    pulse();
    return;
  }
  if ((!toggle_src_.empty() && source == toggle_src_ && source != command_src_) ||
      sdk::is_toggle_command(command) || sdk::iequals(command, "TOGGLE")) {
    toggle();
    return;
  }
  // Any case: "on" from a hand-typed mosquitto_pub means ON.
  if (sdk::iequals(command, "ON") || sdk::iequals(command, "OFF")) {
    bool on = sdk::iequals(command, "ON");
    if (on == state_) {
      host_.info("already {}; ignoring command", on ? "ON" : "OFF");
      return;
    }
    drive(on);
    return;
  }
  host_.error("bad command '{}' from {}: expected ON, OFF, TOGGLE or a button timestamp",
              sdk::printable(payload), source);
}

void RpiGpioActuator::toggle() {
  auto now = host_.now();
  if (last_toggle_ && now - *last_toggle_ < toggle_debounce_) {
    host_.info("toggle ignored: within ToggleDebounce ({} s) of the previous one",
               static_cast<double>(toggle_debounce_.count()) / 1e9);
    return;
  }
  last_toggle_ = now;
  drive(!state_);
}

void RpiGpioActuator::drive(bool logical) {
  line_->set_value(logical != invert_);
  state_ = logical;
  host_.info("{}", state_ ? "ON" : "OFF");
  publish_state();
}

void RpiGpioActuator::pulse() {
  if (pulse_timer_.active()) {
    host_.info("command ignored: the button is still pressed");
    return;
  }
  line_->set_value(!initial_high_);
  pulse_timer_ = host_.add_timer(kPulse, {}, [this] { line_->set_value(initial_high_); });
  host_.debug("pulsing for {} ms", kPulse.count());
}

void RpiGpioActuator::publish_state() {
  const char* payload = state_ ? "ON" : "OFF";
  if (state_dest_.empty())
    host_.publish(command_src_, payload, SR_PUBLISH_ECHO);
  else
    host_.publish(state_dest_, payload);
}

}  // namespace sr::gpio
