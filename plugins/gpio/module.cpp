// The gpio module: gpio.rpi_gpio.RpiGpioSensor (sensor, event-driven or
// polled) and gpio.rpi_gpio.RpiGpioActuator (actuator) on the libgpiod
// backend, and gpio.dht_sensor.DhtSensor (polling sensor), which reads the
// kernel's dht11 IIO driver: the INI era's class path puts it here, its
// logic is the iio module's (plugins/iio/dht_sensor.hpp). Parameters:
// gpio_sensor.hpp, gpio_actuator.hpp, gpio_backend.hpp, iio/dht_sensor.hpp.
//
//   [Sensor_Button]
//   Class = gpio.rpi_gpio.RpiGpioSensor
//   Connection = local
//   Pin = 17
//   PUD = UP
//   EventDetection = BOTH
//   Destination = button
//   Short_Press-Dest = toggle_light
//
//   [Actuator_Light]
//   Class = gpio.rpi_gpio.RpiGpioActuator
//   Connection = local
//   Pin = 19
//   CommandSrc = light
//   ToggleCommandSrc = toggle_light
#include "gpio_actuator.hpp"
#include "gpio_sensor.hpp"
#include "iio/dht_sensor.hpp"

SR_PLUGIN_MODULE("gpio", "1.0.0", sr::gpio::RpiGpioSensor, sr::gpio::RpiGpioActuator, sr::iio::DhtSensor)
