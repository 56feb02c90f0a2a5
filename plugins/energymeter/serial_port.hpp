// A serial port for an IEC 62056-21 readout: opened without blocking and
// without becoming the controlling terminal, raw, 7 data bits, even parity,
// 1 stop bit, no flow control, at the initial 300 baud; its speed changed
// after the option select. termios only, so a pseudo-terminal serves as the
// port too: a pty keeps the speed it is given but always reports 8 data
// bits without parity (the kernel's pty driver forces CS8), which is
// reported as `framing_kept` false rather than as an error.
#pragma once

#include <sensor_reporter/handle.hpp>

#include <string>

namespace sr::energymeter {

struct SerialOpen {
  sdk::UniqueFd fd;          // set when it opened and took the settings
  std::string error;         // else why not (a sentence naming the path)
  bool framing_kept = true;  // 7E1 reads back as set
};
SerialOpen open_serial(const std::string& path, unsigned baud);

// Changes the speed of an open port (input and output); empty when done,
// else why not.
std::string set_serial_speed(int fd, unsigned baud);

}  // namespace sr::energymeter
