// The GPIO seam — not a plugin class; used by gpio.rpi_gpio.RpiGpioSensor and
// gpio.rpi_gpio.RpiGpioActuator (SPEC 7.4, 7.5).
//
// The plugin classes talk to GPIO hardware only through these interfaces, so
// the logic does not depend on a libgpiod version:
//   - GpiodBackend (gpiod_backend.hpp): the kernel's GPIO character device,
//     implemented twice: gpiod_backend.cpp on libgpiod 1.6 (v1 C API) and
//     gpiod2_backend.cpp on libgpiod 2.x (v2 C API). meson builds the one
//     that matches the libgpiod it found; make_system_backend() returns it.
//   - FakeBackend (fake_backend.*): in-memory chips for the unit tests.
//
// Parameters handled here (shared by both classes):
//   Chip          gpiochip path (/dev/gpiochip4), name (gpiochip4), number (4)
//                 or label (pinctrl-rp1); default: the Raspberry Pi header
//                 chip found by its label, else gpiochip0
//   PinNumbering  BCM (default: Pin is the line offset) or BOARD (Pin is the
//                 physical pin of the 40-pin header)
//   Pin           see PinNumbering
//
//   [Sensor_Door]
//   Class = gpio.rpi_gpio.RpiGpioSensor
//   Connection = MQTT
//   Chip = pinctrl-bcm2711
//   PinNumbering = BOARD
//   Pin = 11
//   EventDetection = BOTH
//   Destination = door
//
// Ownership and lifetime: a Backend is needed only while lines are
// requested; a Chip may be dropped once its lines are requested, because
// every line keeps what it needs of its chip alive. A line releases the
// kernel request when destroyed. The event fd belongs to its InputLine and
// is valid as long as the line lives.
// Threading: none of these objects is thread-safe; the plugins use them on
// the event-loop thread only.
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sr::gpio {

// Pull resistor of an input line (PUD = OFF, UP, DOWN).
enum class Bias { Disabled, PullUp, PullDown };
// Edges the kernel reports through the event fd; None: no event fd.
enum class Edge { None, Rising, Falling, Both };

std::string_view to_string(Bias bias);
std::string_view to_string(Edge edge);

struct LineEvent {
  bool rising = false;  // false: falling edge
  // Kernel time of the edge (CLOCK_MONOTONIC from Linux 5.7, CLOCK_REALTIME
  // before): only differences between two events are meaningful.
  std::chrono::nanoseconds timestamp{0};
};

struct ChipInfo {
  std::string path;   // /dev/gpiochip0
  std::string name;   // gpiochip0
  std::string label;  // pinctrl-bcm2711
};

// The gpiochip* entries of `dev_dir` as paths, in chip-number order
// (gpiochip2 before gpiochip12); empty when the directory cannot be read.
// Both libgpiod backends open each to read its name and label.
std::vector<std::string> gpiochip_paths(const std::string& dev_dir);

class InputLine {
 public:
  virtual ~InputLine() = default;
  // Readable (EPOLLIN) while events are pending; -1 for Edge::None.
  virtual int event_fd() const = 0;
  // The next pending edge, or nullopt when none is pending. Never blocks.
  virtual std::optional<LineEvent> read_event() = 0;
  // Physical level: true is HIGH. Throws std::runtime_error on failure.
  virtual bool get_value() = 0;
  // The debounce period the kernel applies to this line's edges (its events
  // then report only levels that stayed stable that long). Zero when none
  // was asked for, when the backend cannot ask (libgpiod 1.6) or when the
  // kernel refused it: then the caller must debounce itself.
  virtual std::chrono::microseconds kernel_debounce() const { return {}; }
  // Why the kernel refused the debounce period asked for ("Invalid
  // argument"); empty when it took it or none was asked for.
  virtual std::string debounce_refusal() const { return {}; }
};

class OutputLine {
 public:
  virtual ~OutputLine() = default;
  // Physical level: true drives HIGH. Throws std::runtime_error on failure.
  virtual void set_value(bool high) = 0;
};

class Chip {
 public:
  virtual ~Chip() = default;
  virtual const ChipInfo& info() const = 0;
  virtual unsigned num_lines() const = 0;
  // The kernel's name for the line ("GPIO17"), empty when unnamed.
  virtual std::string line_name(unsigned offset) const = 0;
  // Throw std::runtime_error naming the line and the reason (busy, ...).
  // A non-zero debounce (with edges only) asks the kernel to debounce the
  // line; a backend that cannot, or a kernel that refuses, still returns
  // the line: see InputLine::kernel_debounce() and debounce_refusal().
  virtual std::unique_ptr<InputLine> request_input(unsigned offset, const std::string& consumer, Bias bias,
                                                   Edge edge, std::chrono::microseconds debounce) = 0;
  virtual std::unique_ptr<OutputLine> request_output(unsigned offset, const std::string& consumer,
                                                     bool high) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Every chip that could be opened, ordered by number; others are skipped.
  virtual std::vector<ChipInfo> list_chips() = 0;
  // Throws std::runtime_error("cannot open gpio chip <path>: <reason>").
  virtual std::unique_ptr<Chip> open_chip(const std::string& path) = 0;
};

// The hardware backend of this build (libgpiod 1.6 or 2.x).
std::unique_ptr<Backend> make_system_backend();

// Labels of the chip that carries the 40-pin header, in search order:
// Raspberry Pi 5 (RP1: gpiochip4 on older kernels, gpiochip0 on newer ones,
// which is why the label is searched rather than a number assumed),
// Pi 4 / 400 / CM4, Pi 1-3 / Zero / Zero 2 W.
inline constexpr std::array<std::string_view, 3> kPiHeaderLabels = {"pinctrl-rp1", "pinctrl-bcm2711",
                                                                    "pinctrl-bcm2835"};

// Opens the chip named by a Chip parameter: a path (starts with '/'), a name
// (gpiochipN), a number (N) or a label; empty: the first chip with one of
// kPiHeaderLabels, else /dev/gpiochip0. Throws std::runtime_error.
std::unique_ptr<Chip> select_chip(Backend& backend, std::string_view spec);

// The PinNumbering choices "BCM|BOARD" in their order (Params::choice); each
// class pins its table to it with a static_assert.
enum class PinNumbering { Bcm, Board };

// BCM GPIO number of a physical pin of the 40-pin header. Throws
// std::runtime_error for pins outside 1..40 and for power and ground pins.
unsigned board_to_bcm(long long board_pin);

// A requested-to-be line: the chip, the offset and a description for logs,
// e.g. "GPIO17 (board pin 11) on gpiochip0 'pinctrl-bcm2711'".
struct LineTarget {
  std::unique_ptr<Chip> chip;
  unsigned offset = 0;
  std::string description;
};

// Reads Chip, PinNumbering and Pin, opens the chip and checks the offset.
LineTarget open_line_target(Backend& backend, const sdk::Params& params);

// Consumer label shown by gpioinfo for lines a section requested.
std::string consumer_name(std::string_view section);

}  // namespace sr::gpio
