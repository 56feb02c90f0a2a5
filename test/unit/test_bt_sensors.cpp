// Unit tests for bt.govee_sensor.GoveeSensor and bt.btle_sensor.BtleSensor
// (issue 13): the classes through the SDK's trampolines on the SDK's
// FakeHost, fed by a FakeSource in place of BlueZ (advert_source.hpp). The
// decoder has its own tests (test_govee_decoder.cpp); BlueZ itself is
// exercised in the VM tier.
#include "bt/btle_sensor.hpp"
#include "bt/govee_sensor.hpp"

#include "support/doctest_vector.h"

#include <sensor_reporter/sdk.hpp>
#include <sensor_reporter/testing.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sr::bt::AdvertListener;
using sr::bt::AdvertSource;
using sr::bt::DeviceState;
using sr::sdk::testing::FakeHost;
using GoveeInstance = sr::sdk::testing::Instance<sr::bt::GoveeSensor>;
using BtleInstance = sr::sdk::testing::Instance<sr::bt::BtleSensor>;

// What BluezScanner would deliver, under the test's control.
class FakeSource final : public AdvertSource {
 public:
  void add_listener(AdvertListener* listener, const sr::sdk::Host&) override {
    listeners.push_back(listener);
  }
  void remove_listener(AdvertListener* listener) override {
    listeners.erase(std::remove(listeners.begin(), listeners.end(), listener), listeners.end());
  }
  std::optional<std::chrono::nanoseconds> discovering_since() const override { return since; }
  const DeviceState* find(std::string_view address) const override {
    auto it = devices.find(sr::bt::canonical_address(address));
    return it == devices.end() ? nullptr : &it->second;
  }
  // A report of `state` at `now`.
  void report(DeviceState state, unsigned carried, std::chrono::nanoseconds now) {
    state.last_seen = now;
    devices[state.address] = state;
    for (AdvertListener* listener : std::vector<AdvertListener*>(listeners))
      listener->on_report(state, carried);
  }

  std::vector<AdvertListener*> listeners;
  std::optional<std::chrono::nanoseconds> since;
  std::map<std::string, DeviceState> devices;
  std::vector<std::string> adapters_asked;
};

// Installs a FakeSource for the test's lifetime.
struct UseFakeSource {
  std::shared_ptr<FakeSource> source = std::make_shared<FakeSource>();
  sr::bt::SourceFactory previous;
  UseFakeSource() {
    previous = sr::bt::set_source_factory([s = source](const std::string& adapter) {
      s->adapters_asked.push_back(adapter);
      return s;
    });
  }
  ~UseFakeSource() { sr::bt::set_source_factory(previous); }
};

constexpr unsigned kAdvert = sr::bt::kRssi | sr::bt::kManufacturerData;

// An H5075 advertisement: company 0xEC88, 21.3 °C, 44.2 %, battery 100.
DeviceState h5075(std::vector<uint8_t> data = {0x00, 0x03, 0x41, 0xc2, 0x64, 0x00}) {
  DeviceState state;
  state.address = "A4:C1:38:27:62:01";
  state.name = "GVH5075_2762";
  state.rssi = -67;
  state.manufacturer_data[0xEC88] = std::move(data);
  return state;
}

std::vector<std::string> topics(const FakeHost& host) {
  std::vector<std::string> out;
  for (const auto& p : host.published()) out.push_back(p.destination + "=" + p.payload);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// GoveeSensor

TEST_CASE("GoveeSensor publishes an H5075's fields under Destination/<name> on each advertisement") {
  UseFakeSource fake;
  FakeHost host;
  GoveeInstance govee(host, {{"Destination", "govee"}});
  REQUIRE(govee.start() == SR_OK);
  CHECK(fake.source->adapters_asked == std::vector<std::string>{""});
  fake.source->report(h5075(), kAdvert, host.now());
  CHECK(topics(host) ==
        std::vector<std::string>{"govee/GVH5075_2762/battery=100", "govee/GVH5075_2762/temp_c=21.30",
                                 "govee/GVH5075_2762/temp_f=70.34", "govee/GVH5075_2762/humi=44.20",
                                 "govee/GVH5075_2762/rssi=-67"});
  host.clear();
  fake.source->report(h5075(), kAdvert, host.now());  // the same again: published again
  CHECK(host.published().size() == 5);
}

TEST_CASE("GoveeSensor decodes a negative temperature and leaves RSSI 127 (unknown) out") {
  UseFakeSource fake;
  FakeHost host;
  GoveeInstance govee(host, {{"Destination", "g"}, {"Adapter", "hci1"}});
  REQUIRE(govee.start() == SR_OK);
  CHECK(fake.source->adapters_asked == std::vector<std::string>{"hci1"});
  DeviceState state = h5075({0x00, 0x81, 0x1f, 0x09, 0x64, 0x00});  // -7.3 °C, 48.1 %
  state.rssi.reset();
  fake.source->report(state, kAdvert, host.now());
  CHECK(topics(host) == std::vector<std::string>{"g/GVH5075_2762/battery=100", "g/GVH5075_2762/temp_c=-7.30",
                                                 "g/GVH5075_2762/temp_f=18.86", "g/GVH5075_2762/humi=48.10"});
}

TEST_CASE("GoveeSensor ignores reports without manufacturer data and advertisements of other devices") {
  UseFakeSource fake;
  FakeHost host;
  GoveeInstance govee(host, {{"Destination", "g"}});
  REQUIRE(govee.start() == SR_OK);
  fake.source->report(h5075(), sr::bt::kRssi, host.now());  // an RSSI update only
  DeviceState phone;
  phone.address = "11:22:33:44:55:66";
  phone.manufacturer_data[0x004C] = {0x02, 0x15, 0x01};  // Apple
  fake.source->report(phone, kAdvert, host.now());
  CHECK(host.published().empty());
}

TEST_CASE("GoveeSensor: a sensor error publishes battery and rssi only, warned once until it reads well") {
  UseFakeSource fake;
  FakeHost host;
  GoveeInstance govee(host, {{"Destination", "g"}});
  REQUIRE(govee.start() == SR_OK);
  DeviceState broken = h5075({0x00, 0x03, 0x41, 0xc2, 0xe4, 0x00});  // battery bit 7: error
  fake.source->report(broken, kAdvert, host.now());
  fake.source->report(broken, kAdvert, host.now());
  CHECK(topics(host) == std::vector<std::string>{"g/GVH5075_2762/battery=100", "g/GVH5075_2762/rssi=-67",
                                                 "g/GVH5075_2762/battery=100", "g/GVH5075_2762/rssi=-67"});
  auto warnings = std::count_if(host.logs().begin(), host.logs().end(), [](const auto& l) {
    return l.level == SR_LOG_WARNING && l.text.find("sensor error") != std::string::npos;
  });
  CHECK(warnings == 1);
  host.clear();
  fake.source->report(h5075(), kAdvert, host.now());
  CHECK(host.payloads_to("g/GVH5075_2762/temp_c") == std::vector<std::string>{"21.30"});
}

TEST_CASE("GoveeSensor refresh republishes the last values of every device seen") {
  UseFakeSource fake;
  FakeHost host;
  GoveeInstance govee(host, {{"Destination", "g"}});
  REQUIRE(govee.start() == SR_OK);
  CHECK(govee.refresh() == SR_OK);
  CHECK(host.published().empty());  // nothing seen yet
  fake.source->report(h5075(), kAdvert, host.now());
  DeviceState other = h5075({0x00, 0x04, 0x18, 0xee, 0x64, 0x00});  // 26.8 °C
  other.address = "A4:C1:38:00:00:02";
  other.name = "GVH5075_0002";
  fake.source->report(other, kAdvert, host.now());
  host.clear();
  CHECK(govee.refresh() == SR_OK);
  CHECK(host.published().size() == 10);
  CHECK(host.payloads_to("g/GVH5075_0002/temp_c") == std::vector<std::string>{"26.80"});
  CHECK(host.payloads_to("g/GVH5075_2762/temp_c") == std::vector<std::string>{"21.30"});
}

TEST_CASE("GoveeSensor MinInterval publishes a chatty device at most that often, the newest reading last") {
  UseFakeSource fake;
  FakeHost host;
  GoveeInstance govee(host, {{"Destination", "g"}, {"MinInterval", "10"}});
  REQUIRE(govee.start() == SR_OK);
  fake.source->report(h5075(), kAdvert, host.now());  // first: at once
  CHECK(host.payloads_to("g/GVH5075_2762/temp_c") == std::vector<std::string>{"21.30"});
  host.advance(2s);
  fake.source->report(h5075({0x00, 0x04, 0x18, 0xee, 0x64, 0x00}), kAdvert, host.now());  // 26.8: held
  host.advance(2s);
  fake.source->report(h5075({0x00, 0x03, 0xc6, 0xdc, 0x51, 0x00}), kAdvert, host.now());  // 24.7: replaces it
  CHECK(host.payloads_to("g/GVH5075_2762/temp_c").size() == 1);
  host.advance(5s);  // 9 s after the first publication
  CHECK(host.payloads_to("g/GVH5075_2762/temp_c").size() == 1);
  host.advance(1s);  // 10 s: the newest held reading goes out
  CHECK(host.payloads_to("g/GVH5075_2762/temp_c") == std::vector<std::string>{"21.30", "24.70"});
  CHECK(host.payloads_to("g/GVH5075_2762/battery") == std::vector<std::string>{"100", "81"});
  host.advance(30s);  // nothing more held: nothing more published
  CHECK(host.payloads_to("g/GVH5075_2762/temp_c").size() == 2);
  fake.source->report(h5075(), kAdvert, host.now());  // long after: at once
  CHECK(host.payloads_to("g/GVH5075_2762/temp_c").size() == 3);
}

TEST_CASE("govee_topic_name keeps a name usable as one topic level") {
  CHECK(sr::bt::govee_topic_name("GVH5075_2762", "A4:C1:38:27:62:01") == "GVH5075_2762");
  CHECK(sr::bt::govee_topic_name("", "A4:C1:38:27:62:01") == "Govee_A4C138276201");
  CHECK(sr::bt::govee_topic_name("a/b+c#d\n", "x") == "a_b_c_d_");
}

TEST_CASE("GoveeSensor stops listening when destroyed") {
  UseFakeSource fake;
  {
    FakeHost host;
    GoveeInstance govee(host, {{"Destination", "g"}});
    REQUIRE(govee.start() == SR_OK);
    CHECK(fake.source->listeners.size() == 1);
  }
  CHECK(fake.source->listeners.empty());
}

// ---------------------------------------------------------------------------
// BtleSensor

namespace {
const BtleInstance::Values kBtle = {{"Poll", "30"},
                                    {"Timeout", "10"},
                                    {"Address1", "a4:c1:38:27:62:01"},
                                    {"Destination1", "presence/govee"},
                                    {"Address2", "11:22:33:44:55:66"},
                                    {"Destination2", "presence/phone"}};

DeviceState device(const std::string& address) {
  DeviceState state;
  state.address = address;
  state.rssi = -60;
  return state;
}
}  // namespace

TEST_CASE("BtleSensor check: Poll must exceed Timeout, Values must be two, no address is a warning") {
  CHECK(BtleInstance::check(kBtle).empty());
  auto problems = BtleInstance::check({{"Poll", "10"}, {"Timeout", "10"}, {"Values", "ON"}});
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].key == "Poll");
  CHECK(problems[0].level == SR_LOG_ERROR);
  CHECK(problems[0].message.find("greater than Timeout") != std::string::npos);
  CHECK(problems[1].key == "Values");
  CHECK(problems[2].level == SR_LOG_WARNING);
}

TEST_CASE("BtleSensor waits until discovery has looked Timeout seconds, then publishes every device") {
  UseFakeSource fake;
  FakeHost host;
  BtleInstance btle(host, kBtle);
  REQUIRE(btle.start() == SR_OK);
  fake.source->since = host.now();
  CHECK(btle.poll() == SR_POLL_PENDING);
  host.advance(3s);
  fake.source->report(device("A4:C1:38:27:62:01"), sr::bt::kRssi, host.now());
  host.advance(6s);
  CHECK(host.published().empty());
  CHECK(host.poll_done_count() == 0);
  host.advance(1s);  // 10 s of discovery
  CHECK(host.poll_done_count() == 1);
  CHECK(topics(host) == std::vector<std::string>{"presence/govee=ON", "presence/phone=OFF"});
}

TEST_CASE("BtleSensor publishes only changes after the first poll; a device unseen for Timeout is absent") {
  UseFakeSource fake;
  FakeHost host;
  BtleInstance btle(host, kBtle);
  REQUIRE(btle.start() == SR_OK);
  fake.source->since = host.now() - 60s;
  fake.source->report(device("A4:C1:38:27:62:01"), sr::bt::kRssi, host.now());
  CHECK(btle.poll() == SR_OK);
  CHECK(topics(host) == std::vector<std::string>{"presence/govee=ON", "presence/phone=OFF"});
  host.clear();
  host.advance(5s);
  CHECK(btle.poll() == SR_OK);  // seen 5 s ago: still present, nothing new
  CHECK(host.published().empty());
  host.advance(6s);  // 11 s since the last advertisement
  fake.source->report(device("11:22:33:44:55:66"), sr::bt::kRssi, host.now());
  CHECK(btle.poll() == SR_OK);
  CHECK(topics(host) == std::vector<std::string>{"presence/govee=OFF", "presence/phone=ON"});
  host.clear();
  CHECK(btle.refresh() == SR_OK);
  CHECK(topics(host) == std::vector<std::string>{"presence/govee=OFF", "presence/phone=ON"});
}

TEST_CASE("BtleSensor: refresh before the first poll publishes the absent value; custom Values") {
  UseFakeSource fake;
  FakeHost host;
  auto values = kBtle;
  values.push_back({"Values", "home, away"});
  BtleInstance btle(host, values);
  REQUIRE(btle.start() == SR_OK);
  CHECK(btle.refresh() == SR_OK);
  CHECK(topics(host) == std::vector<std::string>{"presence/govee=away", "presence/phone=away"});
}

TEST_CASE("BtleSensor: while discovery does not run a poll publishes nothing and fails") {
  UseFakeSource fake;
  FakeHost host;
  BtleInstance btle(host, kBtle);
  REQUIRE(btle.start() == SR_OK);
  CHECK(btle.poll() == SR_POLL_PENDING);  // not discovering: wait Timeout, then look again
  host.advance(10s);
  CHECK(host.poll_failed_count() == 1);
  CHECK(host.published().empty());
  CHECK(host.logged(SR_LOG_WARNING, "discovery is not running"));
}
