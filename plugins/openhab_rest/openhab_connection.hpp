// openhab_rest.rest_conn.OpenhabREST — connection to openHAB's REST API
// (reference/openhab_rest.md; docs/openhab.md).
//
// Readings and actuator states become item state updates
// (PUT <URL>/rest/items/<Destination>/state, text/plain UTF-8); commands come
// from one event stream (GET <URL>/rest/events, Server-Sent Events) and
// reach the actuator whose CommandSrc is the item; a command to RefreshItem
// makes everything republish.
//
// All HTTP runs on libcurl's multi interface inside the host's event loop
// (HttpClient). The link is checked by GET <URL>/rest before the stream is
// opened (which also tells the openHAB version), by the stream's `alive`
// events (openHAB >= 3.4: no byte for three intervals = dead) and, on older
// versions, by a periodic GET /rest plus "a state update must echo on the
// stream". Every reconnect backs off with jitter and is followed by a
// refresh. Every update is sent while openHAB answers; while it is
// unreachable the latest state of each item is kept (OfflineQueue items) and
// sent when it is back.
#pragma once

#include "http_client.hpp"
#include "pending_states.hpp"
#include "problem_log.hpp"
#include "sse_parser.hpp"

#include <sensor_reporter/reconnect_policy.hpp>
#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>

namespace sr::openhab {

// Every value comes from the table (its defaults included), so nothing here
// restates one.
struct Settings {
  std::string url;  // without a trailing slash
  std::string refresh_item;
  std::optional<double> version;  // openHAB-Version, when set
  std::string token;              // empty: none
  TlsOptions tls;
  std::chrono::milliseconds timeout{};
  double reconnect_min{};
  double reconnect_max{};
  std::size_t offline_items{};
};

// Reads and checks the parameters. Throws std::runtime_error with the reason.
Settings read_settings(const sdk::Params& params);

// "4.2.1" -> {4, 2}; nullopt when the text does not start with a number.
std::optional<std::pair<int, int>> parse_version(std::string_view text);

// The body of a state update: valid UTF-8 passes unchanged; a byte that is
// not part of valid UTF-8 is taken as Latin-1 (what scripts written for the
// Python original print) and encoded as UTF-8, so openHAB never receives
// malformed text.
std::string to_utf8(std::string_view payload);

// Why `url` cannot be the URL parameter because it holds user:password@
// (the URL is shown in log lines and STATUS=), or nullopt.
std::optional<std::string> url_credentials_problem(std::string_view url);

class OpenhabREST {
 public:
  static constexpr sr_kind kind = SR_KIND_CONNECTION;
  static constexpr const char* name = "OpenhabREST";
  static constexpr const char* path = "openhab_rest.rest_conn.OpenhabREST";
  static constexpr const char* summary =
      "openHAB REST link: readings as item states, item commands to actuators";
  static constexpr sr_param_def params[] = {
      sdk::string_param("URL").required().help(
          "openHAB base URL, e.g. http://localhost:8080 or https://oh:8443"),
      sdk::string_param("RefreshItem")
          .required()
          .help("item whose commands make every sensor and actuator republish"),
      sdk::float_param("openHAB-Version")
          .min(1)
          .max(99)
          .help("2.0, 3.0, 4.1, ...; detected from GET <URL>/rest when absent (recommended)"),
      sdk::string_param("API-Token")
          .secret()
          .help("openHAB API token (sent as Bearer); needed when openHAB requires authentication; see "
                "API-TokenFile"),
      sdk::string_param("API-TokenFile")
          .secret_file()
          .help("file whose first line is the API token (instead of API-Token)"),
      sdk::string_param("CAcert").help("CA file to verify an https URL; default the system store"),
      sdk::bool_param("TLSinsecure").fallback("no").help("https without any certificate check (logged)"),
      sdk::float_param("Timeout").fallback("10").min(0.1).max(600).help("seconds allowed for each request"),
      sdk::float_param("ReconnectMin")
          .fallback("1")
          .min(0.05)
          .max(3600)
          .help("seconds before the first retry"),
      sdk::float_param("ReconnectMax")
          .fallback("60")
          .min(0.05)
          .max(86400)
          .help("longest wait between retries"),
      sdk::int_param("OfflineQueue")
          .fallback("1000")
          .min(1)
          .max(1000000)
          .help("items whose latest state is kept while openHAB is unreachable"),
      // Narrows the host's common Format: an item state is the bare value.
      sdk::choice_param("Format", "raw")
          .fallback("raw")
          .help("raw only: items get the bare value, even from a section with Format = json"),
      sdk::end_params};
  // Rules one value against another; --check reports them.
  static void check(const sdk::Params& params, sdk::CheckReport& report);

  OpenhabREST(sdk::Host host, const sdk::Params& params);
  ~OpenhabREST();
  OpenhabREST(const OpenhabREST&) = delete;
  OpenhabREST& operator=(const OpenhabREST&) = delete;

  void start();
  void publish(std::string_view destination, std::string_view payload, uint32_t flags);
  void subscribe(std::string_view source);

 private:
  using Clock = std::chrono::nanoseconds;

  // The link: probe, then stream.
  void connect();
  void probe();
  void on_probe(HttpResult&& result, bool connecting);
  void open_stream();
  void on_stream_headers(long status);
  bool on_stream_data(std::string_view bytes);
  void on_stream_done(HttpResult&& result);
  void on_event(SseEvent&& event);
  void on_liveness_tick();
  void arm_liveness(Clock period);
  void link_lost(const std::string& why, bool server_unreachable);
  void schedule_connect();
  std::string stream_url() const;

  // State updates.
  void send_pending();
  void on_put_done(const std::string& item, std::string value, Clock sent, HttpResult&& result);
  void item_problem(const std::string& item, const std::string& cause, const std::string& text);

  std::vector<std::string> request_headers(bool text_body) const;
  std::string describe_failure(const HttpResult& result) const;
  void report_status();

  sdk::Host host_;
  Settings settings_;
  HttpClient http_;
  sdk::ReconnectPolicy reconnect_;

  // What GET /rest said.
  std::string server_version_;   // "4.2.1", or "2.x" without runtimeInfo
  bool openhab3_ = true;         // `openhab/` topics; `smarthome/` before 3.0
  bool alive_expected_ = false;  // >= 3.4: the stream carries alive events
  bool version_warned_ = false;

  bool reachable_ = false;   // the last exchange with openHAB worked
  bool connecting_ = false;  // a probe or stream open is under way
  HttpClient::RequestId probe_id_ = 0;
  HttpClient::RequestId stream_id_ = 0;
  bool stream_open_ = false;  // 200 received on the stream
  bool ever_streamed_ = false;
  long stream_status_ = 0;
  std::string stream_error_body_;
  SseParser parser_;
  Clock last_byte_{0};
  Clock last_probe_{0};
  // openHAB < 3.4: when the oldest accepted update still waiting for its
  // state event on the stream was sent (0: none waiting).
  Clock echo_awaited_since_{0};
  std::optional<double> alive_interval_s_;
  sdk::Timer stream_deadline_;
  sdk::Timer liveness_timer_;
  sdk::Timer reconnect_timer_;
  Clock outage_since_{0};
  std::string last_failure_;
  std::string reported_status_;

  PendingStates pending_;
  std::unordered_set<std::string> in_flight_items_;
  std::set<std::string> sources_;
  ProblemLog problems_;
};

}  // namespace sr::openhab
