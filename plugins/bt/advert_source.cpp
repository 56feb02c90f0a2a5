// The advertisement source factory; see advert_source.hpp.
#include "advert_source.hpp"

#include "bluez_scanner.hpp"

#include <cctype>

namespace sr::bt {
namespace {

std::shared_ptr<AdvertSource> shared_bluez_scanner(const std::string& adapter) {
  // One scanner (one bus connection, one discovery session) per adapter:
  // a second StartDiscovery on the same connection would say InProgress.
  static std::map<std::string, std::weak_ptr<AdvertSource>> scanners;
  std::weak_ptr<AdvertSource>& slot = scanners[adapter];
  if (auto scanner = slot.lock()) return scanner;
  auto scanner = std::make_shared<BluezScanner>(adapter);
  slot = scanner;
  return scanner;
}

SourceFactory& factory() {
  static SourceFactory current;
  return current;
}

}  // namespace

std::shared_ptr<AdvertSource> advert_source(const std::string& adapter) {
  return factory() ? factory()(adapter) : shared_bluez_scanner(adapter);
}

SourceFactory set_source_factory(SourceFactory next) { return std::exchange(factory(), std::move(next)); }

std::string canonical_address(std::string_view address) {
  std::string out(address);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace sr::bt
