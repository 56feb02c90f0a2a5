// BluezScanner: BlueZ discovery over D-Bus on the host's event loop; see
// bluez_scanner.hpp for what it does and why.
#include "bluez_scanner.hpp"

#include "bluez_properties.hpp"

#include <fmt/format.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

namespace sr::bt {
namespace {

constexpr auto kRetry = std::chrono::seconds(5);
constexpr const char* kBluez = "org.bluez";
constexpr const char* kAdapter = "org.bluez.Adapter1";
constexpr const char* kDevice = "org.bluez.Device1";
// BlueZ reports 127 when the controller gave no RSSI (btvirt always does).
constexpr int kRssiUnknown = 127;

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

std::string error_text(int error) { return std::strerror(error < 0 ? -error : error); }

// "org.bluez.Error.NotReady: Resource Not Ready"
std::string method_error(sd_bus_message* m) {
  const sd_bus_error* e = sd_bus_message_get_error(m);
  if (!e || !e->name) return "unknown error";
  return e->message ? fmt::format("{}: {}", e->name, e->message) : std::string(e->name);
}

// /org/bluez/hci0 → hci0
std::string_view adapter_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// /org/bluez/hci0/dev_A4_C1_38_12_34_56 → A4:C1:38:12:34:56 (the fallback
// when BlueZ signals a device whose Address we have not seen).
std::string address_from_path(std::string_view path) {
  size_t at = path.rfind("/dev_");
  if (at == std::string_view::npos) return {};
  std::string address(path.substr(at + 5));
  std::replace(address.begin(), address.end(), '_', ':');
  return address;
}

}  // namespace

template <int (BluezScanner::*Handler)(sd_bus_message*)>
int BluezScanner::call(sd_bus_message* m, void* user, sd_bus_error*) {
  auto* self = static_cast<BluezScanner*>(user);
  try {
    int r = (self->*Handler)(m);
    // A malformed message is BlueZ's problem, not a reason to drop the bus.
    if (r < 0 && !self->listeners_.empty())
      self->host().warning("bt: unreadable message {}.{} from {}: {}", sd_bus_message_get_interface(m) ?: "",
                           sd_bus_message_get_member(m) ?: "", sd_bus_message_get_sender(m) ?: "?",
                           error_text(r));
  } catch (const std::exception& e) {
    if (!self->listeners_.empty()) self->host().error("bt: {}", e.what());
  }
  return 0;
}

BluezScanner::BluezScanner(std::string adapter) : adapter_(std::move(adapter)) {}

BluezScanner::~BluezScanner() { teardown(); }

void BluezScanner::add_listener(AdvertListener* listener, const sdk::Host& host) {
  listeners_.push_back(Listener{listener, host});
  if (listeners_.size() == 1) rebind();
}

void BluezScanner::remove_listener(AdvertListener* listener) {
  auto it = std::find_if(listeners_.begin(), listeners_.end(),
                         [&](const Listener& l) { return l.listener == listener; });
  if (it == listeners_.end()) return;
  bool was_first = it == listeners_.begin();
  // The watch and timers were made through the first listener's host, whose
  // instance is being destroyed: release them while it still exists.
  if (was_first) {
    watch_.reset();
    deadline_.cancel();
    deadline_usec_ = 0;
    retry_.cancel();
  }
  listeners_.erase(it);
  if (listeners_.empty())
    teardown();
  else if (was_first)
    rebind();
}

const DeviceState* BluezScanner::find(std::string_view address) const {
  std::string wanted = canonical_address(address);
  for (const auto& [path, device] : devices_)
    if (device.reported && device.state.address == wanted) return &device.state;
  return nullptr;
}

void BluezScanner::teardown() {
  watch_.reset();
  deadline_.cancel();
  deadline_usec_ = 0;
  retry_.cancel();
  pending_call_.reset();
  matches_.clear();
  bus_.reset();
  devices_.clear();
  discovering_since_.reset();
}

void BluezScanner::rebind() {
  if (!bus_) {
    // First listener, or reconnecting: (re)connect through the new host.
    if (!retry_.active())
      connect();
    else
      retry_ = host().add_timer(kRetry, {}, [this] { connect(); });
    return;
  }
  watch_ = host().watch_fd(sd_bus_get_fd(bus_.get()), 0, [this](uint32_t) { process(); });
  watched_events_ = 0;
  deadline_.cancel();
  deadline_usec_ = 0;
  rearm();
}

void BluezScanner::connect() {
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);  // honours DBUS_SYSTEM_BUS_ADDRESS
  if (r < 0) {
    connection_lost(r);
    return;
  }
  bus_.reset(raw);
  auto match = [this](const char* rule, sd_bus_message_handler_t handler) {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_match_async(bus_.get(), &slot, rule, handler, nullptr, this);
    if (r < 0)
      throw std::runtime_error(fmt::format("cannot add the D-Bus match {}: {}", rule, error_text(r)));
    matches_.emplace_back(slot);
  };
  try {
    match(
        "type='signal',sender='org.bluez',path='/',interface='org.freedesktop.DBus.ObjectManager',"
        "member='InterfacesAdded'",
        &call<&BluezScanner::on_interfaces_added>);
    match(
        "type='signal',sender='org.bluez',path='/',interface='org.freedesktop.DBus.ObjectManager',"
        "member='InterfacesRemoved'",
        &call<&BluezScanner::on_interfaces_removed>);
    match(
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
        "member='PropertiesChanged',path_namespace='/org/bluez'",
        &call<&BluezScanner::on_properties_changed>);
    match(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
        "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.bluez'",
        &call<&BluezScanner::on_name_owner_changed>);
  } catch (const std::exception& e) {
    host().error("bt: {}", e.what());
    connection_lost(-EIO);
    return;
  }
  watch_ = host().watch_fd(sd_bus_get_fd(bus_.get()), 0, [this](uint32_t) { process(); });
  watched_events_ = 0;
  list_objects();
  rearm();
}

void BluezScanner::connection_lost(int error) {
  if (!bus_lost_) {
    host().warning("bt: no D-Bus system bus ({}): Bluetooth discovery stopped; retrying every {} s",
                   error_text(error), kRetry.count());
    bus_lost_ = true;
  }
  teardown();
  retry_ = host().add_timer(kRetry, {}, [this] { connect(); });
}

void BluezScanner::process() {
  while (bus_) {
    int r = sd_bus_process(bus_.get(), nullptr);
    if (r < 0) {
      connection_lost(r);
      return;
    }
    if (r == 0) break;
  }
  if (bus_ && sd_bus_is_open(bus_.get()) <= 0) {
    connection_lost(-ENOTCONN);
    return;
  }
  rearm();
}

void BluezScanner::rearm() {
  if (!bus_) return;
  int events = sd_bus_get_events(bus_.get());
  if (events < 0) {
    connection_lost(events);
    return;
  }
  // POLLIN/POLLOUT have the values of EPOLLIN/EPOLLOUT. Mostly unchanged
  // from one wake-up to the next: no epoll_ctl then.
  if (static_cast<uint32_t>(events) != watched_events_ && watch_.modify(static_cast<uint32_t>(events)))
    watched_events_ = static_cast<uint32_t>(events);
  uint64_t until = 0;
  if (sd_bus_get_timeout(bus_.get(), &until) < 0 || until == UINT64_MAX) {
    deadline_.cancel();
    deadline_usec_ = 0;
    return;
  }
  if (until == deadline_usec_ && deadline_.active()) return;
  uint64_t now = monotonic_usec();
  deadline_usec_ = until;
  deadline_ = host().add_timer(std::chrono::microseconds(until > now ? until - now : 0), {}, [this] {
    deadline_usec_ = 0;
    process();
  });
}

void BluezScanner::list_objects() {
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_call_method_async(bus_.get(), &slot, kBluez, "/", "org.freedesktop.DBus.ObjectManager",
                                   "GetManagedObjects", &call<&BluezScanner::on_managed_objects>, this, "");
  if (r < 0) {
    connection_lost(r);
    return;
  }
  pending_call_.reset(slot);
}

int BluezScanner::on_managed_objects(sd_bus_message* m) {
  pending_call_.reset();
  if (sd_bus_message_is_method_error(m, nullptr)) {
    if (sd_bus_message_is_method_error(m, "org.freedesktop.DBus.Error.ServiceUnknown") ||
        sd_bus_message_is_method_error(m, "org.freedesktop.DBus.Error.NameHasNoOwner")) {
      // NameOwnerChanged brings it back.
      if (bluez_on_bus_)
        host().warning("bt: bluetoothd is not running (no {} on the system bus): discovery waits for it",
                       kBluez);
      bluez_on_bus_ = false;
      return 0;
    }
    host().error("bt: listing BlueZ's objects failed ({}); trying again in {} s", method_error(m),
                 kRetry.count());
    retry_ = host().add_timer(kRetry, {}, [this] {
      if (bus_) list_objects();
    });
    return 0;
  }
  if (bus_lost_) {
    host().info("bt: connected to the D-Bus system bus again");
    bus_lost_ = false;
  }
  bluez_on_bus_ = true;
  Adapters adapters;
  Listed listed;
  int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{oa{sa{sv}}}");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "oa{sa{sv}}")) > 0) {
    const char* path = nullptr;
    if ((r = sd_bus_message_read_basic(m, SD_BUS_TYPE_OBJECT_PATH, &path)) < 0) return r;
    if ((r = read_interfaces(path, m, false, adapters, &listed)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
  }
  if (r < 0) return r;
  std::string wanted = adapter_.empty() ? std::string() : "/org/bluez/" + adapter_;
  auto chosen = wanted.empty() ? adapters.begin() : adapters.find(wanted);
  if (chosen == adapters.end()) {
    if (!no_adapter_logged_)
      host().warning(
          "bt: BlueZ has {}: discovery starts when it appears",
          adapter_.empty() ? std::string("no Bluetooth adapter") : fmt::format("no adapter {}", adapter_));
    no_adapter_logged_ = true;
    discovery_stopped("no adapter");
    return 0;
  }
  adapter_found(chosen->first, chosen->second);
  // Only now is it known which devices are ours (adapter_found may also
  // have dropped those of another adapter).
  for (auto& [path, properties] : listed) apply_device(path, std::move(properties), false);
  return 0;
}

int BluezScanner::read_interfaces(const std::string& path, sd_bus_message* m, bool report, Adapters& adapters,
                                  Listed* listed) {
  int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sa{sv}}");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sa{sv}")) > 0) {
    const char* interface = nullptr;
    if ((r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &interface)) < 0) return r;
    if (std::string_view(interface) == kAdapter) {
      AdapterProperties properties;
      if ((r = read_adapter_properties(m, properties)) < 0) return r;
      adapters[path] = properties.powered;
    } else if (std::string_view(interface) == kDevice) {
      DeviceProperties properties;
      if ((r = read_device_properties(m, properties)) < 0) return r;
      if (listed)
        (*listed)[path] = std::move(properties);
      else
        apply_device(path, std::move(properties), report);
    } else if ((r = sd_bus_message_skip(m, "a{sv}")) < 0) {
      return r;
    }
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

void BluezScanner::apply_device(const std::string& path, DeviceProperties properties, bool report) {
  if (!is_our_device(path)) return;
  Device& device = devices_[path];
  DeviceState& state = device.state;
  unsigned carried = 0;
  if (properties.address) state.address = canonical_address(*properties.address);
  if (state.address.empty()) state.address = address_from_path(path);
  if (properties.name) {
    state.name = *properties.name;
    carried |= kName;
  }
  if (properties.rssi) {
    state.rssi = *properties.rssi == kRssiUnknown ? std::nullopt : std::optional<int>(*properties.rssi);
    carried |= kRssi;
  }
  if (properties.manufacturer_data) {
    state.manufacturer_data = std::move(*properties.manufacturer_data);
    carried |= kManufacturerData;
  }
  if (properties.service_data) {
    state.service_data = std::move(*properties.service_data);
    carried |= kServiceData;
  }
  // A report is an advertisement seen while discovering: it brings RSSI or
  // advertised data. A name alone (or a listing at start) is not one.
  if (!report || !discovering_since_ || !(carried & (kRssi | kManufacturerData | kServiceData))) return;
  device.reported = true;
  state.last_seen = host().now();
  // A listener may remove itself (or another) while hearing the report.
  std::vector<AdvertListener*> targets;
  for (const auto& l : listeners_) targets.push_back(l.listener);
  for (AdvertListener* target : targets) {
    bool still_there = std::any_of(listeners_.begin(), listeners_.end(),
                                   [&](const Listener& l) { return l.listener == target; });
    if (!still_there) continue;
    try {
      target->on_report(state, carried);
    } catch (const std::exception& e) {
      host().error("bt: handling a report of {} failed: {}", state.address, e.what());
    }
  }
}

void BluezScanner::adapter_found(const std::string& path, std::optional<bool> powered) {
  if (path != adapter_path_) {
    adapter_path_ = path;
    devices_.clear();
  }
  no_adapter_logged_ = false;
  if (powered.value_or(false)) {
    powered_off_logged_ = false;
    start_discovery();
    return;
  }
  if (!powered_off_logged_)
    host().warning("bt: {} is powered off: discovery starts when it is powered on", adapter_name(path));
  powered_off_logged_ = true;
  discovery_stopped("powered off");
}

void BluezScanner::start_discovery() {
  sd_bus_message* raw = nullptr;
  int r = sd_bus_message_new_method_call(bus_.get(), &raw, kBluez, adapter_path_.c_str(), kAdapter,
                                         "SetDiscoveryFilter");
  sdk::CHandle<sd_bus_message, sd_bus_message_unref> message(raw);
  // LE only; DuplicateData: every advertisement is signalled again, not
  // only changed data (bluetooth.md §3.2: the default differs from the docs).
  if (r >= 0) r = sd_bus_message_append(raw, "a{sv}", 2, "Transport", "s", "le", "DuplicateData", "b", 1);
  sd_bus_slot* slot = nullptr;
  if (r >= 0)
    r = sd_bus_call_async(bus_.get(), &slot, raw, &call<&BluezScanner::on_discovery_filter_set>, this, 0);
  if (r < 0) {
    connection_lost(r);
    return;
  }
  pending_call_.reset(slot);
}

int BluezScanner::on_discovery_filter_set(sd_bus_message* m) {
  pending_call_.reset();
  if (sd_bus_message_is_method_error(m, nullptr))
    host().warning("bt: {} refused the discovery filter ({}): discovering without it",
                   adapter_name(adapter_path_), method_error(m));
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_call_method_async(bus_.get(), &slot, kBluez, adapter_path_.c_str(), kAdapter,
                                   "StartDiscovery", &call<&BluezScanner::on_discovery_started>, this, "");
  if (r < 0) {
    connection_lost(r);
    return 0;
  }
  pending_call_.reset(slot);
  return 0;
}

int BluezScanner::on_discovery_started(sd_bus_message* m) {
  pending_call_.reset();
  std::string_view adapter = adapter_name(adapter_path_);
  // InProgress: this connection's session runs already.
  if (sd_bus_message_is_method_error(m, nullptr) &&
      !sd_bus_message_is_method_error(m, "org.bluez.Error.InProgress")) {
    if (sd_bus_message_is_method_error(m, "org.bluez.Error.NotReady")) {
      // Powered off or rfkilled: PropertiesChanged(Powered) brings it back.
      discovery_stopped(fmt::format("{} is not ready", adapter));
      return 0;
    }
    host().error("bt: starting discovery on {} failed ({}); trying again in {} s", adapter, method_error(m),
                 kRetry.count());
    retry_ = host().add_timer(kRetry, {}, [this] {
      if (bus_ && !adapter_path_.empty()) start_discovery();
    });
    return 0;
  }
  if (discovering_since_) return 0;
  discovering_since_ = host().now();
  if (ever_discovered_)
    host().info("bt: discovery on {} running again", adapter);
  else
    host().info("bt: discovering LE advertisements on {}", adapter);
  ever_discovered_ = true;
  return 0;
}

void BluezScanner::discovery_stopped(std::string_view why) {
  if (!discovering_since_) return;
  discovering_since_.reset();
  host().warning("bt: discovery on {} stopped: {}", adapter_name(adapter_path_), why);
}

int BluezScanner::on_interfaces_added(sd_bus_message* m) {
  const char* path = nullptr;
  int r = sd_bus_message_read_basic(m, SD_BUS_TYPE_OBJECT_PATH, &path);
  if (r < 0) return r;
  Adapters adapters;
  if ((r = read_interfaces(path, m, true, adapters)) < 0) return r;
  for (const auto& [adapter_path, powered] : adapters) {
    bool wanted = adapter_.empty() ? adapter_path_.empty() || adapter_path == adapter_path_
                                   : adapter_path == "/org/bluez/" + adapter_;
    if (!wanted || discovering_since_) continue;
    host().info("bt: adapter {} appeared", adapter_name(adapter_path));
    adapter_found(adapter_path, powered);
  }
  return 0;
}

int BluezScanner::on_interfaces_removed(sd_bus_message* m) {
  const char* path = nullptr;
  int r = sd_bus_message_read_basic(m, SD_BUS_TYPE_OBJECT_PATH, &path);
  if (r < 0) return r;
  if ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "s")) < 0) return r;
  const char* interface = nullptr;
  while ((r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &interface)) > 0) {
    if (std::string_view(interface) == kDevice) {
      // BlueZ drops a temporary device 30 s after its last advertisement.
      devices_.erase(path);
    } else if (std::string_view(interface) == kAdapter && path == adapter_path_) {
      discovery_stopped(fmt::format("adapter {} was removed", adapter_name(path)));
      devices_.clear();
    }
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

int BluezScanner::on_properties_changed(sd_bus_message* m) {
  std::string path = sd_bus_message_get_path(m) ?: "";
  const char* interface = nullptr;
  int r = sd_bus_message_read_basic(m, SD_BUS_TYPE_STRING, &interface);
  if (r < 0) return r;
  if (std::string_view(interface) == kAdapter && path == adapter_path_) {
    AdapterProperties properties;
    if ((r = read_adapter_properties(m, properties)) < 0) return r;
    if (!properties.powered) return 0;
    if (*properties.powered) {
      host().info("bt: {} powered on", adapter_name(path));
      adapter_found(path, true);
    } else {
      discovery_stopped("powered off");
    }
    return 0;
  }
  if (std::string_view(interface) == kDevice) {
    DeviceProperties properties;
    if ((r = read_device_properties(m, properties)) < 0) return r;
    apply_device(path, std::move(properties), true);
  }
  return 0;
}

int BluezScanner::on_name_owner_changed(sd_bus_message* m) {
  const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
  int r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
  if (r < 0) return r;
  if (std::string_view(name) != kBluez) return 0;
  if (!new_owner || !*new_owner) {
    bluez_on_bus_ = false;
    discovery_stopped("bluetoothd left the D-Bus system bus");
    devices_.clear();
    return 0;
  }
  host().info("bt: bluetoothd is on the D-Bus system bus{}: listing adapters", bluez_on_bus_ ? "" : " again");
  bluez_on_bus_ = true;
  list_objects();
  return 0;
}

bool BluezScanner::is_our_device(std::string_view path) const {
  return !adapter_path_.empty() && path.size() > adapter_path_.size() + 5 &&
         path.starts_with(adapter_path_) && path.substr(adapter_path_.size(), 5) == "/dev_";
}

}  // namespace sr::bt
