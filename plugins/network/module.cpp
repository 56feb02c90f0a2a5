// network.so:
//   network.arp_sensor.ArpSensor    polling sensor: ON/OFF presence of a MAC
//                                   in the kernel ARP table (arp_sensor.hpp)
//   network.dash_sensor.DashSensor  background sensor: button presses seen as
//                                   ARP/DHCP frames (dash_sensor.hpp)
//
//   [Sensor_Phone]
//   Class = network.arp_sensor.ArpSensor
//   Connection = MQTT
//   MAC = aa:bb:cc:dd:ee:ff
//   Destination = presence/phone
//   Poll = 10
#include "arp_sensor.hpp"
#include "dash_sensor.hpp"

SR_PLUGIN_MODULE("network", "1.1.0", sr::network::ArpSensor, sr::network::DashSensor)
