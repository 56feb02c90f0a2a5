// The meter's side of IEC 62056-21 protocol mode C, for the tests: what a
// meter sends, built from the standard (§6.3 message formats: data message
// = STX, data block, '!', CR, LF, ETX, BCC; BCC the XOR of every character
// after STX up to and including ETX), independently of the plugin's reader.
// The Pafal 20EC3gr's readout is the one its owner documented (a meter
// number, owner, error register, firmware, then 1.8.0*00 and 2.8.0*00, and
// the switching-clock program as the last line, which carries the '!').
#pragma once

#include <cstdint>
#include <string>
#include <termios.h>

namespace sr::test::iec {

inline constexpr char kStx = 0x02, kEtx = 0x03, kAck = 0x06;

inline std::string pafal_identification() { return "/PAF5EC3gr00006\r\n"; }

// The data lines before the end character: the Pafal's register list with
// the given import/export texts ("048162.13").
inline std::string pafal_lines(const std::string& import_kwh, const std::string& export_kwh) {
  return "0.0.0(71786316)\r\n"
         "0.0.1(PAF)\r\n"
         "F.F(00)\r\n"
         "0.2.0(1.27)\r\n"
         "1.8.0*00(" + import_kwh + ")\r\n"
         "2.8.0*00(" + export_kwh + ")\r\n"
         "0.2.2(:::::G11)";
}

// STX, `lines`, '!', CR, LF, ETX, BCC.
inline std::string data_message(const std::string& lines) {
  std::string body = lines + "!\r\n" + kEtx;
  uint8_t bcc = 0;
  for (char c : body) bcc ^= static_cast<uint8_t>(c);
  return std::string(1, kStx) + body + static_cast<char>(bcc);
}

// The speed termios' B constants stand for, in baud (0 for others).
inline unsigned baud_of(speed_t speed) {
  switch (speed) {
    case B300: return 300;
    case B600: return 600;
    case B1200: return 1200;
    case B2400: return 2400;
    case B4800: return 4800;
    case B9600: return 9600;
    case B19200: return 19200;
    default: return 0;
  }
}

// Mode C: '0' 300 ... '6' 19200.
inline unsigned mode_c_baud(char z) {
  static constexpr unsigned kBauds[] = {300, 600, 1200, 2400, 4800, 9600, 19200};
  return z >= '0' && z <= '6' ? kBauds[z - '0'] : 0;
}

}  // namespace sr::test::iec
