// gpio.rpi_gpio.RpiGpioActuator — actuator (SPEC 7.5).
//
// Drives one GPIO output line from commands: ON, OFF, TOGGLE, and button
// timestamps (YYYY-MM-DDTHH:MM:SS.ffffff, as RpiGpioSensor publishes them),
// which count as TOGGLE. Anything else is logged as a bad command and
// ignored. The logical state ON/OFF is published at start, after each change
// and on refresh: to StateDest when set, otherwise (INI era) back to
// CommandSrc marked as an echo, so no connection delivers it as a command.
//
// Parameters:
//   Pin               line: BCM number, or header pin with PinNumbering = BOARD
//   CommandSrc        where commands come from
//   StateDest         where the state goes; default CommandSrc (echo)
//   ToggleCommandSrc  a second source: any message there toggles
//   InitialState      ON (or HIGH) drives the line high at start, OFF (or
//                     LOW, the default) low; the physical level, not inverted
//   InvertOut         yes: logical ON drives the line low (default no)
//   SimulateButton    yes: any message pulses the line away from InitialState
//                     for 0.5 s (a one-shot timer; nothing waits) and the
//                     state stays OFF; commands during a pulse are ignored
//   Toggle            legacy name of SimulateButton; SimulateButton wins
//   ToggleDebounce    seconds (default 0.15): a toggle this soon after the
//                     last accepted one is ignored
//   Chip, PinNumbering  see gpio_backend.hpp
//
// ON while ON and OFF while OFF change nothing and publish nothing.
//
//   [Actuator_GarageLight]
//   Class = gpio.rpi_gpio.RpiGpioActuator
//   Connection = MQTT
//   Pin = 19
//   CommandSrc = garage_light
//   StateDest = garage_light/state
//   ToggleCommandSrc = toggle_garage_light
#pragma once

#include "gpio_backend.hpp"

#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sr::gpio {

class RpiGpioActuator {
 public:
  static constexpr sr_kind kind = SR_KIND_ACTUATOR;
  static constexpr const char* name = "RpiGpioActuator";
  static constexpr const char* path = "gpio.rpi_gpio.RpiGpioActuator";
  static constexpr const char* summary = "Drives a GPIO output from ON/OFF/TOGGLE commands, or pulses it";
  static constexpr sr_param_def params[] = {
      sdk::int_param("Pin").required().min(0).help(
          "GPIO line: BCM number (the line offset on Chip), or the header pin with PinNumbering = BOARD"),
      sdk::string_param("CommandSrc")
          .required()
          .help("where ON, OFF, TOGGLE and button timestamps come from"),
      sdk::string_param("StateDest").help("where ON/OFF is published; default CommandSrc, as an echo"),
      sdk::string_param("ToggleCommandSrc").help("a second command source: any message there toggles"),
      sdk::choice_param("InitialState", "ON|OFF|HIGH|LOW")
          .fallback("OFF")
          .help("level driven at start: ON/HIGH high, OFF/LOW low (physical, not inverted)"),
      sdk::bool_param("InvertOut").fallback("no").help("logical ON drives the line low"),
      sdk::bool_param("SimulateButton").help("any command pulses the line for 0.5 s (default no)"),
      sdk::bool_param("Toggle").help("legacy name of SimulateButton"),
      sdk::float_param("ToggleDebounce")
          .fallback("0.15")
          .min(0)
          .help("seconds after an accepted toggle during which toggles are ignored"),
      sdk::string_param("Chip").help(
          "gpiochip path, name, number or label; default the Raspberry Pi header chip, else gpiochip0"),
      sdk::choice_param("PinNumbering", "BCM|BOARD")
          .fallback("BCM")
          .help("BCM: Pin is the GPIO number; BOARD: Pin is the physical pin of the 40-pin header"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::accepts("CommandSrc", SR_VALUE_COMMAND, "switch"),
      sdk::accepts("ToggleCommandSrc", SR_VALUE_TIMESTAMP, "button"),
      sdk::publishes("StateDest", SR_VALUE_BINARY, "switch", nullptr, "OFF,ON"), sdk::end_ios};

  // InitialState's choices in their order (Params::choice).
  enum class Initial { On, Off, High, Low };

  static constexpr std::chrono::milliseconds kPulse{500};

  RpiGpioActuator(sdk::Host host, const sdk::Params& params);
  // Tests (and a future backend choice) hand the backend in; it is used only
  // while the constructor runs.
  RpiGpioActuator(sdk::Host host, const sdk::Params& params, Backend& backend);

  void start() { publish_state(); }
  void on_command(std::string_view source, std::string_view payload);
  void refresh() { publish_state(); }

  bool state() const { return state_; }
  bool pulsing() const { return pulse_timer_.active(); }

 private:
  void toggle();
  void drive(bool logical);
  void pulse();
  void publish_state();

  sdk::Host host_;
  std::string command_src_;
  std::string state_dest_;
  std::string toggle_src_;
  bool initial_high_ = false;
  bool invert_ = false;
  bool simulate_button_ = false;
  std::chrono::nanoseconds toggle_debounce_{0};
  std::string description_;

  std::unique_ptr<OutputLine> line_;  // declared before the timer: outlives it
  sdk::Timer pulse_timer_;
  bool state_ = false;  // logical
  std::optional<std::chrono::nanoseconds> last_toggle_;
};
static_assert(sdk::choice_count(RpiGpioActuator::params, "InitialState") == 4);
static_assert(sdk::choice_count(RpiGpioActuator::params, "PinNumbering") == 2);

}  // namespace sr::gpio
