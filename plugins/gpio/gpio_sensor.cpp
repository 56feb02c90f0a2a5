// gpio.rpi_gpio.RpiGpioSensor; parameters and an example INI section in
// gpio_sensor.hpp.
#include "gpio_sensor.hpp"

#include <fmt/format.h>

#include <sys/epoll.h>

#include <cmath>
#include <ctime>
#include <stdexcept>

namespace sr::gpio {
namespace {

std::array<std::string, 2> parse_values(std::string_view text) {
  auto comma = text.find(',');
  if (comma == std::string_view::npos || text.find(',', comma + 1) != std::string_view::npos)
    throw std::runtime_error(
        fmt::format("Values must be two comma-separated texts value_for_LOW,value_for_HIGH, not '{}'", text));
  std::array<std::string, 2> values{std::string(sdk::trim(text.substr(0, comma))),
                                    std::string(sdk::trim(text.substr(comma + 1)))};
  if (values[0].empty() || values[1].empty())
    throw std::runtime_error(fmt::format("Values has an empty text: '{}'", text));
  return values;
}

std::chrono::nanoseconds seconds(double value) {
  return std::chrono::nanoseconds(static_cast<long long>(std::llround(value * 1e9)));
}

double as_seconds(std::chrono::nanoseconds value) { return static_cast<double>(value.count()) / 1e9; }

// The EventDetection choice as the table spells it, for log lines.
std::string_view detection_name(RpiGpioSensor::Mode mode) {
  switch (mode) {
    case RpiGpioSensor::Mode::Rising: return "RISING";
    case RpiGpioSensor::Mode::Falling: return "FALLING";
    case RpiGpioSensor::Mode::Both: return "BOTH";
    case RpiGpioSensor::Mode::Poll: return "NONE";
  }
  return "?";
}

Bias to_bias(RpiGpioSensor::Pull pull) {
  switch (pull) {
    case RpiGpioSensor::Pull::Up: return Bias::PullUp;
    case RpiGpioSensor::Pull::Down: return Bias::PullDown;
    case RpiGpioSensor::Pull::Off: return Bias::Disabled;
  }
  return Bias::PullDown;
}

}  // namespace

std::string format_local_timestamp(std::chrono::system_clock::time_point when) {
  auto since_epoch = when.time_since_epoch();
  auto whole = std::chrono::floor<std::chrono::seconds>(since_epoch);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - whole).count();
  std::time_t t = static_cast<std::time_t>(whole.count());
  std::tm local{};
  localtime_r(&t, &local);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}", local.tm_year + 1900, local.tm_mon + 1,
                     local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec, micros);
}

RpiGpioSensor::RpiGpioSensor(sdk::Host host, const sdk::Params& params)
    : RpiGpioSensor(host, params, *make_system_backend()) {}

RpiGpioSensor::RpiGpioSensor(sdk::Host host, const sdk::Params& params, Backend& backend)
    : host_(host), destination_(params.get("Destination")), values_(parse_values(params.get("Values"))) {
  if (params.has("EventDetection")) mode_ = params.choice<Mode>("EventDetection");
  // Poll is the host's key (absent or <= 0: not polled); here it only says
  // whether the configuration means a polled line.
  const std::optional<double> poll = params.find<double>("Poll");
  const bool polled = poll && *poll > 0;
  if (mode_ == Mode::Poll && !polled)
    throw std::runtime_error(
        "without EventDetection the line is polled: set Poll (seconds) or EventDetection");
  if (mode_ != Mode::Poll && polled)
    host_.warning("Poll is ignored: with EventDetection = {} changes come from kernel events",
                  detection_name(mode_));

  debounce_ = seconds(params.get<double>("Debounce"));
  if (mode_ == Mode::Poll && debounce_.count() > 0)
    host_.warning("Debounce applies to EventDetection only; a polled line is read every Poll seconds");

  const Bias bias = to_bias(params.choice<Pull>("PUD"));
  pressed_level_ = params.has("Btn_Pressed_State") ? params.choice<Level>("Btn_Pressed_State") == Level::High
                                                   : bias != Bias::PullUp;

  short_dest_ = params.find("Short_Press-Dest").value_or("");
  long_dest_ = params.find("Long_Press-Dest").value_or("");
  short_threshold_ = seconds(params.get<double>("Short_Press-Threshold"));
  if (auto long_seconds = params.find<double>("Long_Press-Threshold"); long_seconds && *long_seconds > 0)
    long_threshold_ = seconds(*long_seconds);
  if (!long_dest_.empty() && !long_threshold_)
    host_.warning("Long_Press-Dest is set without a Long_Press-Threshold > 0: no press counts as long");
  if (long_dest_.empty() && long_threshold_)
    host_.warning("Long_Press-Threshold is set without Long_Press-Dest: every press counts as short");

  LineTarget target = open_line_target(backend, params);
  description_ = target.description;
  Edge edge = mode_ == Mode::Poll ? Edge::None : Edge::Both;
  // The kernel is offered the period first (libgpiod 2.x); whatever it does
  // not take is debounced here with the settle timer.
  const auto wanted_debounce = mode_ == Mode::Poll ? std::chrono::microseconds{0}
                                                   : std::chrono::ceil<std::chrono::microseconds>(debounce_);
  line_ =
      target.chip->request_input(target.offset, consumer_name(host_.section()), bias, edge, wanted_debounce);
  std::string kernel_debounce;
  if (wanted_debounce.count() > 0) {
    if (const auto by_kernel = line_->kernel_debounce(); by_kernel.count() > 0) {
      // Its events report only settled levels: no settle timer on top.
      debounce_ = std::chrono::nanoseconds{0};
      kernel_debounce = fmt::format(", debounced by the kernel ({} us)", by_kernel.count());
    } else if (const std::string why = line_->debounce_refusal(); !why.empty()) {
      host_.warning("{}: the kernel refused a debounce period of {} us ({}); debouncing in software",
                    description_, wanted_debounce.count(), why);
    }
  }
  state_ = line_->get_value();
  host_.info("{}: input, {}, {}{}", description_, to_string(bias),
             mode_ == Mode::Poll ? fmt::format("polled every {} s", *poll) : std::string(to_string(edge)),
             kernel_debounce);
  if (mode_ != Mode::Poll) {
    if (line_->event_fd() < 0) throw std::runtime_error(fmt::format("{} has no event fd", description_));
    watch_ = host_.watch_fd(line_->event_fd(), EPOLLIN, [this](uint32_t) { on_events(); });
  }
}

void RpiGpioSensor::start() {
  // Edges queued since the request are compared with this level, so none of
  // them is counted twice.
  state_ = line_->get_value();
  publish_state();
}

void RpiGpioSensor::poll() {
  if (mode_ != Mode::Poll) return;
  bool level = line_->get_value();
  if (level != state_) apply(level, host_.now());
}

void RpiGpioSensor::refresh() { publish_state(); }

void RpiGpioSensor::on_events() {
  while (auto event = line_->read_event()) {
    if (debounce_.count() > 0) {
      if (!settle_timer_.active()) burst_start_ = event->timestamp;
      settle_timer_ = host_.add_timer(debounce_, {}, [this] { on_settled(); });
      continue;
    }
    // The edge, not a re-read, says what the level became: a re-read may
    // already see the next edge's level.
    if (event->rising != state_) apply(event->rising, event->timestamp);
  }
}

void RpiGpioSensor::on_settled() {
  bool level = line_->get_value();
  if (level != state_) apply(level, burst_start_);
}

void RpiGpioSensor::apply(bool level, std::chrono::nanoseconds when) {
  state_ = level;
  bool wanted = mode_ == Mode::Poll || mode_ == Mode::Both || (mode_ == Mode::Rising && level) ||
                (mode_ == Mode::Falling && !level);
  if (wanted) publish_state();
  if (!short_dest_.empty() || !long_dest_.empty()) on_button(level, when);
}

void RpiGpioSensor::publish_state() { host_.publish(destination_, values_[state_ ? 1 : 0]); }

void RpiGpioSensor::on_button(bool level, std::chrono::nanoseconds when) {
  if (level == pressed_level_) {
    pressed_at_ = when;
    return;
  }
  if (!pressed_at_) {
    // Held since before start: its beginning is unknown.
    host_.debug("button released without a recorded press; check Btn_Pressed_State");
    return;
  }
  auto held = when - *pressed_at_;
  pressed_at_.reset();
  const std::string* destination = nullptr;
  if (!long_dest_.empty() && long_threshold_ && held >= *long_threshold_)
    destination = &long_dest_;
  else if (!short_dest_.empty() && held >= short_threshold_)
    destination = &short_dest_;
  if (!destination) {
    host_.debug("press of {:.3f} s ignored", as_seconds(held));
    return;
  }
  host_.debug("press of {:.3f} s to {}", as_seconds(held), *destination);
  host_.publish(*destination, format_local_timestamp(std::chrono::system_clock::now()));
}

}  // namespace sr::gpio
