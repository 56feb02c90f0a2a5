// bench_bt's CPU floor: the smallest sd-bus client that does on the bus what
// the bt module's BlueZ scanner does, and nothing else: the same four match
// rules, GetManagedObjects, SetDiscoveryFilter {Transport "le",
// DuplicateData true} and StartDiscovery on /org/bluez/hci0, then every
// Device1 signal read to its end (keys, RSSI, ManufacturerData bytes). No
// decoding, no logging. With PORT, it also publishes five short values per
// signal carrying ManufacturerData through libmosquitto (QoS 0, to
// bt/floor/...), as GoveeSensor does per advertisement: the floor of the
// whole path, not only of D-Bus. Prints "discovering" once StartDiscovery
// answered; ends on SIGTERM.
// Usage: bench_bt_floor [PORT]   (the bus from DBUS_SYSTEM_BUS_ADDRESS)
#include <mosquitto.h>
#include <systemd/sd-bus.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

long bytes_seen = 0;  // keeps the reads from being optimised away
mosquitto* mqtt = nullptr;

// Walks one a{sv}, reading the values the scanner reads; > 0 when it held
// ManufacturerData or ServiceData.
int read_dictionary(sd_bus_message* m) {
  int data = 0;
  int r = sd_bus_message_enter_container(m, 'a', "{sv}");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
    const char* key = nullptr;
    const char* type = nullptr;
    sd_bus_message_read(m, "s", &key);
    sd_bus_message_peek_type(m, nullptr, &type);
    sd_bus_message_enter_container(m, 'v', type);
    if (type && type[0] == 'a' && type[1] == '{') {  // ManufacturerData, ServiceData
      data = 1;
      sd_bus_message_enter_container(m, 'a', type + 1);
      char entry[3] = {type[2], 'v', '\0'};
      while (sd_bus_message_enter_container(m, 'e', entry) > 0) {
        sd_bus_message_skip(m, entry[0] == 'q' ? "q" : "s");
        const void* data = nullptr;
        size_t size = 0;
        sd_bus_message_enter_container(m, 'v', "ay");
        sd_bus_message_read_array(m, 'y', &data, &size);
        bytes_seen += static_cast<long>(size);
        sd_bus_message_exit_container(m);
        sd_bus_message_exit_container(m);
      }
      sd_bus_message_exit_container(m);
    } else {
      sd_bus_message_skip(m, type);
    }
    sd_bus_message_exit_container(m);
    sd_bus_message_exit_container(m);
  }
  if (r < 0) return r;
  r = sd_bus_message_exit_container(m);
  return r < 0 ? r : data;
}

// Five values per advertisement, as GoveeSensor publishes them.
void publish_reading(long seen) {
  if (!mqtt) return;
  static const char* const fields[] = {"battery", "temp_c", "temp_f", "humi", "rssi"};
  for (const char* field : fields) {
    char topic[64], payload[16];
    std::snprintf(topic, sizeof topic, "bt/floor/%ld/%s", seen % 10, field);
    int n = std::snprintf(payload, sizeof payload, "%.2f", static_cast<double>(seen % 1000) / 10);
    mosquitto_publish(mqtt, nullptr, topic, n, payload, 0, false);
  }
}

int on_properties_changed(sd_bus_message* m, void*, sd_bus_error*) {
  const char* interface = nullptr;
  if (sd_bus_message_read(m, "s", &interface) >= 0 && read_dictionary(m) > 0) publish_reading(bytes_seen);
  return 0;
}

int on_interfaces_added(sd_bus_message* m, void*, sd_bus_error*) {
  const char* path = nullptr;
  sd_bus_message_read(m, "o", &path);
  if (sd_bus_message_enter_container(m, 'a', "{sa{sv}}") < 0) return 0;
  while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
    const char* interface = nullptr;
    sd_bus_message_read(m, "s", &interface);
    read_dictionary(m);
    sd_bus_message_exit_container(m);
  }
  return 0;
}

int ignore(sd_bus_message*, void*, sd_bus_error*) { return 0; }

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    mosquitto_lib_init();
    mqtt = mosquitto_new(nullptr, true, nullptr);
    if (!mqtt || mosquitto_connect(mqtt, "127.0.0.1", std::atoi(argv[1]), 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(mqtt) != MOSQ_ERR_SUCCESS)
      return 69;
  }
  sd_bus* bus = nullptr;
  if (sd_bus_open_system(&bus) < 0) return 69;
  sd_bus_add_match(bus, nullptr,
                   "type='signal',sender='org.bluez',path='/',interface='org.freedesktop.DBus.ObjectManager',"
                   "member='InterfacesAdded'",
                   on_interfaces_added, nullptr);
  sd_bus_add_match(bus, nullptr,
                   "type='signal',sender='org.bluez',path='/',interface='org.freedesktop.DBus.ObjectManager',"
                   "member='InterfacesRemoved'",
                   ignore, nullptr);
  sd_bus_add_match(bus, nullptr,
                   "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
                   "member='PropertiesChanged',path_namespace='/org/bluez'",
                   on_properties_changed, nullptr);
  sd_bus_add_match(bus, nullptr,
                   "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                   "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.bluez'",
                   ignore, nullptr);
  sd_bus_message* reply = nullptr;
  if (sd_bus_call_method(bus, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                         nullptr, &reply, "") < 0)
    return 1;
  sd_bus_message_unref(reply);
  if (sd_bus_call_method(bus, "org.bluez", "/org/bluez/hci0", "org.bluez.Adapter1", "SetDiscoveryFilter",
                         nullptr, nullptr, "a{sv}", 2, "Transport", "s", "le", "DuplicateData", "b", 1) < 0 ||
      sd_bus_call_method(bus, "org.bluez", "/org/bluez/hci0", "org.bluez.Adapter1", "StartDiscovery", nullptr,
                         nullptr, "") < 0)
    return 1;
  std::printf("discovering\n");
  std::fflush(stdout);
  for (;;) {
    int r = sd_bus_process(bus, nullptr);
    if (r < 0) return bytes_seen < 0 ? 2 : 1;
    if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0) return 1;
  }
}
