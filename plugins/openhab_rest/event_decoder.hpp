// Decoder for the events on openHAB's event stream (reference D.3, D.4): the
// `data` of one SSE event, an EventDTO {"topic","payload","type"} whose
// payload is itself JSON inside a JSON string, to what OpenhabREST acts on.
//
// Only ItemCommandEvent on `<namespace>/items/<item>/command` is a command;
// the state events (ItemStateEvent, ...Changed, ...Updated, ...Predicted and
// the group member events on `<namespace>/items/<group>/<member>/...`) never
// are, so the client's own updates echoed back cannot command an actuator.
// Both namespaces are accepted: `smarthome/` (openHAB 2) and `openhab/` (3+).
//
// Pure functions on values: no state, no exceptions out of decode_event.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace sr::openhab {

enum class EventKind {
  Command,  // ItemCommandEvent: item and value set
  State,    // an item or group state event: item and value set; never acted on
  Alive,    // the keep-alive of openHAB >= 3.3: {"type":"ALIVE"[,"interval":10]}
  Other,    // any other well-formed event (things, rules, item added, ...)
};

struct ItemEvent {
  EventKind kind = EventKind::Other;
  std::string event_type;  // the EventDTO "type": "ItemCommandEvent", "ALIVE", ...
  std::string topic;       // "" for alive events
  std::string item;        // Command, State: the item (the group for group member events)
  std::string member;      // group member events: the member whose change caused it
  std::string value;       // Command, State: the payload's value, its JSON text if not a string
  std::string value_type;  // Command, State: the payload's type ("OnOff", "Decimal", "Quantity", ...)
  std::optional<double> alive_interval_s;  // Alive: "interval" when it is a positive number
};

// The event, or a one-line error naming what was wrong, with a printable
// excerpt of the input (control bytes and invalid UTF-8 escaped).
using DecodeResult = std::variant<ItemEvent, std::string>;
DecodeResult decode_event(std::string_view data);

// An item topic, `<namespace>/items/<item>[/<member>]/<action>`; the views
// point into the string given to parse_item_topic.
struct ItemTopic {
  std::string_view name_space;  // [a-z]+: "openhab" (3.0+) or "smarthome" (2.x)
  std::string_view item;
  std::string_view member;  // "" unless a group member event (5 segments)
  std::string_view action;  // [a-z]+: "command", "state", "statechanged", ...
};
std::optional<ItemTopic> parse_item_topic(std::string_view topic);

// openHAB's item name rule (ItemUtil.isValidItemName and the REST path
// pattern): one or more of [A-Za-z0-9_].
bool is_valid_item_name(std::string_view name);

}  // namespace sr::openhab
