// Where the bt module's LE sensors get advertisements from: the seam between
// the plugin classes (GoveeSensor, BtleSensor) and BlueZ (bluez_scanner.cpp).
// Unit tests put a FakeAdvertSource behind it; the product uses one
// BluezScanner per adapter, shared by every section of the process that
// names that adapter.
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sr::bt {

// What BlueZ knows of one advertising device after its latest report.
struct DeviceState {
  std::string address;      // "A4:C1:38:12:34:56", upper case as BlueZ writes it
  std::string name;         // the advertised name (Device1.Name), may be empty
  std::optional<int> rssi;  // dBm; unknown when BlueZ has none or says 127
  // Device1.ManufacturerData: company ID → the bytes after the ID.
  std::map<uint16_t, std::vector<uint8_t>> manufacturer_data;
  // Device1.ServiceData: UUID string → bytes.
  std::map<std::string, std::vector<uint8_t>> service_data;
  // Monotonic time of the latest report (sdk::Host::now()).
  std::chrono::nanoseconds last_seen{0};
};

// What a report carried (a bit set): every report of filtered discovery
// carries kRssi; kManufacturerData and kServiceData when BlueZ signalled
// them (each advertisement with DuplicateData, else only changes).
enum Carried : unsigned {
  kRssi = 1u << 0,
  kManufacturerData = 1u << 1,
  kServiceData = 1u << 2,
  kName = 1u << 3,
};

class AdvertListener {
 public:
  virtual ~AdvertListener() = default;
  // A report of `device` arrived; `carried` says what it brought.
  virtual void on_report(const DeviceState& device, unsigned carried) = 0;
};

class AdvertSource {
 public:
  virtual ~AdvertSource() = default;
  // `listener` hears every report until remove_listener(). `host` is the
  // listener's own; the source uses the first listener's host for its
  // timers, fd watches and log lines, and does nothing without listeners.
  virtual void add_listener(AdvertListener* listener, const sdk::Host& host) = 0;
  virtual void remove_listener(AdvertListener* listener) = 0;
  // Since when (sdk::Host::now()) discovery has run without a break; empty
  // while it does not run (bluetoothd away, adapter off or missing).
  virtual std::optional<std::chrono::nanoseconds> discovering_since() const = 0;
  // The latest state of the device with this address (any case), if it has
  // been reported since discovery began.
  virtual const DeviceState* find(std::string_view address) const = 0;
};

// The source for `adapter` ("hci0"; empty: the first adapter BlueZ lists),
// shared with every other section of this process that names the same
// adapter. Tests replace the factory with set_source_factory().
using SourceFactory = std::function<std::shared_ptr<AdvertSource>(const std::string& adapter)>;
std::shared_ptr<AdvertSource> advert_source(const std::string& adapter);
// Installs `factory` (empty: BlueZ again) and returns the previous one.
SourceFactory set_source_factory(SourceFactory factory);

// "a4:c1:38:12:34:56" → "A4:C1:38:12:34:56": the form BlueZ uses.
std::string canonical_address(std::string_view address);

// The one T (constructed from the adapter name) that every section of this
// process naming `adapter` shares while any holds it: one bus connection
// (BluezScanner) or one HCI socket (HciChannel) per adapter.
template <typename T>
std::shared_ptr<T> shared_per_adapter(const std::string& adapter) {
  static std::map<std::string, std::weak_ptr<T>> instances;
  std::weak_ptr<T>& slot = instances[adapter];
  if (auto instance = slot.lock()) return instance;
  auto instance = std::make_shared<T>(adapter);
  slot = instance;
  return instance;
}

// A device a presence sensor (BtleSensor, SimpleBtSensor) watches: AddressN
// with its DestinationN, and what was last published for it.
struct WatchedDevice {
  std::string address;  // canonical
  std::string destination;
  std::optional<bool> present;  // unknown before the first poll
};
// The section's Address1..n / Destination1..n pairs (the host checked that
// both families have the same numbers).
std::vector<WatchedDevice> watched_devices(const sdk::Params& params);

}  // namespace sr::bt
