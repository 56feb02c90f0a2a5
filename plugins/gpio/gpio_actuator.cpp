// gpio.rpi_gpio.RpiGpioActuator; parameters and an example INI section in
// gpio_actuator.hpp.
#include "gpio_actuator.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <stdexcept>

namespace sr::gpio {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

bool is_toggle_command(std::string_view payload) { return sdk::is_toggle_command(payload); }

RpiGpioActuator::RpiGpioActuator(sdk::Host host, const sdk::Params& params)
    : RpiGpioActuator(host, params, *make_system_backend()) {}

RpiGpioActuator::RpiGpioActuator(sdk::Host host, const sdk::Params& params, Backend& backend)
    : host_(host),
      command_src_(params.required("CommandSrc")),
      state_dest_(params.str("StateDest")),
      toggle_src_(params.str("ToggleCommandSrc")) {
  std::string initial = params.str("InitialState", "OFF");
  initial_high_ = iequals(initial, "ON") || iequals(initial, "HIGH");
  invert_ = params.boolean("InvertOut", false);
  simulate_button_ =
      params.has("SimulateButton") ? params.boolean("SimulateButton") : params.boolean("Toggle", false);
  if (params.has("SimulateButton") && params.has("Toggle") &&
      params.boolean("SimulateButton") != params.boolean("Toggle"))
    host_.warning("SimulateButton and its legacy name Toggle disagree; SimulateButton applies");
  double debounce = params.number("ToggleDebounce", 0.15);
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
  std::string_view command = trim(payload);
  if (simulate_button_) {
    pulse();
    return;
  }
  if ((!toggle_src_.empty() && source == toggle_src_ && source != command_src_) ||
      is_toggle_command(command) || iequals(command, "TOGGLE")) {
    toggle();
    return;
  }
  // Any case: "on" from a hand-typed mosquitto_pub means ON.
  if (iequals(command, "ON") || iequals(command, "OFF")) {
    bool on = iequals(command, "ON");
    if (on == state_) {
      host_.info("already {}; ignoring command", on ? "ON" : "OFF");
      return;
    }
    drive(on);
    return;
  }
  host_.error("bad command '{}' from {}: expected ON, OFF, TOGGLE or a button timestamp", sdk::printable(payload),
              source);
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
