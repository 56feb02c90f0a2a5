// BluezScanner: LE advertisements from BlueZ over the D-Bus system bus, the
// product's AdvertSource (advert_source.hpp). One per adapter per process,
// shared by every section that names that adapter.
//
// What it does (../shared/reference/bluetooth.md §3.2-3.3):
//  - one sd-bus connection of its own, driven by the host's event loop: the
//    bus fd through Host::watch_fd, sd-bus's deadline through a host timer,
//    every call asynchronous; no thread;
//  - matches InterfacesAdded/InterfacesRemoved (ObjectManager on /),
//    PropertiesChanged under /org/bluez and NameOwnerChanged of org.bluez;
//  - GetManagedObjects, then on the adapter SetDiscoveryFilter
//    {Transport "le", DuplicateData true} and StartDiscovery: every
//    advertisement of every device becomes a PropertiesChanged with RSSI and,
//    with DuplicateData, its ManufacturerData/ServiceData again;
//  - discovery is re-established when bluetoothd comes back on the bus, when
//    the adapter appears or is powered on again, with one log line each; the
//    system bus itself going away is retried every 5 s, also logged once.
//
// Discovery sessions belong to the bus connection: closing it (the last
// section using the adapter is destroyed) ends ours, and bluetoothd stops
// scanning when no other client wants it.
//
// Privileges: none. Debian's /etc/dbus-1/system.d/bluetooth.conf lets every
// user call org.bluez; only AF_UNIX is used.
#pragma once

#include "advert_source.hpp"
#include "bluez_properties.hpp"

#include <systemd/sd-bus.h>

#include <sensor_reporter/handle.hpp>
#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace sr::bt {

class BluezScanner final : public AdvertSource {
 public:
  // `adapter`: "hci0", or empty for the first adapter BlueZ lists. Nothing
  // happens until the first listener is added.
  explicit BluezScanner(std::string adapter);
  ~BluezScanner() override;
  BluezScanner(const BluezScanner&) = delete;
  BluezScanner& operator=(const BluezScanner&) = delete;

  void add_listener(AdvertListener* listener, const sdk::Host& host) override;
  void remove_listener(AdvertListener* listener) override;
  std::optional<std::chrono::nanoseconds> discovering_since() const override { return discovering_since_; }
  const DeviceState* find(std::string_view address) const override;

 private:
  using Bus = sdk::CHandle<sd_bus, sd_bus_flush_close_unref>;
  using Slot = sdk::CHandle<sd_bus_slot, sd_bus_slot_unref>;
  struct Listener {
    AdvertListener* listener;
    sdk::Host host;
  };
  struct Device {
    DeviceState state;
    bool reported = false;  // at least one report since discovery began
  };

  // The host whose loop, timers and log the scanner uses: the first
  // listener's (there is one whenever a callback can run).
  const sdk::Host& host() const { return listeners_.front().host; }
  void rebind();    // the first listener changed: move the watch and timers
  void teardown();  // no listener left: close the connection

  void connect();
  void connection_lost(int error);
  void process();  // runs sd_bus_process until idle, then rearm()
  void rearm();

  void list_objects();
  void start_discovery();
  void discovery_stopped(std::string_view why);

  // Signal and reply handlers (sd-bus callbacks land here).
  int on_interfaces_added(sd_bus_message* m);
  int on_interfaces_removed(sd_bus_message* m);
  int on_properties_changed(sd_bus_message* m);
  int on_name_owner_changed(sd_bus_message* m);
  int on_managed_objects(sd_bus_message* m);
  int on_discovery_filter_set(sd_bus_message* m);
  int on_discovery_started(sd_bus_message* m);

  // One object's interfaces dictionary, a{sa{sv}}; `report`: it came from a
  // signal during discovery (a real advertisement), not from a listing.
  // Adapter1 objects found go to `adapters` (path → Powered). With `listed`
  // (GetManagedObjects), Device1 dictionaries are kept there by path, to be
  // applied once the adapter is chosen: BlueZ signals a Name only when it
  // changes, so a device it already knew has its name in the listing alone.
  using Adapters = std::map<std::string, std::optional<bool>>;
  using Listed = std::map<std::string, DeviceProperties>;
  int read_interfaces(const std::string& path, sd_bus_message* m, bool report, Adapters& adapters,
                      Listed* listed = nullptr);
  void apply_device(const std::string& path, DeviceProperties properties, bool report);
  void adapter_found(const std::string& path, std::optional<bool> powered);
  bool is_our_device(std::string_view path) const;

  std::string adapter_;       // as configured
  std::string adapter_path_;  // /org/bluez/hci0 once chosen
  std::vector<Listener> listeners_;
  std::map<std::string, Device> devices_;  // by object path
  std::optional<std::chrono::nanoseconds> discovering_since_;

  Bus bus_;
  std::vector<Slot> matches_;
  Slot pending_call_;  // the one asynchronous call in flight, if any
  sdk::FdWatch watch_;
  uint32_t watched_events_ = 0;  // what watch_ asks epoll for
  sdk::Timer deadline_;          // sd-bus's own timeout (method call replies)
  uint64_t deadline_usec_ = 0;   // what deadline_ is set for; 0: none
  sdk::Timer retry_;             // reconnecting to the system bus
  bool bluez_on_bus_ = true;     // false once we know bluetoothd is away
  bool bus_lost_ = false;        // the system bus went away (said once)
  bool no_adapter_logged_ = false;
  bool powered_off_logged_ = false;
  bool ever_discovered_ = false;

  template <int (BluezScanner::*Handler)(sd_bus_message*)>
  static int call(sd_bus_message* m, void* user, sd_bus_error* error);
};

}  // namespace sr::bt
