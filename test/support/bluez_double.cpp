// bluez_double: a stand-in for bluetoothd (BlueZ 5.66, Debian 12) on a
// private D-Bus bus, so that a BlueZ client (the bt module's BluezScanner) is
// tested against BlueZ's D-Bus contract without a radio, a kernel or root.
//
// Written from BlueZ's contract, not from our client: doc/adapter-api.txt and
// doc/device-api.txt at tag 5.66, and what src/adapter.c, src/device.c,
// src/shared/ad.c and gdbus/object.c at 5.66 make a client see
// (../shared/reference/bluetooth.md §3.2). Where BlueZ does it so, so does this:
//  - org.freedesktop.DBus.ObjectManager.GetManagedObjects on /: /org/bluez
//    (AgentManager1, ProfileManager1), the adapter, its devices;
//  - Properties Get/GetAll/Set (Set: Adapter1.Powered only) and
//    PropertiesChanged; gdbus batches the changes of one main-loop round into
//    one signal, and so one advertisement is one PropertiesChanged;
//  - Adapter1 SetDiscoveryFilter(a{sv}) / StartDiscovery / StopDiscovery, one
//    session per client connection (its unique name), ended when the client
//    leaves the bus; errors NotReady (powered off), InProgress (a second
//    StartDiscovery of the same connection), Failed "No discovery started",
//    InvalidArguments (unknown filter key, wrong type, bad Transport, RSSI
//    and Pathloss together); an empty filter removes the client's filter;
//    Discovering true after the first session's reply, false after the last
//    one ends; powering off drops every session and pre-set filter
//    (adapter_stop → remove_discovery_list) and signals
//    {Discovering: false, Powered: false};
//  - an advertisement is ignored unless some client discovers; a new address
//    becomes a Device1 object announced by InterfacesAdded carrying its
//    properties (no PropertiesChanged for that first report: gdbus does not
//    signal properties of an interface not yet announced); a device is
//    created only when discovery is filtered (some discovering client set a
//    filter) or the advertisement's flags say discoverable;
//  - later advertisements of it: RSSI signalled on every report when
//    discovery is filtered (delta threshold 0), else only on a change of
//    8 dBm or more; Name (and Alias) when it changes; ManufacturerData and
//    ServiceData: when any discovering client asked DuplicateData true, the
//    stored data is cleared first so every report signals them again; else
//    only when the bytes for a key change or a key is new (the stored data
//    accumulates keys, as bt_ad does);
//  - every report restarts the device's temporary timer; when it expires
//    the object is removed (InterfacesRemoved), discovering or not.
// Not modelled: filter matching by UUIDs/RSSI/Pathloss/Pattern (the keys are
// validated, not applied), BR/EDR, pairing and connections, TxPower, the
// kernel's 10.24 s discovery windows, experimental properties.
//
// A bluetoothd restart is simulated by killing this process (by PID) and
// starting another: dbus-daemon itself sends NameOwnerChanged for org.bluez
// and ends every client's session.
//
// Usage: bluez_double [--bus ADDRESS] [--adapter hci0] [--adapter-address ADDR]
//                     [--temporary-timeout SECONDS] [--no-adapter] [--powered-off]
// ADDRESS defaults to $DBUS_SYSTEM_BUS_ADDRESS; SECONDS to 30 (BlueZ's
// TemporaryTimeout), fractions allowed.
//
// Commands on stdin, one per line:
//   adv ADDRESS NAME|- COMPANY|- DATA|- [rssi=N] [flags=HEX] [mfg=COMPANY:HEX]...
//       [sd=UUID:HEX]... [random]
//                        one advertisement (company and bytes in hex; "-": none)
//   power on|off         the adapter's Powered
//   remove-adapter       the controller goes away (its devices with it)
//   add-adapter [off]    it comes back unpowered and is powered on at once
//                        (bluetoothd's AutoEnable), unless "off"
//   timeout SECONDS      the temporary timeout from now on
//   echo TEXT            prints TEXT (a barrier for tests)
//   quit                 exits 0 (so does the end of stdin)
//
// Output on stdout, one line per event, flushed at once, for tests to wait on:
//   ready NAME ADAPTER-PATH|none
//   call MEMBER PATH SENDER -> ok|ERROR-NAME
//   signal InterfacesAdded PATH [KEY,KEY...]
//   signal PropertiesChanged PATH INTERFACE KEY=VALUE,...
//   signal InterfacesRemoved PATH
//   ignored adv ADDRESS: WHY
//   client-gone NAME
//   error TEXT           (a command it did not understand)
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kAdapter = "org.bluez.Adapter1";
constexpr const char* kDevice = "org.bluez.Device1";
constexpr const char* kProperties = "org.freedesktop.DBus.Properties";
constexpr const char* kIntrospectable = "org.freedesktop.DBus.Introspectable";
constexpr const char* kObjectManager = "org.freedesktop.DBus.ObjectManager";
constexpr int kRssiThreshold = 8;  // device.c RSSI_THRESHOLD: unfiltered discovery

void say(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::optional<Bytes> parse_hex(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  Bytes out;
  for (size_t i = 0; i < text.size(); i += 2) {
    char pair[3] = {text[i], text[i + 1], '\0'};
    char* end = nullptr;
    unsigned long value = std::strtoul(pair, &end, 16);
    if (*end) return std::nullopt;
    out.push_back(static_cast<uint8_t>(value));
  }
  return out;
}

std::string hex(const Bytes& bytes) {
  std::string out;
  char pair[3];
  for (uint8_t b : bytes) {
    std::snprintf(pair, sizeof pair, "%02x", b);
    out += pair;
  }
  return out;
}

std::optional<uint16_t> parse_company(std::string_view text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  std::string copy(text);
  char* end = nullptr;
  unsigned long value = std::strtoul(copy.c_str(), &end, 16);
  if (*end) return std::nullopt;
  return static_cast<uint16_t>(value);
}

bool valid_address(std::string_view a) {
  if (a.size() != 17) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (i % 3 == 2 ? a[i] != ':' : !std::isxdigit(static_cast<unsigned char>(a[i]))) return false;
  return true;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// Appends one property value as a variant; a property is listed only while
// it exists (BlueZ's "exists" callbacks: RSSI, Name, ManufacturerData ...).
using ValueWriter = std::function<int(sd_bus_message*)>;
struct Property {
  std::string name;
  ValueWriter write;
  std::string shown;  // for the event line
};
using Properties = std::vector<Property>;

Property string_property(const std::string& name, const std::string& value) {
  return {name, [value](sd_bus_message* m) { return sd_bus_message_append(m, "v", "s", value.c_str()); },
          value};
}
Property bool_property(const std::string& name, bool value) {
  return {name, [value](sd_bus_message* m) { return sd_bus_message_append(m, "v", "b", value ? 1 : 0); },
          value ? "true" : "false"};
}
Property uint32_property(const std::string& name, uint32_t value) {
  return {name, [value](sd_bus_message* m) { return sd_bus_message_append(m, "v", "u", value); },
          std::to_string(value)};
}
Property strings_property(const std::string& name, const std::vector<std::string>& values) {
  return {name,
          [values](sd_bus_message* m) {
            int r = sd_bus_message_open_container(m, 'v', "as");
            if (r >= 0) r = sd_bus_message_open_container(m, 'a', "s");
            for (const auto& v : values)
              if (r >= 0) r = sd_bus_message_append(m, "s", v.c_str());
            if (r >= 0) r = sd_bus_message_close_container(m);
            if (r >= 0) r = sd_bus_message_close_container(m);
            return r;
          },
          std::to_string(values.size()) + " strings"};
}

// a{qv} / a{sv} with ay values: ManufacturerData, ServiceData.
template <typename Key>
Property byte_map_property(const std::string& name, const std::map<Key, Bytes>& values) {
  std::string shown;
  for (const auto& [key, bytes] : values) {
    if (!shown.empty()) shown += ';';
    if constexpr (std::is_same_v<Key, uint16_t>) {
      char text[8];
      std::snprintf(text, sizeof text, "%04x", key);
      shown += text;
    } else {
      shown += key;
    }
    shown += ':' + hex(bytes);
  }
  return {name,
          [values](sd_bus_message* m) {
            constexpr bool numeric = std::is_same_v<Key, uint16_t>;
            int r = sd_bus_message_open_container(m, 'v', numeric ? "a{qv}" : "a{sv}");
            if (r >= 0) r = sd_bus_message_open_container(m, 'a', numeric ? "{qv}" : "{sv}");
            for (const auto& [key, bytes] : values) {
              if (r >= 0) r = sd_bus_message_open_container(m, 'e', numeric ? "qv" : "sv");
              if constexpr (numeric) {
                if (r >= 0) r = sd_bus_message_append(m, "q", key);
              } else {
                if (r >= 0) r = sd_bus_message_append(m, "s", key.c_str());
              }
              if (r >= 0) r = sd_bus_message_open_container(m, 'v', "ay");
              if (r >= 0) r = sd_bus_message_append_array(m, 'y', bytes.data(), bytes.size());
              if (r >= 0) r = sd_bus_message_close_container(m);
              if (r >= 0) r = sd_bus_message_close_container(m);
            }
            if (r >= 0) r = sd_bus_message_close_container(m);
            if (r >= 0) r = sd_bus_message_close_container(m);
            return r;
          },
          shown};
}

int append_dictionary(sd_bus_message* m, const Properties& properties) {
  int r = sd_bus_message_open_container(m, 'a', "{sv}");
  for (const auto& p : properties) {
    if (r >= 0) r = sd_bus_message_open_container(m, 'e', "sv");
    if (r >= 0) r = sd_bus_message_append(m, "s", p.name.c_str());
    if (r >= 0) r = p.write(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
  }
  if (r >= 0) r = sd_bus_message_close_container(m);
  return r;
}

// One interface of an object with its properties (empty for method-only ones).
using Interfaces = std::vector<std::pair<std::string, Properties>>;

int append_interfaces(sd_bus_message* m, const Interfaces& interfaces) {
  int r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
  for (const auto& [name, properties] : interfaces) {
    if (r >= 0) r = sd_bus_message_open_container(m, 'e', "sa{sv}");
    if (r >= 0) r = sd_bus_message_append(m, "s", name.c_str());
    if (r >= 0) r = append_dictionary(m, properties);
    if (r >= 0) r = sd_bus_message_close_container(m);
  }
  if (r >= 0) r = sd_bus_message_close_container(m);
  return r;
}

struct Filter {
  bool duplicate_data = false;  // adapter.c: false when the key is absent
};

// A client connection's discovery state (adapter.c struct discovery_client:
// in discovery_list when discovering, in set_filter_list when it only
// pre-set a filter).
struct Client {
  bool discovering = false;
  std::optional<Filter> filter;
};

struct Report {
  std::string address;
  std::string name;
  bool random = false;
  int rssi = -70;
  uint8_t flags = 0x06;  // LE General Discoverable, BR/EDR not supported
  std::map<uint16_t, Bytes> manufacturer_data;
  std::map<std::string, Bytes> service_data;
};

// device_set_manufacturer_data / device_set_service_data: with duplicates
// wanted the stored data is cleared first; each key is then added as
// bt_ad_add_* does, true when it is new or its bytes changed (so the
// property is signalled). Keys not in this report stay.
template <typename Key>
bool merge_advertised(std::map<Key, Bytes>& stored, const std::map<Key, Bytes>& reported, bool duplicate) {
  if (reported.empty()) return false;
  if (duplicate) stored.clear();
  bool changed = false;
  for (const auto& [key, bytes] : reported) {
    auto [entry, added] = stored.try_emplace(key, bytes);
    if (added || entry->second != bytes) changed = true;
    entry->second = bytes;
  }
  return changed;
}

class Double;

struct Device {
  Double* owner = nullptr;
  std::string address;  // upper case, BlueZ's form
  std::string path;
  bool random = false;
  std::string name;
  int rssi = 0;  // 0: none (device.c)
  std::map<uint16_t, Bytes> manufacturer_data;
  std::map<std::string, Bytes> service_data;
  sd_event_source* timer = nullptr;
};

class Double {
 public:
  Double(sd_bus* bus, sd_event* event, std::string adapter, std::string adapter_address,
         uint64_t timeout_usec, bool adapter_present, bool powered)
      : bus_(bus),
        event_(event),
        adapter_path_("/org/bluez/" + adapter),
        adapter_address_(std::move(adapter_address)),
        timeout_usec_(timeout_usec),
        adapter_present_(adapter_present),
        powered_(powered) {}

  int on_message(sd_bus_message* m);
  int on_name_owner_changed(sd_bus_message* m);
  void on_line(const std::string& line);
  void on_timeout(Device& device);
  const std::string& adapter_path() const { return adapter_path_; }
  bool adapter_present() const { return adapter_present_; }

 private:
  // Objects and their properties.
  Properties adapter_properties() const;
  Properties device_properties(const Device& device) const;
  Interfaces adapter_interfaces() const;
  Interfaces device_interfaces(const Device& device) const;
  std::optional<Interfaces> object_interfaces(std::string_view path) const;

  // Signals.
  void emit_interfaces_added(const std::string& path, const Interfaces& interfaces);
  void emit_interfaces_removed(const std::string& path, const std::vector<std::string>& interfaces);
  void emit_properties_changed(const std::string& path, const char* interface, const Properties& all,
                               const std::vector<std::string>& names);

  // Method calls.
  int reply_error(sd_bus_message* m, const char* name, const char* text);
  int managed_objects(sd_bus_message* m);
  int properties_call(sd_bus_message* m, const Interfaces& interfaces);
  int introspect(sd_bus_message* m, const Interfaces& interfaces);
  int set_discovery_filter(sd_bus_message* m);
  int start_discovery(sd_bus_message* m);
  int stop_discovery(sd_bus_message* m);
  void log_call(sd_bus_message* m, const char* result);

  // State changes.
  void set_powered(bool on);
  void update_discovering();
  bool filtered_discovery() const;
  bool duplicate_data() const;
  void advertise(const Report& report);
  void arm_timer(Device& device);
  void remove_device(const std::string& address);
  void remove_adapter();
  void add_adapter(bool power_on);

  sd_bus* bus_;
  sd_event* event_;
  std::string adapter_path_;
  std::string adapter_address_;
  uint64_t timeout_usec_;
  bool adapter_present_;
  bool powered_;
  bool discovering_ = false;
  std::map<std::string, Client> clients_;  // by unique name
  std::map<std::string, Device> devices_;  // by address
};

Properties Double::adapter_properties() const {
  return {
      string_property("Address", adapter_address_),
      string_property("AddressType", "public"),
      string_property("Name", "bluez-double"),
      string_property("Alias", "bluez-double"),
      uint32_property("Class", 0),
      bool_property("Powered", powered_),
      bool_property("Discoverable", false),
      uint32_property("DiscoverableTimeout", 180),
      bool_property("Pairable", true),
      uint32_property("PairableTimeout", 0),
      bool_property("Discovering", discovering_),
      strings_property("UUIDs", {}),
      strings_property("Roles", {"central", "peripheral"}),
  };
}

Properties Double::device_properties(const Device& d) const {
  std::string alias = d.name;
  if (alias.empty())
    for (char c : d.address) alias += c == ':' ? '-' : c;
  Properties p = {string_property("Address", d.address),
                  string_property("AddressType", d.random ? "random" : "public")};
  if (!d.name.empty()) p.push_back(string_property("Name", d.name));
  p.push_back(string_property("Alias", alias));
  p.push_back(bool_property("Paired", false));
  p.push_back(bool_property("Bonded", false));
  p.push_back(bool_property("Trusted", false));
  p.push_back(bool_property("Blocked", false));
  p.push_back(bool_property("LegacyPairing", false));
  if (d.rssi != 0)
    p.push_back({"RSSI",
                 [rssi = static_cast<int16_t>(d.rssi)](sd_bus_message* m) {
                   return sd_bus_message_append(m, "v", "n", rssi);
                 },
                 std::to_string(d.rssi)});
  p.push_back(bool_property("Connected", false));
  p.push_back(strings_property("UUIDs", {}));
  p.push_back(
      {"Adapter",
       [path = adapter_path_](sd_bus_message* m) { return sd_bus_message_append(m, "v", "o", path.c_str()); },
       adapter_path_});
  if (!d.manufacturer_data.empty()) p.push_back(byte_map_property("ManufacturerData", d.manufacturer_data));
  if (!d.service_data.empty()) p.push_back(byte_map_property("ServiceData", d.service_data));
  p.push_back(bool_property("ServicesResolved", false));
  return p;
}

Interfaces Double::adapter_interfaces() const {
  return {{kIntrospectable, {}},
          {kAdapter, adapter_properties()},
          {kProperties, {}},
          {"org.bluez.GattManager1", {}}};
}

Interfaces Double::device_interfaces(const Device& device) const {
  return {{kIntrospectable, {}}, {kDevice, device_properties(device)}, {kProperties, {}}};
}

std::optional<Interfaces> Double::object_interfaces(std::string_view path) const {
  if (path == "/org/bluez")
    return Interfaces{
        {kIntrospectable, {}}, {"org.bluez.AgentManager1", {}}, {"org.bluez.ProfileManager1", {}}};
  if (!adapter_present_) return std::nullopt;
  if (path == adapter_path_) return adapter_interfaces();
  for (const auto& [address, device] : devices_)
    if (device.path == path) return device_interfaces(device);
  return std::nullopt;
}

void Double::emit_interfaces_added(const std::string& path, const Interfaces& interfaces) {
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_signal(bus_, &m, "/", kObjectManager, "InterfacesAdded");
  if (r >= 0) r = sd_bus_message_append(m, "o", path.c_str());
  if (r >= 0) r = append_interfaces(m, interfaces);
  if (r >= 0) r = sd_bus_send(bus_, m, nullptr);
  sd_bus_message_unref(m);
  std::string keys;
  for (const auto& [name, properties] : interfaces)
    for (const auto& p : properties) keys += (keys.empty() ? "" : ",") + p.name + "=" + p.shown;
  say(r < 0 ? "error InterfacesAdded " + path + ": " + std::strerror(-r)
            : "signal InterfacesAdded " + path + " " + keys);
}

void Double::emit_interfaces_removed(const std::string& path, const std::vector<std::string>& interfaces) {
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_signal(bus_, &m, "/", kObjectManager, "InterfacesRemoved");
  if (r >= 0) r = sd_bus_message_append(m, "o", path.c_str());
  if (r >= 0) r = sd_bus_message_open_container(m, 'a', "s");
  for (const auto& i : interfaces)
    if (r >= 0) r = sd_bus_message_append(m, "s", i.c_str());
  if (r >= 0) r = sd_bus_message_close_container(m);
  if (r >= 0) r = sd_bus_send(bus_, m, nullptr);
  sd_bus_message_unref(m);
  say(r < 0 ? "error InterfacesRemoved " + path + ": " + std::strerror(-r)
            : "signal InterfacesRemoved " + path);
}

void Double::emit_properties_changed(const std::string& path, const char* interface, const Properties& all,
                                     const std::vector<std::string>& names) {
  Properties changed;
  for (const auto& name : names)
    for (const auto& p : all)
      if (p.name == name) changed.push_back(p);
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_signal(bus_, &m, path.c_str(), kProperties, "PropertiesChanged");
  if (r >= 0) r = sd_bus_message_append(m, "s", interface);
  if (r >= 0) r = append_dictionary(m, changed);
  if (r >= 0) r = sd_bus_message_append(m, "as", 0);
  if (r >= 0) r = sd_bus_send(bus_, m, nullptr);
  sd_bus_message_unref(m);
  std::string keys;
  for (const auto& p : changed) keys += (keys.empty() ? "" : ",") + p.name + "=" + p.shown;
  say(r < 0 ? "error PropertiesChanged " + path + ": " + std::strerror(-r)
            : "signal PropertiesChanged " + path + " " + interface + " " + keys);
}

void Double::log_call(sd_bus_message* m, const char* result) {
  say(std::string("call ") + (sd_bus_message_get_member(m) ?: "?") + " " +
      (sd_bus_message_get_path(m) ?: "?") + " " + (sd_bus_message_get_sender(m) ?: "?") + " -> " + result);
}

int Double::reply_error(sd_bus_message* m, const char* name, const char* text) {
  log_call(m, name);
  return sd_bus_reply_method_errorf(m, name, "%s", text);
}

int Double::on_message(sd_bus_message* m) {
  if (!sd_bus_message_is_method_call(m, nullptr, nullptr)) return 0;
  std::string path = sd_bus_message_get_path(m) ?: "";
  const char* interface = sd_bus_message_get_interface(m);
  const char* member = sd_bus_message_get_member(m) ?: "";
  if (path == "/") {
    if (sd_bus_message_is_method_call(m, kObjectManager, "GetManagedObjects")) return managed_objects(m);
    if (sd_bus_message_is_method_call(m, kIntrospectable, "Introspect")) return introspect(m, {});
    return reply_error(m, "org.freedesktop.DBus.Error.UnknownMethod", "Unknown method");
  }
  std::optional<Interfaces> interfaces = object_interfaces(path);
  if (!interfaces && sd_bus_message_is_method_call(m, kIntrospectable, "Introspect") &&
      (path == "/org" || (path == adapter_path_.substr(0, adapter_path_.rfind('/')))))
    return introspect(m, {});
  if (!interfaces)
    return reply_error(m, "org.freedesktop.DBus.Error.UnknownObject", ("No such object " + path).c_str());
  if (interface && std::string_view(interface) == kProperties) return properties_call(m, *interfaces);
  if (interface && std::string_view(interface) == kIntrospectable) return introspect(m, *interfaces);
  if (path == adapter_path_ && (!interface || std::string_view(interface) == kAdapter)) {
    if (std::string_view(member) == "SetDiscoveryFilter") return set_discovery_filter(m);
    if (std::string_view(member) == "StartDiscovery") return start_discovery(m);
    if (std::string_view(member) == "StopDiscovery") return stop_discovery(m);
  }
  return reply_error(m, "org.freedesktop.DBus.Error.UnknownMethod",
                     (std::string("Unknown method ") + member).c_str());
}

int Double::managed_objects(sd_bus_message* call) {
  std::vector<std::pair<std::string, Interfaces>> objects;
  objects.emplace_back("/org/bluez", *object_interfaces("/org/bluez"));
  if (adapter_present_) {
    objects.emplace_back(adapter_path_, adapter_interfaces());
    for (const auto& [address, device] : devices_)
      objects.emplace_back(device.path, device_interfaces(device));
  }
  sd_bus_message* reply = nullptr;
  int r = sd_bus_message_new_method_return(call, &reply);
  if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "{oa{sa{sv}}}");
  for (const auto& [path, interfaces] : objects) {
    if (r >= 0) r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
    if (r >= 0) r = sd_bus_message_append(reply, "o", path.c_str());
    if (r >= 0) r = append_interfaces(reply, interfaces);
    if (r >= 0) r = sd_bus_message_close_container(reply);
  }
  if (r >= 0) r = sd_bus_message_close_container(reply);
  if (r >= 0) r = sd_bus_send(bus_, reply, nullptr);
  sd_bus_message_unref(reply);
  log_call(call, r < 0 ? "error" : "ok");
  return 1;
}

int Double::properties_call(sd_bus_message* m, const Interfaces& interfaces) {
  const char* member = sd_bus_message_get_member(m) ?: "";
  const char* interface = nullptr;
  int r = sd_bus_message_read(m, "s", &interface);
  if (r < 0) return reply_error(m, "org.freedesktop.DBus.Error.InvalidArgs", "Invalid arguments");
  const Properties* properties = nullptr;
  for (const auto& [name, p] : interfaces)
    if (name == interface) properties = &p;
  if (!properties)
    return reply_error(m, "org.freedesktop.DBus.Error.InvalidArgs",
                       (std::string("No such interface '") + interface + "'").c_str());
  std::string_view what = member;
  if (what == "GetAll") {
    sd_bus_message* reply = nullptr;
    r = sd_bus_message_new_method_return(m, &reply);
    if (r >= 0) r = append_dictionary(reply, *properties);
    if (r >= 0) r = sd_bus_send(bus_, reply, nullptr);
    sd_bus_message_unref(reply);
    log_call(m, "ok");
    return 1;
  }
  const char* name = nullptr;
  if ((what != "Get" && what != "Set") || sd_bus_message_read(m, "s", &name) < 0)
    return reply_error(m, "org.freedesktop.DBus.Error.InvalidArgs", "Invalid arguments");
  const Property* property = nullptr;
  for (const auto& p : *properties)
    if (p.name == name) property = &p;
  if (!property)
    return reply_error(m, "org.freedesktop.DBus.Error.InvalidArgs",
                       (std::string("No such property '") + name + "'").c_str());
  if (what == "Get") {
    sd_bus_message* reply = nullptr;
    r = sd_bus_message_new_method_return(m, &reply);
    if (r >= 0) r = property->write(reply);
    if (r >= 0) r = sd_bus_send(bus_, reply, nullptr);
    sd_bus_message_unref(reply);
    log_call(m, "ok");
    return 1;
  }
  // Set: only the adapter's Powered is writable here (what a settings
  // application, `bluetoothctl power off`, does).
  int on = 0;
  if (std::string_view(interface) != kAdapter || std::string_view(name) != "Powered" ||
      sd_bus_message_read(m, "v", "b", &on) < 0)
    return reply_error(m, "org.freedesktop.DBus.Error.InvalidArgs", "Invalid arguments in method call");
  log_call(m, "ok");
  sd_bus_reply_method_return(m, "");
  set_powered(on != 0);
  return 1;
}

int Double::introspect(sd_bus_message* m, const Interfaces& interfaces) {
  std::string path = sd_bus_message_get_path(m) ?: "";
  std::string xml =
      "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
      "\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n";
  for (const auto& [name, properties] : interfaces) xml += "<interface name=\"" + name + "\"/>\n";
  if (path == "/") xml += "<interface name=\"org.freedesktop.DBus.ObjectManager\"/>\n";
  // Child nodes, so that `busctl tree` walks the objects.
  std::vector<std::string> objects{"/org/bluez"};
  if (adapter_present_) {
    objects.push_back(adapter_path_);
    for (const auto& [address, device] : devices_) objects.push_back(device.path);
  }
  std::string prefix = path == "/" ? "/" : path + "/";
  std::vector<std::string> children;
  for (const auto& object : objects) {
    if (object.rfind(prefix, 0) != 0) continue;
    std::string child = object.substr(prefix.size(), object.find('/', prefix.size()) - prefix.size());
    if (std::find(children.begin(), children.end(), child) == children.end()) children.push_back(child);
  }
  for (const auto& child : children) xml += "<node name=\"" + child + "\"/>\n";
  xml += "</node>\n";
  return sd_bus_reply_method_return(m, "s", xml.c_str());
}

int Double::set_discovery_filter(sd_bus_message* m) {
  if (!powered_) return reply_error(m, "org.bluez.Error.NotReady", "Resource Not Ready");
  // parse_discovery_filter_dict: known keys with their types, or
  // InvalidArguments; an empty dictionary removes the filter.
  Filter filter;
  bool empty = true, rssi = false, pathloss = false;
  int r = sd_bus_message_enter_container(m, 'a', "{sv}");
  if (r < 0) return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
  while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
    empty = false;
    const char* key = nullptr;
    const char* type = nullptr;
    if (sd_bus_message_read(m, "s", &key) < 0 || sd_bus_message_peek_type(m, nullptr, &type) < 0)
      return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
    std::string_view k = key, t = type ? type : "";
    bool ok = false;
    if (k == "UUIDs") {
      ok = t == "as";
    } else if (k == "RSSI") {
      ok = t == "n";
      rssi = true;
    } else if (k == "Pathloss") {
      ok = t == "q";
      pathloss = true;
    } else if (k == "Transport" && t == "s") {
      const char* transport = nullptr;
      ok = sd_bus_message_read(m, "v", "s", &transport) >= 0 &&
           (std::string_view(transport) == "auto" || std::string_view(transport) == "bredr" ||
            std::string_view(transport) == "le");
    } else if ((k == "DuplicateData" || k == "Discoverable") && t == "b") {
      int value = 0;
      ok = sd_bus_message_read(m, "v", "b", &value) >= 0;
      if (k == "DuplicateData") filter.duplicate_data = value != 0;
    } else if (k == "Pattern") {
      ok = t == "s";
    }
    if (!ok) return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
    sd_bus_message_skip(m, nullptr);  // the variant, when not read above
    sd_bus_message_exit_container(m);
  }
  if (r < 0 || (rssi && pathloss))
    return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
  std::string sender = sd_bus_message_get_sender(m) ?: "";
  auto it = clients_.find(sender);
  if (empty) {
    if (it != clients_.end()) {
      it->second.filter.reset();
      if (!it->second.discovering) clients_.erase(it);
    }
  } else {
    clients_[sender].filter = filter;
  }
  log_call(m, "ok");
  return sd_bus_reply_method_return(m, "");
}

int Double::start_discovery(sd_bus_message* m) {
  if (!powered_) return reply_error(m, "org.bluez.Error.NotReady", "Resource Not Ready");
  std::string sender = sd_bus_message_get_sender(m) ?: "";
  Client& client = clients_[sender];
  // "Every client can only start one discovery" (btd_error_busy).
  if (client.discovering)
    return reply_error(m, "org.bluez.Error.InProgress", "Operation already in progress");
  client.discovering = true;
  log_call(m, "ok");
  int r = sd_bus_reply_method_return(m, "");
  update_discovering();
  return r;
}

int Double::stop_discovery(sd_bus_message* m) {
  if (!powered_) return reply_error(m, "org.bluez.Error.NotReady", "Resource Not Ready");
  std::string sender = sd_bus_message_get_sender(m) ?: "";
  auto it = clients_.find(sender);
  if (it == clients_.end() || !it->second.discovering)
    return reply_error(m, "org.bluez.Error.Failed", "No discovery started");
  // discovery_remove frees the client, its filter with it.
  clients_.erase(it);
  log_call(m, "ok");
  int r = sd_bus_reply_method_return(m, "");
  update_discovering();
  return r;
}

int Double::on_name_owner_changed(sd_bus_message* m) {
  const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
  if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
  if (!name || name[0] != ':' || (new_owner && *new_owner)) return 0;
  auto it = clients_.find(name);
  if (it == clients_.end()) return 0;
  // g_dbus_add_disconnect_watch → discovery_disconnect → discovery_stop.
  clients_.erase(it);
  say(std::string("client-gone ") + name);
  update_discovering();
  return 0;
}

bool Double::filtered_discovery() const {
  for (const auto& [name, client] : clients_)
    if (client.discovering && client.filter) return true;
  return false;
}

bool Double::duplicate_data() const {
  // filter_duplicate_data: any discovering client asking for it.
  for (const auto& [name, client] : clients_)
    if (client.discovering && client.filter && client.filter->duplicate_data) return true;
  return false;
}

void Double::update_discovering() {
  bool any = false;
  for (const auto& [name, client] : clients_) any = any || client.discovering;
  any = any && powered_ && adapter_present_;
  if (any == discovering_) return;
  discovering_ = any;
  emit_properties_changed(adapter_path_, kAdapter, adapter_properties(), {"Discovering"});
}

void Double::set_powered(bool on) {
  if (!adapter_present_) {
    say("error no adapter");
    return;
  }
  if (on == powered_) {
    say(std::string("signal none: already powered ") + (on ? "on" : "off"));
    return;
  }
  powered_ = on;
  if (on) {
    emit_properties_changed(adapter_path_, kAdapter, adapter_properties(), {"Powered"});
    return;
  }
  // adapter_stop: sessions and pre-set filters dropped, then Discovering and
  // Powered in one batch (Discovering is signalled even when it was false).
  clients_.clear();
  discovering_ = false;
  emit_properties_changed(adapter_path_, kAdapter, adapter_properties(), {"Discovering", "Powered"});
}

void Double::arm_timer(Device& device) {
  if (device.timer) {
    sd_event_source_set_time_relative(device.timer, timeout_usec_);
    sd_event_source_set_enabled(device.timer, SD_EVENT_ONESHOT);
    return;
  }
  sd_event_add_time_relative(
      event_, &device.timer, CLOCK_MONOTONIC, timeout_usec_, 1,
      [](sd_event_source*, uint64_t, void* data) {
        auto* d = static_cast<Device*>(data);
        d->owner->on_timeout(*d);
        return 0;
      },
      &device);
}

void Double::on_timeout(Device& device) { remove_device(std::string(device.address)); }

void Double::remove_device(const std::string& address) {
  auto it = devices_.find(address);
  if (it == devices_.end()) return;
  std::string path = it->second.path;
  sd_event_source_disable_unref(it->second.timer);
  devices_.erase(it);
  emit_interfaces_removed(path, {kProperties, kIntrospectable, kDevice});
}

void Double::advertise(const Report& report) {
  // btd_adapter_update_found_device
  if (!adapter_present_ || !powered_ || !discovering_) {
    say("ignored adv " + report.address + ": not discovering");
    return;
  }
  bool filtered = filtered_discovery();
  bool discoverable = filtered || (report.flags & 0x03);
  auto it = devices_.find(report.address);
  if (it == devices_.end()) {
    if (!discoverable) {
      say("ignored adv " + report.address + ": not discoverable");
      return;
    }
    Device device;
    device.owner = this;
    device.address = report.address;
    device.random = report.random;
    device.path = adapter_path_ + "/dev_";
    for (char c : report.address) device.path += c == ':' ? '_' : c;
    device.name = report.name;
    device.rssi = report.rssi;
    device.manufacturer_data = report.manufacturer_data;
    device.service_data = report.service_data;
    Device& stored = devices_.emplace(report.address, std::move(device)).first->second;
    arm_timer(stored);
    emit_interfaces_added(stored.path, device_interfaces(stored));
    return;
  }
  Device& d = it->second;
  arm_timer(d);  // device_update_last_seen
  if (!discoverable) {
    say("ignored adv " + report.address + ": not discoverable");
    return;
  }
  std::vector<std::string> changed;
  // device_set_rssi_with_delta(rssi, filtered ? 0 : RSSI_THRESHOLD)
  if (report.rssi == 0 || d.rssi == 0) {
    if (report.rssi != d.rssi) {
      d.rssi = report.rssi;
      changed.push_back("RSSI");
    }
  } else if (std::abs(report.rssi - d.rssi) >= (filtered ? 0 : kRssiThreshold)) {
    d.rssi = report.rssi;
    changed.push_back("RSSI");
  }
  if (!report.name.empty() && report.name != d.name) {
    d.name = report.name;
    changed.push_back("Name");
    changed.push_back("Alias");
  }
  bool duplicate = duplicate_data();
  if (merge_advertised(d.manufacturer_data, report.manufacturer_data, duplicate))
    changed.push_back("ManufacturerData");
  if (merge_advertised(d.service_data, report.service_data, duplicate)) changed.push_back("ServiceData");
  if (changed.empty()) {
    say("signal none " + d.path);
    return;
  }
  emit_properties_changed(d.path, kDevice, device_properties(d), changed);
}

void Double::remove_adapter() {
  if (!adapter_present_) {
    say("error no adapter");
    return;
  }
  // adapter_remove: the devices go first, then the adapter object.
  while (!devices_.empty()) remove_device(devices_.begin()->first);
  clients_.clear();
  discovering_ = false;
  adapter_present_ = false;
  emit_interfaces_removed(adapter_path_, {kIntrospectable, kAdapter, kProperties, "org.bluez.GattManager1"});
}

void Double::add_adapter(bool power_on) {
  if (adapter_present_) {
    say("error adapter present");
    return;
  }
  adapter_present_ = true;
  powered_ = false;
  emit_interfaces_added(adapter_path_, adapter_interfaces());
  if (power_on) set_powered(true);
}

std::optional<Report> parse_report(std::istringstream& words, std::string& why) {
  Report r;
  std::string address, name, company, data;
  if (!(words >> address >> name >> company >> data)) {
    why = "adv needs ADDRESS NAME COMPANY DATA";
    return std::nullopt;
  }
  if (!valid_address(address)) {
    why = "bad address " + address;
    return std::nullopt;
  }
  r.address = upper(address);
  if (name != "-") r.name = name;
  if (company != "-" || data != "-") {
    auto c = parse_company(company);
    auto d = parse_hex(data);
    if (!c || !d) {
      why = "bad manufacturer data " + company + " " + data;
      return std::nullopt;
    }
    r.manufacturer_data[*c] = *d;
  }
  for (std::string option; words >> option;) {
    size_t eq = option.find('=');
    std::string key = option.substr(0, eq), value = eq == std::string::npos ? "" : option.substr(eq + 1);
    size_t colon = value.find(':');
    if (key == "random") {
      r.random = true;
    } else if (key == "rssi" && !value.empty()) {
      r.rssi = std::atoi(value.c_str());
    } else if (key == "flags" && parse_hex(value) && parse_hex(value)->size() == 1) {
      r.flags = (*parse_hex(value))[0];
    } else if (key == "mfg" && colon != std::string::npos && parse_company(value.substr(0, colon)) &&
               parse_hex(value.substr(colon + 1))) {
      r.manufacturer_data[*parse_company(value.substr(0, colon))] = *parse_hex(value.substr(colon + 1));
    } else if (key == "sd" && colon != std::string::npos && parse_hex(value.substr(colon + 1))) {
      // The UUID itself contains no ':'; the bytes follow the last one.
      colon = value.rfind(':');
      r.service_data[value.substr(0, colon)] = *parse_hex(value.substr(colon + 1));
    } else {
      why = "bad option " + option;
      return std::nullopt;
    }
  }
  return r;
}

void Double::on_line(const std::string& line) {
  std::istringstream words(line);
  std::string command;
  if (!(words >> command)) return;
  if (command == "adv") {
    std::string why;
    if (auto report = parse_report(words, why))
      advertise(*report);
    else
      say("error " + why);
  } else if (command == "power") {
    std::string state;
    words >> state;
    if (state == "on" || state == "off")
      set_powered(state == "on");
    else
      say("error power on|off");
  } else if (command == "remove-adapter") {
    remove_adapter();
  } else if (command == "add-adapter") {
    std::string state;
    words >> state;
    add_adapter(state != "off");
  } else if (command == "timeout") {
    double seconds = -1;
    if (words >> seconds && seconds > 0)
      timeout_usec_ = static_cast<uint64_t>(seconds * 1e6);
    else
      say("error timeout SECONDS");
  } else if (command == "echo") {
    std::string rest;
    std::getline(words >> std::ws, rest);
    say(rest);
  } else if (command == "quit") {
    sd_event_exit(event_, 0);
  } else {
    say("error unknown command " + command);
  }
}

struct Input {
  Double* bluez;
  sd_event* event;
  std::string pending;
};

int on_stdin(sd_event_source*, int fd, uint32_t, void* data) {
  auto* input = static_cast<Input*>(data);
  char buffer[4096];
  ssize_t n = read(fd, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
  if (n <= 0) {
    sd_event_exit(input->event, 0);
    return 0;
  }
  input->pending.append(buffer, static_cast<size_t>(n));
  for (size_t end; (end = input->pending.find('\n')) != std::string::npos;) {
    std::string line = input->pending.substr(0, end);
    input->pending.erase(0, end + 1);
    input->bluez->on_line(line);
  }
  return 0;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(
      stderr,
      "bluez_double: %s\nusage: bluez_double [--bus ADDRESS] [--adapter hci0] [--adapter-address ADDR] "
      "[--temporary-timeout SECONDS] [--no-adapter] [--powered-off]\n",
      why);
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_address = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
  std::string address = env_address ? env_address : "";
  std::string adapter = "hci0", adapter_address = "00:AA:01:00:00:00";
  double timeout_s = 30;
  bool adapter_present = true, powered = true;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (a == "--bus")
      address = value();
    else if (a == "--adapter")
      adapter = value();
    else if (a == "--adapter-address")
      adapter_address = upper(value());
    else if (a == "--temporary-timeout")
      timeout_s = std::atof(value().c_str());
    else if (a == "--no-adapter")
      adapter_present = false;
    else if (a == "--powered-off")
      powered = false;
    else
      usage("unknown option");
  }
  if (address.empty()) usage("no bus address (--bus or DBUS_SYSTEM_BUS_ADDRESS)");
  if (timeout_s <= 0) usage("--temporary-timeout must be positive");

  sd_bus* bus = nullptr;
  sd_event* event = nullptr;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, address.c_str());
  if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
  if (r >= 0) r = sd_bus_start(bus);
  if (r < 0) {
    std::fprintf(stderr, "bluez_double: cannot connect to %s: %s\n", address.c_str(), std::strerror(-r));
    return 69;
  }
  sd_event_default(&event);
  sd_bus_attach_event(bus, event, 0);

  Double bluez(bus, event, adapter, adapter_address, static_cast<uint64_t>(timeout_s * 1e6), adapter_present,
               powered);
  r = sd_bus_add_fallback(
      bus, nullptr, "/",
      [](sd_bus_message* m, void* data, sd_bus_error*) { return static_cast<Double*>(data)->on_message(m); },
      &bluez);
  if (r >= 0)
    r = sd_bus_match_signal(
        bus, nullptr, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "NameOwnerChanged",
        [](sd_bus_message* m, void* data, sd_bus_error*) {
          return static_cast<Double*>(data)->on_name_owner_changed(m);
        },
        &bluez);
  // Objects are served before the name is taken: a client reacting to
  // NameOwnerChanged at once finds them.
  if (r >= 0) r = sd_bus_request_name(bus, "org.bluez", 0);
  if (r < 0) {
    std::fprintf(stderr, "bluez_double: cannot own org.bluez: %s\n", std::strerror(-r));
    return 69;
  }
  Input input{&bluez, event, {}};
  r = sd_event_add_io(event, nullptr, STDIN_FILENO, EPOLLIN, on_stdin, &input);
  if (r < 0) {
    std::fprintf(stderr, "bluez_double: cannot watch stdin: %s\n", std::strerror(-r));
    return 69;
  }
  const char* unique = nullptr;
  sd_bus_get_unique_name(bus, &unique);
  say(std::string("ready ") + (unique ? unique : "?") + " " +
      (bluez.adapter_present() ? bluez.adapter_path() : std::string("none")));
  r = sd_event_loop(event);
  sd_bus_flush_close_unref(bus);
  sd_event_unref(event);
  return r < 0 ? 70 : 0;
}
