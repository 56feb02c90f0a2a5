// Reading BlueZ's property dictionaries (D-Bus a{sv}) out of sd-bus
// messages: the Device1 and Adapter1 properties the bt module uses
// (doc/device-api.txt, doc/adapter-api.txt of BlueZ 5.66). Keys not listed
// here are skipped; a value of an unexpected type is an error (-EBADMSG),
// never a guess.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sr::bt {

// What one Device1 dictionary (InterfacesAdded, GetManagedObjects or the
// changed half of PropertiesChanged) carried.
struct DeviceProperties {
  std::optional<std::string> address;
  std::optional<std::string> name;
  std::optional<int> rssi;
  std::optional<std::map<uint16_t, std::vector<uint8_t>>> manufacturer_data;
  std::optional<std::map<std::string, std::vector<uint8_t>>> service_data;
};

struct AdapterProperties {
  std::optional<bool> powered;
};

// The message must be at an a{sv}; on success it is left after it.
// Returns >= 0 or a negative errno (sd-bus convention).
int read_device_properties(sd_bus_message* message, DeviceProperties& out);
int read_adapter_properties(sd_bus_message* message, AdapterProperties& out);

}  // namespace sr::bt
