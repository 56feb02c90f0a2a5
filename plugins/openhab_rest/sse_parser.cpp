// Server-Sent Events parser (see sse_parser.hpp): the WHATWG event stream
// interpretation, incremental over arbitrary chunks, with bounded buffers.
#include "sse_parser.hpp"

#include <charconv>
#include <utility>

namespace sr::openhab {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool only_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

void SseParser::reset() {
  // Assigning fresh strings also gives back the memory of a large event.
  line_ = std::string();
  data_ = std::string();
  event_type_ = std::string();
  last_event_id_ = std::string();
  event_bytes_ = 0;
  bom_matched_ = 0;
  at_stream_start_ = true;
  after_cr_ = false;
  line_started_ = false;
  in_comment_ = false;
  discarding_ = false;
}

std::size_t SseParser::feed(std::string_view bytes, const Callback& on_event) {
  std::size_t dropped = 0;
  // One BOM is skipped at the very start of the stream; it may arrive split
  // over several feeds. Bytes that start like a BOM but are not one are data.
  while (at_stream_start_ && !bytes.empty()) {
    if (bytes.front() == kBom[bom_matched_]) {
      bytes.remove_prefix(1);
      if (++bom_matched_ == kBom.size()) at_stream_start_ = false;
    } else {
      at_stream_start_ = false;
      parse(kBom.substr(0, bom_matched_), on_event, dropped);
    }
  }
  parse(bytes, on_event, dropped);
  return dropped;
}

void SseParser::parse(std::string_view bytes, const Callback& on_event, std::size_t& dropped) {
  while (!bytes.empty()) {
    if (after_cr_) {
      // CR LF is one line ending, even when a feed ends between the two.
      after_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    const std::size_t end = bytes.find_first_of("\r\n");
    append_to_line(bytes.substr(0, end), dropped);
    if (end == std::string_view::npos) return;
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    end_of_line(on_event);
  }
}

void SseParser::append_to_line(std::string_view bytes, std::size_t& dropped) {
  if (bytes.empty()) return;
  if (!line_started_) {
    line_started_ = true;
    in_comment_ = !discarding_ && bytes.front() == ':';
  }
  if (discarding_ || in_comment_) return;
  if (bytes.size() > max_event_bytes_ - event_bytes_ - line_.size()) {
    drop_event(dropped);
    return;
  }
  line_.append(bytes);
}

void SseParser::drop_event(std::size_t& dropped) {
  ++dropped;
  ++dropped_total_;
  discarding_ = true;
  line_ = std::string();
  data_ = std::string();
  event_type_.clear();
  event_bytes_ = 0;
}

void SseParser::end_of_line(const Callback& on_event) {
  const bool blank = !line_started_;
  line_started_ = false;
  if (discarding_) {
    // The blank line ends the dropped event; it dispatches nothing.
    if (blank) discarding_ = false;
    return;
  }
  if (in_comment_) {
    in_comment_ = false;
    return;
  }
  if (blank) {
    dispatch(on_event);
    return;
  }
  event_bytes_ += line_.size();
  process_field(line_);
  line_.clear();
}

void SseParser::process_field(std::string_view line) {
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_type_.assign(value);
  } else if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_event_id_.assign(value);
  } else if (field == "retry") {
    long ms = 0;
    // Digits only; a value beyond `long` is ignored like any other invalid one.
    if (only_digits(value)) {
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (error == std::errc() && end == value.data() + value.size()) retry_ms_ = ms;
    }
  }
  // Any other field name is ignored.
}

void SseParser::dispatch(const Callback& on_event) {
  event_bytes_ = 0;
  last_dispatched_id_ = last_event_id_;
  if (data_.empty()) {
    event_type_.clear();
    return;
  }
  data_.pop_back();  // the '\n' after the last data line
  SseEvent event{event_type_.empty() ? std::string("message") : std::move(event_type_), std::move(data_),
                 last_event_id_};
  data_.clear();
  event_type_.clear();
  on_event(std::move(event));
}

}  // namespace sr::openhab
