// Fuzz target: the IEC 62056-21 readers of
// energymeter.read_meter_values.Pafal20ec3gr (energymeter/iec62056.hpp),
// which read whatever comes up the serial line: a meter's answer, noise from
// an optical head, another device.
//
// Input: the bytes after the option select, as the port delivers them; its
// first line is also read as an identification line, and the last byte
// chooses where to cut the input into two chunks.
//
// Invariants:
//  - parse_identification gives an identification or a printable error;
//    an identification starts with '/' and three letters, its baud rate is
//    the mode C rate of its character, its ident at most 16 printable
//    characters; option_select for it is ACK '0' Z '0' CR LF;
//  - DataMessageReader gives the same state, data, error and count of
//    skipped bytes fed whole, in two chunks or a byte at a time; it takes
//    nothing after the message ends; Done only when a reference scan finds
//    STX, then data without STX up to ETX, then the XOR of data and ETX;
//  - parse_data_block gives sets or a printable error; without error the
//    block ends with "!" CR LF, and the sets written back (address(value*unit)
//    lines) read back to the same sets;
//  - find_energy_register gives a finite number of kWh only from a set whose
//    address names the register, else a printable error;
//  - python_float reads back to the same double.
#include "energymeter/iec62056.hpp"

#include "fuzz_host.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace sr::energymeter::iec62056;

bool printable_text(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

struct Outcome {
  DataMessageReader::State state;
  std::string data, error;
  size_t skipped;
  bool operator==(const Outcome&) const = default;
};
Outcome outcome(const DataMessageReader& r) { return {r.state(), r.data(), r.error(), r.skipped()}; }

// The reference: where a data message is in `bytes` (7-bit), if anywhere.
bool reference_done(std::string_view bytes, std::string& data) {
  size_t i = 0;
  while (i < bytes.size() && (bytes[i] & 0x7f) != kStx) ++i;
  if (i == bytes.size() || i > DataMessageReader::kMaxData) return false;
  uint8_t bcc = 0;
  for (++i; i < bytes.size(); ++i) {
    const char c = static_cast<char>(bytes[i] & 0x7f);
    bcc ^= static_cast<uint8_t>(c);
    if (c == kStx || (c != kEtx && data.size() == DataMessageReader::kMaxData)) return false;
    if (c == kEtx) return i + 1 < bytes.size() && (bytes[i + 1] & 0x7f) == bcc;
    data += c;
  }
  return false;
}

void check_identification(std::string_view line) {
  const IdentificationParse id = parse_identification(line);
  FUZZ_CHECK(id.identification.has_value() != !id.error.empty());
  if (!id.identification) {
    FUZZ_CHECK(printable_text(id.error));
    return;
  }
  const Identification& i = *id.identification;
  FUZZ_CHECK(line[0] == '/' && i.manufacturer.size() == 3 && line.substr(1, 3) == i.manufacturer);
  for (char c : i.manufacturer) FUZZ_CHECK(std::isalpha(static_cast<unsigned char>(c)));
  FUZZ_CHECK(mode_c_baud(i.baud_char) == i.baud);
  FUZZ_CHECK(mode_c_baud_char(i.baud) == i.baud_char);
  FUZZ_CHECK(i.ident.size() <= 16);
  const std::string select = option_select(i.baud_char);
  FUZZ_CHECK(select.size() == 6 && select[0] == kAck && select[2] == i.baud_char && select.substr(4) == "\r\n");
}

void check_block(std::string_view block) {
  const DataBlockParse p = parse_data_block(block);
  if (!p.error.empty()) {
    FUZZ_CHECK(p.sets.empty());
    FUZZ_CHECK(printable_text(p.error));
    return;
  }
  FUZZ_CHECK(block.ends_with("!\r\n"));
  std::string again;
  for (const DataSet& s : p.sets) {
    FUZZ_CHECK(!s.address.empty());
    again += s.address + "(" + s.value + (s.unit.empty() ? "" : "*" + s.unit) + ")\r\n";
  }
  again += "!\r\n";
  const DataBlockParse q = parse_data_block(again);
  FUZZ_CHECK(q.error.empty());
  FUZZ_CHECK(q.sets.size() == p.sets.size());
  for (size_t i = 0; i < p.sets.size(); ++i) {
    FUZZ_CHECK(q.sets[i].address == p.sets[i].address);
    FUZZ_CHECK(q.sets[i].value == p.sets[i].value);
    FUZZ_CHECK(q.sets[i].unit == p.sets[i].unit);
  }
  for (std::string_view code : {"1.8.0", "2.8.0"}) {
    const RegisterRead r = find_energy_register(p.sets, code);
    FUZZ_CHECK(r.kwh.has_value() != !r.error.empty());
    if (!r.kwh) {
      FUZZ_CHECK(printable_text(r.error));
      continue;
    }
    FUZZ_CHECK(std::isfinite(*r.kwh));
    FUZZ_CHECK(r.address.find(code) != std::string::npos);
    const std::string text = python_float(*r.kwh);
    FUZZ_CHECK(std::strtod(text.c_str(), nullptr) == *r.kwh);
    FUZZ_CHECK(text.find_first_of(".en") != std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size - 1);
  const size_t cut = size > 1 ? data[size - 1] % size : 0;

  const size_t line_end = bytes.find("\r\n");
  check_identification(bytes.substr(0, line_end));

  DataMessageReader whole;
  const size_t taken = whole.feed(bytes);
  FUZZ_CHECK(taken <= bytes.size());
  if (taken < bytes.size()) FUZZ_CHECK(whole.done() || whole.failed());
  DataMessageReader two;
  two.feed(bytes.substr(0, std::min(cut, bytes.size())));
  two.feed(bytes.substr(std::min(cut, bytes.size())));
  FUZZ_CHECK(outcome(two) == outcome(whole));
  DataMessageReader bytewise;
  for (char c : bytes) bytewise.feed(std::string_view(&c, 1));
  FUZZ_CHECK(outcome(bytewise) == outcome(whole));
  if (whole.failed()) FUZZ_CHECK(!whole.error().empty() && printable_text(whole.error()));
  std::string reference;
  const bool done = reference_done(bytes, reference);
  FUZZ_CHECK(done == whole.done());
  if (done) FUZZ_CHECK(reference == whole.data());

  check_block(whole.done() ? std::string_view(whole.data()) : bytes);
  return 0;
}
