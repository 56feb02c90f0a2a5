// The readout's serial port; see serial_port.hpp.
#include "serial_port.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace sr::energymeter {
namespace {

std::optional<speed_t> speed_of(unsigned baud) {
  switch (baud) {
    case 300: return B300;
    case 600: return B600;
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    default: return std::nullopt;
  }
}

std::string open_hint(int error) {
  switch (error) {
    case ENOENT: return " (is the optical head plugged in? SerialDevice names it, e.g. /dev/ttyUSB0)";
    case EACCES: return " (the service user needs the dialout group: see the README, \"Privileges\")";
    case EBUSY: return " (another program has it open)";
    default: return {};
  }
}

}  // namespace

SerialOpen open_serial(const std::string& path, unsigned baud) {
  SerialOpen result;
  const auto speed = speed_of(baud);
  if (!speed) {
    result.error = fmt::format("{} baud is not a rate of IEC 62056-21", baud);
    return result;
  }
  sdk::UniqueFd fd(::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    result.error = fmt::format("cannot open {}: {}{}", path, std::strerror(error), open_hint(error));
    return result;
  }
  termios t{};
  if (tcgetattr(fd.get(), &t) != 0) {
    result.error = fmt::format("{} is not a serial port: {}", path, std::strerror(errno));
    return result;
  }
  cfmakeraw(&t);
  t.c_cflag &= ~(CSIZE | PARODD | CSTOPB | CRTSCTS);
  t.c_cflag |= CS7 | PARENB | CREAD | CLOCAL;
  t.c_iflag &= ~(IXON | IXOFF | IXANY);
  // With MIN 0 and TIME 0 a read of an empty port returns 0 even without
  // blocking, which reads as "hung up"; MIN 1 makes it EAGAIN, and 0 then
  // means what it says.
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  cfsetispeed(&t, *speed);
  cfsetospeed(&t, *speed);
  if (tcsetattr(fd.get(), TCSANOW, &t) != 0) {
    result.error = fmt::format("cannot set {} to {} baud 7E1: {}", path, baud, std::strerror(errno));
    return result;
  }
  termios now{};
  if (tcgetattr(fd.get(), &now) != 0 || cfgetospeed(&now) != *speed) {
    result.error = fmt::format("{} does not keep {} baud", path, baud);
    return result;
  }
  result.framing_kept = (now.c_cflag & (CSIZE | PARENB | PARODD)) == (CS7 | PARENB);
  // Whatever the meter or the head said before we asked is not an answer.
  tcflush(fd.get(), TCIOFLUSH);
  result.fd = std::move(fd);
  return result;
}

std::string set_serial_speed(int fd, unsigned baud) {
  const auto speed = speed_of(baud);
  if (!speed) return fmt::format("{} baud is not a rate of IEC 62056-21", baud);
  termios t{};
  if (tcgetattr(fd, &t) != 0) return std::strerror(errno);
  cfsetispeed(&t, *speed);
  cfsetospeed(&t, *speed);
  if (tcsetattr(fd, TCSANOW, &t) != 0) return std::strerror(errno);
  termios now{};
  if (tcgetattr(fd, &now) != 0 || cfgetospeed(&now) != *speed) return fmt::format("the port does not keep {} baud", baud);
  return {};
}

}  // namespace sr::energymeter
