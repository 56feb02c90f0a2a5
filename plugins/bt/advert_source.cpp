// The advertisement source factory; see advert_source.hpp.
#include "advert_source.hpp"

#include "bluez_scanner.hpp"

#include <cctype>

namespace sr::bt {
namespace {

SourceFactory& factory() {
  static SourceFactory current;
  return current;
}

}  // namespace

std::shared_ptr<AdvertSource> advert_source(const std::string& adapter) {
  // One scanner (one bus connection, one discovery session) per adapter: a
  // second StartDiscovery on the same connection would say InProgress.
  if (!factory()) return shared_per_adapter<BluezScanner>(adapter);
  return factory()(adapter);
}

SourceFactory set_source_factory(SourceFactory next) { return std::exchange(factory(), std::move(next)); }

std::string canonical_address(std::string_view address) {
  std::string out(address);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<WatchedDevice> watched_devices(const sdk::Params& params) {
  std::vector<WatchedDevice> devices;
  auto addresses = params.numbered("Address");
  auto destinations = params.numbered("Destination");
  for (size_t i = 0; i < addresses.size() && i < destinations.size(); ++i)
    devices.push_back(
        WatchedDevice{canonical_address(addresses[i].value), destinations[i].value, std::nullopt});
  return devices;
}

}  // namespace sr::bt
