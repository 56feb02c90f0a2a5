// Unit tests for energymeter.read_meter_values.Pafal20ec3gr: the IEC
// 62056-21 pieces (identification, option select, data message reader, data
// block, registers, the number format) against messages built from the
// standard (support/iec_meter.h), and the class through its trampolines on
// testing.hpp's FakeHost, reading a pseudo-terminal whose other end this
// test plays the meter on. The real daemon against the meter simulator is
// test/integration/test_meter.cpp.
#include "energymeter/iec62056.hpp"
#include "energymeter/read_meter_values.hpp"
#include "energymeter/serial_port.hpp"

#include "support/doctest_vector.h"
#include "support/iec_meter.h"

#include <sensor_reporter/testing.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace sr::energymeter;
using namespace sr::energymeter::iec62056;
using namespace std::chrono_literals;
using sr::sdk::testing::FakeHost;
using sr::sdk::testing::Instance;
namespace meter = sr::test::iec;

DataMessageReader read_all(std::string_view bytes) {
  DataMessageReader reader;
  reader.feed(bytes);
  return reader;
}

// A pseudo-terminal: the plugin opens the slave as its SerialDevice, the
// test is the meter on the master.
class PtyMeter {
 public:
  PtyMeter() : master_(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) {
    REQUIRE(master_);
    REQUIRE(grantpt(master_.get()) == 0);
    REQUIRE(unlockpt(master_.get()) == 0);
    path_ = ptsname(master_.get());
    // Held open by the meter, so the pty lives between readouts and the
    // test can read the port's settings as the plugin left them.
    slave_ = sr::sdk::UniqueFd(::open(path_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    REQUIRE(slave_);
  }
  const std::string& path() const { return path_; }
  // Reads until `text` has arrived (5 s at most); returns all it read.
  std::string read_until(std::string_view text) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (got.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      char buffer[256];
      ssize_t n = ::read(master_.get(), buffer, sizeof buffer);
      if (n > 0) got.append(buffer, static_cast<size_t>(n));
    }
    return got;
  }
  void say(const std::string& bytes) { REQUIRE(::write(master_.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size())); }
  unsigned port_baud() const {
    termios t{};
    REQUIRE(tcgetattr(slave_.get(), &t) == 0);
    return meter::baud_of(cfgetospeed(&t));
  }

 private:
  sr::sdk::UniqueFd master_;
  sr::sdk::UniqueFd slave_;
  std::string path_;
};

std::string logs_of(const FakeHost& host) {
  std::string text;
  for (const auto& line : host.logs()) text += "\n  " + line.text;
  return text;
}

// Plays the meter up to its data message: reads the sign-on, identifies as
// the Pafal (9600 baud), reads the option select and waits for the port to
// switch to 9600.
void identify(PtyMeter& pty, FakeHost& host, Instance<Pafal20ec3gr>& sensor) {
  REQUIRE(sensor.poll() == SR_POLL_PENDING);
  REQUIRE(pty.read_until("/?!\r\n") == "/?!\r\n");
  pty.say(meter::pafal_identification());
  REQUIRE(host.run_until([&] { return sensor.object().bytes_received() == 17; }, 5s));
  REQUIRE(pty.read_until("\r\n") == "\x06" "050\r\n");
  REQUIRE(host.run_until([&] { return pty.port_baud() == 9600; }, 5s));
}

Instance<Pafal20ec3gr>::Values config(const std::string& device, const std::string& max_baud = "19200") {
  return {{"SerialDevice", device}, {"Import_Dst", "energy/import"}, {"Export_Dst", "energy/export"},
          {"Poll", "60"},          {"Timeout", "3"},                {"MaxBaud", max_baud}};
}

}  // namespace

TEST_CASE("identification: /XXXZ<ident>, mode C baud rates, and what is refused") {
  auto id = parse_identification("/PAF5EC3gr00006");
  REQUIRE_MESSAGE(id.identification, id.error);
  CHECK(id.identification->manufacturer == "PAF");
  CHECK(id.identification->baud_char == '5');
  CHECK(id.identification->baud == 9600);
  CHECK(id.identification->ident == "EC3gr00006");
  CHECK(parse_identification("/ISk5\\2MT382-1000").identification->ident == "\\2MT382-1000");
  CHECK(parse_identification("/LGZ0ZMD3104107").identification->baud == 300);
  CHECK(parse_identification("/ABC6").identification->baud == 19200);
  auto error = [](std::string_view line) { return parse_identification(line).error; };
  CHECK(error("PAF5EC3gr00006") == "identification 'PAF5EC3gr00006' does not start with '/'");
  CHECK(error("/P4F5") == "identification '/P4F5' has no three-letter manufacturer after '/'");
  CHECK(error("/PAFEEC3") == "identification '/PAFEEC3' offers baud rate 'E' of protocol mode B; only mode C is read");
  CHECK(error("/PAF8x") == "identification '/PAF8x' offers the reserved baud rate '8'");
  CHECK(error("/PAF#x") == "identification '/PAF#x' has no mode C baud rate character (0 to 6) after the manufacturer: "
                           "protocol mode A is not read");
  CHECK(error("/PAF5" + std::string(17, 'x')).ends_with("has an identification longer than 16 characters"));
  CHECK(error("/PAF5ab!c") == "identification '/PAF5ab!c' has a character an identification may not hold");
  CHECK(error("/PAF5\x01") == "identification '/PAF5\\x01' has a character an identification may not hold");
  CHECK(mode_c_baud_char(9600) == '5');
  CHECK_FALSE(mode_c_baud_char(115200));
  CHECK(option_select('5') == "\x06" "050\r\n");
}

TEST_CASE("data message: STX to ETX, checked by its BCC, whatever the chunks") {
  const std::string lines = meter::pafal_lines("048162.13", "035411.79");
  const std::string message = meter::data_message(lines);
  DataMessageReader whole = read_all("\x06" "050\r\n" + message);  // an echo before STX is skipped
  REQUIRE_MESSAGE(whole.done(), whole.error());
  CHECK(whole.data() == lines + "!\r\n");
  CHECK(whole.skipped() == 6);
  DataMessageReader bytewise;
  for (char c : message) bytewise.feed(std::string_view(&c, 1));
  CHECK(bytewise.done());
  CHECK(bytewise.data() == whole.data());
  // With the parity bit set on every byte (a port that keeps it): the same.
  std::string parity = message;
  for (char& c : parity) c = static_cast<char>(c | 0x80);
  CHECK(read_all(parity).done());
  // Nothing is taken after the BCC.
  DataMessageReader after;
  CHECK(after.feed(message + "xyz") == message.size());
}

TEST_CASE("data message: a flipped byte, a second STX, no ETX, no STX are failures that say what") {
  std::string garbled = meter::data_message(meter::pafal_lines("048162.13", "035411.79"));
  garbled[20] ^= 0x04;
  DataMessageReader g = read_all(garbled);
  CHECK(g.failed());
  CHECK(g.error().starts_with("block check character 0x"));
  CHECK(g.error().ends_with("garbled in transit"));
  CHECK(read_all("\x02" "ab\x02").error() == "a second STX after 2 bytes of data");
  CHECK(read_all("\x02" + std::string(DataMessageReader::kMaxData + 1, 'a')).error() == "no ETX within 16384 bytes of data");
  CHECK(read_all(std::string(DataMessageReader::kMaxData + 1, 'a')).error() ==
        "no STX in the first 16384 bytes after the option select");
  DataMessageReader cut = read_all(garbled.substr(0, 30));
  CHECK(cut.state() == DataMessageReader::State::InData);
}

TEST_CASE("data block: data sets with and without units, several per line, the end character") {
  auto block = parse_data_block(meter::pafal_lines("048162.13", "035411.79") + "!\r\n");
  REQUIRE_MESSAGE(block.error.empty(), block.error);
  REQUIRE(block.sets.size() == 7);
  CHECK(block.sets[4].address == "1.8.0*00");
  CHECK(block.sets[4].value == "048162.13");
  CHECK(block.sets[4].unit == "");
  CHECK(block.sets[6].value == ":::::G11");
  auto units = parse_data_block("1-0:1.8.0(0012345.678*kWh)(0000001.000*kWh)\r\nC.1.0(123)0.9.1(120000)\r\n!\r\n");
  REQUIRE_MESSAGE(units.error.empty(), units.error);
  REQUIRE(units.sets.size() == 4);
  CHECK(units.sets[0].unit == "kWh");
  CHECK(units.sets[1].address == "1-0:1.8.0");  // a value without an address repeats the one before
  CHECK(units.sets[3].address == "0.9.1");
  auto error = [](std::string_view b) { return parse_data_block(b).error; };
  CHECK(error("1.8.0(1)\r\n") == "the data block does not end with '!' CR LF");
  CHECK(error("1.8.0(1\r\n!\r\n") == "data line 1 '1.8.0(1' has a '(' without its ')'");
  CHECK(error("1.8.0(1)x\r\n!\r\n") == "data line 1 '1.8.0(1)x' has text that is no data set address(value)");
  CHECK(error("(1)\r\n!\r\n") == "data line 1 '(1)' starts with a value without an address");
  CHECK(error("a\rb(1)\r\n!\r\n") == "data line 1 'a\\x0db(1)' has a stray CR or LF");
  CHECK(error("1.8/0(1)\r\n!\r\n") == "data line 1 '1.8/0(1)' has an address that is too long or holds a reserved character");
  CHECK(error("1.8.0(\x7f)\r\n!\r\n") == "data line 1 '1.8.0(\\x7f)' has a value that is too long or holds a reserved character");
}

TEST_CASE("registers: the current value of 1.8.0 and 2.8.0 in kWh, never a historical one") {
  auto sets = [](std::string_view lines) { return parse_data_block(std::string(lines) + "!\r\n").sets; };
  auto pafal = sets(meter::pafal_lines("048162.13", "035411.79"));
  CHECK(find_energy_register(pafal, "1.8.0").kwh == 48162.13);
  CHECK(find_energy_register(pafal, "2.8.0").kwh == 35411.79);
  CHECK(find_energy_register(pafal, "2.8.0").address == "2.8.0*00");
  auto standard = sets("1-0:1.8.0*255(0012345.678*kWh)\r\n1-0:2.8.0(5000*Wh)\r\n1.8.0*01(0012000.000*kWh)\r\n");
  CHECK(find_energy_register(standard, "1.8.0").kwh == 12345.678);
  CHECK(find_energy_register(standard, "2.8.0").kwh == 5.0);
  auto historical = sets("1.8.0*01(0012000.000*kWh)\r\n1.8.0*02(0011000.000*kWh)\r\n");
  CHECK(find_energy_register(historical, "1.8.0").error ==
        "no 1.8.0 register in the readout (only 1.8.0*01, 1.8.0*02: historical values)");
  CHECK(find_energy_register(sets("1.8.1(5)\r\n"), "1.8.0").error == "no 1.8.0 register in the readout");
  CHECK(find_energy_register(sets("1.8.0(12,5)\r\n"), "1.8.0").error == "1.8.0 '12,5' is not a number");
  CHECK(find_energy_register(sets("1.8.0()\r\n"), "1.8.0").error == "1.8.0 '' is not a number");
  CHECK(find_energy_register(sets("1.8.0(5*kvarh)\r\n"), "1.8.0").error == "1.8.0 is in 'kvarh', not in kWh, Wh or MWh");
  CHECK(find_energy_register(sets("1.8.0(2*MWh)\r\n"), "1.8.0").kwh == 2000.0);
}

TEST_CASE("numbers are written as the original wrote them (Python's str of a float)") {
  CHECK(python_float(48162.13) == "48162.13");
  CHECK(python_float(12.0) == "12.0");
  CHECK(python_float(0.0) == "0.0");
  CHECK(python_float(0.1) == "0.1");
  CHECK(python_float(937.73) == "937.73");
  CHECK(python_float(12345.678) == "12345.678");
  CHECK(python_float(1e16) == "1e+16");
}

// ---------------------------------------------------------------------------
// The class, on a pseudo-terminal

TEST_CASE("a readout: sign-on at 300, option select at the meter's 9600, data at 9600, both registers published") {
  PtyMeter pty;
  FakeHost host;
  Instance<Pafal20ec3gr> sensor(host, config(pty.path()));
  INFO("log:" << logs_of(host));
  REQUIRE(sensor.poll() == SR_POLL_PENDING);
  CHECK(pty.read_until("/?!\r\n") == "/?!\r\n");
  CHECK(pty.port_baud() == 300);
  pty.say("/?!\r\n" + meter::pafal_identification());  // the head's echo first, as optical heads do
  REQUIRE(host.run_until([&] { return host.logged(SR_LOG_INFO, "meter /PAF5EC3gr00006 on"); }, 5s));
  CHECK(pty.read_until("\r\n") == "\x06" "050\r\n");
  REQUIRE(host.run_until([&] { return pty.port_baud() == 9600; }, 5s));
  pty.say(meter::data_message(meter::pafal_lines("048162.13", "035411.79")));
  REQUIRE(host.run_until([&] { return host.poll_done_count() == 1; }, 5s));
  CHECK(host.poll_failed_count() == 0);
  CHECK(host.payloads_to("energy/import") == std::vector<std::string>{"48162.13"});
  CHECK(host.payloads_to("energy/export") == std::vector<std::string>{"35411.79"});
  CHECK(host.logged(SR_LOG_INFO, "meter /PAF5EC3gr00006 on " + pty.path() + " offers up to 9600 baud"));
  CHECK(host.logged(SR_LOG_INFO, "does not keep 7 data bits with even parity (a pseudo-terminal?)"));
  CHECK(host.watch_count() == 0);
  CHECK(host.timer_count() == 0);
  host.clear();
  CHECK(sensor.refresh() == SR_OK);
  CHECK(host.published().size() == 2);
}

TEST_CASE("MaxBaud 300 keeps the readout at 300 baud, as the original did") {
  PtyMeter pty;
  FakeHost host;
  Instance<Pafal20ec3gr> sensor(host, config(pty.path(), "300"));
  INFO("log:" << logs_of(host));
  REQUIRE(sensor.poll() == SR_POLL_PENDING);
  pty.read_until("/?!\r\n");
  pty.say(meter::pafal_identification());
  REQUIRE(host.run_until([&] { return sensor.object().bytes_received() == 17; }, 5s));
  CHECK(pty.read_until("\r\n") == "\x06" "000\r\n");
  pty.say(meter::data_message(meter::pafal_lines("1", "2")));
  REQUIRE(host.run_until([&] { return host.poll_done_count() == 1; }, 5s));
  CHECK(pty.port_baud() == 300);
  CHECK(host.payloads_to("energy/import") == std::vector<std::string>{"1.0"});
  CHECK(Instance<Pafal20ec3gr>::check(config("/dev/x", "9601")) ==
        std::vector<sr::sdk::testing::CheckProblem>{
            {SR_LOG_ERROR, "MaxBaud", "must be 300, 600, 1200, 2400, 4800, 9600 or 19200"}});
}

TEST_CASE("a silent meter, a garbled identification, a garbled data message: nothing published, the poll fails") {
  PtyMeter pty;
  FakeHost host;
  Instance<Pafal20ec3gr> sensor(host, config(pty.path()));

  SUBCASE("silent") {
    REQUIRE(sensor.poll() == SR_POLL_PENDING);
    pty.read_until("/?!\r\n");
    host.advance(3s);
    CHECK(host.logged(SR_LOG_ERROR, pty.path() + ": the meter did not answer the sign-on within 3 s"));
  }
  SUBCASE("garbled identification") {
    REQUIRE(sensor.poll() == SR_POLL_PENDING);
    pty.read_until("/?!\r\n");
    pty.say("/P\x13" "F5EC3gr00006\r\n");
    REQUIRE(host.run_until([&] { return host.poll_done_count() == 1; }, 5s));
    CHECK(host.logged(SR_LOG_ERROR, "identification '/P\\x13F5EC3gr00006' has no three-letter manufacturer"));
  }
  SUBCASE("garbled data") {
    identify(pty, host, sensor);
    std::string message = meter::data_message(meter::pafal_lines("048162.13", "035411.79"));
    message[40] = 'X';
    pty.say(message);
    REQUIRE(host.run_until([&] { return host.poll_done_count() == 1; }, 5s));
    CHECK(host.logged(SR_LOG_ERROR, "garbled in transit"));
  }
  SUBCASE("the meter stops in the middle of the data") {
    identify(pty, host, sensor);
    pty.say(meter::data_message(meter::pafal_lines("048162.13", "035411.79")).substr(0, 25));
    REQUIRE(host.run_until([&] { return sensor.object().bytes_received() == 17 + 25; }, 5s));
    host.advance(3s);
    CHECK(host.logged(SR_LOG_ERROR, "the meter stopped sending after 24 bytes of data (3 s of silence)"));
  }
  CHECK(host.poll_done_count() == 1);
  CHECK(host.poll_failed_count() == 1);
  CHECK(host.published().empty());
  CHECK(host.watch_count() == 0);
  CHECK(host.timer_count() == 0);
}

TEST_CASE("a port that is not there, or not a serial port, fails the poll and says what to check") {
  FakeHost host;
  {
    Instance<Pafal20ec3gr> missing(host, config("/dev/sr-no-such-tty"));
    CHECK(missing.poll() == SR_ERROR);
    CHECK(host.logged(SR_LOG_ERROR, "cannot open /dev/sr-no-such-tty: No such file or directory (is the optical "
                                    "head plugged in?"));
  }
  Instance<Pafal20ec3gr> not_a_tty(host, config("/dev/null"));
  CHECK(not_a_tty.poll() == SR_ERROR);
  CHECK(host.logged(SR_LOG_ERROR, "/dev/null is not a serial port: Inappropriate ioctl for device"));
}
