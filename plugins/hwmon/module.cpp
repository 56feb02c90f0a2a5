// The hwmon module: hwmon.hwmon_sensor.HwmonSensor (polling sensor),
// channels of a kernel hwmon chip. Parameters and decisions:
// hwmon_sensor.hpp; the device lookup and the poll are the iio module's
// logic library (plugins/iio/kernel_sensor.hpp).
//
//   [Sensor_CPU]
//   Class = hwmon.hwmon_sensor.HwmonSensor
//   Connection = MQTT
//   Chip = cpu_thermal
//   TempDest = pi/cpu_temperature
//   Poll = 30
#include "hwmon_sensor.hpp"

SR_PLUGIN_MODULE("hwmon", "1.0.0", sr::hwmon::HwmonSensor)
