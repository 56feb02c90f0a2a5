// An in-memory implementation of the GPIO seam for unit tests — not a plugin
// class and never chosen through the INI file: tests construct
// gpio.rpi_gpio.RpiGpioSensor / RpiGpioActuator with a FakeBackend directly.
// Parameters and an example INI section: see gpio_backend.hpp.
//
// The test declares chips (name, label, number of lines), drives the level of
// input lines with timestamps of its choosing and reads what the plugin drives
// on output lines. Each line has a real eventfd that is readable while edge
// events are pending, so the plugin's path through Host::watch_fd and the
// event loop is the same as with the kernel.
//
//   sr::gpio::FakeBackend backend;
//   backend.add_chip("gpiochip0", "pinctrl-bcm2711", 58);
//   FakeLine& button = backend.line("gpiochip0", 17);
//   button.set_input(true, 1s);   // queues a rising edge if edges are requested
//
// Lifetime: FakeLine objects live as long as the backend or a line object
// handed to a plugin, whichever is longer (shared ownership). Single-threaded.
#pragma once

#include "gpio_backend.hpp"

#include <deque>
#include <map>

namespace sr::gpio {

class FakeLine {
 public:
  enum class Direction { Unused, Input, Output };

  FakeLine();
  FakeLine(const FakeLine&) = delete;
  FakeLine& operator=(const FakeLine&) = delete;

  // --- driven by the test ---
  // Sets the electrical level seen by an input; a change queues the matching
  // edge event when the requested edges include it (like the kernel).
  void set_input(bool high, std::chrono::nanoseconds timestamp);
  // Queues an edge without changing the level (a glitch too short to read).
  void push_event(bool rising, std::chrono::nanoseconds timestamp);
  // Makes the next get_value/set_value throw this text (empty: no failure).
  void fail_with(std::string text) { failure_ = std::move(text); }
  // How the "kernel" answers a debounce period in the next request: by
  // default like libgpiod 1.6 (never asked, kernel_debounce() zero, no
  // refusal). Taken, the line reports the period; the fake does not filter
  // the edges the test pushes, as if the kernel had already done so.
  enum class KernelDebounce { NotOffered, Takes, Refuses };
  void kernel_debounce(KernelDebounce answer, std::string refusal = {}) {
    kernel_debounce_ = answer;
    refusal_ = std::move(refusal);
  }

  // --- observed by the test ---
  bool requested() const { return direction_ != Direction::Unused; }
  Direction direction() const { return direction_; }
  Bias bias() const { return bias_; }
  Edge edge() const { return edge_; }
  // The debounce period the plugin asked for in the last input request.
  std::chrono::microseconds requested_debounce() const { return requested_debounce_; }
  const std::string& consumer() const { return consumer_; }
  bool input_level() const { return input_level_; }
  bool output_level() const { return output_level_; }
  // Every level the plugin drove, the request's initial level first.
  const std::vector<bool>& writes() const { return writes_; }
  size_t pending_events() const { return events_.size(); }
  size_t requests() const { return requests_; }

 private:
  friend class FakeChip;
  friend class FakeInputLine;
  friend class FakeOutputLine;
  void queue(LineEvent event);
  std::optional<LineEvent> pop();
  void check_failure() const;
  void release();

  sdk::UniqueFd event_fd_;
  Direction direction_ = Direction::Unused;
  Bias bias_ = Bias::Disabled;
  Edge edge_ = Edge::None;
  std::chrono::microseconds requested_debounce_{0};
  KernelDebounce kernel_debounce_ = KernelDebounce::NotOffered;
  std::string refusal_;
  std::string consumer_;
  bool input_level_ = false;
  bool output_level_ = false;
  std::vector<bool> writes_;
  std::deque<LineEvent> events_;
  std::string failure_;
  size_t requests_ = 0;
};

struct FakeChipState {
  ChipInfo info;
  std::vector<std::shared_ptr<FakeLine>> lines;
  std::map<unsigned, std::string> line_names;
};

class FakeBackend final : public Backend {
 public:
  // The chip's path is /dev/<name>.
  FakeChipState& add_chip(const std::string& name, const std::string& label, unsigned num_lines);
  // Throws std::out_of_range for an unknown chip or offset.
  FakeLine& line(std::string_view chip_name, unsigned offset);
  // Paths passed to open_chip, in order.
  const std::vector<std::string>& opened() const { return opened_; }

  std::vector<ChipInfo> list_chips() override;
  std::unique_ptr<Chip> open_chip(const std::string& path) override;

 private:
  std::vector<std::shared_ptr<FakeChipState>> chips_;
  std::vector<std::string> opened_;
};

}  // namespace sr::gpio
