// The BlueZ double (test/support/bluez_double.cpp) on a private dbus-daemon
// (<type>system</type>), checked against BlueZ 5.66's D-Bus contract
// (bluetooth.md §3.2) with a plain sd-bus client, before anything relies on it.
//
// Every wait is on an event (a line of the double, a D-Bus signal) with a
// deadline; nothing sleeps to synchronise.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/system_bus.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace sr::test;

namespace {

constexpr const char* kAdapterPath = "/org/bluez/hci0";

// ---------------------------------------------------------------------------
// A plain sd-bus client of the double: blocking calls, and the signals of
// org.bluez written down as one line each.

class BusClient {
 public:
  explicit BusClient(const std::string& address) {
    int r = sd_bus_new(&bus_);
    if (r >= 0) r = sd_bus_set_address(bus_, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(bus_, 1);
    if (r >= 0) r = sd_bus_start(bus_);
    if (r >= 0)
      r = sd_bus_add_match(bus_, nullptr, "type='signal',sender='org.bluez'", &BusClient::on_signal, this);
    REQUIRE_MESSAGE(r >= 0, "cannot connect to ", address);
  }
  ~BusClient() { sd_bus_flush_close_unref(bus_); }
  BusClient(const BusClient&) = delete;
  BusClient& operator=(const BusClient&) = delete;

  // An Adapter1 method: "ok" or the D-Bus error name.
  std::string adapter_call(const char* member) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus_, "org.bluez", kAdapterPath, "org.bluez.Adapter1", member, &error, nullptr,
                               "");
    return result(r, error);
  }
  std::string set_filter(bool duplicate_data) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus_, "org.bluez", kAdapterPath, "org.bluez.Adapter1", "SetDiscoveryFilter",
                               &error, nullptr, "a{sv}", 2, "Transport", "s", "le", "DuplicateData", "b",
                               duplicate_data);
    return result(r, error);
  }
  std::string set_powered(bool on) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r = sd_bus_set_property(bus_, "org.bluez", kAdapterPath, "org.bluez.Adapter1", "Powered", &error, "b",
                                on);
    return result(r, error);
  }
  // True once a signal line containing `text` arrived (searched from the
  // `from`th line).
  bool wait_signal(const std::string& text, std::chrono::milliseconds timeout, size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (size_t i = from; i < signals_.size(); ++i)
        if (signals_[i].find(text) != std::string::npos) return true;
      int r = sd_bus_process(bus_, nullptr);
      if (r < 0) return false;
      if (r > 0) continue;
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::milliseconds(0)) return false;
      sd_bus_wait(bus_,
                  static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(left).count()));
    }
  }
  // Signals received so far (without waiting for more).
  const std::vector<std::string>& signals() {
    while (sd_bus_process(bus_, nullptr) > 0) {
    }
    return signals_;
  }

 private:
  static std::string result(int r, sd_bus_error& error) {
    std::string out = r >= 0 ? "ok" : (error.name ? error.name : "errno");
    sd_bus_error_free(&error);
    return out;
  }
  // "PropertiesChanged PATH KEY,KEY", "InterfacesAdded PATH", "InterfacesRemoved PATH".
  static int on_signal(sd_bus_message* m, void* user, sd_bus_error*) {
    auto* self = static_cast<BusClient*>(user);
    std::string member = sd_bus_message_get_member(m) ?: "";
    std::string line = member + " ";
    if (member == "PropertiesChanged") {
      line += sd_bus_message_get_path(m) ?: "";
      line += " ";
      const char* interface = nullptr;
      sd_bus_message_read(m, "s", &interface);
      sd_bus_message_enter_container(m, 'a', "{sv}");
      std::string keys;
      while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
        const char* key = nullptr;
        sd_bus_message_read(m, "s", &key);
        keys += (keys.empty() ? "" : ",") + std::string(key);
        sd_bus_message_skip(m, "v");
        sd_bus_message_exit_container(m);
      }
      line += keys;
    } else {
      const char* path = nullptr;
      sd_bus_message_read(m, "o", &path);
      line += path ? path : "";
    }
    self->signals_.push_back(line);
    return 0;
  }

  sd_bus* bus_ = nullptr;
  std::vector<std::string> signals_;
};

constexpr const char* kGovee = "A4:C1:38:27:62:01";
constexpr const char* kGoveePath = "/org/bluez/hci0/dev_A4_C1_38_27_62_01";

// An H5075 advertisement of kGovee: the bytes after the company ID 0xEC88.
std::string govee_adv(const std::string& data, int rssi, const std::string& address = kGovee) {
  return fmt::format("adv {} GVH5075_2762 ec88 {} rssi={}", address, data, rssi);
}

}  // namespace

// ---------------------------------------------------------------------------
// The double answers as BlueZ 5.66 does.

TEST_CASE(
    "BlueZ double: one discovery session per connection, NotReady when powered off, Failed without a "
    "session") {
  SystemBus bus;
  BluezDouble bluez(bus);
  BusClient client(bus.address());
  INFO(bluez.all_output());

  CHECK(client.adapter_call("StopDiscovery") == "org.bluez.Error.Failed");
  CHECK(client.adapter_call("StartDiscovery") == "ok");
  CHECK(client.wait_signal(fmt::format("PropertiesChanged {} Discovering", kAdapterPath), 5s));
  CHECK(client.adapter_call("StartDiscovery") == "org.bluez.Error.InProgress");
  // Another connection has a session of its own.
  {
    BusClient other(bus.address());
    CHECK(other.adapter_call("StartDiscovery") == "ok");
  }
  // Leaving the bus ended the other's session; ours runs on.
  REQUIRE(bluez.wait_for("client-gone", 5s));
  CHECK(client.adapter_call("StartDiscovery") == "org.bluez.Error.InProgress");

  // Powered off: every session is dropped, every call is NotReady.
  CHECK(client.set_powered(false) == "ok");
  CHECK(client.wait_signal(fmt::format("PropertiesChanged {} Discovering,Powered", kAdapterPath), 5s));
  CHECK(client.set_filter(true) == "org.bluez.Error.NotReady");
  CHECK(client.adapter_call("StartDiscovery") == "org.bluez.Error.NotReady");
  CHECK(client.adapter_call("StopDiscovery") == "org.bluez.Error.NotReady");
  CHECK(client.set_powered(true) == "ok");
  CHECK(client.adapter_call("StopDiscovery") == "org.bluez.Error.Failed");
  CHECK(client.adapter_call("StartDiscovery") == "ok");
  CHECK(client.adapter_call("StopDiscovery") == "ok");
}

TEST_CASE("BlueZ double: DuplicateData decides whether unchanged ManufacturerData is signalled again") {
  SystemBus bus;
  BluezDouble bluez(bus);
  BusClient client(bus.address());
  INFO(bluez.all_output());

  // Nobody discovers: an advertisement makes no object.
  REQUIRE(bluez.command(govee_adv("000341c26400", -60)));
  CHECK(bluez.output().find("ignored adv A4:C1:38:27:62:01: not discovering") != std::string::npos);

  SUBCASE("DuplicateData false: RSSI on every report (filtered discovery), data only when it changes") {
    REQUIRE(client.set_filter(false) == "ok");
    REQUIRE(client.adapter_call("StartDiscovery") == "ok");
    REQUIRE(bluez.command(govee_adv("000341c26400", -60)));
    REQUIRE(client.wait_signal(std::string("InterfacesAdded ") + kGoveePath, 5s));
    size_t from = client.signals().size();
    REQUIRE(bluez.command(govee_adv("000341c26400", -60)));
    REQUIRE(client.wait_signal(std::string("PropertiesChanged ") + kGoveePath, 5s, from));
    CHECK(client.signals().back() == std::string("PropertiesChanged ") + kGoveePath + " RSSI");
    REQUIRE(bluez.command(govee_adv("00811f096400", -60)));
    REQUIRE(client.wait_signal("ManufacturerData", 5s, from));
    CHECK(client.signals().back() ==
          std::string("PropertiesChanged ") + kGoveePath + " RSSI,ManufacturerData");
  }
  SUBCASE("DuplicateData true: every report signals RSSI and ManufacturerData") {
    REQUIRE(client.set_filter(true) == "ok");
    REQUIRE(client.adapter_call("StartDiscovery") == "ok");
    REQUIRE(bluez.command(govee_adv("000341c26400", -60)));
    REQUIRE(client.wait_signal(std::string("InterfacesAdded ") + kGoveePath, 5s));
    size_t from = client.signals().size();
    REQUIRE(bluez.command(govee_adv("000341c26400", -60)));
    REQUIRE(client.wait_signal(std::string("PropertiesChanged ") + kGoveePath, 5s, from));
    CHECK(client.signals().back() ==
          std::string("PropertiesChanged ") + kGoveePath + " RSSI,ManufacturerData");
  }
  SUBCASE("no filter: RSSI only on a change of 8 dBm or more, data only when it changes") {
    REQUIRE(client.adapter_call("StartDiscovery") == "ok");
    REQUIRE(bluez.command(govee_adv("000341c26400", -60)));
    REQUIRE(client.wait_signal(std::string("InterfacesAdded ") + kGoveePath, 5s));
    size_t from = client.signals().size();
    REQUIRE(bluez.command(govee_adv("000341c26400", -65)));
    CHECK(bluez.output().find(std::string("signal none ") + kGoveePath) != std::string::npos);
    REQUIRE(bluez.command(govee_adv("000341c26400", -70)));
    REQUIRE(client.wait_signal(std::string("PropertiesChanged ") + kGoveePath, 5s, from));
    CHECK(client.signals().back() == std::string("PropertiesChanged ") + kGoveePath + " RSSI");
  }
}

TEST_CASE("BlueZ double: a device is removed TemporaryTimeout after its last advertisement") {
  SystemBus bus;
  BluezDouble bluez(bus, {"--temporary-timeout", "0.5"});
  BusClient client(bus.address());
  INFO(bluez.all_output());
  REQUIRE(client.set_filter(true) == "ok");
  REQUIRE(client.adapter_call("StartDiscovery") == "ok");
  auto started = std::chrono::steady_clock::now();
  REQUIRE(bluez.command(govee_adv("000341c26400", -60)));
  REQUIRE(client.wait_signal(std::string("InterfacesRemoved ") + kGoveePath, 5s));
  CHECK(std::chrono::steady_clock::now() - started >= 500ms);  // not before the timeout
  // And while discovery still runs, the next advertisement makes it anew.
  size_t from = client.signals().size();
  REQUIRE(bluez.command(govee_adv("000341c26400", -60)));
  CHECK(client.wait_signal(std::string("InterfacesAdded ") + kGoveePath, 5s, from));
}
