// The bt module's BlueZ client against a BlueZ double: a private dbus-daemon
// (<type>system</type>), the double owning org.bluez on it
// (test/support/bluez_double.cpp), a real mosquitto on a free loopback port,
// and the real sensor_reporter with DBUS_SYSTEM_BUS_ADDRESS pointing at the
// private bus. Checked on the MQTT wire and in the daemon's log.
//
// The first cases check the double itself against BlueZ 5.66's contract
// (bluetooth.md §3.2) with a plain sd-bus client: a double that answered
// differently from BlueZ would make the rest worthless.
//
// Every wait is on an event (a line of the double or the daemon, an MQTT
// message) with a deadline; nothing sleeps to synchronise.
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"
#include "support/system_bus.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <systemd/sd-bus.h>
#include <nlohmann/json.hpp>

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

// ---------------------------------------------------------------------------
// The real daemon with a GoveeSensor and a BtleSensor on the double.

// `connection`: more keys of the MQTT connection (Discovery = ...).
std::string config(int port, const std::string& extra = "", const std::string& connection = "") {
  return fmt::format(R"([Logging]
Level = INFO

[Connection_MQTT]
Class = mqtt.mqtt_conn.MqttConnection
Name = mqtt
Host = 127.0.0.1
Port = {}
RootTopic = sensor_reporter
Client = reporter
ReconnectMin = 0.2
ReconnectMax = 1
{}
[Sensor_Govee]
Class = bt.govee_sensor.GoveeSensor
Connection = mqtt
Destination = govee

[Sensor_Presence]
Class = bt.btle_sensor.BtleSensor
Connection = mqtt
Poll = 2
Timeout = 1
Address1 = a4:c1:38:00:00:02
Destination1 = presence/thermometer
{}
)",
                     port, connection, extra);
}

// An H5075 advertisement of kGovee: the bytes after the company ID 0xEC88.
std::string govee_adv(const std::string& data, int rssi, const std::string& address = kGovee) {
  return fmt::format("adv {} GVH5075_2762 ec88 {} rssi={}", address, data, rssi);
}

struct Rig {
  explicit Rig(std::vector<std::string> double_args = {}, bool start_bluez = true)
      : bluez(bus, std::move(double_args), start_bluez), mqtt(broker.port()) {
    REQUIRE(mqtt.wait_connected(10s));
    REQUIRE(mqtt.subscribe("sensor_reporter/#"));
  }
  void start_daemon() {
    daemon = std::make_unique<Process>(
        std::vector<std::string>{binary(), dir.write("sr.ini", config(broker.port(), "", connection))},
        std::vector<std::string>{bus.env()});
  }
  // Started, and BlueZ's discovery session opened for it.
  void start_discovering() {
    start_daemon();
    REQUIRE_MESSAGE(logged("bt: discovering LE advertisements on hci0"), context());
    REQUIRE_MESSAGE(bluez.wait_for("call StartDiscovery /org/bluez/hci0", 5s), context());
  }
  // One H5075 advertisement of kGovee, and its temp_c on the wire.
  bool reading(const std::string& data, int rssi, const std::string& temp_c) {
    return bluez.command(govee_adv(data, rssi)) && published("govee/GVH5075_2762/temp_c", temp_c);
  }
  // The daemon's log line, after `from` (an offset into its output).
  bool logged(const std::string& text, size_t from = 0, std::chrono::milliseconds timeout = 10s) {
    return daemon->wait_for_output(text, timeout, from);
  }
  size_t log_mark() const { return daemon->output().size(); }
  size_t log_count(const std::string& text) const { return occurrences(daemon->output(), text); }
  bool published(const std::string& topic, const std::string& payload,
                 std::chrono::milliseconds timeout = 10s) {
    return mqtt.wait_for_message("sensor_reporter/" + topic, payload, timeout);
  }
  size_t count(const std::string& topic, const std::string& payload) const {
    size_t n = 0;
    for (const auto& m : mqtt.messages("sensor_reporter/" + topic)) n += m.payload == payload;
    return n;
  }
  std::string context() const {
    return "daemon:\n" + (daemon ? daemon->output() : std::string()) + "\nBlueZ double:\n" +
           bluez.all_output();
  }

  SystemBus bus;
  BluezDouble bluez;
  Broker broker;
  MqttClient mqtt;
  TempDir dir;
  std::unique_ptr<Process> daemon;
  std::string connection;  // more keys of the MQTT connection
};

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
  // One advertisement of kGovee; what the client heard of the device:
  // "InterfacesAdded", "PropertiesChanged KEY,KEY", or "none" (the double
  // said it signalled nothing).
  auto advertise = [&](const std::string& data, int rssi) -> std::string {
    size_t from = client.signals().size(), mark = bluez.mark();
    REQUIRE(bluez.command(govee_adv(data, rssi)));
    if (bluez.output().find("signal none", mark) != std::string::npos) return "none";
    if (bluez.output().find("ignored adv", mark) != std::string::npos) return "ignored";
    REQUIRE(client.wait_signal(kGoveePath, 5s, from));
    for (size_t i = from; i < client.signals().size(); ++i) {
      std::string line = client.signals()[i];
      size_t at = line.find(std::string(" ") + kGoveePath);
      if (at != std::string::npos) return line.erase(at, std::string(kGoveePath).size() + 1);
    }
    return "?";
  };

  // Nobody discovers: an advertisement makes no object.
  CHECK(advertise("000341c26400", -60) == "ignored");

  SUBCASE("DuplicateData false: RSSI on every report (filtered discovery), data only when it changes") {
    REQUIRE(client.set_filter(false) == "ok");
    REQUIRE(client.adapter_call("StartDiscovery") == "ok");
    CHECK(advertise("000341c26400", -60) == "InterfacesAdded");
    CHECK(advertise("000341c26400", -60) == "PropertiesChanged RSSI");
    CHECK(advertise("00811f096400", -60) == "PropertiesChanged RSSI,ManufacturerData");
  }
  SUBCASE("DuplicateData true: every report signals RSSI and ManufacturerData") {
    REQUIRE(client.set_filter(true) == "ok");
    REQUIRE(client.adapter_call("StartDiscovery") == "ok");
    CHECK(advertise("000341c26400", -60) == "InterfacesAdded");
    CHECK(advertise("000341c26400", -60) == "PropertiesChanged RSSI,ManufacturerData");
  }
  SUBCASE("no filter: RSSI only on a change of 8 dBm or more, data only when it changes") {
    REQUIRE(client.adapter_call("StartDiscovery") == "ok");
    CHECK(advertise("000341c26400", -60) == "InterfacesAdded");
    CHECK(advertise("000341c26400", -65) == "none");
    CHECK(advertise("000341c26400", -70) == "PropertiesChanged RSSI");
    CHECK(advertise("00811f096400", -70) == "PropertiesChanged ManufacturerData");
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

// ---------------------------------------------------------------------------
// The real daemon.

TEST_CASE("bt: an H5075 advertisement through BlueZ is published decoded, every advertisement") {
  Rig rig;
  rig.start_discovering();
  INFO(rig.context());
  // The scanner asked for every advertisement: Transport le, DuplicateData true.
  REQUIRE(rig.bluez.wait_for("call StartDiscovery /org/bluez/hci0", 5s));
  CHECK(rig.bluez.output().find("call SetDiscoveryFilter /org/bluez/hci0") != std::string::npos);

  CHECK(rig.reading("000341c26400", -67, "21.30"));
  CHECK(rig.published("govee/GVH5075_2762/humi", "44.20"));
  CHECK(rig.published("govee/GVH5075_2762/battery", "100"));
  CHECK(rig.published("govee/GVH5075_2762/temp_f", "70.34"));
  CHECK(rig.published("govee/GVH5075_2762/rssi", "-67"));

  // A second reading below zero arrives as PropertiesChanged.
  REQUIRE(rig.bluez.command(govee_adv("00811f096400", -71)));
  CHECK(rig.bluez.output().find(std::string("signal PropertiesChanged ") + kGoveePath +
                                " org.bluez.Device1 RSSI=-71,ManufacturerData=ec88:00811f096400") !=
        std::string::npos);
  CHECK(rig.published("govee/GVH5075_2762/temp_c", "-7.30"));
  CHECK(rig.published("govee/GVH5075_2762/temp_f", "18.86"));
  CHECK(rig.published("govee/GVH5075_2762/humi", "48.10"));
  CHECK(rig.published("govee/GVH5075_2762/rssi", "-71"));

  // The same bytes again: published again (DuplicateData true reached BlueZ;
  // with false, BlueZ would signal RSSI only and nothing would be published).
  REQUIRE(rig.bluez.command(govee_adv("00811f096400", -72)));
  CHECK(rig.published("govee/GVH5075_2762/rssi", "-72"));
  CHECK(rig.count("govee/GVH5075_2762/temp_c", "-7.30") == 2);
  // Nothing was published under any other name.
  for (const auto& m : rig.mqtt.messages())
    if (m.topic.rfind("sensor_reporter/govee/", 0) == 0)
      CHECK(m.topic.rfind("sensor_reporter/govee/GVH5075_2762/", 0) == 0);

  // Stopped, the daemon leaves the bus and BlueZ ends its session.
  size_t mark = rig.bluez.mark();
  rig.daemon->signal(SIGTERM);
  CHECK(rig.daemon->wait_exit(10s) == 0);
  CHECK(rig.bluez.wait_for("client-gone", 5s, mark));
  CHECK(rig.bluez.wait_for("signal PropertiesChanged /org/bluez/hci0 org.bluez.Adapter1 Discovering=false",
                           5s, mark));
}

TEST_CASE("bt: bluetoothd restarted: discovery stops, runs again, and the next advertisement is published") {
  Rig rig;
  rig.start_discovering();
  INFO(rig.context());
  REQUIRE(rig.reading("000341c26400", -67, "21.30"));

  SUBCASE("killed and back at once, the adapter powered") {
    size_t mark = rig.log_mark();
    rig.bluez.kill();
    REQUIRE(rig.logged("bt: discovery on hci0 stopped: bluetoothd left the D-Bus system bus", mark));
    rig.bluez.start();
    REQUIRE(rig.logged("bt: bluetoothd is on the D-Bus system bus again: listing adapters", mark));
    REQUIRE(rig.logged("bt: discovery on hci0 running again", mark));
  }
  SUBCASE("killed; the new bluetoothd owns the name before its adapter is registered and powered") {
    size_t mark = rig.log_mark();
    rig.bluez.kill();
    REQUIRE(rig.logged("bt: discovery on hci0 stopped: bluetoothd left the D-Bus system bus", mark));
    BluezDouble late(rig.bus, {"--no-adapter"});
    REQUIRE(late.wait_for("call GetManagedObjects /", 10s));
    REQUIRE(rig.logged("bt: BlueZ has no Bluetooth adapter: discovery starts when it appears", mark));
    // The controller registers unpowered, then AutoEnable powers it.
    REQUIRE(late.command("add-adapter"));
    REQUIRE(rig.logged("bt: discovery on hci0 running again", mark));
    REQUIRE(late.wait_for("call StartDiscovery /org/bluez/hci0", 5s));
    REQUIRE(late.command(govee_adv("000418ee6400", -60)));
    CHECK(rig.published("govee/GVH5075_2762/temp_c", "26.80"));
    CHECK(rig.published("govee/GVH5075_2762/humi", "52.60"));
    late.kill();
    return;
  }
  REQUIRE(rig.bluez.wait_for("call StartDiscovery /org/bluez/hci0", 5s));
  CHECK(rig.reading("000418ee6400", -60, "26.80"));
  CHECK(rig.published("govee/GVH5075_2762/humi", "52.60"));
  CHECK(rig.log_count("discovery on hci0 stopped") == 1);
  CHECK(rig.log_count("discovery on hci0 running again") == 1);
}

TEST_CASE(
    "bt: adapter powered off and on, or removed and plugged in: one log line each, discovery "
    "re-established") {
  Rig rig;
  rig.start_discovering();
  INFO(rig.context());
  std::string off, stopped, on;
  SUBCASE("powered off and on") { off = "power off", stopped = "stopped: powered off", on = "power on"; }
  SUBCASE("removed and plugged in (registered unpowered, then AutoEnable)") {
    off = "remove-adapter", stopped = "stopped: adapter hci0 was removed", on = "add-adapter";
  }
  REQUIRE(rig.bluez.command(off));
  REQUIRE(rig.logged("bt: discovery on hci0 " + stopped));
  // Meanwhile nothing is discovered, nothing published.
  REQUIRE(rig.bluez.command(govee_adv("000341c26400", -67)));
  CHECK(rig.bluez.output().find("ignored adv A4:C1:38:27:62:01: not discovering") != std::string::npos);

  size_t mark = rig.bluez.mark();
  REQUIRE(rig.bluez.command(on));
  REQUIRE(rig.logged("bt: hci0 powered on"));
  REQUIRE(rig.logged("bt: discovery on hci0 running again"));
  // BlueZ dropped the session and the filter: both are asked for again.
  REQUIRE(rig.bluez.wait_for("call StartDiscovery /org/bluez/hci0", 5s, mark));
  CHECK(rig.bluez.output().find("call SetDiscoveryFilter /org/bluez/hci0", mark) != std::string::npos);
  REQUIRE(rig.reading("000341c26400", -67, "21.30"));
  CHECK(rig.log_count("discovery on hci0 stopped") == 1);
  CHECK(rig.log_count("hci0 powered on") == 1);
  CHECK(rig.log_count("discovery on hci0 running again") == 1);
}

TEST_CASE("bt: the daemon started before bluetoothd discovers once it appears") {
  Rig rig({}, false);
  rig.start_daemon();
  INFO(rig.context());
  REQUIRE(
      rig.logged("bt: bluetoothd is not running (no org.bluez on the system bus): discovery waits for it"));
  rig.bluez.start();
  REQUIRE(rig.logged("bt: discovering LE advertisements on hci0"));
  CHECK(rig.reading("000341c26400", -67, "21.30"));
}

TEST_CASE("bt: BtleSensor is ON while its device advertises and OFF once Timeout passed without one") {
  Rig rig;
  rig.start_discovering();
  INFO(rig.context());
  const std::string topic = "sensor_reporter/presence/thermometer";
  // Before any advertisement: absent.
  REQUIRE(rig.mqtt.wait_for_message(topic, "OFF", 10s));
  // The device advertises every 250 ms (its advertising interval) until the
  // daemon calls it present.
  std::chrono::steady_clock::time_point last_advert;
  bool on = false;
  for (int i = 0; i < 40 && !on; ++i) {
    REQUIRE(rig.bluez.command("adv A4:C1:38:00:00:02 - - - rssi=-50"));
    last_advert = std::chrono::steady_clock::now();
    on = rig.mqtt.wait_for_message(topic, "ON", 250ms);
  }
  REQUIRE(on);
  // No more advertisements: OFF at the first poll more than Timeout (1 s) after the last.
  REQUIRE(rig.mqtt.wait_for(
      [&](const std::vector<Received>& all) {
        return std::count_if(all.begin(), all.end(), [&](const Received& m) { return m.topic == topic; }) >=
               3;
      },
      10s));
  auto messages = rig.mqtt.messages(topic);
  REQUIRE(messages.size() == 3);
  CHECK(messages[0].payload == "OFF");
  CHECK(messages[1].payload == "ON");
  CHECK(messages[2].payload == "OFF");
  CHECK(messages[2].at - last_advert >= 1s);
}

TEST_CASE("bt: a device BlueZ removed after TemporaryTimeout and found again is published again") {
  Rig rig({"--temporary-timeout", "0.5"});
  rig.start_discovering();
  INFO(rig.context());
  REQUIRE(rig.reading("000341c26400", -67, "21.30"));
  REQUIRE(rig.bluez.wait_for(std::string("signal InterfacesRemoved ") + kGoveePath, 5s));
  CHECK(rig.reading("000418ee6400", -60, "26.80"));
}

TEST_CASE(
    "bt: a Govee device BlueZ already lists when the daemon starts is published under its advertised name") {
  // Another client (Home Assistant, bluetoothctl) discovers, so BlueZ keeps
  // the device object with its Name; BlueZ signals Name only when it changes,
  // so the daemon learns it from GetManagedObjects or not at all.
  Rig rig;
  BusClient other(rig.bus.address());
  REQUIRE(other.set_filter(false) == "ok");
  REQUIRE(other.adapter_call("StartDiscovery") == "ok");
  REQUIRE(rig.bluez.command(govee_adv("000341c26400", -67)));
  REQUIRE(rig.bluez.output().find(std::string("signal InterfacesAdded ") + kGoveePath) != std::string::npos);

  rig.start_discovering();
  INFO(rig.context());
  REQUIRE(rig.bluez.command(govee_adv("000418ee6400", -60)));
  CHECK(rig.bluez.output().find(std::string("signal PropertiesChanged ") + kGoveePath +
                                " org.bluez.Device1 RSSI=-60,ManufacturerData=ec88:000418ee6400") !=
        std::string::npos);
  CHECK(rig.published("govee/GVH5075_2762/temp_c", "26.80"));
  for (const auto& m : rig.mqtt.messages())
    if (m.topic.rfind("sensor_reporter/govee/", 0) == 0)
      CHECK(m.topic.rfind("sensor_reporter/govee/GVH5075_2762/", 0) == 0);
}

// ---------------------------------------------------------------------------
// Discovery of the Govee's tree: devices named at run time, announced to Home
// Assistant after their first advertisement, kept across a restart.

namespace {

constexpr const char* kHaDevice = "homeassistant/device/pi/config";
constexpr const char* kGoveeTemp = "sensor_govee_gvh5075_2762_temp_c";

// The last config of ours on the wire naming `component`; null when none.
nlohmann::json config_with(const std::vector<Received>& messages, const std::string& component) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->topic != kHaDevice) continue;
    const auto j = nlohmann::json::parse(it->payload, nullptr, false);
    if (j.is_object() && j["components"].contains(component)) return j;
  }
  return nullptr;
}

}  // namespace

TEST_CASE(
    "bt: Home Assistant discovery announces a Govee after its first advertisement and keeps it across a "
    "restart") {
  Rig rig;
  rig.connection = "Discovery = homeassistant\nDeviceId = pi\n";
  REQUIRE(rig.mqtt.subscribe("homeassistant/#", 1));
  rig.start_discovering();
  INFO(rig.context());
  REQUIRE(rig.logged("discovery: announced"));
  REQUIRE(rig.mqtt.wait_for([](auto& m) { return count_topic(m, kHaDevice) >= 1; }, 10s));
  CHECK(config_with(rig.mqtt.messages(), "sensor_presence_destination1") != nullptr);
  CHECK(config_with(rig.mqtt.messages(), kGoveeTemp) == nullptr);

  REQUIRE(rig.reading("000341c26400", -67, "21.30"));
  REQUIRE(rig.logged("discovery: [Sensor_Govee] device GVH5075_2762 appeared"));
  REQUIRE(rig.mqtt.wait_for([](auto& m) { return config_with(m, kGoveeTemp) != nullptr; }, 10s));
  const nlohmann::json config = config_with(rig.mqtt.messages(), kGoveeTemp);
  const nlohmann::json& c = config["components"];
  CHECK(c[kGoveeTemp] == nlohmann::json::parse(R"({"platform":"sensor",
      "unique_id":"sr_pi_sensor_govee_gvh5075_2762_temp_c","default_entity_id":"sensor.pi_sensor_govee_gvh5075_2762_temp_c",
      "name":"Sensor_Govee GVH5075_2762 Temperature","state_topic":"sensor_reporter/govee/GVH5075_2762/temp_c",
      "device_class":"temperature","state_class":"measurement","unit_of_measurement":"°C","qos":1})"));
  CHECK(c["sensor_govee_gvh5075_2762_humi"]["device_class"] == "humidity");
  CHECK(c["sensor_govee_gvh5075_2762_humi"]["unit_of_measurement"] == "%");
  CHECK(c["sensor_govee_gvh5075_2762_humi"]["state_topic"] == "sensor_reporter/govee/GVH5075_2762/humi");
  CHECK(c["sensor_govee_gvh5075_2762_battery"]["device_class"] == "battery");
  CHECK(c["sensor_govee_gvh5075_2762_battery"]["unit_of_measurement"] == "%");
  CHECK(c["sensor_govee_gvh5075_2762_temp_f"]["unit_of_measurement"] == "°F");
  CHECK(c["sensor_govee_gvh5075_2762_rssi"]["device_class"] == "signal_strength");
  CHECK(c["sensor_govee_gvh5075_2762_rssi"]["unit_of_measurement"] == "dBm");
  // The config went out before the device's first value.
  {
    const auto m = rig.mqtt.messages();
    auto config_at = std::find_if(m.begin(), m.end(), [](auto& r) {
      return r.topic == kHaDevice && r.payload.find(kGoveeTemp) != std::string::npos;
    });
    auto first_value = std::find_if(m.begin(), m.end(), [](auto& r) {
      return r.topic.rfind("sensor_reporter/govee/GVH5075_2762/", 0) == 0;
    });
    CHECK(config_at < first_value);
  }
  // HA subscribes to the state once it has the config: the refresh after
  // the announcement repeats the value.
  CHECK(rig.mqtt.wait_for(
      [](auto& m) { return count(m, "sensor_reporter/govee/GVH5075_2762/temp_c", "21.30") >= 2; }, 10s));

  // A restart: before any advertisement the Govee is still announced, and
  // was never reduced to its platform on the way.
  rig.daemon->signal(SIGTERM);
  REQUIRE(rig.daemon->wait_exit(10s) == 0);
  rig.mqtt.clear();
  rig.start_discovering();
  REQUIRE(rig.logged("discovery: 1 device(s) of tree sections found announced on the broker: kept"));
  REQUIRE(rig.logged("discovery: announced"));
  REQUIRE(rig.mqtt.wait_for([](auto& m) { return count_topic(m, kHaDevice) >= 1; }, 10s));
  for (const Received& r : rig.mqtt.messages(kHaDevice)) {
    const auto j = nlohmann::json::parse(r.payload);
    CHECK(j["components"][kGoveeTemp] == c[kGoveeTemp]);
  }
  MqttClient late(rig.broker.port());
  REQUIRE(late.wait_connected(5s));
  REQUIRE(late.subscribe(kHaDevice, 1));
  REQUIRE(late.wait_for([](auto& m) { return count_topic(m, kHaDevice) >= 1; }, 5s));
  const auto retained = nlohmann::json::parse(late.messages(kHaDevice).back().payload);
  CHECK(retained["components"] == c);
  CHECK(rig.log_count("device GVH5075_2762 appeared") == 0);
}
