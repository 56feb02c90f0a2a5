// network.arp_sensor.ArpSensor — polling sensor (module network.so): ON/OFF
// presence of a MAC in the kernel ARP table. Parameters MAC, Destination,
// Poll, ArpTable; see arp_sensor.hpp for the decisions.
//
//   [Sensor_Phone]
//   Class = network.arp_sensor.ArpSensor
//   Connection = MQTT
//   MAC = aa:bb:cc:dd:ee:ff
//   Destination = presence/phone
//   Poll = 10
#include "arp_sensor.hpp"

SR_PLUGIN_MODULE("network", "1.0.0", sr::network::ArpSensor)
