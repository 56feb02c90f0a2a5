// In-memory GPIO backend for the unit tests; see fake_backend.hpp.
#include "fake_backend.hpp"

#include <fmt/format.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sr::gpio {

FakeLine::FakeLine() : event_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!event_fd_) throw std::runtime_error(fmt::format("eventfd: {}", std::strerror(errno)));
}

void FakeLine::set_input(bool high, std::chrono::nanoseconds timestamp) {
  if (high == input_level_) return;
  input_level_ = high;
  push_event(high, timestamp);
}

void FakeLine::push_event(bool rising, std::chrono::nanoseconds timestamp) {
  if (direction_ != Direction::Input) return;
  if (edge_ == Edge::Both || (edge_ == Edge::Rising && rising) || (edge_ == Edge::Falling && !rising))
    queue(LineEvent{rising, timestamp});
}

void FakeLine::queue(LineEvent event) {
  events_.push_back(event);
  uint64_t one = 1;
  if (write(event_fd_.get(), &one, sizeof one) != sizeof one)
    throw std::runtime_error(fmt::format("eventfd write: {}", std::strerror(errno)));
}

std::optional<LineEvent> FakeLine::pop() {
  if (events_.empty()) return std::nullopt;
  LineEvent event = events_.front();
  events_.pop_front();
  if (events_.empty()) {
    uint64_t count = 0;
    // Resets the counter: the fd stays readable only while events wait.
    if (read(event_fd_.get(), &count, sizeof count) < 0 && errno != EAGAIN)
      throw std::runtime_error(fmt::format("eventfd read: {}", std::strerror(errno)));
  }
  return event;
}

void FakeLine::check_failure() const {
  if (!failure_.empty()) throw std::runtime_error(failure_);
}

void FakeLine::release() {
  direction_ = Direction::Unused;
  edge_ = Edge::None;
  consumer_.clear();
  events_.clear();
  uint64_t count = 0;
  [[maybe_unused]] auto ignored =
      read(event_fd_.get(), &count, sizeof count);  // runs in destructors: no throw
}

class FakeInputLine final : public InputLine {
 public:
  explicit FakeInputLine(std::shared_ptr<FakeLine> line) : line_(std::move(line)) {}
  ~FakeInputLine() override { line_->release(); }
  int event_fd() const override { return line_->edge_ == Edge::None ? -1 : line_->event_fd_.get(); }
  std::optional<LineEvent> read_event() override { return line_->pop(); }
  bool get_value() override {
    line_->check_failure();
    return line_->input_level_;
  }
  std::chrono::microseconds kernel_debounce() const override {
    return line_->kernel_debounce_ == FakeLine::KernelDebounce::Takes ? line_->requested_debounce_
                                                                      : std::chrono::microseconds{0};
  }
  std::string debounce_refusal() const override {
    const bool refused = line_->kernel_debounce_ == FakeLine::KernelDebounce::Refuses &&
                         line_->requested_debounce_.count() > 0;
    return refused ? line_->refusal_ : "";
  }

 private:
  std::shared_ptr<FakeLine> line_;
};

class FakeOutputLine final : public OutputLine {
 public:
  explicit FakeOutputLine(std::shared_ptr<FakeLine> line) : line_(std::move(line)) {}
  ~FakeOutputLine() override { line_->release(); }
  void set_value(bool high) override {
    line_->check_failure();
    line_->output_level_ = high;
    line_->writes_.push_back(high);
  }

 private:
  std::shared_ptr<FakeLine> line_;
};

class FakeChip final : public Chip {
 public:
  explicit FakeChip(std::shared_ptr<FakeChipState> state) : state_(std::move(state)) {}
  const ChipInfo& info() const override { return state_->info; }
  unsigned num_lines() const override { return static_cast<unsigned>(state_->lines.size()); }
  std::string line_name(unsigned offset) const override {
    auto it = state_->line_names.find(offset);
    return it == state_->line_names.end() ? "" : it->second;
  }
  std::unique_ptr<InputLine> request_input(unsigned offset, const std::string& consumer, Bias bias, Edge edge,
                                           std::chrono::microseconds debounce) override {
    auto line = claim(offset, consumer, "input");
    line->direction_ = FakeLine::Direction::Input;
    line->bias_ = bias;
    line->edge_ = edge;
    line->requested_debounce_ = debounce;
    // A pull decides the level of an unconnected input.
    if (bias == Bias::PullUp) line->input_level_ = true;
    if (bias == Bias::PullDown) line->input_level_ = false;
    return std::make_unique<FakeInputLine>(std::move(line));
  }
  std::unique_ptr<OutputLine> request_output(unsigned offset, const std::string& consumer,
                                             bool high) override {
    auto line = claim(offset, consumer, "output");
    line->direction_ = FakeLine::Direction::Output;
    line->output_level_ = high;
    line->writes_.push_back(high);
    return std::make_unique<FakeOutputLine>(std::move(line));
  }

 private:
  std::shared_ptr<FakeLine> claim(unsigned offset, const std::string& consumer, const char* direction) {
    if (offset >= state_->lines.size())
      throw std::runtime_error(fmt::format("cannot request line {} of {} as {}: Invalid argument", offset,
                                           state_->info.name, direction));
    auto& line = state_->lines[offset];
    if (line->requested())
      throw std::runtime_error(fmt::format("cannot request line {} of {} as {}: Device or resource busy",
                                           offset, state_->info.name, direction));
    line->consumer_ = consumer;
    ++line->requests_;
    return line;
  }

  std::shared_ptr<FakeChipState> state_;
};

FakeChipState& FakeBackend::add_chip(const std::string& name, const std::string& label, unsigned num_lines) {
  auto chip = std::make_shared<FakeChipState>();
  chip->info = ChipInfo{"/dev/" + name, name, label};
  for (unsigned i = 0; i < num_lines; ++i) chip->lines.push_back(std::make_shared<FakeLine>());
  chips_.push_back(chip);
  return *chip;
}

FakeLine& FakeBackend::line(std::string_view chip_name, unsigned offset) {
  for (auto& chip : chips_)
    if (chip->info.name == chip_name) return *chip->lines.at(offset);
  throw std::out_of_range(fmt::format("no fake chip {}", chip_name));
}

std::vector<ChipInfo> FakeBackend::list_chips() {
  std::vector<ChipInfo> infos;
  for (const auto& chip : chips_) infos.push_back(chip->info);
  return infos;
}

std::unique_ptr<Chip> FakeBackend::open_chip(const std::string& path) {
  opened_.push_back(path);
  for (auto& chip : chips_)
    if (chip->info.path == path) return std::make_unique<FakeChip>(chip);
  throw std::runtime_error(fmt::format("cannot open gpio chip {}: No such file or directory", path));
}

}  // namespace sr::gpio
