// Reading Device1/Adapter1 property dictionaries; see bluez_properties.hpp.
#include "bluez_properties.hpp"

#include <cerrno>
#include <functional>
#include <string_view>

namespace sr::bt {
namespace {

// Walks an a{sv}: for each key, `value` reads the variant (entered already,
// so the callee reads the plain value) and returns >= 0, or returns 0
// without reading anything to have it skipped.
using ValueReader = std::function<int(std::string_view key, const char* signature, sd_bus_message*)>;

int read_dictionary(sd_bus_message* m, const ValueReader& value) {
  int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
    const char* key = nullptr;
    if ((r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &key)) < 0) return r;
    const char* signature = nullptr;
    if ((r = sd_bus_message_peek_type(m, nullptr, &signature)) < 0) return r;
    if ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, signature)) < 0) return r;
    if ((r = value(key, signature, m)) < 0) return r;
    // Whatever the reader left unread (a key it does not want) is skipped.
    // Only then: skip(NULL) past the variant's end is -ENXIO, which made
    // every dictionary holding a wanted key unreadable.
    if ((r = sd_bus_message_at_end(m, 0)) < 0) return r;
    if (r == 0 && (r = sd_bus_message_skip(m, nullptr)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;  // variant
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;  // dict entry
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

bool is(const char* signature, std::string_view wanted) { return signature && wanted == signature; }

int read_bytes(sd_bus_message* m, std::vector<uint8_t>& out) {
  const void* data = nullptr;
  size_t size = 0;
  int r = sd_bus_message_read_array(m, SD_BUS_TYPE_BYTE, &data, &size);
  if (r < 0) return r;
  const auto* bytes = static_cast<const uint8_t*>(data);
  out.assign(bytes, bytes + size);
  return 0;
}

// a{qv} or a{sv} whose variants hold ay: ManufacturerData, ServiceData.
template <typename Key>
int read_byte_map(sd_bus_message* m, char key_type, std::map<Key, std::vector<uint8_t>>& out) {
  const char entry[] = {key_type, 'v', '\0'};
  const char array[] = {'{', key_type, 'v', '}', '\0'};
  int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, array);
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, entry)) > 0) {
    Key key{};
    if constexpr (std::is_same_v<Key, uint16_t>) {
      r = sd_bus_message_read_basic(m, SD_BUS_TYPE_UINT16, &key);
    } else {
      const char* text = nullptr;
      r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &text);
      if (r >= 0) key = text;
    }
    if (r < 0) return r;
    if ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, "ay")) < 0) return r;
    if ((r = read_bytes(m, out[key])) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

int read_string(sd_bus_message* m, std::optional<std::string>& out) {
  const char* text = nullptr;
  int r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &text);
  if (r >= 0) out = text;
  return r;
}

}  // namespace

int read_device_properties(sd_bus_message* message, DeviceProperties& out) {
  return read_dictionary(message, [&](std::string_view key, const char* signature, sd_bus_message* m) -> int {
    if (key == "Address" || key == "Name") {
      if (!is(signature, "s")) return -EBADMSG;
      return read_string(m, key == "Address" ? out.address : out.name);
    }
    if (key == "RSSI") {
      if (!is(signature, "n")) return -EBADMSG;
      int16_t rssi = 0;
      int r = sd_bus_message_read_basic(m, SD_BUS_TYPE_INT16, &rssi);
      if (r >= 0) out.rssi = rssi;
      return r;
    }
    if (key == "ManufacturerData") {
      if (!is(signature, "a{qv}")) return -EBADMSG;
      return read_byte_map(m, SD_BUS_TYPE_UINT16, out.manufacturer_data.emplace());
    }
    if (key == "ServiceData") {
      if (!is(signature, "a{sv}")) return -EBADMSG;
      return read_byte_map(m, SD_BUS_TYPE_STRING, out.service_data.emplace());
    }
    return 0;
  });
}

int read_adapter_properties(sd_bus_message* message, AdapterProperties& out) {
  return read_dictionary(message, [&](std::string_view key, const char* signature, sd_bus_message* m) -> int {
    if (key != "Powered") return 0;
    if (!is(signature, "b")) return -EBADMSG;
    int powered = 0;
    int r = sd_bus_message_read_basic(m, SD_BUS_TYPE_BOOLEAN, &powered);
    if (r >= 0) out.powered = powered != 0;
    return r;
  });
}

}  // namespace sr::bt
