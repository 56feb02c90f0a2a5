// roku.so: roku.roku_addr.RokuAddressSensor — polling sensor: the address of
// every Roku player on the network (SSDP search for roku:ecp), published
// under its serial number. Parameters Poll, Timeout; see roku_addr.hpp.
//
//   [Sensor_Roku]
//   Class = roku.roku_addr.RokuAddressSensor
//   Connection = MQTT
//   Poll = 60
#include "roku_addr.hpp"

SR_PLUGIN_MODULE("roku", "1.0.0", sr::roku::RokuAddressSensor)
