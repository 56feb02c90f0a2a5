// The libgpiod 1.6 (v1 C API) implementation of the GPIO seam — not a plugin
// class; the hardware side of gpio.rpi_gpio.RpiGpioSensor and
// gpio.rpi_gpio.RpiGpioActuator. Parameters and an example INI section: see
// gpio_backend.hpp.
//
// Kept deliberately thin: every call maps to one libgpiod call, every handle
// is owned by a std::unique_ptr/shared_ptr with the matching free function.
// The chip handle is shared by the chip object and each line requested from
// it, because libgpiod v1 lines belong to their chip: a line object keeps the
// chip open until the line is released.
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
