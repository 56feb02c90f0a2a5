// Fuzz target: actuator command payloads.
//
// Input (FuzzedDataProvider): a configuration byte for a real
// gpio.rpi_gpio.RpiGpioActuator on the in-memory FakeBackend (InvertOut,
// InitialState, ToggleCommandSrc, SimulateButton), then a sequence of
// (source, clock step, payload) commands sent to on_command. Every payload is
// also split the way exec.exec_actuator.ExecActuator turns it into argv words.
//
// Invariants:
//  - the actuator's state follows a model of the documented contract: ON/OFF
//    in any case (surrounding whitespace ignored) set it, TOGGLE and button
//    timestamps (and anything on ToggleCommandSrc) flip it unless within
//    ToggleDebounce of the last accepted toggle, anything else changes nothing
//    and logs an error; the line level is always state XOR InvertOut; a
//    change publishes exactly the new state; with SimulateButton the state
//    stays OFF and the line pulses away from InitialState;
//  - exec::split_words yields non-empty words without whitespace whose
//    concatenation is the payload minus its whitespace, and is a fixed point
//    of join_words; strip_trailing_whitespace removes exactly the trailing
//    whitespace.
#include "exec/child_process.hpp"
#include "gpio/fake_backend.hpp"
#include "gpio/gpio_actuator.hpp"

#include "fuzz_host.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using sr::fuzz::FuzzHost;

bool exec_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view c_trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

void check_words(std::string_view payload) {
  auto words = sr::exec::split_words(payload);
  std::string squeezed, joined;
  for (char c : payload)
    if (!exec_space(c)) squeezed += c;
  for (const auto& word : words) {
    FUZZ_CHECK(!word.empty());
    for (char c : word) FUZZ_CHECK(!exec_space(c));
    joined += word;
  }
  FUZZ_CHECK(joined == squeezed);
  FUZZ_CHECK(sr::exec::split_words(sr::exec::join_words(words)) == words);

  auto stripped = sr::exec::strip_trailing_whitespace(payload);
  FUZZ_CHECK(payload.substr(0, stripped.size()) == stripped);
  FUZZ_CHECK(stripped.empty() || !exec_space(stripped.back()));
  for (char c : payload.substr(stripped.size())) FUZZ_CHECK(exec_space(c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const uint8_t config = input.ConsumeIntegral<uint8_t>();
  const bool invert = config & 1;
  const bool initial_high = config & 2;
  const bool has_toggle_src = config & 4;
  const bool simulate_button = (config & 0x18) == 0x18;  // rarer: every command then only pulses
  const bool zero_debounce = config & 0x20;

  FuzzHost host;
  host.section = "Actuator_Fuzz";
  sr::gpio::FakeBackend backend;
  backend.add_chip("gpiochip0", "pinctrl-bcm2711", 20);
  sr::gpio::FakeLine& line = backend.line("gpiochip0", 19);

  std::vector<std::pair<std::string, std::string>> values = {
      {"Pin", "19"}, {"CommandSrc", "light"}, {"InitialState", initial_high ? "HIGH" : "LOW"}};
  if (invert) values.emplace_back("InvertOut", "yes");
  if (has_toggle_src) values.emplace_back("ToggleCommandSrc", "light/toggle");
  if (simulate_button) values.emplace_back("SimulateButton", "yes");
  if (zero_debounce) values.emplace_back("ToggleDebounce", "0");
  const auto debounce = zero_debounce ? std::chrono::nanoseconds(0) : std::chrono::milliseconds(150);

  sr::gpio::RpiGpioActuator actuator(
      host.host(), sr::sdk::Params(sr::gpio::RpiGpioActuator::params, std::move(values)), backend);
  actuator.start();
  bool state = simulate_button ? false : initial_high != invert;
  FUZZ_CHECK(actuator.state() == state);
  FUZZ_CHECK(line.output_level() == initial_high);
  std::optional<uint64_t> last_toggle;
  bool pulsing = false;

  while (input.remaining_bytes() > 0) {
    static const char* const sources[] = {"light", "light/toggle", "elsewhere"};
    std::string source = sources[input.ConsumeIntegralInRange<int>(0, 2)];
    host.clock_ns += static_cast<uint64_t>(input.ConsumeIntegral<uint8_t>()) * 1'000'000;  // 0..255 ms
    std::string payload = input.ConsumeRandomLengthString(48);

    check_words(payload);

    host.clear();
    actuator.on_command(source, payload);

    if (simulate_button) {
      // The pulse timer never fires here: the first command presses, the
      // rest are ignored while "pressed".
      pulsing = true;
      FUZZ_CHECK(actuator.pulsing() == pulsing);
      FUZZ_CHECK(line.output_level() == !initial_high);
      FUZZ_CHECK(!actuator.state());
      FUZZ_CHECK(host.published.empty());
      continue;
    }

    std::string_view command = c_trim(payload);
    const bool before = state;
    bool rejected = false;
    if ((has_toggle_src && source == "light/toggle") || sr::sdk::is_toggle_command(command) ||
        iequals(command, "TOGGLE")) {
      if (!last_toggle || host.clock_ns - *last_toggle >= static_cast<uint64_t>(debounce.count())) {
        last_toggle = host.clock_ns;
        state = !state;
      }
    } else if (iequals(command, "ON") || iequals(command, "OFF")) {
      state = iequals(command, "ON");
    } else {
      rejected = true;
    }

    FUZZ_CHECK(actuator.state() == state);
    FUZZ_CHECK(line.output_level() == (state != invert));
    if (state != before) {
      FUZZ_CHECK(host.published.size() == 1);
      FUZZ_CHECK(host.published[0].payload == (state ? "ON" : "OFF"));
      FUZZ_CHECK(host.published[0].destination == "light");
      FUZZ_CHECK(host.published[0].flags == SR_PUBLISH_ECHO);
    } else {
      FUZZ_CHECK(host.published.empty());
    }
    if (rejected) {
      bool logged_error = false;
      for (const auto& [level, text] : host.logs)
        logged_error |= text.find("bad command") != std::string::npos;
      FUZZ_CHECK(logged_error);
    }
  }
  return 0;
}
