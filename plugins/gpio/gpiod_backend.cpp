// libgpiod 1.6 backend of the GPIO seam; see gpiod_backend.hpp.
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
using SharedChip = std::shared_ptr<gpiod_chip>;
// A requested line: released on destruction, before its chip is closed.
using LinePtr = sdk::CHandle<gpiod_line, gpiod_line_release>;

std::string errno_text(int error) { return std::strerror(error); }

int bias_flag(Bias bias) {
  switch (bias) {
    case Bias::Disabled: return GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
    case Bias::PullUp: return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
    case Bias::PullDown: return GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
  }
  return 0;
}

int request_type(Edge edge) {
  switch (edge) {
    case Edge::None: return GPIOD_LINE_REQUEST_DIRECTION_INPUT;
    case Edge::Rising: return GPIOD_LINE_REQUEST_EVENT_RISING_EDGE;
    case Edge::Falling: return GPIOD_LINE_REQUEST_EVENT_FALLING_EDGE;
    case Edge::Both: return GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES;
  }
  return GPIOD_LINE_REQUEST_DIRECTION_INPUT;
}

class GpiodInputLine final : public InputLine {
 public:
  GpiodInputLine(SharedChip chip, LinePtr line, std::string what)
      : chip_(std::move(chip)), line_(std::move(line)), what_(std::move(what)) {
    fd_ = gpiod_line_event_get_fd(line_.get());
    // read_event() drains until empty; the fd must not block when it is.
    if (fd_ >= 0) {
      int flags = fcntl(fd_, F_GETFL);
      if (flags < 0 || fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0)
        throw std::runtime_error(
            fmt::format("cannot make the event fd of {} non-blocking: {}", what_, errno_text(errno)));
    }
  }
  int event_fd() const override { return fd_; }
  std::optional<LineEvent> read_event() override {
    if (fd_ < 0) return std::nullopt;
    gpiod_line_event event{};
    if (gpiod_line_event_read_fd(fd_, &event) != 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
      throw std::runtime_error(fmt::format("cannot read an event of {}: {}", what_, errno_text(errno)));
    }
    auto timestamp = std::chrono::seconds(event.ts.tv_sec) + std::chrono::nanoseconds(event.ts.tv_nsec);
    return LineEvent{event.event_type == GPIOD_LINE_EVENT_RISING_EDGE, timestamp};
  }
  bool get_value() override {
    int value = gpiod_line_get_value(line_.get());
    if (value < 0) throw std::runtime_error(fmt::format("cannot read {}: {}", what_, errno_text(errno)));
    return value != 0;
  }

 private:
  SharedChip chip_;  // declared first: outlives the line
  LinePtr line_;
  std::string what_;
  int fd_ = -1;  // owned by the line request
};

class GpiodOutputLine final : public OutputLine {
 public:
  GpiodOutputLine(SharedChip chip, LinePtr line, std::string what)
      : chip_(std::move(chip)), line_(std::move(line)), what_(std::move(what)) {}
  void set_value(bool high) override {
    if (gpiod_line_set_value(line_.get(), high ? 1 : 0) != 0)
      throw std::runtime_error(
          fmt::format("cannot drive {} {}: {}", what_, high ? "high" : "low", errno_text(errno)));
  }

 private:
  SharedChip chip_;
  LinePtr line_;
  std::string what_;
};

class GpiodChip final : public Chip {
 public:
  GpiodChip(ChipPtr chip, std::string path) : chip_(std::move(chip)) {
    info_.path = std::move(path);
    info_.name = gpiod_chip_name(chip_.get());
    info_.label = gpiod_chip_label(chip_.get());
  }
  const ChipInfo& info() const override { return info_; }
  unsigned num_lines() const override { return gpiod_chip_num_lines(chip_.get()); }
  std::string line_name(unsigned offset) const override {
    gpiod_line* line = gpiod_chip_get_line(chip_.get(), offset);
    const char* name = line ? gpiod_line_name(line) : nullptr;
    return name ? name : "";
  }
  // The v1 uAPI has no debounce: kernel_debounce() stays zero and the
  // sensor debounces in software, without a refusal to log.
  std::unique_ptr<InputLine> request_input(unsigned offset, const std::string& consumer, Bias bias,
                                           Edge edge, std::chrono::microseconds /*debounce*/) override {
    gpiod_line_request_config config{consumer.c_str(), request_type(edge), bias_flag(bias)};
    LinePtr line = request(offset, config, 0, "input");
    return std::make_unique<GpiodInputLine>(chip_, std::move(line), what(offset));
  }
  std::unique_ptr<OutputLine> request_output(unsigned offset, const std::string& consumer,
                                             bool high) override {
    gpiod_line_request_config config{consumer.c_str(), GPIOD_LINE_REQUEST_DIRECTION_OUTPUT, 0};
    LinePtr line = request(offset, config, high ? 1 : 0, "output");
    return std::make_unique<GpiodOutputLine>(chip_, std::move(line), what(offset));
  }

 private:
  std::string what(unsigned offset) const { return fmt::format("line {} of {}", offset, info_.name); }
  LinePtr request(unsigned offset, const gpiod_line_request_config& config, int value,
                  const char* direction) {
    gpiod_line* line = gpiod_chip_get_line(chip_.get(), offset);
    if (!line) throw std::runtime_error(fmt::format("cannot get {}: {}", what(offset), errno_text(errno)));
    if (gpiod_line_request(line, &config, value) != 0)
      throw std::runtime_error(
          fmt::format("cannot request {} as {}: {}", what(offset), direction, errno_text(errno)));
    return LinePtr(line);
  }

  SharedChip chip_;
  ChipInfo info_;
};

}  // namespace

std::vector<ChipInfo> GpiodBackend::list_chips() {
  std::vector<ChipInfo> chips;
  for (const auto& path : gpiochip_paths(dev_dir_)) {
    // A chip we may not open (permissions) cannot be used anyway.
    ChipPtr chip(gpiod_chip_open(path.c_str()));
    if (!chip) continue;
    chips.push_back(ChipInfo{path, gpiod_chip_name(chip.get()), gpiod_chip_label(chip.get())});
  }
  return chips;
}

std::unique_ptr<Chip> GpiodBackend::open_chip(const std::string& path) {
  ChipPtr chip(gpiod_chip_open(path.c_str()));
  if (!chip) throw std::runtime_error(fmt::format("cannot open gpio chip {}: {}", path, errno_text(errno)));
  return std::make_unique<GpiodChip>(std::move(chip), path);
}

std::unique_ptr<Backend> make_system_backend() { return std::make_unique<GpiodBackend>(); }

}  // namespace sr::gpio
