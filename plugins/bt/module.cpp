// bt.so: the original's Bluetooth sensors (issue 13).
//   bt.govee_sensor.GoveeSensor  Govee thermometers' advertisements
//   bt.btle_sensor.BtleSensor    presence of LE devices by address
//   bt.btscan_sensor.SimpleBtSensor, bt.btscan_sensor.BtRssiSensor
//                                presence of classic devices (raw HCI)
// Only this module links libsystemd (sd-bus): a configuration without a
// Bluetooth section never loads it and pays nothing.
//
//   [Sensor_Govee]
//   Class = bt.govee_sensor.GoveeSensor
//   Connection = MQTT
//   Destination = govee
#include "btle_sensor.hpp"
#include "btscan_sensor.hpp"
#include "govee_sensor.hpp"

SR_PLUGIN_MODULE("bt", "1.0.0", sr::bt::GoveeSensor, sr::bt::BtleSensor, sr::bt::SimpleBtSensor,
                 sr::bt::BtRssiSensor)
