// The libgpiod implementation of the GPIO seam — not a plugin class; the
// hardware side of gpio.rpi_gpio.RpiGpioSensor and
// gpio.rpi_gpio.RpiGpioActuator. Parameters and an example INI section: see
// gpio_backend.hpp.
//
// One declaration, two definitions; meson compiles the one matching the
// libgpiod it found:
//   gpiod_backend.cpp   libgpiod 1.6 (v1 C API, Debian 12). No kernel
//                       debounce; the chip handle is shared by the chip
//                       object and each line, because v1 lines belong to
//                       their chip.
//   gpiod2_backend.cpp  libgpiod 2.x (v2 C API, Debian 13, current Raspberry
//                       Pi OS). One line request per line (each sensor or
//                       actuator section holds one line), kernel debounce,
//                       monotonic event timestamps; a request lives on
//                       without its chip.
// Both are kept deliberately thin: every call maps to one libgpiod call,
// every handle is owned by an sdk::CHandle with the matching free function.
//
//   [Actuator_Led]
//   Class = gpio.rpi_gpio.RpiGpioActuator
//   Connection = MQTT
//   Chip = /dev/gpiochip0
//   Pin = 21
//   CommandSrc = led
#pragma once

#include "gpio_backend.hpp"

namespace sr::gpio {

class GpiodBackend final : public Backend {
 public:
  // Scans `dev_dir` for gpiochip* devices; tests may point it elsewhere.
  explicit GpiodBackend(std::string dev_dir = "/dev") : dev_dir_(std::move(dev_dir)) {}
  std::vector<ChipInfo> list_chips() override;
  std::unique_ptr<Chip> open_chip(const std::string& path) override;

 private:
  std::string dev_dir_;
};

}  // namespace sr::gpio
