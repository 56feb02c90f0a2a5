#include "openhab_connection.hpp"

#include "event_decoder.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace sr::openhab {
namespace {

using namespace std::chrono_literals;

// Updates on the wire at once: enough to keep a LAN round trip from limiting
// throughput, few enough that a slow openHAB is not buried. One item never
// has two in flight, so its updates arrive in order.
constexpr std::size_t kMaxInFlight = 4;
// Without alive events (openHAB < 3.4) GET /rest checks the server this often.
constexpr auto kCheckInterval = 30s;
// An event stream answer we did not ask for is quoted, never buffered whole.
constexpr std::size_t kMaxErrorBody = 1024;

template <typename Duration>
std::chrono::nanoseconds seconds(Duration value) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(value));
}

// openHAB's error answers: {"error":{"message":"...","http-code":404}}.
std::string error_message(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object() && json.contains("error") && json["error"].is_object()) {
    const auto& error = json["error"];
    if (error.contains("message") && error["message"].is_string()) return error["message"].get<std::string>();
  }
  return sdk::printable(body, 120);
}

// A failure text without its numbers: libcurl's "Failed to connect to oh
// port 8080 after 15 ms" differs on every retry but is the same failure,
// worth one warning.
std::string failure_shape(std::string_view why) {
  std::string shape;
  for (char c : why)
    if (c < '0' || c > '9') shape += c;
  return shape;
}

}  // namespace

std::optional<std::pair<int, int>> parse_version(std::string_view text) {
  int major = 0, minor = 0;
  const char* end = text.data() + text.size();
  auto [after_major, ec] = std::from_chars(text.data(), end, major);
  if (ec != std::errc() || after_major == text.data()) return std::nullopt;
  if (after_major < end && *after_major == '.') std::from_chars(after_major + 1, end, minor);
  return std::pair{major, minor};
}

std::string to_utf8(std::string_view payload) {
  std::string out;
  out.reserve(payload.size());
  for (size_t i = 0; i < payload.size();) {
    auto c = static_cast<unsigned char>(payload[i]);
    size_t len = sdk::utf8_sequence_length(payload, i);
    if (len == 2 && c < 0xC2) len = 0;  // an overlong form is not UTF-8 either
    if (len > 0) {
      out.append(payload.substr(i, len));
      i += len;
      continue;
    }
    out += static_cast<char>(0xC0 | (c >> 6));  // the byte as Latin-1
    out += static_cast<char>(0x80 | (c & 0x3F));
    ++i;
  }
  return out;
}

Settings read_settings(const sdk::Params& params) {
  Settings s;
  s.url = params.get("URL");
  while (!s.url.empty() && s.url.back() == '/') s.url.pop_back();
  if (s.url.rfind("http://", 0) != 0 && s.url.rfind("https://", 0) != 0)
    throw std::runtime_error(fmt::format("URL '{}' must start with http:// or https://", s.url));
  if (s.url.size() > 5 && s.url.compare(s.url.size() - 5, 5, "/rest") == 0)
    throw std::runtime_error(fmt::format("URL '{}': give openHAB's base URL, without /rest", s.url));
  s.refresh_item = params.get("RefreshItem");
  if (!is_valid_item_name(s.refresh_item))
    throw std::runtime_error(
        fmt::format("RefreshItem '{}' is not an openHAB item name (letters, digits, _)", s.refresh_item));
  s.version = params.find<double>("openHAB-Version");
  s.token = params.find("API-Token").value_or("");
  if (auto token_file = params.find("API-TokenFile")) {
    if (params.has("API-Token")) throw std::runtime_error("API-Token and API-TokenFile are exclusive; keep one");
    try {
      s.token = sdk::read_secret_file(*token_file);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format("API-TokenFile {}", e.what()));
    }
  }
  if (auto problem = url_credentials_problem(s.url)) throw std::runtime_error(*problem);
  s.tls.ca_file = params.find("CAcert").value_or("");
  if (!s.tls.ca_file.empty() && access(s.tls.ca_file.c_str(), R_OK) != 0)
    throw std::runtime_error(fmt::format("CAcert {}: {}", s.tls.ca_file, std::strerror(errno)));
  s.tls.insecure = params.get<bool>("TLSinsecure");
  s.timeout = std::chrono::milliseconds(static_cast<long long>(params.get<double>("Timeout") * 1000));
  s.reconnect_min = params.get<double>("ReconnectMin");
  s.reconnect_max = params.get<double>("ReconnectMax");
  if (s.reconnect_max < s.reconnect_min)
    throw std::runtime_error(
        fmt::format("ReconnectMax {} is below ReconnectMin {}", s.reconnect_max, s.reconnect_min));
  s.offline_items = params.get<std::size_t>("OfflineQueue");
  return s;
}

OpenhabREST::OpenhabREST(sdk::Host host, const sdk::Params& params)
    : host_(host),
      settings_(read_settings(params)),
      http_(host, settings_.tls, static_cast<long>(kMaxInFlight + 2)),
      reconnect_(seconds(settings_.reconnect_min), seconds(settings_.reconnect_max)),
      pending_(settings_.offline_items) {
  if (settings_.tls.insecure) host_.warning("TLSinsecure: openHAB's certificate is not checked at all");
  if (settings_.url.rfind("http://", 0) == 0 && !settings_.token.empty() &&
      settings_.url.find("://127.0.0.1") == std::string::npos &&
      settings_.url.find("://localhost") == std::string::npos)
    host_.warning("API-Token is sent unencrypted over http to {}; prefer https", settings_.url);
}

OpenhabREST::~OpenhabREST() = default;

void OpenhabREST::start() {
  host_.info("connecting to openHAB at {}", settings_.url);
  outage_since_ = host_.now();
  connect();
}

// --- the link ---------------------------------------------------------------

std::vector<std::string> OpenhabREST::request_headers(bool text_body) const {
  std::vector<std::string> headers;
  // Without a Content-Type openHAB 3+ answers 415 (the original's silent loss).
  if (text_body) headers.emplace_back("Content-Type: text/plain; charset=utf-8");
  if (!settings_.token.empty()) headers.push_back("Authorization: Bearer " + settings_.token);
  return headers;
}

std::string OpenhabREST::describe_failure(const HttpResult& result) const {
  if (!result.transport_ok()) return result.error;
  if (result.status == 401 || result.status == 403)
    return fmt::format("{} {}: {}", result.status, error_message(result.body),
                       settings_.token.empty() ? "openHAB requires authentication; set API-Token"
                                               : "API-Token is not accepted; create a new token in openHAB");
  return fmt::format("HTTP {}: {}", result.status, error_message(result.body));
}

void OpenhabREST::connect() {
  connecting_ = true;
  report_status();
  probe();
}

void OpenhabREST::probe() {
  if (probe_id_) return;
  last_probe_ = host_.now();
  HttpRequest request;
  request.url = settings_.url + "/rest";
  request.headers = request_headers(false);
  request.headers.emplace_back("Accept: application/json");
  request.timeout = settings_.timeout;
  request.connect_timeout = settings_.timeout;
  const bool connecting = connecting_;
  request.on_done = [this, connecting](HttpResult&& result) {
    probe_id_ = 0;
    on_probe(std::move(result), connecting);
  };
  probe_id_ = http_.start(std::move(request));
}

void OpenhabREST::on_probe(HttpResult&& result, bool connecting) {
  if (!result.transport_ok() || result.status >= 500) {
    link_lost(describe_failure(result), true);
    return;
  }
  if (result.status == 401 || result.status == 403) {
    // openHAB checks a credential that is present on every path, /rest too.
    link_lost("openHAB refused the API-Token: " + describe_failure(result), true);
    return;
  }
  auto json = nlohmann::json::parse(result.body, nullptr, false);
  if (result.status != 200 || !json.is_object() || !json.contains("version")) {
    link_lost(fmt::format("no openHAB REST API at {}/rest ({})", settings_.url, describe_failure(result)),
              true);
    return;
  }
  std::string version = "2.x";
  if (json.contains("runtimeInfo") && json["runtimeInfo"].is_object() &&
      json["runtimeInfo"].contains("version") && json["runtimeInfo"]["version"].is_string())
    version = json["runtimeInfo"]["version"].get<std::string>();
  auto numbers = parse_version(version).value_or(std::pair{2, 0});
  if (version != server_version_) {
    host_.info("openHAB {} at {}", version, settings_.url);
    server_version_ = version;
    openhab3_ = numbers.first >= 3;
    alive_expected_ = numbers.first > 3 || (numbers.first == 3 && numbers.second >= 4);
  }
  if (settings_.version && !version_warned_ && (*settings_.version >= 3) != openhab3_) {
    host_.warning(
        "openHAB-Version = {} but {} runs openHAB {}; using {} (openHAB-Version can be left out: it is "
        "detected)",
        *settings_.version, settings_.url, version, version);
    version_warned_ = true;
  }
  const bool was_reachable = reachable_;
  reachable_ = true;
  pending_.latest_only(false);
  if (!was_reachable) send_pending();
  if (connecting) open_stream();
}

std::string OpenhabREST::stream_url() const {
  const char* ns = openhab3_ ? "openhab" : "smarthome";
  // Commands only when alive events prove the stream alive; otherwise state
  // events too, so that each accepted update must echo on the stream.
  if (alive_expected_) return fmt::format("{}/rest/events?topics={}/items/*/command", settings_.url, ns);
  return fmt::format("{}/rest/events?topics={}/items/*/command,{}/items/*/state", settings_.url, ns, ns);
}

void OpenhabREST::open_stream() {
  if (stream_id_) return;
  parser_.reset();
  stream_open_ = false;
  stream_status_ = 0;
  stream_error_body_.clear();
  echo_awaited_since_ = Clock(0);
  HttpRequest request;
  request.url = stream_url();
  request.headers = request_headers(false);
  request.headers.emplace_back("Accept: text/event-stream");
  request.connect_timeout = settings_.timeout;
  request.tcp_keepalive = true;
  request.on_headers = [this](long status) { on_stream_headers(status); };
  request.on_data = [this](std::string_view bytes) { return on_stream_data(bytes); };
  request.on_done = [this](HttpResult&& result) {
    stream_id_ = 0;
    on_stream_done(std::move(result));
  };
  stream_id_ = http_.start(std::move(request));
  // A server that accepts the connection and never answers.
  stream_deadline_ = host_.add_timer(settings_.timeout, Clock(0), [this] {
    if (stream_id_ && !stream_open_)
      link_lost(fmt::format("no answer to GET /rest/events within {} ms", settings_.timeout.count()), false);
  });
}

// Runs inside libcurl: no request may be started or cancelled here.
void OpenhabREST::on_stream_headers(long status) {
  stream_status_ = status;
  if (status != 200) return;  // on_stream_done reports it
  stream_open_ = true;
  connecting_ = false;
  stream_deadline_.cancel();
  const Clock now = host_.now();
  last_byte_ = now;
  reconnect_.reset();
  if (!ever_streamed_) {
    host_.info("connected to openHAB {} at {}", server_version_, settings_.url);
  } else {
    host_.info("event stream from {} reconnected after {:.1f} s", settings_.url,
               std::chrono::duration<double>(now - outage_since_).count());
    // Commands sent while the stream was down are lost (openHAB does not
    // replay): republish so openHAB and the actuators agree again.
    host_.request_refresh();
  }
  ever_streamed_ = true;
  last_failure_.clear();
  if (alive_interval_s_)
    arm_liveness(seconds(*alive_interval_s_));
  else
    arm_liveness(alive_expected_ ? Clock(10s) : std::clamp<Clock>(settings_.timeout / 2, 500ms, 5s));
  report_status();
}

// Runs inside libcurl: no request may be started or cancelled here.
bool OpenhabREST::on_stream_data(std::string_view bytes) {
  if (!stream_open_) {
    if (stream_error_body_.size() < kMaxErrorBody)
      stream_error_body_.append(bytes.substr(0, kMaxErrorBody - stream_error_body_.size()));
    return true;
  }
  last_byte_ = host_.now();
  std::size_t dropped = parser_.feed(bytes, [this](SseEvent&& event) { on_event(std::move(event)); });
  if (dropped > 0) host_.warning("dropped {} oversized event(s) from openHAB's event stream", dropped);
  return true;
}

void OpenhabREST::on_event(SseEvent&& event) {
  auto decoded = decode_event(event.data);
  if (auto* error = std::get_if<std::string>(&decoded)) {
    if (auto repeats = problems_.report("event stream", "undecodable", host_.now()))
      host_.warning("ignored an event openHAB sent: {}{}", *error,
                    *repeats ? fmt::format(" ({} more since)", *repeats) : "");
    return;
  }
  const ItemEvent& item_event = std::get<ItemEvent>(decoded);
  switch (item_event.kind) {
    case EventKind::Alive:
      if (item_event.alive_interval_s && *item_event.alive_interval_s > 0 &&
          item_event.alive_interval_s != alive_interval_s_) {
        // A property of the server, kept across reconnects.
        alive_interval_s_ = item_event.alive_interval_s;
        host_.info("openHAB sends alive events every {} s: {} s of silence close the event stream",
                   *alive_interval_s_, 3 * *alive_interval_s_);
        arm_liveness(seconds(*alive_interval_s_));
      }
      return;
    case EventKind::Command:
      if (item_event.item == settings_.refresh_item) {
        host_.info("refresh requested through item {}", item_event.item);
        host_.request_refresh();
        return;
      }
      if (sources_.count(item_event.item) == 0) {
        host_.debug("command for {} ignored: no actuator has it as CommandSrc", item_event.item);
        return;
      }
      host_.debug("command {} for {}", sdk::printable(item_event.value), item_event.item);
      host_.deliver(item_event.item, item_event.value);
      return;
    case EventKind::State:
    case EventKind::Other: return;  // state events (our own echoes among them) never command anything
  }
}

void OpenhabREST::on_stream_done(HttpResult&& result) {
  stream_deadline_.cancel();
  const bool unreachable = !result.transport_ok() && !stream_open_;
  std::string why;
  if (stream_open_) {
    why = result.transport_ok() ? "openHAB closed the event stream" : "event stream broke: " + result.error;
  } else if (!result.transport_ok()) {
    why = "cannot open the event stream: " + result.error;
  } else {
    HttpResult answer = std::move(result);
    answer.body = stream_error_body_;
    answer.status = stream_status_ ? stream_status_ : answer.status;
    why = "GET /rest/events refused: " + describe_failure(answer);
  }
  link_lost(why, unreachable);
}

void OpenhabREST::arm_liveness(Clock period) {
  liveness_timer_ = host_.add_timer(period, period, [this] { on_liveness_tick(); });
}

void OpenhabREST::on_liveness_tick() {
  if (!stream_open_) return;
  const Clock now = host_.now();
  // openHAB >= 3.4 announces its interval in every alive event; until the
  // first one arrives, its fixed 10 s.
  const double interval = alive_interval_s_ ? *alive_interval_s_ : alive_expected_ ? 10.0 : 0.0;
  if (interval > 0) {
    if (now - last_byte_ > 3 * seconds(interval))
      link_lost(
          fmt::format("no byte on the event stream for {:.1f} s (openHAB sends alive events every {} s)",
                      std::chrono::duration<double>(now - last_byte_).count(), interval),
          false);
    return;
  }
  // openHAB < 3.4: an accepted update must come back as a state event.
  if (echo_awaited_since_ > last_byte_ && now - echo_awaited_since_ > settings_.timeout) {
    link_lost(fmt::format("no event on the stream within {} ms of an accepted state update (stalled)",
                          settings_.timeout.count()),
              false);
    return;
  }
  if (now - last_probe_ >= kCheckInterval) probe();
}

void OpenhabREST::link_lost(const std::string& why, bool server_unreachable) {
  const bool was_online = stream_open_;
  if (stream_id_) http_.cancel(stream_id_);
  stream_id_ = 0;
  stream_open_ = false;
  stream_deadline_.cancel();
  liveness_timer_.cancel();
  if (server_unreachable) {
    reachable_ = false;
    pending_.latest_only(true);
  }
  if (was_online) {
    outage_since_ = host_.now();
    host_.warning("{}; reconnecting", why);
  } else if (failure_shape(why) != failure_shape(last_failure_)) {
    host_.warning("openHAB at {} not available: {}; retrying", settings_.url, why);
  }
  last_failure_ = why;
  connecting_ = false;
  report_status();
  schedule_connect();
}

void OpenhabREST::schedule_connect() {
  if (reconnect_timer_.active()) return;
  Clock delay = reconnect_.next_delay(host_.now() - outage_since_);
  host_.debug("next attempt in {:.2f} s", std::chrono::duration<double>(delay).count());
  reconnect_timer_ = host_.add_timer(delay, Clock(0), [this] { connect(); });
}

// --- state updates ------------------------------------------------------------

void OpenhabREST::publish(std::string_view destination, std::string_view payload, uint32_t /*flags*/) {
  // Actuator states (SR_PUBLISH_ECHO) are state updates like any reading:
  // openHAB sends state events for them, never commands, so they cannot come
  // back as a command.
  std::string item(destination);
  if (!is_valid_item_name(item)) {
    item_problem(item, "name",
                 fmt::format("'{}' is not an openHAB item name (letters, digits and _ only); "
                             "fix the Destination",
                             sdk::printable(item)));
    return;
  }
  pending_.put(item, to_utf8(payload));
  send_pending();
  if (!stream_open_) report_status();
}

void OpenhabREST::send_pending() {
  if (std::uint64_t dropped = pending_.take_dropped())
    host_.warning("{} item state(s) dropped for want of room (OfflineQueue = {} items, 64 updates per item)",
                  dropped, pending_.capacity());
  while (reachable_ && in_flight_items_.size() < kMaxInFlight) {
    auto next = pending_.take(in_flight_items_);
    if (!next) break;
    auto [item, value] = std::move(*next);
    HttpRequest request;
    request.method = "PUT";
    request.url = fmt::format("{}/rest/items/{}/state", settings_.url, item);
    request.headers = request_headers(true);
    request.body = value;
    request.timeout = settings_.timeout;
    request.connect_timeout = settings_.timeout;
    request.on_done = [this, item = item, value = std::move(value),
                       sent = host_.now()](HttpResult&& result) mutable {
      in_flight_items_.erase(item);
      on_put_done(item, std::move(value), sent, std::move(result));
    };
    in_flight_items_.insert(item);
    try {
      http_.start(std::move(request));
    } catch (...) {
      in_flight_items_.erase(item);
      throw;
    }
  }
}

void OpenhabREST::on_put_done(const std::string& item, std::string value, Clock sent, HttpResult&& result) {
  const long status = result.status;
  if (!result.transport_ok() || status >= 500) {
    // openHAB is away (or still starting): keep the state for later.
    pending_.put_back(item, std::move(value));
    link_lost(fmt::format("update of {} failed: {}", item, describe_failure(result)), true);
    return;
  }
  if (status >= 200 && status < 300) {
    // Its state event can only come after the request went out; a byte since
    // then may be that event, so only an update sent after the last byte
    // counts as waiting.
    if (sent > last_byte_ && echo_awaited_since_ <= last_byte_) echo_awaited_since_ = sent;
    if (problems_.clear(item)) host_.info("openHAB accepts updates of {} again", item);
  } else if (status == 404) {
    item_problem(item, "404",
                 fmt::format("openHAB has no item {} (404): create it, or fix the Destination", item));
  } else if (status == 400) {
    item_problem(item, "400",
                 fmt::format("openHAB cannot take '{}' as the state of {} (400: {})", sdk::printable(value),
                             item, error_message(result.body)));
  } else if (status == 401 || status == 403) {
    item_problem(item, "auth",
                 fmt::format("openHAB refused the update of {} ({})", item, describe_failure(result)));
  } else if (status == 415) {
    item_problem(item, "415",
                 fmt::format("openHAB refused the update of {}: 415 Unsupported Media Type ({})", item,
                             error_message(result.body)));
  } else {
    item_problem(item, std::to_string(status),
                 fmt::format("openHAB answered the update of {} with {}", item, describe_failure(result)));
  }
  send_pending();
}

void OpenhabREST::item_problem(const std::string& item, const std::string& cause, const std::string& text) {
  if (auto repeats = problems_.report(item, cause, host_.now()))
    host_.error("{}{}", text, *repeats ? fmt::format(" ({} more since)", *repeats) : "");
}

// --- commands -------------------------------------------------------------------

void OpenhabREST::subscribe(std::string_view source) {
  std::string item(source);
  if (!is_valid_item_name(item))
    host_.warning(
        "CommandSrc '{}' is not an openHAB item name (letters, digits and _ only): no command can reach it",
        sdk::printable(item));
  sources_.insert(std::move(item));
}

void OpenhabREST::report_status() {
  std::string status;
  if (stream_open_)
    status = fmt::format("ONLINE: openHAB {} at {}", server_version_, settings_.url);
  else if (connecting_ && last_failure_.empty())
    status = fmt::format("connecting to {}", settings_.url);
  else
    status = fmt::format("OFFLINE: {}", last_failure_.empty() ? settings_.url : last_failure_);
  // While online states wait only for their turn on the wire: news only offline.
  if (!stream_open_ && !pending_.empty()) status += fmt::format(", {} pending", pending_.items());
  if (status == reported_status_) return;
  reported_status_ = status;
  host_.set_status(status);
}

void OpenhabREST::check(const sdk::Params& params, sdk::CheckReport& report) {
  sdk::check_reconnect_range(params, report);
  if (params.has("API-Token") && params.has("API-TokenFile"))
    report.error("API-TokenFile", "API-Token and API-TokenFile both set: use one");
  if (auto url = params.find("URL"))
    if (auto problem = url_credentials_problem(*url)) report.error("URL", *problem);
}

std::optional<std::string> url_credentials_problem(std::string_view url) {
  const size_t scheme = url.find("://");
  const std::string_view authority =
      scheme == std::string_view::npos ? url : url.substr(scheme + 3, url.find('/', scheme + 3) - scheme - 3);
  if (authority.find('@') == std::string_view::npos) return std::nullopt;
  // The URL goes into log lines and STATUS=: a password in it would too.
  return std::string("URL holds credentials (user:password@); they would show in the log: give the token in "
                     "API-Token or API-TokenFile instead");
}

}  // namespace sr::openhab
