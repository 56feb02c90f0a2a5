// Server-Sent Events parser for openhab_rest.rest_conn.OpenhabREST's event
// stream (GET /rest/events), reference D.4.
//
// Implements the WHATWG HTML "event stream interpretation" on bytes as they
// arrive from the socket, so a chunk may end anywhere: inside a line, between
// the CR and LF of one line ending, inside the UTF-8 BOM. openHAB only sends
// LF-terminated `event:`/`data:` lines, but proxies and test doubles may use
// CRLF or CR, comments and split chunks, and all of them are legal.
//
// Differences from the spec, both deliberate:
//  - Bytes are not decoded: fields are passed on as the server sent them
//    (openHAB sends UTF-8; event_decoder's JSON parser rejects anything else).
//  - Memory is bounded: an event whose lines add up to more than
//    max_event_bytes is dropped whole (skipped up to the next blank line) and
//    counted, instead of growing without limit. Comment lines are skipped
//    without being stored and never count.
//
// Not thread-safe; one parser per stream. Values only: nothing it returns
// points into the parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sr::openhab {

struct SseEvent {
  std::string type;  // the `event:` field; "message" when the event has none
  std::string data;  // the `data:` lines joined with '\n'
  std::string id;    // the last `id:` seen on this stream ("" if none)
  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = std::size_t{1} << 20;

  // max_event_bytes bounds one event: the bytes of its lines, line endings and
  // comment lines not counted.
  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes);

  // Parses the next bytes of the stream and calls on_event for each event
  // they complete, in order. Returns how many oversized events were dropped
  // in this call (counted when the limit is crossed, so an endless line is
  // reported at once). on_event must not call feed() or reset() on this
  // parser; if it throws, the exception propagates and the rest of `bytes`
  // is lost (call reset() before feeding again).
  std::size_t feed(std::string_view bytes, const std::function<void(SseEvent&&)>& on_event);

  // A new stream (after a reconnect): drops the partial line and event and
  // expects a BOM again. Keeps retry_ms() and last_event_id(), which belong
  // to the event source, not to one stream.
  void reset();

  // The last valid `retry:` (milliseconds), if any was received.
  std::optional<long> retry_ms() const { return retry_ms_; }
  // The id of the last dispatched event: what a client sends as
  // Last-Event-ID when it reconnects ("" if none).
  const std::string& last_event_id() const { return last_dispatched_id_; }
  // Oversized events dropped since construction.
  std::uint64_t dropped_events() const { return dropped_total_; }
  // Bytes held for the event being read (line, data and type buffers); never
  // more than max_event_bytes. For tests and fuzzing.
  std::size_t buffered_bytes() const { return line_.size() + data_.size() + event_type_.size(); }

 private:
  using Callback = std::function<void(SseEvent&&)>;

  void parse(std::string_view bytes, const Callback& on_event, std::size_t& dropped);
  void append_to_line(std::string_view bytes, std::size_t& dropped);
  void end_of_line(const Callback& on_event);
  void process_field(std::string_view line);
  void dispatch(const Callback& on_event);
  void drop_event(std::size_t& dropped);

  std::size_t max_event_bytes_;

  // The stream being read.
  std::string line_;             // the current line so far, without its ending
  std::string data_;             // data buffer: each data value + '\n'
  std::string event_type_;       // event type buffer
  std::string last_event_id_;    // last event ID buffer
  std::size_t event_bytes_ = 0;  // length of the event's complete lines so far
  std::size_t bom_matched_ = 0;  // bytes of a BOM seen at the stream start
  bool at_stream_start_ = true;
  bool after_cr_ = false;      // the last byte was CR: a following LF ends nothing
  bool line_started_ = false;  // the current line has at least one byte
  bool in_comment_ = false;    // the current line starts with ':' (not stored)
  bool discarding_ = false;    // an oversized event: skip to the next blank line

  // The event source.
  std::optional<long> retry_ms_;
  std::string last_dispatched_id_;
  std::uint64_t dropped_total_ = 0;
};

}  // namespace sr::openhab
