// energymeter.so: energymeter.read_meter_values.Pafal20ec3gr — polling
// sensor: imported and exported energy of an IEC 62056-21 mode C meter
// (Pafal 20EC3gr) through an optical head. Parameters SerialDevice,
// Import_Dst, Export_Dst, Poll, Timeout, MaxBaud; see read_meter_values.hpp.
//
//   [Sensor_Meter]
//   Class = energymeter.read_meter_values.Pafal20ec3gr
//   Connection = MQTT
//   SerialDevice = /dev/ttyUSB0
//   Poll = 60
//   Import_Dst = energy/import
//   Export_Dst = energy/export
#include "read_meter_values.hpp"

SR_PLUGIN_MODULE("energymeter", "1.0.0", sr::energymeter::Pafal20ec3gr)
