// Chip selection and pin numbering shared by the GPIO classes; see
// gpio_backend.hpp for the Chip, PinNumbering and Pin parameters.
#include "gpio_backend.hpp"

#include <fmt/format.h>

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace sr::gpio {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string describe_chips(const std::vector<ChipInfo>& chips) {
  if (chips.empty()) return "no gpio chip found";
  std::string text = "found:";
  for (const auto& chip : chips) text += fmt::format(" {} '{}'", chip.name, chip.label);
  return text;
}

// Physical pin → BCM GPIO of the 40-pin header; negative: not a GPIO.
constexpr int k3v3 = -1;
constexpr int k5v = -2;
constexpr int kGround = -3;
constexpr std::array<int, 41> kBoardToBcm = {
    kGround,           // index 0 is unused
    k3v3,    k5v,      //  1,  2
    2,       k5v,      //  3,  4
    3,       kGround,  //  5,  6
    4,       14,       //  7,  8
    kGround, 15,       //  9, 10
    17,      18,       // 11, 12
    27,      kGround,  // 13, 14
    22,      23,       // 15, 16
    k3v3,    24,       // 17, 18
    10,      kGround,  // 19, 20
    9,       25,       // 21, 22
    11,      8,        // 23, 24
    kGround, 7,        // 25, 26
    0,       1,        // 27, 28 (ID EEPROM)
    5,       kGround,  // 29, 30
    6,       12,       // 31, 32
    13,      kGround,  // 33, 34
    19,      16,       // 35, 36
    26,      20,       // 37, 38
    kGround, 21,       // 39, 40
};

}  // namespace

std::vector<std::string> gpiochip_paths(const std::string& dev_dir) {
  std::vector<std::string> names;
  {
    sdk::CHandle<DIR, closedir> dir(opendir(dev_dir.c_str()));
    if (!dir) return names;
    while (dirent* entry = readdir(dir.get()))
      if (std::string_view(entry->d_name).starts_with("gpiochip")) names.emplace_back(entry->d_name);
  }
  // gpiochip12 sorts after gpiochip2.
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  for (auto& name : names) name = dev_dir + "/" + name;
  return names;
}

std::string_view to_string(Bias bias) {
  switch (bias) {
    case Bias::Disabled: return "no pull";
    case Bias::PullUp: return "pull-up";
    case Bias::PullDown: return "pull-down";
  }
  return "?";
}

std::string_view to_string(Edge edge) {
  switch (edge) {
    case Edge::None: return "no edges";
    case Edge::Rising: return "rising edges";
    case Edge::Falling: return "falling edges";
    case Edge::Both: return "both edges";
  }
  return "?";
}

std::unique_ptr<Chip> select_chip(Backend& backend, std::string_view spec) {
  if (spec.empty()) {
    auto chips = backend.list_chips();
    for (std::string_view label : kPiHeaderLabels)
      for (const auto& chip : chips)
        if (chip.label == label) return backend.open_chip(chip.path);
    return backend.open_chip("/dev/gpiochip0");
  }
  if (spec.front() == '/') return backend.open_chip(std::string(spec));
  if (all_digits(spec)) return backend.open_chip(fmt::format("/dev/gpiochip{}", spec));
  if (spec.starts_with("gpiochip") && all_digits(spec.substr(8)))
    return backend.open_chip(fmt::format("/dev/{}", spec));
  auto chips = backend.list_chips();
  for (const auto& chip : chips)
    if (chip.label == spec) return backend.open_chip(chip.path);
  // Labels are case-sensitive in the kernel; accept another case only when it
  // is unambiguous, since INI values are easy to mistype.
  const ChipInfo* match = nullptr;
  for (const auto& chip : chips)
    if (sdk::iequals(chip.label, spec)) {
      if (match) {
        match = nullptr;
        break;
      }
      match = &chip;
    }
  if (match) return backend.open_chip(match->path);
  throw std::runtime_error(fmt::format("no gpio chip has the label '{}' ({})", spec, describe_chips(chips)));
}

unsigned board_to_bcm(long long board_pin) {
  if (board_pin < 1 || board_pin > 40)
    throw std::runtime_error(fmt::format("board pin {} is outside 1..40 of the 40-pin header", board_pin));
  switch (int bcm = kBoardToBcm[static_cast<size_t>(board_pin)]) {
    case k3v3: throw std::runtime_error(fmt::format("board pin {} is 3.3 V power, not a GPIO", board_pin));
    case k5v: throw std::runtime_error(fmt::format("board pin {} is 5 V power, not a GPIO", board_pin));
    case kGround: throw std::runtime_error(fmt::format("board pin {} is ground, not a GPIO", board_pin));
    default: return static_cast<unsigned>(bcm);
  }
}

LineTarget open_line_target(Backend& backend, const sdk::Params& params) {
  const auto pin = params.get<long long>("Pin");
  const bool board = params.choice<PinNumbering>("PinNumbering") == PinNumbering::Board;
  if (!board && pin < 0) throw std::runtime_error(fmt::format("Pin {} is not a GPIO line number", pin));
  unsigned offset = board ? board_to_bcm(pin) : static_cast<unsigned>(pin);
  LineTarget target;
  target.chip = select_chip(backend, params.find("Chip").value_or(""));
  const ChipInfo& info = target.chip->info();
  unsigned lines = target.chip->num_lines();
  if (offset >= lines)
    throw std::runtime_error(fmt::format("Pin {}{} is outside 0..{} of {} '{}'", offset,
                                         board ? fmt::format(" (board pin {})", pin) : std::string(),
                                         lines == 0 ? 0 : lines - 1, info.name, info.label));
  std::string name = target.chip->line_name(offset);
  target.offset = offset;
  target.description =
      fmt::format("line {}{}{} on {} '{}'", offset, name.empty() ? "" : " " + name,
                  board ? fmt::format(" (board pin {})", pin) : std::string(), info.name, info.label);
  return target;
}

std::string consumer_name(std::string_view section) {
  // The kernel keeps 31 characters; the section tells a reader of gpioinfo
  // which part of the configuration holds the line.
  return fmt::format("sr:{}", section).substr(0, 31);
}

}  // namespace sr::gpio
