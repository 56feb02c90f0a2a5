// The iio module: iio.iio_sensor.IioSensor (polling sensor), channels of a
// kernel IIO device. Parameters and decisions: iio_sensor.hpp. The same
// logic library serves hwmon.hwmon_sensor.HwmonSensor (module hwmon) and
// gpio.dht_sensor.DhtSensor (module gpio, the class path the INI era used).
//
//   [Sensor_Room]
//   Class = iio.iio_sensor.IioSensor
//   Connection = MQTT
//   Device = bme280
//   TempDest = room/temperature
//   HumiDest = room/humidity
//   PressureDest = room/pressure
//   Poll = 60
#include "iio_sensor.hpp"

SR_PLUGIN_MODULE("iio", "1.0.0", sr::iio::IioSensor)
