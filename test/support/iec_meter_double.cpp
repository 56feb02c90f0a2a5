// iec_meter_double: an electricity meter speaking IEC 62056-21 protocol
// mode C (data readout) on a pseudo-terminal, for the tests and the manual
// trials of energymeter.read_meter_values.Pafal20ec3gr. Written from the
// standard's message formats and timings (§6.3, §6.4: reaction time 200 ms
// to 1500 ms, the client switching speed after its option select) and from
// a Pafal 20EC3gr's documented readout (support/iec_meter.h), not from the
// plugin.
//
//   iec_meter_double [--fault FAULT] [--import KWH] [--export KWH] [--baud-char Z]
//
// Prints "pty /dev/pts/N": point SerialDevice there. Serves readouts until
// killed or told "quit" on stdin. Each sign-on /?!<CR><LF> received while the
// port is at 300 baud is answered after the reaction time with the
// identification /PAF<Z>EC3gr00006 (Z default '5', 9600 baud); an option
// select <ACK>0<Z'>0<CR><LF> with Z' no faster than Z within 1.5 s is
// answered with the data message at that speed, once the port has switched
// to it (a port still at the old speed after 1.5 s gets what a meter
// talking faster sounds like: noise).
//
// FAULT: silent (never answers), garbled-identification (the identification
// arrives with noise in it), bad-bcc (a data byte flipped in transit), cut
// (the data message stops halfway), no-export (a meter without 2.8.0).
//
// stdout, one line each: "pty PATH", "sign-on", "identification sent",
// "option select baud=N", "data sent N bytes", "discarded: REASON",
// "client did not switch to N baud".
#include "support/iec_meter.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace iec = sr::test::iec;

void say(const std::string& line) { std::cout << line << std::endl; }

struct Meter {
  int master = -1;
  int slave = -1;  // our own handle: keeps the pty alive, tells us the port's speed
  std::string fault;
  std::string import_kwh = "048162.13";
  std::string export_kwh = "035411.79";
  char baud_char = '5';

  unsigned port_baud() const {
    termios t{};
    if (tcgetattr(slave, &t) != 0) return 0;
    return iec::baud_of(cfgetospeed(&t));
  }
  void send(const std::string& bytes) const {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(master, bytes.data() + done, bytes.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }
  // Reads what arrives within `limit`, until `stop` is in it.
  std::string read_until(const std::string& stop, std::chrono::milliseconds limit) const {
    std::string got;
    const auto deadline = Clock::now() + limit;
    while (got.find(stop) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) != 1) continue;
      char buffer[256];
      const ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n > 0) got.append(buffer, static_cast<size_t>(n));
    }
    return got;
  }
  // The meter's reaction time: at least 200 ms (its manufacturer's third
  // letter is upper case), as the standard has it.
  static void react() { std::this_thread::sleep_for(200ms); }

  void readout() {
    say("sign-on");
    if (fault == "silent") return;
    react();
    const std::string id = std::string("/PAF") + baud_char + "EC3gr00006\r\n";
    send(fault == "garbled-identification" ? std::string("/P\x13" "F") + baud_char + "EC\xff" "3gr00006\r\n" : id);
    say("identification sent");
    // ta: the client has 1.5 s for its option select.
    const std::string select = read_until("\r\n", 1500ms);
    if (select.size() != 6 || select[0] != iec::kAck || select[1] != '0' || select[3] != '0' ||
        select.substr(4) != "\r\n" || select[2] < '0' || select[2] > baud_char) {
      say("discarded: no valid option select within 1.5 s");
      return;
    }
    const unsigned baud = iec::mode_c_baud(select[2]);
    say("option select baud=" + std::to_string(baud));
    react();
    // The client must have switched within the reaction time's upper bound.
    const auto deadline = Clock::now() + 1300ms;
    while (port_baud() != baud && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
    if (port_baud() != baud) {
      say("client did not switch to " + std::to_string(baud) + " baud");
      send("\xf0\x0f\xf0\x7f\x80");
      return;
    }
    std::string lines = iec::pafal_lines(import_kwh, export_kwh);
    if (fault == "no-export") lines.replace(lines.find("2.8.0*00"), 3, "9.9");
    std::string message = iec::data_message(lines);
    if (fault == "bad-bcc") message[message.size() / 2] ^= 0x08;
    if (fault == "cut") message.resize(message.size() / 2);
    send(message);
    say("data sent " + std::to_string(message.size()) + " bytes");
  }
};

}  // namespace

int main(int argc, char** argv) {
  Meter meter;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i], value = argv[i + 1];
    if (arg == "--fault") meter.fault = value;
    else if (arg == "--import") meter.import_kwh = value;
    else if (arg == "--export") meter.export_kwh = value;
    else if (arg == "--baud-char" && value.size() == 1 && value[0] >= '0' && value[0] <= '6') meter.baud_char = value[0];
    else {
      std::cerr << "usage: iec_meter_double [--fault silent|garbled-identification|bad-bcc|cut|no-export] "
                   "[--import KWH] [--export KWH] [--baud-char 0-6]\n";
      return 64;
    }
  }
  if (argc % 2 == 0) return 64;
  meter.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (meter.master < 0 || grantpt(meter.master) != 0 || unlockpt(meter.master) != 0) {
    std::cerr << "posix_openpt: " << std::strerror(errno) << "\n";
    return 1;
  }
  const std::string path = ptsname(meter.master);
  meter.slave = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (meter.slave < 0) return 1;
  // Until a client sets the port up, nothing it receives is echoed back.
  termios t{};
  tcgetattr(meter.slave, &t);
  cfmakeraw(&t);
  tcsetattr(meter.slave, TCSANOW, &t);
  say("pty " + path);

  std::string heard;
  bool commands = true;  // stdin ends: serve on until killed
  for (;;) {
    pollfd fds[2] = {{commands ? STDIN_FILENO : -1, POLLIN, 0}, {meter.master, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return 1;
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      std::string line;
      if (!std::getline(std::cin, line)) commands = false;
      else if (line == "quit") return 0;
    }
    if (!(fds[1].revents & POLLIN)) continue;
    char buffer[256];
    const ssize_t n = ::read(meter.master, buffer, sizeof buffer);
    if (n <= 0) continue;
    heard.append(buffer, static_cast<size_t>(n));
    const size_t end = heard.find("\r\n");
    if (end == std::string::npos) {
      if (heard.size() > 256) heard.clear();
      continue;
    }
    const std::string request = heard.substr(0, end);
    heard.erase(0, end + 2);
    const size_t start = request.rfind('/');
    if (start == std::string::npos || request.substr(start).rfind("/?", 0) != 0 || request.back() != '!') {
      say("discarded: '" + request + "' is no request message");
      continue;
    }
    if (meter.port_baud() != 300) {
      say("discarded: a request at " + std::to_string(meter.port_baud()) + " baud, not 300");
      continue;
    }
    meter.readout();
    heard.clear();
  }
}
