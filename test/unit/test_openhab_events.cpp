// Unit tests for openhab_rest's event stream logic: the Server-Sent Events
// parser (WHATWG event stream interpretation: line endings, BOM, comments,
// fields, dispatch, chunks split anywhere, the memory bound) and the decoder
// of openHAB's EventDTO JSON (reference D.3, D.4), with exact expected values.
#include "openhab_rest/event_decoder.hpp"
#include "openhab_rest/sse_parser.hpp"

#include "support/doctest_vector.h"

#include <doctest/doctest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace sr::openhab {
std::ostream& operator<<(std::ostream& out, const SseEvent& e) {
  return out << "{type=\"" << e.type << "\" data=\"" << e.data << "\" id=\"" << e.id << "\"}";
}
}  // namespace sr::openhab

namespace {

using namespace sr::openhab;
using Events = std::vector<SseEvent>;

// Feeds the chunks in order to one parser; returns the events and (through
// `dropped`) the sum of what feed() reported.
Events parse(const std::vector<std::string_view>& chunks, SseParser& parser, std::size_t* dropped = nullptr) {
  Events events;
  std::size_t total = 0;
  for (auto chunk : chunks)
    total += parser.feed(chunk, [&](SseEvent&& e) { events.push_back(std::move(e)); });
  if (dropped) *dropped = total;
  return events;
}

Events parse(const std::vector<std::string_view>& chunks) {
  SseParser parser;
  return parse(chunks, parser);
}

SseEvent message(std::string data, std::string id = "") {
  return {"message", std::move(data), std::move(id)};
}

// What openHAB 4 sends (reference D.4): a command, then an alive event.
constexpr std::string_view kOpenhabSample =
    "event: message\n"
    R"(data: {"topic":"openhab/items/Test_Refresh/command","payload":"{\"type\":\"OnOff\",\"value\":\"ON\"}","type":"ItemCommandEvent"})"
    "\n\n"
    "event: alive\n"
    R"(data: {"type":"ALIVE","interval":10})"
    "\n\n";

const Events kOpenhabSampleEvents = {
    {"message",
     R"({"topic":"openhab/items/Test_Refresh/command","payload":"{\"type\":\"OnOff\",\"value\":\"ON\"}","type":"ItemCommandEvent"})",
     ""},
    {"alive", R"({"type":"ALIVE","interval":10})", ""},
};

ItemEvent decoded(std::string_view data) {
  auto result = decode_event(data);
  if (auto* error = std::get_if<std::string>(&result)) FAIL_CHECK("unexpected error: " << *error);
  REQUIRE(std::holds_alternative<ItemEvent>(result));
  return std::get<ItemEvent>(result);
}

std::string error_of(std::string_view data) {
  auto result = decode_event(data);
  if (auto* event = std::get_if<ItemEvent>(&result))
    FAIL_CHECK("expected an error, got an event of type " << event->event_type);
  REQUIRE(std::holds_alternative<std::string>(result));
  return std::get<std::string>(result);
}

}  // namespace

// ---------------------------------------------------------------------------
// SSE: line endings

TEST_CASE("sse: LF, CRLF and lone CR end lines alike") {
  CHECK(parse({"event: e\ndata: a\n\n"}) == Events{{"e", "a", ""}});
  CHECK(parse({"event: e\r\ndata: a\r\n\r\n"}) == Events{{"e", "a", ""}});
  CHECK(parse({"event: e\rdata: a\r\r"}) == Events{{"e", "a", ""}});
  // Mixed in one stream.
  CHECK(parse({"data: a\r\ndata: b\rdata: c\n\r\n"}) == Events{message("a\nb\nc")});
}

TEST_CASE("sse: a CR at the end of one feed and the LF starting the next are one line ending") {
  // Were the LF a second line ending, it would be a blank line dispatching "a" alone.
  CHECK(parse({"data: a\r", "\ndata: b\r", "\n\r", "\n"}) == Events{message("a\nb")});
  // A CR followed by something else in the next feed still ends the line.
  CHECK(parse({"data: a\r", "data: b\r", "\r"}) == Events{message("a\nb")});
  // Two CRs are two line endings, the second a blank line.
  CHECK(parse({"data: a\r", "\r", "\n"}) == Events{message("a")});
}

TEST_CASE("sse: a UTF-8 BOM is skipped at the start of the stream only") {
  CHECK(parse({"\xEF\xBB\xBF"
               "data: a\n\n"}) == Events{message("a")});
  CHECK(parse({"\xEF", "\xBB", "\xBF", "data: a\n\n"}) == Events{message("a")});
  // A second BOM belongs to the first field name, which is then unknown.
  CHECK(parse({"\xEF\xBB\xBF\xEF\xBB\xBF"
               "data: a\n\n"})
            .empty());
  // The start of a BOM that does not complete is data, not dropped.
  CHECK(parse({"\xEF\xBB", "data: a\n\n"}).empty());
  CHECK(parse({"\xEF", "data: a\n\n"}).empty());
  // Not at the start: part of the line.
  CHECK(parse({"data: a\n\n",
               "\xEF\xBB\xBF"
               "data: b\n\n"}) == Events{message("a")});
  CHECK(parse({"data: \xEF\xBB\xBF\n\n"}) == Events{message("\xEF\xBB\xBF")});
}

TEST_CASE("sse: reset starts a new stream: the partial event is dropped and a BOM is expected again") {
  SseParser parser;
  CHECK(parse({"data: a\n\n", "data: partial\nevent: x\n", "data: more"}, parser) == Events{message("a")});
  parser.reset();
  CHECK(parser.buffered_bytes() == 0);
  CHECK(parse({"\xEF\xBB\xBF"
               "data: b\n\n"},
              parser) == Events{message("b")});
}

// ---------------------------------------------------------------------------
// SSE: fields

TEST_CASE("sse: data lines are joined with LF, without the final one") {
  CHECK(parse({"data: a\ndata: b\n\n"}) == Events{message("a\nb")});
  CHECK(parse({"data: a\ndata\ndata:\ndata: b\n\n"}) == Events{message("a\n\n\nb")});
  CHECK(parse({"data: a\ndata:\n\n"}) == Events{message("a\n")});
  // A JSON document spread over two data lines is still one document.
  CHECK(parse({"data: {\"type\":\ndata: \"ALIVE\"}\n\n"}) == Events{message("{\"type\":\n\"ALIVE\"}")});
}

TEST_CASE("sse: comment lines are ignored wherever they are") {
  CHECK(parse({": hello\ndata: a\n:\n: x\ndata: b\n\n"}) == Events{message("a\nb")});
  CHECK(parse({": only a comment\n\n"}).empty());
  CHECK(parse({":", "data: not a field\n", "data: a\n\n"}) == Events{message("a")});
}

TEST_CASE("sse: a line without colon is a field with an empty value") {
  CHECK(parse({"data\n\n"}) == Events{message("")});
  CHECK(parse({"event\ndata: a\n\n"}) == Events{message("a")});  // empty type: "message"
  CHECK(parse({"data: a\nid\n\n"}) == Events{message("a", "")});
}

TEST_CASE("sse: one space after the colon is removed, and only one") {
  CHECK(parse({"data:a\n\n"}) == Events{message("a")});
  CHECK(parse({"data:  a \n\n"}) == Events{message(" a ")});
  CHECK(parse({"event:custom\ndata:x:y\n\n"}) == Events{{"custom", "x:y", ""}});
  CHECK(parse({"data:\ta\n\n"}) == Events{message("\ta")});
  // The field name is everything before the first colon, spaces included.
  CHECK(parse({"data : a\n\n"}).empty());
}

TEST_CASE("sse: an event with an empty data buffer is not dispatched, and its type does not leak") {
  CHECK(parse({"event: foo\n\n"}).empty());
  CHECK(parse({"\n\n\n"}).empty());
  CHECK(parse({"event: foo\n\ndata: x\n\n"}) == Events{message("x")});
  CHECK(parse({"foo: bar\nretry: 10\n\n"}).empty());
}

TEST_CASE("sse: unknown fields are ignored, known names are case-sensitive") {
  CHECK(parse({"foo: bar\nData: no\nEVENT: no\ndata: x\n\n"}) == Events{message("x")});
}

TEST_CASE("sse: id is kept for the following events until changed; NUL makes it ignored") {
  SseParser parser;
  CHECK(parse({"id: 7\ndata: a\n\n", "data: b\n\n"}, parser) == Events{message("a", "7"), message("b", "7")});
  CHECK(parser.last_event_id() == "7");
  CHECK(parse({std::string_view("id: 8\0x\ndata: c\n\n", 17)}, parser) == Events{message("c", "7")});
  CHECK(parse({"id\ndata: d\n\n"}, parser) == Events{message("d", "")});
  // An id without data still becomes the last event id at the blank line.
  CHECK(parse({"id: 9\n\n"}, parser).empty());
  CHECK(parser.last_event_id() == "9");
  // A new stream starts with an empty id buffer; the source keeps its last id.
  parser.reset();
  CHECK(parser.last_event_id() == "9");
  CHECK(parse({"data: e\n\n"}, parser) == Events{message("e", "")});
  CHECK(parser.last_event_id() == "");
}

TEST_CASE("sse: retry takes digits only and survives a reset") {
  SseParser parser;
  CHECK(parser.retry_ms() == std::nullopt);
  parse({"retry: 5000\n"}, parser);
  CHECK(parser.retry_ms() == 5000);
  for (std::string_view bad : {"retry: 5s\n", "retry: -1\n", "retry: +3\n", "retry:\n", "retry\n",
                               "retry: 1 \n", "retry: 99999999999999999999999\n"}) {
    parse({bad}, parser);
    CHECK_MESSAGE(parser.retry_ms() == 5000, bad);
  }
  parse({"retry:0\n"}, parser);
  CHECK(parser.retry_ms() == 0);
  parse({"retry: 250\n"}, parser);
  parser.reset();
  CHECK(parser.retry_ms() == 250);
}

// ---------------------------------------------------------------------------
// SSE: chunks

TEST_CASE("sse: the openHAB sample gives its two events, in order, from one feed") {
  SseParser parser;
  std::size_t dropped = 99;
  CHECK(parse({kOpenhabSample}, parser, &dropped) == kOpenhabSampleEvents);
  CHECK(dropped == 0);
  CHECK(parser.buffered_bytes() == 0);
}

TEST_CASE("sse: the openHAB sample split at every byte offset gives the same events") {
  for (std::size_t cut = 0; cut <= kOpenhabSample.size(); ++cut) {
    CAPTURE(cut);
    CHECK(parse({kOpenhabSample.substr(0, cut), kOpenhabSample.substr(cut)}) == kOpenhabSampleEvents);
  }
}

TEST_CASE("sse: the CRLF form of the sample split at every pair of offsets gives the same events") {
  std::string crlf;
  for (char c : kOpenhabSample) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  std::string_view text = crlf;
  for (std::size_t first = 0; first <= text.size(); ++first) {
    for (std::size_t second = first; second <= text.size(); second += 7) {
      auto events = parse({text.substr(0, first), text.substr(first, second - first), text.substr(second)});
      if (events != kOpenhabSampleEvents) {
        CAPTURE(first);
        CAPTURE(second);
        CHECK(events == kOpenhabSampleEvents);
        return;
      }
    }
  }
}

TEST_CASE("sse: one byte at a time") {
  SseParser parser;
  Events events;
  for (char c : kOpenhabSample)
    parser.feed(std::string_view(&c, 1), [&](SseEvent&& e) { events.push_back(std::move(e)); });
  CHECK(events == kOpenhabSampleEvents);
}

TEST_CASE("sse: an event is dispatched only at its blank line") {
  SseParser parser;
  CHECK(parse({"data: a\n"}, parser).empty());
  CHECK(parser.buffered_bytes() == 2);  // "a\n" in the data buffer
  CHECK(parse({"\n"}, parser) == Events{message("a")});
  // A stream that ends inside an event never dispatches it.
  CHECK(parse({"data: b\n", "data: c"}, parser).empty());
}

// ---------------------------------------------------------------------------
// SSE: the memory bound

TEST_CASE("sse: an event up to the limit passes; one byte more is dropped, reported, and parsing recovers") {
  SseParser parser(16);
  std::size_t dropped = 99;
  // "data: 0123456789" is 16 bytes.
  CHECK(parse({"data: 0123456789\n\n"}, parser, &dropped) == Events{message("0123456789")});
  CHECK(dropped == 0);
  CHECK(parse({"data: 0123456789A\n\ndata: ok\n\n"}, parser, &dropped) == Events{message("ok")});
  CHECK(dropped == 1);
  CHECK(parser.dropped_events() == 1);
  // The limit is on the whole event, not one line: 8 + 9 bytes.
  CHECK(parse({"data: ab\ndata: abc\ndata: more\n\n", "data: ok2\n\n"}, parser, &dropped) ==
        Events{message("ok2")});
  CHECK(dropped == 1);
  CHECK(parser.dropped_events() == 2);
  // Comments are not stored and never count.
  CHECK(parse({": a comment far longer than sixteen bytes\ndata: ok3\n\n"}, parser, &dropped) ==
        Events{message("ok3")});
  CHECK(dropped == 0);
  // Line endings do not count.
  CHECK(parse({"event: e\r\ndata: 12\r\n\r\n"}, parser, &dropped) == Events{{"e", "12", ""}});
  CHECK(dropped == 0);
}

TEST_CASE("sse: a dropped event is skipped up to the next blank line, whatever its later lines say") {
  SseParser parser(16);
  std::size_t dropped = 0;
  CHECK(parse({"event: x\ndata: 0123456789ABCDEF\ndata: still the dropped event\nevent: y\n\ndata: next\n\n"},
              parser, &dropped) == Events{message("next")});
  CHECK(dropped == 1);
}

TEST_CASE("sse: an endless line is reported once, when it crosses the limit, and holds no memory") {
  SseParser parser(1000);
  std::string chunk(300, 'x');
  std::size_t dropped = parser.feed("data: ", [](SseEvent&&) { FAIL("no event expected"); });
  for (int i = 0; i < 3; ++i) dropped += parser.feed(chunk, [](SseEvent&&) { FAIL("no event expected"); });
  CHECK(dropped == 0);
  CHECK(parser.buffered_bytes() == 906);
  CHECK(parser.feed(chunk, [](SseEvent&&) { FAIL("no event expected"); }) == 1);
  CHECK(parser.buffered_bytes() == 0);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(parser.feed(chunk, [](SseEvent&&) { FAIL("no event expected"); }) == 0);
    REQUIRE(parser.buffered_bytes() == 0);
  }
  CHECK(parse({"\n", "\n", "data: back\n\n"}, parser) == Events{message("back")});
  CHECK(parser.dropped_events() == 1);
}

TEST_CASE("sse: the default limit is 1 MiB") {
  SseParser parser;
  std::string exact = "data: " + std::string(SseParser::kDefaultMaxEventBytes - 6, 'y');
  std::size_t dropped = 99;
  Events events = parse({exact, "\n\n"}, parser, &dropped);
  CHECK(dropped == 0);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data.size() == SseParser::kDefaultMaxEventBytes - 6);
  CHECK(parse({exact, "z\n\ndata: small\n\n"}, parser, &dropped) == Events{message("small")});
  CHECK(dropped == 1);
}

// ---------------------------------------------------------------------------
// Decoder: commands

TEST_CASE("decode: the D.4 command sample") {
  ItemEvent event = decoded(kOpenhabSampleEvents[0].data);
  CHECK(event.kind == EventKind::Command);
  CHECK(event.event_type == "ItemCommandEvent");
  CHECK(event.topic == "openhab/items/Test_Refresh/command");
  CHECK(event.item == "Test_Refresh");
  CHECK(event.member == "");
  CHECK(event.value == "ON");
  CHECK(event.value_type == "OnOff");
  CHECK(event.alive_interval_s == std::nullopt);
}

TEST_CASE("decode: Gson's \\u003d escapes (double-encoded) and UTF-8 come out as the text sent") {
  // Gson escapes = < > & ' in the payload, and the outer Gson escapes that backslash again.
  ItemEvent text = decoded(
      R"({"topic":"openhab/items/Say/command","payload":"{\"type\":\"String\",\"value\":\"a\\u003db \\u003ci\\u003e \\u0026 \\u0027q\\u0027 €\"}","type":"ItemCommandEvent"})");
  CHECK(text.kind == EventKind::Command);
  CHECK(text.value == "a=b <i> & 'q' €");
  CHECK(text.value_type == "String");
  // Escaped only once (at the outer level) reads the same.
  CHECK(
      decoded(
          R"({"topic":"openhab/items/Say/command","payload":"{\"type\":\"String\",\"value\":\"a\u003db\"}","type":"ItemCommandEvent"})")
          .value == "a=b");
  ItemEvent quantity = decoded(
      R"({"topic":"openhab/items/Temp_Set/command","payload":"{\"type\":\"Quantity\",\"value\":\"21.5 °C\"}","type":"ItemCommandEvent"})");
  CHECK(quantity.value == "21.5 °C");
  CHECK(quantity.value_type == "Quantity");
  // \u escapes for non-ASCII and a surrogate pair.
  CHECK(
      decoded(
          R"({"topic":"openhab/items/S/command","payload":"{\"type\":\"String\",\"value\":\"\\u20ac \\ud83d\\ude00\"}","type":"ItemCommandEvent"})")
          .value == "€ \xF0\x9F\x98\x80");
}

TEST_CASE("decode: smarthome/ (openHAB 2) and openhab/ (3+) command topics give the same command") {
  for (std::string_view ns : {"smarthome", "openhab"}) {
    CAPTURE(ns);
    std::string data =
        R"({"topic":")" + std::string(ns) +
        R"(/items/Garage_Door/command","payload":"{\"type\":\"UpDown\",\"value\":\"UP\"}","type":"ItemCommandEvent"})";
    ItemEvent event = decoded(data);
    CHECK(event.kind == EventKind::Command);
    CHECK(event.item == "Garage_Door");
    CHECK(event.value == "UP");
    CHECK(event.value_type == "UpDown");
  }
}

TEST_CASE("decode: items whose names are prefixes of each other stay distinct") {
  auto command = [](std::string_view item) {
    return R"({"topic":"openhab/items/)" + std::string(item) +
           R"(/command","payload":"{\"type\":\"OnOff\",\"value\":\"OFF\"}","type":"ItemCommandEvent"})";
  };
  CHECK(decoded(command("Lamp")).item == "Lamp");
  CHECK(decoded(command("Lamp_2")).item == "Lamp_2");
  CHECK(decoded(command("L")).item == "L");
  CHECK(decoded(command("2")).item == "2");
}

TEST_CASE("decode: a value that is not a string is passed as its JSON text") {
  auto with_value = [](std::string_view value) {
    return R"({"topic":"openhab/items/N/command","payload":"{\"type\":\"Decimal\",\"value\":)" +
           std::string(value) + R"(}","type":"ItemCommandEvent"})";
  };
  CHECK(decoded(with_value("21.5")).value == "21.5");
  CHECK(decoded(with_value("-3")).value == "-3");
  CHECK(decoded(with_value("true")).value == "true");
  CHECK(decoded(with_value("null")).value == "null");
  CHECK(decoded(with_value(R"({\"a\":[1,\"x\"]})")).value == R"({"a":[1,"x"]})");
  // A payload without "type" still commands; the type is then empty.
  ItemEvent untyped = decoded(
      R"({"topic":"openhab/items/N/command","payload":"{\"value\":\"7\"}","type":"ItemCommandEvent"})");
  CHECK(untyped.value == "7");
  CHECK(untyped.value_type == "");
}

TEST_CASE("decode: ItemCommandEvent on a topic that is not <ns>/items/<item>/command is an error") {
  auto command_on = [](std::string_view topic) {
    return R"({"topic":")" + std::string(topic) +
           R"(","payload":"{\"type\":\"OnOff\",\"value\":\"ON\"}","type":"ItemCommandEvent"})";
  };
  for (std::string_view topic :
       {"openHAB/items/X/command", "openhab/items/X-1/command", "openhab/items//command",
        "openhab/things/X/command", "openhab/items/X/command/extra", "/openhab/items/X/command",
        "openhab/items/X/state", "openhab/items/G/M/command", "openhab/items/X/Command", "items/X/command",
        "openhab/items/X/", "openhab2/items/X/command", ""}) {
    CAPTURE(topic);
    CHECK(error_of(command_on(topic)) == "ItemCommandEvent on unexpected topic '" + std::string(topic) +
                                             "' (not <namespace>/items/<item>/command)");
  }
  CHECK(decoded(command_on("x/items/X/command")).kind == EventKind::Command);  // any [a-z]+ namespace
}

// ---------------------------------------------------------------------------
// Decoder: state events are never commands

TEST_CASE("decode: item state events are State with the item and its new value") {
  ItemEvent state = decoded(
      R"({"topic":"openhab/items/Lamp/state","payload":"{\"type\":\"OnOff\",\"value\":\"ON\"}","type":"ItemStateEvent"})");
  CHECK(state.kind == EventKind::State);
  CHECK(state.item == "Lamp");
  CHECK(state.value == "ON");
  CHECK(state.value_type == "OnOff");

  ItemEvent changed = decoded(
      R"({"topic":"openhab/items/Temp/statechanged","payload":"{\"type\":\"Quantity\",\"value\":\"21.5 °C\",\"oldType\":\"Quantity\",\"oldValue\":\"21 °C\"}","type":"ItemStateChangedEvent"})");
  CHECK(changed.kind == EventKind::State);
  CHECK(changed.item == "Temp");
  CHECK(changed.value == "21.5 °C");

  ItemEvent updated = decoded(
      R"({"topic":"openhab/items/Lamp_2/stateupdated","payload":"{\"type\":\"OnOff\",\"value\":\"OFF\"}","type":"ItemStateUpdatedEvent"})");
  CHECK(updated.kind == EventKind::State);
  CHECK(updated.item == "Lamp_2");
  CHECK(updated.value == "OFF");

  ItemEvent predicted = decoded(
      R"({"topic":"openhab/items/Lamp/statepredicted","payload":"{\"predictedType\":\"OnOff\",\"predictedValue\":\"ON\",\"isConfirmation\":false}","type":"ItemStatePredictedEvent"})");
  CHECK(predicted.kind == EventKind::State);
  CHECK(predicted.item == "Lamp");
  CHECK(predicted.value == "ON");
  CHECK(predicted.value_type == "OnOff");

  ItemEvent oh2 = decoded(
      R"({"topic":"smarthome/items/Lamp/state","payload":"{\"type\":\"OnOff\",\"value\":\"OFF\"}","type":"ItemStateEvent"})");
  CHECK(oh2.kind == EventKind::State);
  CHECK(oh2.item == "Lamp");
}

TEST_CASE("decode: group member events are State of the group, naming the member") {
  ItemEvent changed = decoded(
      R"({"topic":"openhab/items/G/M/statechanged","payload":"{\"type\":\"OnOff\",\"value\":\"ON\",\"oldType\":\"OnOff\",\"oldValue\":\"OFF\"}","type":"GroupItemStateChangedEvent"})");
  CHECK(changed.kind == EventKind::State);
  CHECK(changed.item == "G");
  CHECK(changed.member == "M");
  CHECK(changed.value == "ON");
  ItemEvent updated = decoded(
      R"({"topic":"openhab/items/All_Lights/Lamp_2/stateupdated","payload":"{\"type\":\"OnOff\",\"value\":\"OFF\"}","type":"GroupStateUpdatedEvent"})");
  CHECK(updated.kind == EventKind::State);
  CHECK(updated.item == "All_Lights");
  CHECK(updated.member == "Lamp_2");
}

TEST_CASE("decode: a state event type is State even on a command topic") {
  ItemEvent event = decoded(
      R"({"topic":"openhab/items/Lamp/command","payload":"{\"type\":\"OnOff\",\"value\":\"ON\"}","type":"ItemStateEvent"})");
  CHECK(event.kind == EventKind::State);
  CHECK(event.item == "Lamp");
}

TEST_CASE("decode: a state event on a topic without an item is an error") {
  CHECK(
      error_of(
          R"({"topic":"openhab/items/Bad-Name/state","payload":"{\"type\":\"OnOff\",\"value\":\"ON\"}","type":"ItemStateEvent"})") ==
      "ItemStateEvent on unexpected topic 'openhab/items/Bad-Name/state' (not <namespace>/items/<item>/...)");
}

// ---------------------------------------------------------------------------
// Decoder: alive and other events

TEST_CASE("decode: alive events, with and without an interval") {
  ItemEvent oh33 = decoded(R"({"type":"ALIVE"})");
  CHECK(oh33.kind == EventKind::Alive);
  CHECK(oh33.event_type == "ALIVE");
  CHECK(oh33.alive_interval_s == std::nullopt);
  ItemEvent oh4 = decoded(R"({"type":"ALIVE","interval":10})");
  CHECK(oh4.kind == EventKind::Alive);
  CHECK(oh4.alive_interval_s == 10.0);
  CHECK(decoded(R"({"type":"ALIVE","interval":2.5})").alive_interval_s == 2.5);
  // Not a usable interval: still alive, without one.
  for (std::string_view odd : {R"({"type":"ALIVE","interval":"10"})", R"({"type":"ALIVE","interval":0})",
                               R"({"type":"ALIVE","interval":-10})", R"({"type":"ALIVE","interval":null})"}) {
    CAPTURE(odd);
    ItemEvent event = decoded(odd);
    CHECK(event.kind == EventKind::Alive);
    CHECK(event.alive_interval_s == std::nullopt);
  }
  // The SSE event name does not matter: data over two lines works too.
  CHECK(decoded("{\"type\":\n\"ALIVE\"}").kind == EventKind::Alive);
}

TEST_CASE("decode: other well-formed events are Other, without item or value") {
  ItemEvent thing = decoded(
      R"({"topic":"openhab/things/zwave:device:1/status","payload":"{\"status\":\"ONLINE\",\"statusDetail\":\"NONE\"}","type":"ThingStatusInfoEvent"})");
  CHECK(thing.kind == EventKind::Other);
  CHECK(thing.event_type == "ThingStatusInfoEvent");
  CHECK(thing.topic == "openhab/things/zwave:device:1/status");
  CHECK(thing.item == "");
  CHECK(thing.value == "");
  // Item events that are not states or commands.
  CHECK(
      decoded(
          R"({"topic":"openhab/items/Lamp/added","payload":"{\"type\":\"Switch\",\"name\":\"Lamp\"}","type":"ItemAddedEvent"})")
          .kind == EventKind::Other);
  CHECK(decoded(R"({"topic":"openhab/items/Lamp/timeseries","payload":"{}","type":"ItemTimeSeriesEvent"})")
            .kind == EventKind::Other);
  // Their payload is not read.
  CHECK(decoded(R"({"topic":"openhab/rules/r1/state","payload":"not json","type":"RuleStatusInfoEvent"})")
            .kind == EventKind::Other);
}

// ---------------------------------------------------------------------------
// Decoder: malformed input

TEST_CASE("decode: malformed event data is an error naming the problem with an excerpt") {
  CHECK(error_of("") == "event data is not JSON: ");
  CHECK(error_of("{") == "event data is not JSON: {");
  CHECK(error_of(R"({"type":"ALIVE"} x)") == R"(event data is not JSON: {"type":"ALIVE"} x)");
  CHECK(error_of("{'type':'ALIVE'}") == "event data is not JSON: {'type':'ALIVE'}");
  CHECK(error_of("[1,2]") == "event data is not a JSON object: [1,2]");
  CHECK(error_of("\"ALIVE\"") == "event data is not a JSON object: \"ALIVE\"");
  CHECK(error_of(R"({"topic":"x"})") == R"(event has no string "type": {"topic":"x"})");
  CHECK(error_of(R"({"type":5})") == R"(event has no string "type": {"type":5})");
  // Control bytes and invalid UTF-8 are escaped in the excerpt.
  CHECK(error_of("\x01\xff\n") == "event data is not JSON: \\x01\\xff\\x0a");
  // Invalid UTF-8 inside a JSON string is not JSON.
  CHECK(error_of("{\"type\":\"\xff\"}") == "event data is not JSON: {\"type\":\"\\xff\"}");
  // A long input is cut.
  std::string long_input = "[" + std::string(200, '1') + "]";
  CHECK(error_of(long_input) ==
        "event data is not a JSON object: [" + std::string(119, '1') + "... (202 bytes)");
}

TEST_CASE("decode: missing or mistyped EventDTO fields and payloads are errors") {
  CHECK(error_of(R"({"payload":"{}","type":"ItemCommandEvent"})") ==
        R"(ItemCommandEvent has no string "topic": {"payload":"{}","type":"ItemCommandEvent"})");
  CHECK(
      error_of(R"({"topic":"openhab/items/X/command","type":"ItemCommandEvent"})") ==
      R"(ItemCommandEvent has no string "payload": {"topic":"openhab/items/X/command","type":"ItemCommandEvent"})");
  CHECK(
      error_of(R"({"topic":"openhab/items/X/command","payload":{"value":"ON"},"type":"ItemCommandEvent"})") ==
      R"(ItemCommandEvent has no string "payload": {"topic":"openhab/items/X/command","payload":{"value":"ON"},"type":"ItemCommandEvent"})");
  CHECK(error_of(R"({"topic":"openhab/items/X/command","payload":"ON","type":"ItemCommandEvent"})") ==
        "ItemCommandEvent payload is not JSON: ON");
  CHECK(error_of(R"({"topic":"openhab/items/X/command","payload":"[\"ON\"]","type":"ItemCommandEvent"})") ==
        R"(ItemCommandEvent payload is not a JSON object: ["ON"])");
  CHECK(
      error_of(
          R"({"topic":"openhab/items/X/command","payload":"{\"type\":\"OnOff\"}","type":"ItemCommandEvent"})") ==
      R"(ItemCommandEvent payload has no "value": {"type":"OnOff"})");
  CHECK(error_of(R"({"topic":"openhab/items/X/state","payload":"","type":"ItemStateEvent"})") ==
        "ItemStateEvent payload is not JSON: ");
  CHECK(
      error_of(
          R"({"topic":"openhab/items/X/statepredicted","payload":"{\"type\":\"OnOff\",\"value\":\"ON\"}","type":"ItemStatePredictedEvent"})") ==
      R"(ItemStatePredictedEvent payload has no "predictedValue": {"type":"OnOff","value":"ON"})");
  CHECK(
      error_of(R"({"topic":5,"payload":"{}","type":"ThingStatusInfoEvent"})") ==
      R"(ThingStatusInfoEvent has no string "topic": {"topic":5,"payload":"{}","type":"ThingStatusInfoEvent"})");
}

TEST_CASE(
    "decode: an event type quoted in an error is escaped like the rest (found by fuzz_openhab_events)") {
  CHECK(error_of(R"({"type":"Bad\u0007\u007f","topic":"t"})") ==
        R"(Bad\x07\x7f has no string "payload": {"type":"Bad\x5cu0007\x5cu007f","topic":"t"})");
  CHECK(error_of("{\"type\":\"A\nB\"}") == "event data is not JSON: {\"type\":\"A\\x0aB\"}");
}

TEST_CASE("decode: deep nesting is refused or rejected, never a crash") {
  // Deeply nested event data within the SSE limit (1 MiB).
  std::string deep = std::string(400000, '[') + std::string(400000, ']');
  CHECK(error_of(deep) == "event data is not a JSON object: " + std::string(120, '[') + "... (800000 bytes)");
  // A command value nested deeper than 64 levels is refused; 64 levels pass.
  auto nested = [](std::size_t depth) {
    return R"({"topic":"openhab/items/X/command","payload":"{\"value\":)" + std::string(depth, '[') +
           std::string(depth, ']') + R"(}","type":"ItemCommandEvent"})";
  };
  CHECK(decoded(nested(64)).value == std::string(64, '[') + std::string(64, ']'));
  std::string refused = error_of(nested(65));
  CHECK(refused.rfind(R"(ItemCommandEvent payload's "value" is nested too deeply: {"value":[[[)", 0) == 0);
  CHECK(error_of(nested(300000)).rfind(R"(ItemCommandEvent payload's "value" is nested too deeply)", 0) == 0);
}

// ---------------------------------------------------------------------------
// Helpers

TEST_CASE("item names: one or more of [A-Za-z0-9_]") {
  for (std::string_view good : {"Lamp", "Lamp_2", "_", "0", "ABCxyz_019"})
    CHECK_MESSAGE(is_valid_item_name(good), good);
  for (std::string_view bad : {"", "Lamp-2", "Lamp 2", "Lamp/2", "Lämp", "a.b", "Lamp\n"})
    CHECK_MESSAGE(!is_valid_item_name(bad), bad);
}

TEST_CASE("item topics: namespace, item, optional member, action") {
  auto topic = parse_item_topic("openhab/items/Lamp_2/statechanged");
  REQUIRE(topic);
  CHECK(topic->name_space == "openhab");
  CHECK(topic->item == "Lamp_2");
  CHECK(topic->member == "");
  CHECK(topic->action == "statechanged");
  auto group = parse_item_topic("smarthome/items/G/M/statechanged");
  REQUIRE(group);
  CHECK(group->name_space == "smarthome");
  CHECK(group->item == "G");
  CHECK(group->member == "M");
  CHECK(group->action == "statechanged");
  for (std::string_view bad : {"openhab/items/Lamp", "openhab/items/Lamp/", "openhab/items/a/b/c/state",
                               "openhab/things/x/state", "Openhab/items/x/state", "openhab/items/G/M-1/state",
                               "openhab/items/x/state2", "openhab/items/x/state/"})
    CHECK_MESSAGE(!parse_item_topic(bad), bad);
}

TEST_CASE("stream to decoder: the openHAB sample gives a command for Test_Refresh, then alive every 10 s") {
  SseParser parser;
  std::vector<ItemEvent> decoded_events;
  parser.feed(kOpenhabSample, [&](SseEvent&& e) { decoded_events.push_back(decoded(e.data)); });
  REQUIRE(decoded_events.size() == 2);
  CHECK(decoded_events[0].kind == EventKind::Command);
  CHECK(decoded_events[0].item == "Test_Refresh");
  CHECK(decoded_events[0].value == "ON");
  CHECK(decoded_events[1].kind == EventKind::Alive);
  CHECK(decoded_events[1].alive_interval_s == 10.0);
}
