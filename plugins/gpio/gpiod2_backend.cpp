// libgpiod 2.x (v2 C API) backend of the GPIO seam; see gpiod_backend.hpp.
// meson builds it instead of gpiod_backend.cpp when libgpiod >= 2.0 is found.
//
// Each InputLine/OutputLine is one gpiod_line_request for one offset: one
// request per section, released when the section is destroyed. A request has
// its own fd, independent of the chip's, so the chip may be closed after the
// request (the seam allows it). Input requests ask for monotonic event
// timestamps and, when the seam passes a period, for the kernel's debounce;
// a kernel that refuses the period gets the request again without it, and
// the line says why through debounce_refusal().
//
// libgpiod 2 has no chip-by-label lookup: list_chips() opens every gpiochip*
// in the device directory and reads its label from gpiod_chip_info, so
// select_chip() finds pinctrl-rp1 (Pi 5) or pinctrl-bcm2711/2835 as before.
#include "gpiod_backend.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <gpiod.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sr::gpio {
namespace {

using ChipPtr = sdk::CHandle<gpiod_chip, gpiod_chip_close>;
using ChipInfoPtr = sdk::CHandle<gpiod_chip_info, gpiod_chip_info_free>;
using LineInfoPtr = sdk::CHandle<gpiod_line_info, gpiod_line_info_free>;
using SettingsPtr = sdk::CHandle<gpiod_line_settings, gpiod_line_settings_free>;
using LineConfigPtr = sdk::CHandle<gpiod_line_config, gpiod_line_config_free>;
using RequestConfigPtr = sdk::CHandle<gpiod_request_config, gpiod_request_config_free>;
using RequestPtr = sdk::CHandle<gpiod_line_request, gpiod_line_request_release>;
using EventBufferPtr = sdk::CHandle<gpiod_edge_event_buffer, gpiod_edge_event_buffer_free>;

// Events read from the kernel per read(); the seam hands them out one by one.
constexpr size_t kEventBatch = 16;

std::string errno_text(int error) { return std::strerror(error); }

gpiod_line_bias to_gpiod(Bias bias) {
  switch (bias) {
    case Bias::Disabled: return GPIOD_LINE_BIAS_DISABLED;
    case Bias::PullUp: return GPIOD_LINE_BIAS_PULL_UP;
    case Bias::PullDown: return GPIOD_LINE_BIAS_PULL_DOWN;
  }
  return GPIOD_LINE_BIAS_AS_IS;
}

gpiod_line_edge to_gpiod(Edge edge) {
  switch (edge) {
    case Edge::None: return GPIOD_LINE_EDGE_NONE;
    case Edge::Rising: return GPIOD_LINE_EDGE_RISING;
    case Edge::Falling: return GPIOD_LINE_EDGE_FALLING;
    case Edge::Both: return GPIOD_LINE_EDGE_BOTH;
  }
  return GPIOD_LINE_EDGE_NONE;
}

// What one line is requested as. Levels are physical: the 1.6 backend never
// sets active-low, and neither does this one (InvertOut is the actuator's).
struct LineSettings {
  gpiod_line_direction direction = GPIOD_LINE_DIRECTION_INPUT;
  gpiod_line_bias bias = GPIOD_LINE_BIAS_AS_IS;
  gpiod_line_edge edge = GPIOD_LINE_EDGE_NONE;
  std::chrono::microseconds debounce{0};
  bool high = false;  // outputs: the level driven from the request on
};

class Gpiod2InputLine final : public InputLine {
 public:
  Gpiod2InputLine(RequestPtr request, unsigned offset, std::string what, std::chrono::microseconds debounce,
                  std::string refusal)
      : request_(std::move(request)),
        offset_(offset),
        what_(std::move(what)),
        debounce_(debounce),
        refusal_(std::move(refusal)) {}

  // Edges only: the fd of a request without edge detection never becomes
  // readable, so the seam reports none.
  void watch_edges() {
    fd_ = gpiod_line_request_get_fd(request_.get());
    // read_event() drains until empty; the fd must not block when it is.
    int flags = fcntl(fd_, F_GETFL);
    if (flags < 0 || fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0)
      throw std::runtime_error(
          fmt::format("cannot make the event fd of {} non-blocking: {}", what_, errno_text(errno)));
    buffer_.reset(gpiod_edge_event_buffer_new(kEventBatch));
    if (!buffer_)
      throw std::runtime_error(
          fmt::format("cannot allocate an event buffer for {}: {}", what_, errno_text(errno)));
  }

  int event_fd() const override { return fd_; }
  std::optional<LineEvent> read_event() override {
    if (fd_ < 0) return std::nullopt;
    if (next_ == buffered_) {
      int read = gpiod_line_request_read_edge_events(request_.get(), buffer_.get(), kEventBatch);
      if (read < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
        throw std::runtime_error(fmt::format("cannot read events of {}: {}", what_, errno_text(errno)));
      }
      next_ = 0;
      buffered_ = static_cast<size_t>(read);
      if (buffered_ == 0) return std::nullopt;
    }
    gpiod_edge_event* event =
        gpiod_edge_event_buffer_get_event(buffer_.get(), static_cast<unsigned long>(next_++));
    if (!event)
      throw std::runtime_error(fmt::format("event {} of {} missing from its buffer", next_ - 1, what_));
    auto timestamp = std::chrono::nanoseconds(gpiod_edge_event_get_timestamp_ns(event));
    return LineEvent{gpiod_edge_event_get_event_type(event) == GPIOD_EDGE_EVENT_RISING_EDGE, timestamp};
  }
  bool get_value() override {
    gpiod_line_value value = gpiod_line_request_get_value(request_.get(), offset_);
    if (value == GPIOD_LINE_VALUE_ERROR)
      throw std::runtime_error(fmt::format("cannot read {}: {}", what_, errno_text(errno)));
    return value == GPIOD_LINE_VALUE_ACTIVE;
  }
  std::chrono::microseconds kernel_debounce() const override { return debounce_; }
  std::string debounce_refusal() const override { return refusal_; }

 private:
  RequestPtr request_;
  unsigned offset_;
  std::string what_;
  std::chrono::microseconds debounce_;
  std::string refusal_;
  int fd_ = -1;  // owned by the request
  EventBufferPtr buffer_;
  size_t next_ = 0;      // the next event of buffer_ to hand out
  size_t buffered_ = 0;  // events in buffer_ from the last read
};

class Gpiod2OutputLine final : public OutputLine {
 public:
  Gpiod2OutputLine(RequestPtr request, unsigned offset, std::string what)
      : request_(std::move(request)), offset_(offset), what_(std::move(what)) {}
  void set_value(bool high) override {
    if (gpiod_line_request_set_value(request_.get(), offset_,
                                     high ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) != 0)
      throw std::runtime_error(
          fmt::format("cannot drive {} {}: {}", what_, high ? "high" : "low", errno_text(errno)));
  }

 private:
  RequestPtr request_;
  unsigned offset_;
  std::string what_;
};

class Gpiod2Chip final : public Chip {
 public:
  Gpiod2Chip(ChipPtr chip, const std::string& path) : chip_(std::move(chip)) {
    ChipInfoPtr info(gpiod_chip_get_info(chip_.get()));
    if (!info) throw std::runtime_error(fmt::format("cannot read gpio chip {}: {}", path, errno_text(errno)));
    info_ = ChipInfo{path, gpiod_chip_info_get_name(info.get()), gpiod_chip_info_get_label(info.get())};
    num_lines_ = static_cast<unsigned>(gpiod_chip_info_get_num_lines(info.get()));
  }
  const ChipInfo& info() const override { return info_; }
  unsigned num_lines() const override { return num_lines_; }
  std::string line_name(unsigned offset) const override {
    LineInfoPtr info(gpiod_chip_get_line_info(chip_.get(), offset));
    const char* name = info ? gpiod_line_info_get_name(info.get()) : nullptr;
    return name ? name : "";
  }
  std::unique_ptr<InputLine> request_input(unsigned offset, const std::string& consumer, Bias bias, Edge edge,
                                           std::chrono::microseconds debounce) override {
    LineSettings settings{GPIOD_LINE_DIRECTION_INPUT, to_gpiod(bias), to_gpiod(edge), {}, false};
    if (edge == Edge::None) debounce = {};  // debounce filters edge events; a polled line has none
    settings.debounce = debounce;
    Attempt attempt = try_request(offset, consumer, settings);
    std::string refusal;
    if (!attempt.request && debounce.count() > 0) {
      // Kernels and chips that cannot debounce refuse the whole request;
      // the sensor then debounces in software and says so.
      refusal = errno_text(attempt.error);
      settings.debounce = {};
      attempt = try_request(offset, consumer, settings);
    }
    if (!attempt.request)
      throw std::runtime_error(
          fmt::format("cannot request {} as input: {}", what(offset), errno_text(attempt.error)));
    // The period the kernel reports for the line is the one it applies.
    std::chrono::microseconds applied{0};
    if (settings.debounce.count() > 0) {
      applied = reported_debounce(offset);
      if (applied.count() == 0) refusal = "the line reports no debounce period after the request";
    }
    auto line = std::make_unique<Gpiod2InputLine>(std::move(attempt.request), offset, what(offset), applied,
                                                  std::move(refusal));
    if (edge != Edge::None) line->watch_edges();
    return line;
  }
  std::unique_ptr<OutputLine> request_output(unsigned offset, const std::string& consumer,
                                             bool high) override {
    LineSettings settings{GPIOD_LINE_DIRECTION_OUTPUT, GPIOD_LINE_BIAS_AS_IS, GPIOD_LINE_EDGE_NONE, {}, high};
    Attempt attempt = try_request(offset, consumer, settings);
    if (!attempt.request)
      throw std::runtime_error(
          fmt::format("cannot request {} as output: {}", what(offset), errno_text(attempt.error)));
    return std::make_unique<Gpiod2OutputLine>(std::move(attempt.request), offset, what(offset));
  }

 private:
  std::string what(unsigned offset) const { return fmt::format("line {} of {}", offset, info_.name); }

  // The request, or why libgpiod or the kernel refused it (errno is taken
  // before the settings' destructors run).
  struct Attempt {
    RequestPtr request;
    int error = 0;
  };
  static Attempt failed() { return Attempt{nullptr, errno}; }

  // One request for one line.
  Attempt try_request(unsigned offset, const std::string& consumer, const LineSettings& wanted) {
    SettingsPtr settings(gpiod_line_settings_new());
    LineConfigPtr line_config(gpiod_line_config_new());
    RequestConfigPtr request_config(gpiod_request_config_new());
    if (!settings || !line_config || !request_config) return failed();
    if (gpiod_line_settings_set_direction(settings.get(), wanted.direction) != 0 ||
        gpiod_line_settings_set_bias(settings.get(), wanted.bias) != 0)
      return failed();
    gpiod_line_settings_set_active_low(settings.get(), false);
    if (wanted.direction == GPIOD_LINE_DIRECTION_INPUT) {
      // Monotonic is libgpiod's default; said here because button timing
      // relies on it (a realtime clock may step).
      if (gpiod_line_settings_set_edge_detection(settings.get(), wanted.edge) != 0 ||
          gpiod_line_settings_set_event_clock(settings.get(), GPIOD_LINE_CLOCK_MONOTONIC) != 0)
        return failed();
      gpiod_line_settings_set_debounce_period_us(settings.get(),
                                                 static_cast<unsigned long>(wanted.debounce.count()));
    } else if (gpiod_line_settings_set_output_value(
                   settings.get(), wanted.high ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) != 0) {
      return failed();
    }
    const unsigned int offsets[] = {offset};
    if (gpiod_line_config_add_line_settings(line_config.get(), offsets, 1, settings.get()) != 0)
      return failed();
    gpiod_request_config_set_consumer(request_config.get(), consumer.c_str());
    RequestPtr request(gpiod_chip_request_lines(chip_.get(), request_config.get(), line_config.get()));
    if (!request) return failed();
    return Attempt{std::move(request), 0};
  }

  std::chrono::microseconds reported_debounce(unsigned offset) const {
    LineInfoPtr info(gpiod_chip_get_line_info(chip_.get(), offset));
    if (!info) return std::chrono::microseconds{0};
    return std::chrono::microseconds(gpiod_line_info_get_debounce_period_us(info.get()));
  }

  ChipPtr chip_;
  ChipInfo info_;
  unsigned num_lines_ = 0;
};

}  // namespace

std::vector<ChipInfo> GpiodBackend::list_chips() {
  std::vector<ChipInfo> chips;
  for (const auto& path : gpiochip_paths(dev_dir_)) {
    if (!gpiod_is_gpiochip_device(path.c_str())) continue;
    // A chip we may not open (permissions) cannot be used anyway.
    ChipPtr chip(gpiod_chip_open(path.c_str()));
    if (!chip) continue;
    ChipInfoPtr info(gpiod_chip_get_info(chip.get()));
    if (!info) continue;
    chips.push_back(
        ChipInfo{path, gpiod_chip_info_get_name(info.get()), gpiod_chip_info_get_label(info.get())});
  }
  return chips;
}

std::unique_ptr<Chip> GpiodBackend::open_chip(const std::string& path) {
  ChipPtr chip(gpiod_chip_open(path.c_str()));
  if (!chip) throw std::runtime_error(fmt::format("cannot open gpio chip {}: {}", path, errno_text(errno)));
  return std::make_unique<Gpiod2Chip>(std::move(chip), path);
}

std::unique_ptr<Backend> make_system_backend() { return std::make_unique<GpiodBackend>(); }

}  // namespace sr::gpio
