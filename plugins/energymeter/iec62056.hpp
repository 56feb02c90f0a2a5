// IEC 62056-21 (formerly IEC 61107) as Pafal20ec3gr speaks it: protocol
// mode C data readout over an optical or serial port. Pure functions and a
// byte-fed reader, shared with the unit tests and the fuzz target
// fuzz_iec62056; the port itself is read_meter_values.cpp's.
//
// The exchange, at 300 baud, 7 data bits, even parity, 1 stop bit:
//   client  /?!<CR><LF>                         request (sign-on)
//   meter   /XXXZ<ident><CR><LF>                identification: XXX the
//           manufacturer, Z the fastest baud rate it offers ('0' 300 ...
//           '6' 19200 in mode C)
//   client  <ACK>0Z0<CR><LF>                    option select: normal
//           protocol, the rate chosen, data readout; both sides then switch
//   meter   <STX>data<!><CR><LF><ETX><BCC>     data message at that rate;
//           BCC is the XOR of every byte after STX up to and including ETX
// A data line holds data sets address(value[*unit]), e.g. 1.8.0*00(048162.13)
// or 1-0:1.8.0(0012345.678*kWh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sr::energymeter::iec62056 {

inline constexpr char kAck = 0x06;
inline constexpr char kStx = 0x02;
inline constexpr char kEtx = 0x03;
inline constexpr std::string_view kSignOn = "/?!\r\n";
inline constexpr unsigned kInitialBaud = 300;

// Mode C baud rate characters: '0' 300, '1' 600, ... '6' 19200.
std::optional<unsigned> mode_c_baud(char z);
std::optional<char> mode_c_baud_char(unsigned baud);

struct Identification {
  std::string manufacturer;  // "PAF"
  char baud_char = '0';      // as sent ('5')
  unsigned baud = 300;       // what it stands for (9600)
  std::string ident;         // "EC3gr00006"
};
struct IdentificationParse {
  std::optional<Identification> identification;
  std::string error;  // a sentence, log-safe
};
// One identification line without its CR LF: '/', three manufacturer
// letters, a mode C baud rate character, then up to 16 printable
// characters (an escape sequence \W among them is kept in `ident`).
IdentificationParse parse_identification(std::string_view line);

// <ACK> '0' Z '0' <CR> <LF>: normal protocol, baud rate Z, data readout.
std::string option_select(char baud_char);

// Reads a data message from the bytes that follow the option select, fed
// as they arrive: skips anything before STX, keeps the data block up to
// ETX, checks the BCC that follows. Once Done or Failed it takes nothing
// more. Bytes are taken as 7-bit characters (the parity bit is the port's).
class DataMessageReader {
 public:
  enum class State { BeforeStx, InData, WantBcc, Done, Failed };
  // The longest data block taken: a meter that never sends ETX is cut off.
  static constexpr size_t kMaxData = 16384;

  // Returns how many bytes of `bytes` it took (all of them, except those
  // after the message ended).
  size_t feed(std::string_view bytes);
  State state() const { return state_; }
  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  // The data block (between STX and ETX) once Done.
  const std::string& data() const { return data_; }
  // Why it failed (a sentence, log-safe); empty otherwise.
  const std::string& error() const { return error_; }
  size_t skipped() const { return skipped_; }  // bytes before STX

 private:
  State state_ = State::BeforeStx;
  std::string data_;
  uint8_t bcc_ = 0;
  size_t skipped_ = 0;
  std::string error_;
};

struct DataSet {
  std::string address;  // "1.8.0*00", "1-0:1.8.0", "F.F"
  std::string value;    // "048162.13"
  std::string unit;     // "kWh"; empty when the set has none
};
struct DataBlockParse {
  std::vector<DataSet> sets;  // in the order of the block
  std::string error;          // when the block is malformed; sets then empty
};
// A data block: data lines ending with CR LF, the last one ending with the
// end character '!' (alone, or after the line's data sets), nothing after
// it but CR LF. Each line holds one or more data sets address(value[*unit])
// (a set without an address repeats the one before, as meters list
// several values of one register).
DataBlockParse parse_data_block(std::string_view block);

// An energy register by its OBIS code C.D.E ("1.8.0": active energy
// imported, total; "2.8.0": exported), in kWh. The set whose address is
// the code, optionally after a medium/channel prefix A-B: and optionally
// with the storage suffix *255 (current value) or *00 (how the Pafal
// 20EC3gr marks its current value); other *NN suffixes are historical
// values and are not taken. The first such set counts.
struct RegisterRead {
  std::optional<double> kwh;
  std::string address;  // the set's, when found
  std::string error;    // why there is no value: absent, not a number, other unit
};
RegisterRead find_energy_register(const std::vector<DataSet>& sets, std::string_view code);

// The number as the original published it, Python's str(float): the
// shortest text that reads back to the same double, with ".0" when that
// would be a whole number ("48162.13", "12.0").
std::string python_float(double value);

}  // namespace sr::energymeter::iec62056
