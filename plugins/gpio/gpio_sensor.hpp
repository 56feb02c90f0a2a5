// gpio.rpi_gpio.RpiGpioSensor — sensor, event-driven or polled (SPEC 7.4).
//
// Reads one GPIO input line and publishes its state (Values: the text for LOW,
// then for HIGH) at start, on every change and on refresh (the cached state).
// Optionally reports button presses as local timestamps
// YYYY-MM-DDTHH:MM:SS.ffffff, which a LocalConnection passes to actuators as
// TOGGLE.
//
// Parameters:
//   Pin                    line: BCM number, or header pin with PinNumbering = BOARD
//   Destination            where the state goes
//   PUD                    UP, DOWN (default) or OFF: the pull resistor
//   EventDetection         RISING, FALLING or BOTH: the kernel reports edges
//                          through an fd the event loop watches (no polling);
//                          RISING publishes every LOW→HIGH change, FALLING
//                          every HIGH→LOW change, BOTH both. Absent or NONE:
//                          the line is read every Poll seconds and published
//                          on change.
//   Poll                   seconds between reads without EventDetection (> 0)
//   Values                 value_for_LOW,value_for_HIGH, trimmed; default CLOSED,OPEN
//   Debounce               seconds (default 0, off); with EventDetection a level
//                          counts only once it has been stable this long: each
//                          edge restarts a settle timer, and when it expires
//                          the line is read; a change is then dated by the
//                          first edge of the burst. With libgpiod 2.x the
//                          kernel is asked first; its debounced events need
//                          no timer (a refusal is warned and the timer runs)
//   Short_Press-Dest       where short presses go
//   Short_Press-Threshold  seconds (default 0): shorter presses are ignored
//   Long_Press-Dest        where long presses go
//   Long_Press-Threshold   seconds; presses at least this long go to
//                          Long_Press-Dest; absent or 0: no long presses
//   Btn_Pressed_State      LOW or HIGH; default LOW with PUD = UP, else HIGH
//   Chip, PinNumbering     see gpio_backend.hpp
//
// The kernel is always asked for both edges, so the cached state (refresh)
// and button timing stay right whatever EventDetection filters. Press
// durations come from the kernel's event timestamps (from the poll times when
// polled).
//
//   [Sensor_BackDoor]
//   Class = gpio.rpi_gpio.RpiGpioSensor
//   Connection = MQTT
//   Pin = 17
//   PUD = UP
//   EventDetection = BOTH
//   Debounce = 0.02
//   Destination = back_door
//   Short_Press-Dest = back_door_short
//   Long_Press-Dest = back_door_long
//   Long_Press-Threshold = 1.2
#pragma once

#include "gpio_backend.hpp"

#include <sensor_reporter/sdk.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace sr::gpio {

// Local wall-clock time as YYYY-MM-DDTHH:MM:SS.ffffff (always 26 characters).
std::string format_local_timestamp(std::chrono::system_clock::time_point when);

class RpiGpioSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "RpiGpioSensor";
  static constexpr const char* path = "gpio.rpi_gpio.RpiGpioSensor";
  static constexpr const char* summary = "Publishes a GPIO input's state on change and button presses";
  static constexpr sr_param_def params[] = {
      sdk::int_param("Pin").required().min(0).help(
          "GPIO line: BCM number (the line offset on Chip), or the header pin with PinNumbering = BOARD"),
      sdk::string_param("Destination").required().help("where the state (one of Values) is published"),
      sdk::choice_param("PUD", "UP|DOWN|OFF").fallback("DOWN").help("pull resistor of the input"),
      sdk::choice_param("EventDetection", "RISING|FALLING|BOTH|NONE")
          .help("publish on kernel edge events: RISING (LOW to HIGH), FALLING or BOTH; absent or NONE: poll"),
      sdk::string_param("Values").fallback("CLOSED,OPEN").help("value_for_LOW,value_for_HIGH"),
      sdk::float_param("Debounce")
          .fallback("0")
          .min(0)
          .max(60)
          .help("seconds a level must be stable before it counts (EventDetection only); 0: off"),
      sdk::string_param("Short_Press-Dest").help("where a button press timestamp goes"),
      sdk::float_param("Short_Press-Threshold")
          .fallback("0")
          .min(0)
          .help("seconds; shorter presses are ignored"),
      sdk::string_param("Long_Press-Dest").help("where a long press timestamp goes"),
      sdk::float_param("Long_Press-Threshold")
          .min(0)
          .help("seconds; presses at least this long go to Long_Press-Dest; absent or 0: none"),
      sdk::choice_param("Btn_Pressed_State", "LOW|HIGH")
          .help("level of a pressed button; default LOW with PUD = UP, else HIGH"),
      sdk::string_param("Chip").help(
          "gpiochip path, name, number or label; default the Raspberry Pi header chip, else gpiochip0"),
      sdk::choice_param("PinNumbering", "BCM|BOARD")
          .fallback("BCM")
          .help("BCM: Pin is the GPIO number; BOARD: Pin is the physical pin of the 40-pin header"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Destination", SR_VALUE_BINARY, "contact", nullptr, "CLOSED,OPEN").values_from("Values"),
      sdk::publishes("Short_Press-Dest", SR_VALUE_TIMESTAMP, "button"),
      sdk::publishes("Long_Press-Dest", SR_VALUE_TIMESTAMP, "button"), sdk::end_ios};

  // EventDetection's choices in their order (Params::choice); NONE, like no
  // EventDetection at all, polls the line.
  enum class Mode { Rising, Falling, Both, Poll };
  // PUD's choices in their order.
  enum class Pull { Up, Down, Off };
  // Btn_Pressed_State's choices in their order.
  enum class Level { Low, High };

  RpiGpioSensor(sdk::Host host, const sdk::Params& params);
  // Tests (and a future backend choice) hand the backend in; it is used only
  // while the constructor runs.
  RpiGpioSensor(sdk::Host host, const sdk::Params& params, Backend& backend);

  void start();
  void poll();
  void refresh();

  Mode mode() const { return mode_; }
  bool state() const { return state_; }

 private:
  void on_events();
  void on_settled();
  void apply(bool level, std::chrono::nanoseconds when);
  void publish_state();
  void on_button(bool level, std::chrono::nanoseconds when);

  sdk::Host host_;
  std::string destination_;
  std::array<std::string, 2> values_;  // [LOW, HIGH]
  Mode mode_ = Mode::Poll;
  std::chrono::nanoseconds debounce_{0};
  std::string short_dest_;
  std::string long_dest_;
  std::chrono::nanoseconds short_threshold_{0};
  std::optional<std::chrono::nanoseconds> long_threshold_;
  bool pressed_level_ = true;
  std::string description_;

  std::unique_ptr<InputLine> line_;  // declared before the watch: outlives it
  sdk::FdWatch watch_;
  sdk::Timer settle_timer_;
  std::chrono::nanoseconds burst_start_{0};
  bool state_ = false;
  std::optional<std::chrono::nanoseconds> pressed_at_;
};
static_assert(sdk::choice_count(RpiGpioSensor::params, "EventDetection") == 4);
static_assert(sdk::choice_count(RpiGpioSensor::params, "PUD") == 3);
static_assert(sdk::choice_count(RpiGpioSensor::params, "Btn_Pressed_State") == 2);
static_assert(sdk::choice_count(RpiGpioSensor::params, "PinNumbering") == 2);

}  // namespace sr::gpio
