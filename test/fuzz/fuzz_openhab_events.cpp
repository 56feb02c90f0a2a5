// Fuzz target: openhab_rest's event stream logic, SseParser and decode_event.
//
// Input (FuzzedDataProvider): the bytes of an event stream, then from the
// back a control byte (bits 0-1: the parser's event limit, 1 MiB, 8, 64 or
// 512 bytes; bits 2-5: how many cut points follow) and the cut points
// (uint16 each, taken modulo the stream length + 1). The stream is parsed
// once whole, once in the chunks the cut points make and once a byte at a
// time; every event's data, and the whole stream, go through decode_event.
//
// Invariants:
//  - how the stream is split never changes the events, the drop count, the
//    retry time or the last event id;
//  - without a drop, the events are those of a plain whole-input reference
//    implementation of the WHATWG event stream interpretation;
//  - memory stays bounded: after every feed the parser holds at most its
//    limit, and no event, type or id is longer than the limit;
//  - decode_event never throws; a Command comes only from ItemCommandEvent
//    on <namespace>/items/<item>/command with a valid item name; a State only
//    from a state event type, with a valid item; Alive only from "ALIVE" with
//    a positive interval if any; Other carries no item; an error is a
//    non-empty line without control characters.
#include "openhab_rest/event_decoder.hpp"
#include "openhab_rest/sse_parser.hpp"

#include "fuzz_host.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace sr::openhab;

constexpr std::size_t kLimits[] = {SseParser::kDefaultMaxEventBytes, 8, 64, 512};

struct Outcome {
  std::vector<SseEvent> events;
  std::size_t dropped = 0;
  std::optional<long> retry;
  std::string last_id;
  bool operator==(const Outcome&) const = default;
};

Outcome run(std::size_t limit, const std::vector<std::string_view>& chunks) {
  SseParser parser(limit);
  Outcome out;
  for (auto chunk : chunks) {
    std::size_t before = parser.dropped_events();
    std::size_t dropped = parser.feed(chunk, [&](SseEvent&& e) { out.events.push_back(std::move(e)); });
    FUZZ_CHECK(parser.dropped_events() == before + dropped);
    FUZZ_CHECK(parser.buffered_bytes() <= limit);
    FUZZ_CHECK(parser.last_event_id().size() <= limit);
    out.dropped += dropped;
  }
  for (const auto& e : out.events) {
    FUZZ_CHECK(!e.type.empty() && e.type.size() <= limit && e.data.size() <= limit && e.id.size() <= limit);
    FUZZ_CHECK(e.id.find('\0') == std::string::npos);
  }
  out.retry = parser.retry_ms();
  out.last_id = parser.last_event_id();
  return out;
}

// The spec's algorithm written the obvious way, on the whole input at once.
Outcome reference(std::string_view stream) {
  Outcome out;
  if (stream.substr(0, 3) == "\xEF\xBB\xBF") stream.remove_prefix(3);
  std::vector<std::string> lines;  // complete lines only
  std::string line;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (stream[i] == '\r' || stream[i] == '\n') {
      if (stream[i] == '\r' && i + 1 < stream.size() && stream[i + 1] == '\n') ++i;
      lines.push_back(line);
      line.clear();
    } else {
      line += stream[i];
    }
  }
  std::string data, type, id;
  for (const auto& l : lines) {
    if (l.empty()) {
      out.last_id = id;
      if (!data.empty()) {
        data.pop_back();
        out.events.push_back({type.empty() ? "message" : type, data, id});
      }
      data.clear();
      type.clear();
      continue;
    }
    if (l[0] == ':') continue;
    auto colon = l.find(':');
    std::string field = l.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : l.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "event") type = value;
    if (field == "data") data += value + "\n";
    if (field == "id" && value.find('\0') == std::string::npos) id = value;
    if (field == "retry" && !value.empty() &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      errno = 0;
      long ms = std::strtol(value.c_str(), nullptr, 10);
      if (errno != ERANGE) out.retry = ms;
    }
  }
  return out;
}

bool printable_line(const std::string& text) {
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

void check_decode(std::string_view data) {
  DecodeResult result;
  try {
    result = decode_event(data);
  } catch (...) {
    FUZZ_CHECK(!"decode_event threw");
  }
  if (auto* error = std::get_if<std::string>(&result)) {
    FUZZ_CHECK(!error->empty() && printable_line(*error));
    return;
  }
  const ItemEvent& event = std::get<ItemEvent>(result);
  auto topic = parse_item_topic(event.topic);
  switch (event.kind) {
    case EventKind::Command:
      FUZZ_CHECK(event.event_type == "ItemCommandEvent");
      FUZZ_CHECK(topic && topic->action == "command" && topic->member.empty() && topic->item == event.item);
      FUZZ_CHECK(event.topic == std::string(topic->name_space) + "/items/" + event.item + "/command");
      FUZZ_CHECK(is_valid_item_name(event.item) && event.member.empty());
      break;
    case EventKind::State:
      FUZZ_CHECK(event.event_type.find("State") != std::string::npos &&
                 event.event_type != "ItemCommandEvent");
      FUZZ_CHECK(topic && topic->item == event.item && topic->member == event.member);
      FUZZ_CHECK(is_valid_item_name(event.item));
      break;
    case EventKind::Alive:
      FUZZ_CHECK(event.event_type == "ALIVE" && event.topic.empty() && event.item.empty());
      FUZZ_CHECK(!event.alive_interval_s ||
                 (std::isfinite(*event.alive_interval_s) && *event.alive_interval_s > 0));
      break;
    case EventKind::Other:
      FUZZ_CHECK(event.event_type != "ItemCommandEvent" && event.event_type != "ALIVE");
      FUZZ_CHECK(event.item.empty() && event.value.empty() && event.member.empty());
      break;
  }
  if (event.kind != EventKind::Alive) FUZZ_CHECK(!event.alive_interval_s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const auto control = input.ConsumeIntegral<uint8_t>();
  const std::size_t limit = kLimits[control & 3];
  std::vector<std::size_t> cuts((control >> 2) & 15);
  for (auto& cut : cuts) cut = input.ConsumeIntegral<uint16_t>();
  const std::string stream = input.ConsumeRemainingBytesAsString();
  const std::string_view text = stream;

  for (auto& cut : cuts) cut %= text.size() + 1;
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string_view> chunks;
  std::size_t from = 0;
  for (auto cut : cuts) {
    chunks.push_back(text.substr(from, cut - from));
    from = cut;
  }
  chunks.push_back(text.substr(from));
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));

  const Outcome whole = run(limit, {text});
  FUZZ_CHECK(run(limit, chunks) == whole);
  FUZZ_CHECK(run(limit, bytes) == whole);
  if (whole.dropped == 0) FUZZ_CHECK(reference(text) == whole);

  for (const auto& event : whole.events) check_decode(event.data);
  check_decode(text);
  return 0;
}
