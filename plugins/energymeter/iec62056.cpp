// IEC 62056-21 mode C text; see iec62056.hpp.
#include "iec62056.hpp"

#include <sensor_reporter/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sr::energymeter::iec62056 {
namespace {

constexpr unsigned kModeCBauds[] = {300, 600, 1200, 2400, 4800, 9600, 19200};
constexpr size_t kMaxIdent = 16;     // IEC 62056-21 §6.3.14
constexpr size_t kMaxAddress = 32;   // 16 in the standard; some meters prefix A-B:
constexpr size_t kMaxValue = 128;    // value and unit: 32 + 16 in the standard, meters are generous
constexpr size_t kQuoted = 40;

bool is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_printable(char c) { return c >= 0x20 && c < 0x7f; }
// Characters a data set's address or value may not hold (§6.3.17-21).
bool is_reserved(char c) { return c == '(' || c == ')' || c == '/' || c == '!'; }

}  // namespace

std::optional<unsigned> mode_c_baud(char z) {
  if (z < '0' || z > '6') return std::nullopt;
  return kModeCBauds[z - '0'];
}

std::optional<char> mode_c_baud_char(unsigned baud) {
  for (size_t i = 0; i < std::size(kModeCBauds); ++i)
    if (kModeCBauds[i] == baud) return static_cast<char>('0' + i);
  return std::nullopt;
}

IdentificationParse parse_identification(std::string_view line) {
  IdentificationParse result;
  auto fail = [&](std::string why) {
    result.error = fmt::format("identification '{}' {}", sdk::printable(line, kQuoted), why);
    return result;
  };
  if (line.empty() || line[0] != '/') return fail("does not start with '/'");
  if (line.size() < 5 || !is_letter(line[1]) || !is_letter(line[2]) || !is_letter(line[3]))
    return fail("has no three-letter manufacturer after '/'");
  const char z = line[4];
  const auto baud = mode_c_baud(z);
  if (!baud) {
    if (z >= 'A' && z <= 'I') return fail(fmt::format("offers baud rate '{}' of protocol mode B; only mode C is read", z));
    if (z >= '7' && z <= '9') return fail(fmt::format("offers the reserved baud rate '{}'", z));
    return fail("has no mode C baud rate character (0 to 6) after the manufacturer: protocol mode A is not read");
  }
  const std::string_view ident = line.substr(5);
  if (ident.size() > kMaxIdent) return fail(fmt::format("has an identification longer than {} characters", kMaxIdent));
  if (!std::all_of(ident.begin(), ident.end(), [](char c) { return is_printable(c) && c != '/' && c != '!'; }))
    return fail("has a character an identification may not hold");
  result.identification = Identification{std::string(line.substr(1, 3)), z, *baud, std::string(ident)};
  return result;
}

std::string option_select(char baud_char) { return fmt::format("{}0{}0\r\n", kAck, baud_char); }

size_t DataMessageReader::feed(std::string_view bytes) {
  size_t taken = 0;
  for (const char byte : bytes) {
    if (state_ == State::Done || state_ == State::Failed) break;
    ++taken;
    const char c = static_cast<char>(byte & 0x7f);
    switch (state_) {
      case State::BeforeStx:
        if (c == kStx) {
          state_ = State::InData;
        } else if (++skipped_ > kMaxData) {
          state_ = State::Failed;
          error_ = fmt::format("no STX in the first {} bytes after the option select", kMaxData);
        }
        break;
      case State::InData:
        bcc_ ^= static_cast<uint8_t>(c);
        if (c == kEtx) {
          state_ = State::WantBcc;
        } else if (c == kStx) {
          state_ = State::Failed;
          error_ = fmt::format("a second STX after {} bytes of data", data_.size());
        } else if (data_.size() == kMaxData) {
          state_ = State::Failed;
          error_ = fmt::format("no ETX within {} bytes of data", kMaxData);
        } else {
          data_ += c;
        }
        break;
      case State::WantBcc:
        if (static_cast<uint8_t>(c) == bcc_) {
          state_ = State::Done;
        } else {
          state_ = State::Failed;
          error_ = fmt::format("block check character 0x{:02x} does not match the {} bytes of data (0x{:02x}): "
                               "garbled in transit",
                               static_cast<uint8_t>(c), data_.size(), bcc_);
        }
        break;
      case State::Done:
      case State::Failed: break;
    }
  }
  return taken;
}

DataBlockParse parse_data_block(std::string_view block) {
  DataBlockParse result;
  auto fail = [&](size_t line, std::string_view text, std::string why) {
    result.sets.clear();
    result.error = fmt::format("data line {} '{}' {}", line, sdk::printable(text, kQuoted), why);
    return result;
  };
  if (!block.ends_with("!\r\n")) {
    result.error = "the data block does not end with '!' CR LF";
    return result;
  }
  std::string_view rest = block.substr(0, block.size() - 3);
  for (size_t number = 1; !rest.empty(); ++number) {
    const size_t end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
    if (line.find_first_of("\r\n") != std::string_view::npos) return fail(number, line, "has a stray CR or LF");
    for (size_t at = 0; at < line.size();) {
      const size_t open = line.find('(', at);
      if (open == std::string_view::npos) return fail(number, line, "has text that is no data set address(value)");
      const size_t close = line.find(')', open);
      if (close == std::string_view::npos) return fail(number, line, "has a '(' without its ')'");
      const std::string_view address = line.substr(at, open - at);
      const std::string_view value = line.substr(open + 1, close - open - 1);
      auto bad = [](char c) { return !is_printable(c) || is_reserved(c); };
      if (address.size() > kMaxAddress || std::any_of(address.begin(), address.end(), bad))
        return fail(number, line, "has an address that is too long or holds a reserved character");
      if (value.size() > kMaxValue || std::any_of(value.begin(), value.end(), bad))
        return fail(number, line, "has a value that is too long or holds a reserved character");
      DataSet set;
      if (address.empty()) {
        if (result.sets.empty()) return fail(number, line, "starts with a value without an address");
        set.address = result.sets.back().address;
      } else {
        set.address = std::string(address);
      }
      const size_t star = value.find('*');
      set.value = std::string(value.substr(0, star));
      if (star != std::string_view::npos) set.unit = std::string(value.substr(star + 1));
      result.sets.push_back(std::move(set));
      at = close + 1;
    }
  }
  return result;
}

RegisterRead find_energy_register(const std::vector<DataSet>& sets, std::string_view code) {
  RegisterRead result;
  std::vector<std::string_view> others;  // the same register with another suffix
  for (const DataSet& set : sets) {
    std::string_view address = set.address;
    if (const size_t colon = address.find(':'); colon != std::string_view::npos) address.remove_prefix(colon + 1);
    const size_t star = address.find('*');
    if (address.substr(0, star) != code) continue;
    const std::string_view suffix = star == std::string_view::npos ? "" : address.substr(star + 1);
    if (star != std::string_view::npos && suffix != "255" && suffix != "00") {
      others.push_back(set.address);
      continue;
    }
    result.address = set.address;
    double value = 0;
    const std::string_view digits = set.value;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || !std::isfinite(value)) {
      result.error = fmt::format("{} '{}' is not a number", set.address, sdk::printable(set.value, kQuoted));
      return result;
    }
    if (set.unit.empty() || sdk::iequals(set.unit, "kWh")) {
      result.kwh = value;
    } else if (sdk::iequals(set.unit, "Wh")) {
      result.kwh = value / 1000;
    } else if (sdk::iequals(set.unit, "MWh")) {
      result.kwh = value * 1000;
    } else {
      result.error = fmt::format("{} is in '{}', not in kWh, Wh or MWh", set.address, sdk::printable(set.unit, kQuoted));
    }
    return result;
  }
  result.error = fmt::format("no {} register in the readout", code);
  if (!others.empty()) {
    std::string list;
    for (std::string_view o : others) list += fmt::format("{}{}", list.empty() ? "" : ", ", sdk::printable(o, kQuoted));
    result.error += fmt::format(" (only {}: historical values)", list);
  }
  return result;
}

std::string python_float(double value) {
  std::string text = fmt::format("{}", value);
  if (text.find_first_not_of("-0123456789") == std::string::npos) text += ".0";
  return text;
}

}  // namespace sr::energymeter::iec62056
