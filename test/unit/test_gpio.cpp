// Unit tests for the gpio module (SPEC 7.4, 7.5): pin numbering, chip
// selection, and RpiGpioSensor / RpiGpioActuator driven against the in-memory
// FakeBackend. The fake host maps timers and fd watches onto a real
// sr::EventLoop, so line events really travel through an eventfd, epoll and
// Host::watch_fd, and timers (debounce, the 0.5 s button pulse) really expire;
// the tests wait on the loop with deadlines, never with sleeps. Its monotonic
// clock can be moved forward for the ToggleDebounce and polling cases.
// The libgpiod backend itself runs against gpio-sim in the VM tier; here it
// only has to report a missing chip clearly.
#include "gpio/fake_backend.hpp"
#include "gpio/gpio_actuator.hpp"
#include "gpio/gpio_backend.hpp"
#include "gpio/gpio_sensor.hpp"
#include "gpio/gpiod_backend.hpp"
#include "loop/event_loop.h"

#include "support/strict_host.h"

#include <sensor_reporter/sdk.hpp>

#include <doctest/doctest.h>

#include <glob.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using sr::gpio::Bias;
using sr::gpio::Edge;
using sr::gpio::FakeBackend;
using sr::gpio::FakeLine;
using sr::gpio::RpiGpioActuator;
using sr::gpio::RpiGpioSensor;

namespace {

struct Published {
  std::string destination;
  std::string payload;
  uint32_t flags;
  bool operator==(const Published&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Published& p) {
  return out << "{" << p.destination << ", " << p.payload << ", flags " << p.flags << "}";
}

}  // namespace

namespace {

struct LogLine {
  int level;
  std::string text;
};

// Host services on a real event loop. The clock is the loop's plus an offset
// the test may advance.
struct LoopHost {
  sr::EventLoop loop;
  uint64_t clock_offset_ns = 0;
  std::string section = "Sensor_Test";
  std::vector<Published> published;
  std::vector<std::string> subscriptions;
  std::vector<LogLine> logs;
  // Where OnFakeBackend classes request their lines.
  FakeBackend* backend = nullptr;

  sr_host_ctx* ctx() { return reinterpret_cast<sr_host_ctx*>(this); }
  static LoopHost& of(sr_host_ctx* ctx) { return *reinterpret_cast<LoopHost*>(ctx); }
  sr::sdk::Host host();

  void advance(std::chrono::nanoseconds by) { clock_offset_ns += static_cast<uint64_t>(by.count()); }

  // Dispatches what is ready now (fd events already signalled, due timers).
  void pump() {
    for (int i = 0; i < 5; ++i) loop.run_once(0);
  }
  // Runs the loop until `done` or the deadline; true when done.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 3000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      loop.run_once(10);
    }
    return true;
  }
  std::vector<std::string> payloads_to(const std::string& destination) const {
    std::vector<std::string> out;
    for (const auto& p : published)
      if (p.destination == destination) out.push_back(p.payload);
    return out;
  }
  bool logged(int level, const std::string& fragment) const {
    for (const auto& line : logs)
      if (line.level == level && line.text.find(fragment) != std::string::npos) return true;
    return false;
  }
};

const sr_host_api kLoopApi = [] {
  sr_host_api api = sr::test::strict_host_api();
  api.log = [](sr_host_ctx* ctx, int level, const char* msg, size_t len) {
    LoopHost::of(ctx).logs.push_back({level, std::string(msg, len)});
  };
  api.publish = [](sr_host_ctx* ctx, const char* destination, const char* payload, size_t len,
                   uint32_t flags) {
    LoopHost::of(ctx).published.push_back({destination, std::string(payload, len), flags});
  };
  api.subscribe = [](sr_host_ctx* ctx, const char* source) {
    LoopHost::of(ctx).subscriptions.emplace_back(source);
    return SR_OK;
  };
  sr::test::serve_loop<LoopHost>(api);
  api.monotonic_ns = [](sr_host_ctx* ctx) {
    return sr::EventLoop::monotonic_ns() + LoopHost::of(ctx).clock_offset_ns;
  };
  api.section_name = [](sr_host_ctx* ctx) { return LoopHost::of(ctx).section.c_str(); };
  return api;
}();

sr::sdk::Host LoopHost::host() { return sr::sdk::Host(&kLoopApi, ctx()); }

// Values as the host hands them to Class, read by Class's table.
template <typename Class>
sr::sdk::Params params(sr::sdk::Params::Values values) {
  return sr::sdk::Params(Class::params, std::move(values));
}

// Class as the module exports it, but requesting its lines from the LoopHost's
// FakeBackend, so that its descriptor's trampolines can be driven.
template <typename Class>
struct OnFakeBackend : Class {
  OnFakeBackend(sr::sdk::Host host, const sr::sdk::Params& params)
      : Class(host, params, *LoopHost::of(host.ctx()).backend) {}
};

// An instance of Class created, driven and destroyed only through the
// descriptor its module exports (but for the backend, see OnFakeBackend).
template <typename Class>
struct ThroughDescriptor {
  static constexpr sr_class_def exported = sr::sdk::detail::make_class_def<Class>();
  static constexpr sr_class_def def = sr::sdk::detail::make_class_def<OnFakeBackend<Class>>();
  static_assert(def.kind == exported.kind && def.params == exported.params && def.ios == exported.ios);

  ThroughDescriptor(LoopHost& h, std::vector<sr_param_value> values) {
    char err[256] = {};
    instance = def.create(&kLoopApi, h.ctx(), values.data(), values.size(), err, sizeof err);
    REQUIRE_MESSAGE(instance != nullptr, err);
  }
  ThroughDescriptor(const ThroughDescriptor&) = delete;
  ThroughDescriptor& operator=(const ThroughDescriptor&) = delete;
  ~ThroughDescriptor() { destroy(); }
  void destroy() {
    if (instance) def.destroy(std::exchange(instance, nullptr));
  }

  void* instance = nullptr;
};

// True when the machine has any gpio chip: then the default chip may be found.
bool any_gpio_chip() {
  glob_t found{};
  const bool any = glob("/dev/gpiochip*", 0, nullptr, &found) == 0 && found.gl_pathc > 0;
  globfree(&found);
  return any;
}

// A Raspberry Pi 4 as the kernel shows it: the header chip and the firmware
// GPIO expander.
FakeBackend pi4() {
  FakeBackend backend;
  backend.add_chip("gpiochip0", "pinctrl-bcm2711", 58);
  backend.add_chip("gpiochip1", "raspberrypi-exp-gpio", 8);
  return backend;
}

// YYYY-MM-DDTHH:MM:SS.ffffff, digit by digit.
bool looks_like_timestamp(const std::string& text) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddddd";
  if (text.size() != shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    bool ok = shape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == shape[i];
    if (!ok) return false;
  }
  return true;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr auto kLow = false;
constexpr auto kHigh = true;

}  // namespace

// ---------------------------------------------------------------------------
// Class descriptions

TEST_CASE("the classes are a sensor and an actuator with their INI-era dotted paths") {
  constexpr sr_class_def sensor = sr::sdk::detail::make_class_def<RpiGpioSensor>();
  constexpr sr_class_def actuator = sr::sdk::detail::make_class_def<RpiGpioActuator>();
  CHECK(sensor.kind == SR_KIND_SENSOR);
  CHECK(std::string(sensor.path) == "gpio.rpi_gpio.RpiGpioSensor");
  CHECK(actuator.kind == SR_KIND_ACTUATOR);
  CHECK(std::string(actuator.path) == "gpio.rpi_gpio.RpiGpioActuator");
}

// The SDK fills a descriptor's hooks from the kind alone, so a hook pointer
// says nothing; these call through them and watch the line and the host.
TEST_CASE(
    "through its descriptor the sensor publishes at start, reads the line on poll and repeats on refresh") {
  LoopHost h;
  FakeBackend backend = pi4();
  h.backend = &backend;
  FakeLine& line = backend.line("gpiochip0", 4);
  ThroughDescriptor<RpiGpioSensor> sensor(
      h, {{"Pin", "4"}, {"PUD", "OFF"}, {"Destination", "d"}, {"Poll", "1"}});
  const sr_class_def& def = sensor.def;
  CHECK(def.start(sensor.instance) == SR_OK);
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED"});
  line.set_input(kHigh, 0s);
  CHECK(def.poll(sensor.instance) == SR_OK);
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED", "OPEN"});
  CHECK(def.refresh(sensor.instance) == SR_OK);
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED", "OPEN", "OPEN"});
  sensor.destroy();
  CHECK_FALSE(line.requested());
}

TEST_CASE("through its descriptor the actuator drives the line on a command and publishes the state") {
  LoopHost h;
  FakeBackend backend = pi4();
  h.backend = &backend;
  FakeLine& line = backend.line("gpiochip0", 19);
  ThroughDescriptor<RpiGpioActuator> actuator(
      h, {{"Pin", "19"}, {"CommandSrc", "light"}, {"StateDest", "light/state"}});
  const sr_class_def& def = actuator.def;
  CHECK(def.start(actuator.instance) == SR_OK);
  const std::string on = "ON";
  CHECK(def.on_command(actuator.instance, "light", on.data(), on.size()) == SR_OK);
  CHECK(line.output_level() == kHigh);
  CHECK(def.refresh(actuator.instance) == SR_OK);
  CHECK(h.payloads_to("light/state") == std::vector<std::string>{"OFF", "ON", "ON"});
  actuator.destroy();
  CHECK_FALSE(line.requested());
}

TEST_CASE("the parameter tables carry the INI-era names, defaults and the legacy Toggle alias") {
  auto find = [](const sr_param_def* table, const std::string& name) -> const sr_param_def* {
    for (const sr_param_def* p = table; p->name; ++p)
      if (name == p->name) return p;
    return nullptr;
  };
  const sr_param_def* s = RpiGpioSensor::params;
  for (const char* key :
       {"Pin", "Destination", "PUD", "EventDetection", "Values", "Short_Press-Dest", "Short_Press-Threshold",
        "Long_Press-Dest", "Long_Press-Threshold", "Btn_Pressed_State", "Chip", "Debounce", "PinNumbering"}) {
    CAPTURE(key);
    CHECK(find(s, key) != nullptr);
  }
  CHECK((find(s, "Pin")->flags & SR_PARAM_REQUIRED) != 0);
  CHECK(std::string(find(s, "PUD")->default_value) == "DOWN");
  CHECK(std::string(find(s, "Values")->default_value) == "CLOSED,OPEN");
  CHECK(std::string(find(s, "PinNumbering")->default_value) == "BCM");
  CHECK(find(s, "EventDetection")->default_value == nullptr);
  CHECK(find(s, "Btn_Pressed_State")->default_value == nullptr);  // depends on PUD

  const sr_param_def* a = RpiGpioActuator::params;
  for (const char* key : {"Pin", "CommandSrc", "StateDest", "ToggleCommandSrc", "InitialState", "InvertOut",
                          "SimulateButton", "Toggle", "ToggleDebounce", "Chip", "PinNumbering"}) {
    CAPTURE(key);
    CHECK(find(a, key) != nullptr);
  }
  CHECK(std::string(find(a, "ToggleDebounce")->default_value) == "0.15");
  CHECK(find(a, "SimulateButton")->type == SR_PARAM_BOOL);
  CHECK(find(a, "Toggle")->type == SR_PARAM_BOOL);
  // No default, so the actuator can tell whether SimulateButton was given.
  CHECK(find(a, "SimulateButton")->default_value == nullptr);
  CHECK(find(a, "Toggle")->default_value == nullptr);
}

TEST_CASE("the classes declare what they publish and accept") {
  const sr_io_def* s = RpiGpioSensor::ios;
  CHECK(std::string(s[0].key) == "Destination");
  CHECK(s[0].direction == SR_IO_PUBLISHES);
  CHECK(s[0].value_type == SR_VALUE_BINARY);
  CHECK(std::string(s[0].values) == "CLOSED,OPEN");
  CHECK(std::string(s[1].key) == "Short_Press-Dest");
  CHECK(s[1].value_type == SR_VALUE_TIMESTAMP);
  CHECK(std::string(s[1].measures) == "button");
  CHECK(std::string(s[2].key) == "Long_Press-Dest");
  CHECK(s[2].value_type == SR_VALUE_TIMESTAMP);
  CHECK(s[3].key == nullptr);

  const sr_io_def* a = RpiGpioActuator::ios;
  CHECK(std::string(a[0].key) == "CommandSrc");
  CHECK(a[0].direction == SR_IO_ACCEPTS);
  CHECK(a[0].value_type == SR_VALUE_COMMAND);
  CHECK(std::string(a[0].measures) == "switch");
  CHECK(std::string(a[1].key) == "ToggleCommandSrc");
  CHECK(a[1].value_type == SR_VALUE_TIMESTAMP);
  CHECK(std::string(a[2].key) == "StateDest");
  CHECK(a[2].direction == SR_IO_PUBLISHES);
  CHECK(std::string(a[2].values) == "OFF,ON");
  CHECK(a[3].key == nullptr);
}

// ---------------------------------------------------------------------------
// Pin numbering

TEST_CASE("board_to_bcm maps every GPIO pin of the 40-pin header") {
  const std::vector<std::pair<int, unsigned>> table = {
      {3, 2},   {5, 3},   {7, 4},   {8, 14},  {10, 15}, {11, 17}, {12, 18}, {13, 27}, {15, 22}, {16, 23},
      {18, 24}, {19, 10}, {21, 9},  {22, 25}, {23, 11}, {24, 8},  {26, 7},  {27, 0},  {28, 1},  {29, 5},
      {31, 6},  {32, 12}, {33, 13}, {35, 19}, {36, 16}, {37, 26}, {38, 20}, {40, 21}};
  for (auto [board, bcm] : table) {
    CAPTURE(board);
    CHECK(sr::gpio::board_to_bcm(board) == bcm);
  }
}

TEST_CASE("board_to_bcm names power and ground pins and pins off the header") {
  using sr::gpio::board_to_bcm;
  CHECK(error_of([] { board_to_bcm(1); }) == "board pin 1 is 3.3 V power, not a GPIO");
  CHECK(error_of([] { board_to_bcm(17); }) == "board pin 17 is 3.3 V power, not a GPIO");
  CHECK(error_of([] { board_to_bcm(2); }) == "board pin 2 is 5 V power, not a GPIO");
  CHECK(error_of([] { board_to_bcm(4); }) == "board pin 4 is 5 V power, not a GPIO");
  for (int ground : {6, 9, 14, 20, 25, 30, 34, 39}) {
    CAPTURE(ground);
    CHECK(error_of([=] { board_to_bcm(ground); }) ==
          fmt::format("board pin {} is ground, not a GPIO", ground));
  }
  CHECK(error_of([] { board_to_bcm(0); }) == "board pin 0 is outside 1..40 of the 40-pin header");
  CHECK(error_of([] { board_to_bcm(41); }) == "board pin 41 is outside 1..40 of the 40-pin header");
}

TEST_CASE("PinNumbering = BOARD requests the BCM line of the physical pin") {
  LoopHost h;
  FakeBackend backend = pi4();
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>({{"Pin", "11"}, {"PinNumbering", "BOARD"}, {"Destination", "d"}, {"Poll", "1"}}),
      backend);
  CHECK(backend.line("gpiochip0", 17).requested());
  CHECK_FALSE(backend.line("gpiochip0", 11).requested());
}

TEST_CASE("PinNumbering = BOARD with a ground pin is a creation error naming the pin") {
  LoopHost h;
  FakeBackend backend = pi4();
  CHECK(error_of([&] {
          RpiGpioSensor(h.host(),
                        params<RpiGpioSensor>(
                            {{"Pin", "6"}, {"PinNumbering", "board"}, {"Destination", "d"}, {"Poll", "1"}}),
                        backend);
        }) == "board pin 6 is ground, not a GPIO");
}

TEST_CASE("a BCM pin beyond the chip's lines is an error naming the range and the chip") {
  LoopHost h;
  FakeBackend backend = pi4();
  CHECK(error_of([&] {
          RpiGpioActuator(h.host(), params<RpiGpioActuator>({{"Pin", "58"}, {"CommandSrc", "c"}}), backend);
        }) == "Pin 58 is outside 0..57 of gpiochip0 'pinctrl-bcm2711'");
}

// ---------------------------------------------------------------------------
// Chip selection

TEST_CASE("Chip selects by path, name, number and label") {
  FakeBackend backend = pi4();
  CHECK(sr::gpio::select_chip(backend, "/dev/gpiochip1")->info().name == "gpiochip1");
  CHECK(sr::gpio::select_chip(backend, "gpiochip1")->info().name == "gpiochip1");
  CHECK(sr::gpio::select_chip(backend, "1")->info().name == "gpiochip1");
  CHECK(sr::gpio::select_chip(backend, "raspberrypi-exp-gpio")->info().name == "gpiochip1");
  CHECK(sr::gpio::select_chip(backend, "pinctrl-bcm2711")->info().name == "gpiochip0");
  // A label in another case, when unambiguous.
  CHECK(sr::gpio::select_chip(backend, "PINCTRL-BCM2711")->info().name == "gpiochip0");
  CHECK(backend.opened() == std::vector<std::string>{"/dev/gpiochip1", "/dev/gpiochip1", "/dev/gpiochip1",
                                                     "/dev/gpiochip1", "/dev/gpiochip0", "/dev/gpiochip0"});
}

TEST_CASE("without Chip the Raspberry Pi header chip is found by its label, wherever it is numbered") {
  SUBCASE("Pi 5 on an older kernel: RP1 is gpiochip4") {
    FakeBackend backend;
    backend.add_chip("gpiochip0", "gpio-brcmstb@107d508500", 32);
    backend.add_chip("gpiochip1", "gpio-brcmstb@107d508520", 4);
    backend.add_chip("gpiochip4", "pinctrl-rp1", 54);
    CHECK(sr::gpio::select_chip(backend, "")->info().name == "gpiochip4");
  }
  SUBCASE("Pi 4") {
    FakeBackend backend;
    backend.add_chip("gpiochip0", "raspberrypi-exp-gpio", 8);
    backend.add_chip("gpiochip1", "pinctrl-bcm2711", 58);
    CHECK(sr::gpio::select_chip(backend, "")->info().name == "gpiochip1");
  }
  SUBCASE("Pi 3 / Zero") {
    FakeBackend backend;
    backend.add_chip("gpiochip0", "pinctrl-bcm2835", 54);
    backend.add_chip("gpiochip1", "raspberrypi-exp-gpio", 8);
    CHECK(sr::gpio::select_chip(backend, "")->info().name == "gpiochip0");
  }
  SUBCASE("another board: gpiochip0") {
    FakeBackend backend;
    backend.add_chip("gpiochip1", "gpio-sim", 8);
    backend.add_chip("gpiochip0", "some-soc-gpio", 32);
    CHECK(sr::gpio::select_chip(backend, "")->info().name == "gpiochip0");
  }
}

TEST_CASE("a chip that is not there is a clear error") {
  FakeBackend backend = pi4();
  CHECK(error_of([&] { sr::gpio::select_chip(backend, "/dev/gpiochip9"); }) ==
        "cannot open gpio chip /dev/gpiochip9: No such file or directory");
  CHECK(error_of([&] { sr::gpio::select_chip(backend, "gpiochip7"); }) ==
        "cannot open gpio chip /dev/gpiochip7: No such file or directory");
  CHECK(error_of([&] { sr::gpio::select_chip(backend, "pinctrl-rp1"); }) ==
        "no gpio chip has the label 'pinctrl-rp1' (found: gpiochip0 'pinctrl-bcm2711' gpiochip1 "
        "'raspberrypi-exp-gpio')");
  FakeBackend empty;
  CHECK(error_of([&] { sr::gpio::select_chip(empty, ""); }) ==
        "cannot open gpio chip /dev/gpiochip0: No such file or directory");
}

TEST_CASE("the Chip parameter reaches the plugin classes") {
  LoopHost h;
  FakeBackend backend = pi4();
  RpiGpioActuator actuator(
      h.host(),
      params<RpiGpioActuator>({{"Pin", "3"}, {"CommandSrc", "c"}, {"Chip", "raspberrypi-exp-gpio"}}),
      backend);
  CHECK(backend.line("gpiochip1", 3).requested());
  CHECK_FALSE(backend.line("gpiochip0", 3).requested());
}

// ---------------------------------------------------------------------------
// The libgpiod backend: compiled, linked, and clear about a missing chip

TEST_CASE("the libgpiod backend reports a missing chip path clearly") {
  sr::gpio::GpiodBackend backend;
  std::string error = error_of([&] { backend.open_chip("/nonexistent/gpiochip99"); });
  CHECK(error.starts_with("cannot open gpio chip /nonexistent/gpiochip99: "));
  CHECK(error.find("No such file or directory") != std::string::npos);
}

TEST_CASE("the libgpiod backend lists nothing in a directory without chips") {
  char dir[] = "/tmp/sr-gpio-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  sr::gpio::GpiodBackend backend(dir);
  CHECK(backend.list_chips().empty());
  rmdir(dir);
}

TEST_CASE("created through the SDK trampolines, a sensor on a missing chip fails with the reason") {
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<RpiGpioSensor>();
  LoopHost h;
  sr_param_value values[] = {
      {"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}, {"Chip", "/nonexistent/gpiochip99"}};
  char err[256] = {};
  CHECK(def.create(&kLoopApi, h.ctx(), values, 4, err, sizeof err) == nullptr);
  CHECK(std::string(err).starts_with("cannot open gpio chip /nonexistent/gpiochip99: "));
}

// Where there are chips the default one may open (real hardware: the VM
// tier covers it), so the case is skipped there.
TEST_CASE("without any gpio chip the default chip is reported missing" * doctest::skip(any_gpio_chip())) {
  constexpr sr_class_def def = sr::sdk::detail::make_class_def<RpiGpioActuator>();
  LoopHost h;
  sr_param_value values[] = {{"Pin", "17"}, {"CommandSrc", "c"}};
  char err[256] = {};
  void* instance = def.create(&kLoopApi, h.ctx(), values, 2, err, sizeof err);
  if (instance) def.destroy(instance);
  CHECK(instance == nullptr);
  CHECK(std::string(err) == "cannot open gpio chip /dev/gpiochip0: No such file or directory");
}

// ---------------------------------------------------------------------------
// RpiGpioSensor: line request

TEST_CASE("PUD chooses the bias; event detection asks the kernel for both edges") {
  struct Case {
    const char* pud;
    Bias bias;
  };
  for (auto [pud, bias] :
       {Case{"UP", Bias::PullUp}, Case{"DOWN", Bias::PullDown}, Case{"OFF", Bias::Disabled},
        Case{"up", Bias::PullUp}, Case{nullptr, Bias::PullDown}}) {
    CAPTURE((pud ? pud : "(default)"));
    LoopHost h;
    FakeBackend backend = pi4();
    std::vector<std::pair<std::string, std::string>> values = {
        {"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "RISING"}};
    if (pud) values.emplace_back("PUD", pud);
    RpiGpioSensor sensor(h.host(), params<RpiGpioSensor>(values), backend);
    FakeLine& line = backend.line("gpiochip0", 17);
    CHECK(line.direction() == FakeLine::Direction::Input);
    CHECK(line.bias() == bias);
    CHECK(line.edge() == Edge::Both);
    CHECK(line.consumer() == "sr:Sensor_Test");
  }
}

TEST_CASE("a polled sensor requests no edges and watches no fd") {
  LoopHost h;
  FakeBackend backend = pi4();
  RpiGpioSensor sensor(h.host(), params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}, {"Poll", "1"}}),
                       backend);
  CHECK(backend.line("gpiochip0", 17).edge() == Edge::None);
  CHECK(h.loop.watch_count() == 0);
  CHECK(sensor.mode() == RpiGpioSensor::Mode::Poll);
}

TEST_CASE("an event sensor watches the line's event fd until it is destroyed, then releases the line") {
  LoopHost h;
  FakeBackend backend = pi4();
  {
    RpiGpioSensor sensor(
        h.host(), params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}}),
        backend);
    CHECK(h.loop.watch_count() == 1);
    CHECK(backend.line("gpiochip0", 17).requested());
  }
  CHECK(h.loop.watch_count() == 0);
  CHECK_FALSE(backend.line("gpiochip0", 17).requested());
}

TEST_CASE("a line another section holds is a creation error") {
  LoopHost h;
  FakeBackend backend = pi4();
  RpiGpioSensor first(h.host(), params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}, {"Poll", "1"}}),
                      backend);
  CHECK(error_of([&] {
          RpiGpioActuator(h.host(), params<RpiGpioActuator>({{"Pin", "17"}, {"CommandSrc", "c"}}), backend);
        }) == "cannot request line 17 of gpiochip0 as output: Device or resource busy");
}

TEST_CASE("without EventDetection and without Poll the sensor cannot be created") {
  LoopHost h;
  FakeBackend backend = pi4();
  CHECK(error_of([&] {
          RpiGpioSensor(h.host(), params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}}), backend);
        }) == "without EventDetection the line is polled: set Poll (seconds) or EventDetection");
  CHECK(error_of([&] {
          RpiGpioSensor(
              h.host(),
              params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "NONE"}}),
              backend);
        }) == "without EventDetection the line is polled: set Poll (seconds) or EventDetection");
}

// ---------------------------------------------------------------------------
// RpiGpioSensor: states

TEST_CASE("BOTH publishes the state at start and on every edge") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(), params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "door"}, {"EventDetection", "BOTH"}}),
      backend);
  sensor.start();
  CHECK(h.published == std::vector<Published>{{"door", "CLOSED", 0}});
  line.set_input(kHigh, 1s);
  h.pump();
  line.set_input(kLow, 2s);
  h.pump();
  line.set_input(kHigh, 3s);
  h.pump();
  CHECK(h.payloads_to("door") == std::vector<std::string>{"CLOSED", "OPEN", "CLOSED", "OPEN"});
  sensor.refresh();
  CHECK(h.payloads_to("door").back() == "OPEN");
}

TEST_CASE("RISING publishes every LOW-to-HIGH change, not only the first, and nothing on falling edges") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(), params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "pir"}, {"EventDetection", "RISING"}}),
      backend);
  sensor.start();
  for (int i = 0; i < 3; ++i) {
    line.set_input(kHigh, std::chrono::seconds(2 * i + 1));
    h.pump();
    line.set_input(kLow, std::chrono::seconds(2 * i + 2));
    h.pump();
  }
  CHECK(h.payloads_to("pir") == std::vector<std::string>{"CLOSED", "OPEN", "OPEN", "OPEN"});
  // The cache follows the line through unpublished edges too.
  CHECK_FALSE(sensor.state());
  sensor.refresh();
  CHECK(h.payloads_to("pir").back() == "CLOSED");
}

TEST_CASE("FALLING publishes every HIGH-to-LOW change and nothing on rising edges") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>(
          {{"Pin", "17"}, {"PUD", "UP"}, {"Destination", "btn"}, {"EventDetection", "FALLING"}}),
      backend);
  sensor.start();  // pull-up: HIGH
  for (int i = 0; i < 2; ++i) {
    line.set_input(kLow, std::chrono::seconds(2 * i + 1));
    h.pump();
    line.set_input(kHigh, std::chrono::seconds(2 * i + 2));
    h.pump();
  }
  CHECK(h.payloads_to("btn") == std::vector<std::string>{"OPEN", "CLOSED", "CLOSED"});
}

TEST_CASE("an edge that does not change the cached level publishes nothing") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(), params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}}),
      backend);
  sensor.start();
  line.push_event(false, 1s);  // a falling edge while LOW (e.g. a missed rising one)
  h.pump();
  CHECK(h.published.size() == 1);
}

TEST_CASE("Values maps LOW and HIGH to texts, trimmed") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>(
          {{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}, {"Values", "  OFF ,  ON  "}}),
      backend);
  sensor.start();
  line.set_input(kHigh, 1s);
  h.pump();
  CHECK(h.payloads_to("d") == std::vector<std::string>{"OFF", "ON"});
}

TEST_CASE("Values that are not exactly two texts are a creation error") {
  LoopHost h;
  FakeBackend backend = pi4();
  auto make = [&](const char* values) {
    return error_of([&] {
      RpiGpioSensor(
          h.host(),
          params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}, {"Poll", "1"}, {"Values", values}}),
          backend);
    });
  };
  CHECK(make("ON") == "Values must be two comma-separated texts value_for_LOW,value_for_HIGH, not 'ON'");
  CHECK(make("A,B,C") ==
        "Values must be two comma-separated texts value_for_LOW,value_for_HIGH, not 'A,B,C'");
  CHECK(make("A, ") == "Values has an empty text: 'A, '");
}

// ---------------------------------------------------------------------------
// RpiGpioSensor: debounce

TEST_CASE("Debounce: a bouncing change is published once, after the level settled") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>(
          {{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}, {"Debounce", "0.1"}}),
      backend);
  sensor.start();
  line.set_input(kHigh, 1000ms);
  line.set_input(kLow, 1001ms);
  line.set_input(kHigh, 1002ms);
  h.pump();
  CHECK(h.published.size() == 1);  // still settling
  CHECK(h.run_until([&] { return h.published.size() == 2; }));
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED", "OPEN"});
  // Nothing more once settled.
  CHECK_FALSE(h.run_until([&] { return h.published.size() > 2; }, 150ms));
}

TEST_CASE("Debounce: a glitch that ends where it started publishes nothing") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>(
          {{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}, {"Debounce", "0.03"}}),
      backend);
  sensor.start();
  line.set_input(kHigh, 1000ms);
  line.set_input(kLow, 1001ms);
  CHECK_FALSE(h.run_until([&] { return h.published.size() > 1; }, 200ms));
  CHECK_FALSE(sensor.state());
}

TEST_CASE("Debounce: each edge restarts the settle time") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>(
          {{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}, {"Debounce", "0.5"}}),
      backend);
  sensor.start();
  line.set_input(kHigh, 1000ms);
  h.run_until([] { return false; }, 100ms);  // let 100 ms of the settle time pass
  // The settle time is long enough that only a loop stalled for 0.4 s has
  // published already; then the case cannot show the restart, and fails.
  REQUIRE_MESSAGE(h.published.size() == 1, "the loop stalled past the settle time before the bounce");
  // A bounce now moves the deadline to 500 ms after it (without the restart
  // it would come 400 ms after it): timers never fire early.
  line.set_input(kLow, 1100ms);
  line.set_input(kHigh, 1101ms);
  auto bounced = std::chrono::steady_clock::now();
  CHECK(h.run_until([&] { return h.published.size() == 2; }));
  CHECK(std::chrono::steady_clock::now() - bounced >= 490ms);
  CHECK(h.payloads_to("d").back() == "OPEN");
}

TEST_CASE("Debounce: the period is offered to the kernel, with edges only") {
  LoopHost h;
  FakeBackend backend = pi4();
  RpiGpioSensor events(h.host(),
                       params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"},
                                              {"Debounce", "0.02"}}),
                       backend);
  CHECK(backend.line("gpiochip0", 17).requested_debounce() == 20000us);
  RpiGpioSensor polled(
      h.host(), params<RpiGpioSensor>({{"Pin", "18"}, {"Destination", "d"}, {"Poll", "1"}, {"Debounce", "0.02"}}),
      backend);
  CHECK(backend.line("gpiochip0", 18).requested_debounce() == 0us);
}

TEST_CASE("Debounce: when the kernel takes the period its events are published at once, without a timer") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  line.kernel_debounce(FakeLine::KernelDebounce::Takes);
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>(
          {{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}, {"Debounce", "0.5"}}),
      backend);
  CHECK(h.logged(SR_LOG_INFO, "debounced by the kernel (500000 us)"));
  CHECK_FALSE(h.logged(SR_LOG_WARNING, "debounce"));
  sensor.start();
  line.set_input(kHigh, 1000ms);
  h.pump();  // no 0.5 s settle time: the kernel's event is already settled
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED", "OPEN"});
}

TEST_CASE("Debounce: a kernel that refuses the period is said once and the sensor debounces itself") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  line.kernel_debounce(FakeLine::KernelDebounce::Refuses, "Invalid argument");
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>(
          {{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}, {"Debounce", "0.1"}}),
      backend);
  size_t refusals = 0;
  for (const auto& log : h.logs)
    if (log.level == SR_LOG_WARNING && log.text.find("refused a debounce period of 100000 us (Invalid argument); "
                                                     "debouncing in software") != std::string::npos)
      ++refusals;
  CHECK(refusals == 1);
  sensor.start();
  line.set_input(kHigh, 1000ms);
  line.set_input(kLow, 1001ms);
  line.set_input(kHigh, 1002ms);
  h.pump();
  CHECK(h.published.size() == 1);  // the settle timer runs
  CHECK(h.run_until([&] { return h.published.size() == 2; }));
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED", "OPEN"});
  size_t later = 0;
  for (const auto& log : h.logs) later += log.text.find("refused") != std::string::npos;
  CHECK(later == 1);
}

// ---------------------------------------------------------------------------
// RpiGpioSensor: button presses

TEST_CASE("button presses: short and long go to their destinations as local timestamps") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(h.host(),
                       params<RpiGpioSensor>({{"Pin", "17"},
                                              {"PUD", "UP"},
                                              {"EventDetection", "BOTH"},
                                              {"Destination", "btn"},
                                              {"Short_Press-Dest", "short"},
                                              {"Long_Press-Dest", "long"},
                                              {"Long_Press-Threshold", "1.2"}}),
                       backend);
  sensor.start();
  // Pressed is LOW with PUD = UP. Durations come from the event timestamps.
  line.set_input(kLow, 10'000ms);
  line.set_input(kHigh, 10'300ms);
  h.pump();
  REQUIRE(h.payloads_to("short").size() == 1);
  CHECK(h.payloads_to("long").empty());
  line.set_input(kLow, 20'000ms);
  line.set_input(kHigh, 21'200ms);  // exactly the threshold counts as long
  h.pump();
  REQUIRE(h.payloads_to("long").size() == 1);
  CHECK(h.payloads_to("short").size() == 1);
  CHECK(h.payloads_to("btn") == std::vector<std::string>{"OPEN", "CLOSED", "OPEN", "CLOSED", "OPEN"});
  // Each stamp toggles an actuator, and a LocalConnection forwards it as
  // TOGGLE (its rule is the SDK's).
  RpiGpioActuator light(
      h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}, {"ToggleDebounce", "0"}}),
      backend);
  for (const auto& stamp : {h.payloads_to("short")[0], h.payloads_to("long")[0]}) {
    CAPTURE(stamp);
    CHECK(looks_like_timestamp(stamp));
    CHECK(sr::sdk::is_toggle_command(stamp));
    light.on_command("light", stamp);
  }
  CHECK(backend.line("gpiochip0", 19).writes() == std::vector<bool>{kLow, kHigh, kLow});
}

TEST_CASE("button presses shorter than Short_Press-Threshold are ignored") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(h.host(),
                       params<RpiGpioSensor>({{"Pin", "17"},
                                              {"EventDetection", "BOTH"},
                                              {"Destination", "btn"},
                                              {"Short_Press-Dest", "short"},
                                              {"Short_Press-Threshold", "0.5"}}),
                       backend);
  sensor.start();
  // PUD defaults to DOWN, so pressed is HIGH.
  line.set_input(kHigh, 1000ms);
  line.set_input(kLow, 1400ms);
  h.pump();
  CHECK(h.payloads_to("short").empty());
  line.set_input(kHigh, 2000ms);
  line.set_input(kLow, 2500ms);
  h.pump();
  CHECK(h.payloads_to("short").size() == 1);
}

TEST_CASE("without Long_Press-Threshold every press is short") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(h.host(),
                       params<RpiGpioSensor>({{"Pin", "17"},
                                              {"EventDetection", "BOTH"},
                                              {"Destination", "btn"},
                                              {"Short_Press-Dest", "short"},
                                              {"Long_Press-Dest", "long"}}),
                       backend);
  CHECK(h.logged(SR_LOG_WARNING, "Long_Press-Dest is set without a Long_Press-Threshold"));
  sensor.start();
  line.set_input(kHigh, 1s);
  line.set_input(kLow, 100s);
  h.pump();
  CHECK(h.payloads_to("short").size() == 1);
  CHECK(h.payloads_to("long").empty());
}

TEST_CASE("Btn_Pressed_State overrides the default taken from PUD") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(h.host(),
                       params<RpiGpioSensor>({{"Pin", "17"},
                                              {"PUD", "UP"},
                                              {"Btn_Pressed_State", "HIGH"},
                                              {"EventDetection", "BOTH"},
                                              {"Destination", "btn"},
                                              {"Short_Press-Dest", "short"}}),
                       backend);
  sensor.start();  // HIGH, but the press was not seen starting
  line.set_input(kLow, 1s);
  h.pump();
  CHECK(h.payloads_to("short").empty());
  line.set_input(kHigh, 2s);
  line.set_input(kLow, 3s);
  h.pump();
  CHECK(h.payloads_to("short").size() == 1);
}

TEST_CASE("Debounce dates a press by the first edge of each burst") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(h.host(),
                       params<RpiGpioSensor>({{"Pin", "17"},
                                              {"EventDetection", "BOTH"},
                                              {"Debounce", "0.02"},
                                              {"Destination", "btn"},
                                              {"Short_Press-Dest", "short"},
                                              {"Long_Press-Dest", "long"},
                                              {"Long_Press-Threshold", "1"}}),
                       backend);
  sensor.start();
  line.set_input(kHigh, 1000ms);  // press, bouncing
  line.set_input(kLow, 1001ms);
  line.set_input(kHigh, 1002ms);
  CHECK(h.run_until([&] { return sensor.state(); }));
  line.set_input(kLow, 2000ms);  // release exactly 1 s after the first press edge
  line.set_input(kHigh, 2003ms);
  line.set_input(kLow, 2004ms);
  CHECK(h.run_until([&] { return !h.payloads_to("long").empty(); }));
  CHECK(h.payloads_to("short").empty());
}

TEST_CASE("format_local_timestamp always has six fraction digits") {
  std::string saved = getenv("TZ") ? getenv("TZ") : "";
  bool had_tz = getenv("TZ") != nullptr;
  setenv("TZ", "UTC", 1);
  tzset();
  using std::chrono::system_clock;
  auto at = system_clock::time_point(std::chrono::seconds(1714566896));
  CHECK(sr::gpio::format_local_timestamp(at) == "2024-05-01T12:34:56.000000");
  CHECK(sr::gpio::format_local_timestamp(at + std::chrono::microseconds(123456)) ==
        "2024-05-01T12:34:56.123456");
  if (had_tz)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
}

// ---------------------------------------------------------------------------
// RpiGpioSensor: polling

TEST_CASE("polling publishes at start and then only on change") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 4);
  RpiGpioSensor sensor(
      h.host(), params<RpiGpioSensor>({{"Pin", "4"}, {"PUD", "OFF"}, {"Destination", "d"}, {"Poll", "1"}}),
      backend);
  sensor.start();
  sensor.poll();  // the host's first poll follows start at once
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED"});
  line.set_input(kHigh, 0s);
  sensor.poll();
  sensor.poll();
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED", "OPEN"});
  line.set_input(kLow, 0s);
  sensor.poll();
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED", "OPEN", "CLOSED"});
  CHECK(line.pending_events() == 0);  // no edges were requested
}

TEST_CASE("polling times button presses with the host clock") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 4);
  RpiGpioSensor sensor(h.host(),
                       params<RpiGpioSensor>({{"Pin", "4"},
                                              {"Destination", "d"},
                                              {"Poll", "0.1"},
                                              {"Short_Press-Dest", "short"},
                                              {"Long_Press-Dest", "long"},
                                              {"Long_Press-Threshold", "2"}}),
                       backend);
  sensor.start();
  line.set_input(kHigh, 0s);
  sensor.poll();
  h.advance(3s);
  line.set_input(kLow, 0s);
  sensor.poll();
  CHECK(h.payloads_to("long").size() == 1);
  CHECK(h.payloads_to("short").empty());
}

TEST_CASE("an event sensor ignores polls, with a warning about Poll at creation") {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 17);
  RpiGpioSensor sensor(
      h.host(),
      params<RpiGpioSensor>({{"Pin", "17"}, {"Destination", "d"}, {"EventDetection", "BOTH"}, {"Poll", "5"}}),
      backend);
  CHECK(h.logged(SR_LOG_WARNING, "Poll is ignored"));
  sensor.start();
  line.set_input(kHigh, 1s);
  sensor.poll();  // the event, not the poll, reports the change
  CHECK(h.published.size() == 1);
  h.pump();
  CHECK(h.payloads_to("d") == std::vector<std::string>{"CLOSED", "OPEN"});
}

// ---------------------------------------------------------------------------
// RpiGpioActuator

struct ActuatorFixture {
  LoopHost h;
  FakeBackend backend = pi4();
  FakeLine& line = backend.line("gpiochip0", 19);
  ActuatorFixture() { h.section = "Actuator_Test"; }
};

TEST_CASE("the actuator subscribes CommandSrc, drives low at start and echoes OFF to CommandSrc") {
  ActuatorFixture f;
  RpiGpioActuator actuator(f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}}),
                           f.backend);
  CHECK(f.h.subscriptions == std::vector<std::string>{"light"});
  CHECK(f.line.direction() == FakeLine::Direction::Output);
  CHECK(f.line.writes() == std::vector<bool>{kLow});
  CHECK(f.line.consumer() == "sr:Actuator_Test");
  actuator.start();
  CHECK(f.h.published == std::vector<Published>{{"light", "OFF", SR_PUBLISH_ECHO}});
  actuator.refresh();
  CHECK(f.h.published.back() == Published{"light", "OFF", SR_PUBLISH_ECHO});
}

TEST_CASE("ON, OFF, TOGGLE and button timestamps drive the line and publish the state") {
  ActuatorFixture f;
  RpiGpioActuator actuator(
      f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}, {"ToggleDebounce", "0"}}),
      f.backend);
  actuator.start();
  actuator.on_command("light", "ON");
  CHECK(f.line.output_level() == kHigh);
  actuator.on_command("light", "ON");  // no change, nothing published
  actuator.on_command("light", "OFF");
  CHECK(f.line.output_level() == kLow);
  actuator.on_command("light", "TOGGLE");
  CHECK(f.line.output_level() == kHigh);
  actuator.on_command("light", "2024-05-01T12:34:56.123456");
  CHECK(f.line.output_level() == kLow);
  actuator.on_command("light", "2024-05-01T12:34:56.123456+02:00");
  CHECK(f.line.output_level() == kHigh);
  actuator.on_command("light", "off\n");  // any case, trimmed
  CHECK(f.line.output_level() == kLow);
  CHECK(f.h.payloads_to("light") == std::vector<std::string>{"OFF", "ON", "OFF", "ON", "OFF", "ON", "OFF"});
  for (const auto& p : f.h.published) CHECK(p.flags == SR_PUBLISH_ECHO);
  CHECK(f.line.writes() == std::vector<bool>{kLow, kHigh, kLow, kHigh, kLow, kHigh, kLow});
}

TEST_CASE("a bad command is logged and changes nothing") {
  ActuatorFixture f;
  RpiGpioActuator actuator(f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}}),
                           f.backend);
  actuator.start();
  actuator.on_command("light", "DIM 50");
  actuator.on_command("light", "2024-05-01 12:34:56");  // not a button timestamp
  CHECK(f.h.logged(SR_LOG_ERROR, "bad command 'DIM 50'"));
  CHECK(f.h.logged(SR_LOG_ERROR, "bad command '2024-05-01 12:34:56'"));
  CHECK(f.line.writes() == std::vector<bool>{kLow});
  CHECK(f.h.published.size() == 1);
}

TEST_CASE("InitialState ON drives the line high at start and the state is ON") {
  ActuatorFixture f;
  RpiGpioActuator actuator(
      f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}, {"InitialState", "ON"}}),
      f.backend);
  CHECK(f.line.writes() == std::vector<bool>{kHigh});
  CHECK(actuator.state());
  actuator.start();
  CHECK(f.h.payloads_to("light") == std::vector<std::string>{"ON"});
}

TEST_CASE("InvertOut: logical ON drives the line low; InitialState stays a physical level") {
  ActuatorFixture f;
  RpiGpioActuator actuator(
      f.h.host(),
      params<RpiGpioActuator>(
          {{"Pin", "19"}, {"CommandSrc", "light"}, {"InitialState", "ON"}, {"InvertOut", "yes"}}),
      f.backend);
  CHECK(f.line.writes() == std::vector<bool>{kHigh});
  CHECK_FALSE(actuator.state());  // high means OFF when inverted
  actuator.start();
  actuator.on_command("light", "ON");
  CHECK(f.line.output_level() == kLow);
  actuator.on_command("light", "OFF");
  CHECK(f.line.output_level() == kHigh);
  CHECK(f.h.payloads_to("light") == std::vector<std::string>{"OFF", "ON", "OFF"});
}

TEST_CASE("with StateDest the state goes there, not echoed to CommandSrc") {
  ActuatorFixture f;
  RpiGpioActuator actuator(
      f.h.host(),
      params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}, {"StateDest", "light/state"}}),
      f.backend);
  actuator.start();
  actuator.on_command("light", "ON");
  actuator.refresh();
  CHECK(f.h.published == std::vector<Published>{
                             {"light/state", "OFF", 0}, {"light/state", "ON", 0}, {"light/state", "ON", 0}});
}

TEST_CASE("ToggleCommandSrc is subscribed too and any message there toggles") {
  ActuatorFixture f;
  RpiGpioActuator actuator(
      f.h.host(),
      params<RpiGpioActuator>(
          {{"Pin", "19"}, {"CommandSrc", "light"}, {"ToggleCommandSrc", "wall"}, {"ToggleDebounce", "0"}}),
      f.backend);
  CHECK(f.h.subscriptions == std::vector<std::string>{"light", "wall"});
  actuator.start();
  actuator.on_command("wall", "2024-05-01T12:34:56.123456");
  CHECK(f.line.output_level() == kHigh);
  actuator.on_command("wall", "pressed");
  CHECK(f.line.output_level() == kLow);
  actuator.on_command("light", "pressed");  // on CommandSrc it is a bad command
  CHECK(f.line.output_level() == kLow);
  CHECK(f.h.logged(SR_LOG_ERROR, "bad command 'pressed'"));
}

TEST_CASE("ToggleDebounce ignores a toggle too soon after the last accepted one") {
  ActuatorFixture f;
  RpiGpioActuator actuator(f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}}),
                           f.backend);  // 0.15 s
  actuator.start();
  actuator.on_command("light", "TOGGLE");
  CHECK(actuator.state());
  f.h.advance(100ms);
  actuator.on_command("light", "TOGGLE");
  CHECK(actuator.state());  // ignored
  f.h.advance(100ms);       // 0.2 s after the accepted one
  actuator.on_command("light", "TOGGLE");
  CHECK_FALSE(actuator.state());
  // ON and OFF are not toggles: no debounce.
  actuator.on_command("light", "ON");
  CHECK(actuator.state());
  CHECK(f.line.writes() == std::vector<bool>{kLow, kHigh, kLow, kHigh});
}

TEST_CASE("SimulateButton pulses the line for 0.5 s without blocking the loop") {
  ActuatorFixture f;
  RpiGpioActuator actuator(
      f.h.host(),
      params<RpiGpioActuator>(
          {{"Pin", "19"}, {"CommandSrc", "door"}, {"InitialState", "ON"}, {"SimulateButton", "yes"}}),
      f.backend);
  actuator.start();
  CHECK(f.h.published == std::vector<Published>{{"door", "OFF", SR_PUBLISH_ECHO}});

  auto began = std::chrono::steady_clock::now();
  actuator.on_command("door", "ON");
  CHECK(std::chrono::steady_clock::now() - began < 100ms);  // returned at once
  CHECK(f.line.output_level() == kLow);
  CHECK(actuator.pulsing());

  // The loop keeps running other work during the pulse.
  bool other_work = false;
  f.h.loop.add_timer(50'000'000, 0, [&] { other_work = true; });
  CHECK(f.h.run_until([&] { return other_work; }));
  CHECK(f.line.output_level() == kLow);
  actuator.on_command("door", "TOGGLE");  // ignored while pressed
  CHECK(f.line.writes() == std::vector<bool>{kHigh, kLow});

  CHECK(f.h.run_until([&] { return f.line.output_level() == kHigh; }));
  auto held = std::chrono::steady_clock::now() - began;
  CHECK(held >= 490ms);  // timers never fire early
  CHECK_FALSE(actuator.pulsing());
  CHECK(f.line.writes() == std::vector<bool>{kHigh, kLow, kHigh});
  // A button has no state: nothing was published for the pulse.
  CHECK(f.h.published.size() == 1);
  actuator.refresh();
  CHECK(f.h.published.back() == Published{"door", "OFF", SR_PUBLISH_ECHO});
}

TEST_CASE("the legacy Toggle option means SimulateButton; SimulateButton wins when both are given") {
  SUBCASE("Toggle = yes") {
    ActuatorFixture f;
    RpiGpioActuator actuator(
        f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "door"}, {"Toggle", "True"}}),
        f.backend);
    actuator.on_command("door", "anything");
    CHECK(actuator.pulsing());
    CHECK(f.line.output_level() == kHigh);  // away from InitialState OFF
  }
  SUBCASE("SimulateButton = no, Toggle = yes") {
    ActuatorFixture f;
    RpiGpioActuator actuator(
        f.h.host(),
        params<RpiGpioActuator>(
            {{"Pin", "19"}, {"CommandSrc", "door"}, {"SimulateButton", "no"}, {"Toggle", "yes"}}),
        f.backend);
    CHECK(f.h.logged(SR_LOG_WARNING, "SimulateButton applies"));
    actuator.on_command("door", "ON");
    CHECK_FALSE(actuator.pulsing());
    CHECK(actuator.state());
  }
}

TEST_CASE("destroying a pulsing actuator cancels its timer and releases the line") {
  ActuatorFixture f;
  {
    RpiGpioActuator actuator(
        f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "door"}, {"SimulateButton", "1"}}),
        f.backend);
    actuator.on_command("door", "x");
    CHECK(f.h.loop.timer_count() == 1);
  }
  CHECK(f.h.loop.timer_count() == 0);
  CHECK_FALSE(f.line.requested());
}

TEST_CASE("the actuator toggles on TOGGLE and on the button timestamps the local connection accepts") {
  struct Case {
    const char* text;
    bool toggles;
  };
  for (auto [text, toggles] :
       {Case{"TOGGLE", true}, Case{"2024-05-01T12:34:56.123456", true},
        Case{"2024-05-01T12:34:56.123456+0200", true}, Case{"2024-05-01T12:34:56.123456-02:00", true},
        Case{"", false}, Case{"2024-05-01T12:34:56", false}, Case{"2024-05-01 12:34:56.123456", false},
        Case{"2024-05-01T12:34:56.123456+02-00", false}}) {
    CAPTURE(text);
    ActuatorFixture f;
    RpiGpioActuator actuator(f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}}),
                             f.backend);
    actuator.on_command("light", text);
    CHECK(actuator.state() == toggles);
    CHECK(f.h.logged(SR_LOG_ERROR, "bad command") == !toggles);
    CHECK(sr::sdk::is_toggle_command(text) == toggles);  // the LocalConnection's rule
  }
}

TEST_CASE("the actuator takes TOGGLE in any case, like ON and OFF") {
  ActuatorFixture f;
  RpiGpioActuator actuator(f.h.host(), params<RpiGpioActuator>({{"Pin", "19"}, {"CommandSrc", "light"}}),
                           f.backend);
  actuator.on_command("light", " toggle ");
  CHECK(actuator.state());
  CHECK(f.line.output_level() == kHigh);
}
