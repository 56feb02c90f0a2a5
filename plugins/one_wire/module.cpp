// one_wire.ds18x20_sensor.Ds18x20Sensor — polling sensor (module one_wire.so):
// the temperature of a DS18x20 read from the kernel's w1_therm sysfs file.
// Parameters Mac, Destination, Poll, TempUnit, Smoothing, Root; see
// ds18x20_sensor.hpp for the decisions.
//
//   [Sensor_Boiler]
//   Class = one_wire.ds18x20_sensor.Ds18x20Sensor
//   Connection = MQTT
//   Mac = 28-0123456789ab
//   Destination = boiler/temperature
//   Poll = 60
#include "ds18x20_sensor.hpp"

SR_PLUGIN_MODULE("one_wire", "1.0.0", sr::one_wire::Ds18x20Sensor)
