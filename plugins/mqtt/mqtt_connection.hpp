// mqtt.mqtt_conn.MqttConnection — connection (SPEC 4 and 6.1).
//
// Publishes readings to <RootTopic>/<Destination>, takes actuator commands
// from <RootTopic>/<CommandSrc>, keeps <RootTopic>/status retained ONLINE
// while connected (Last Will OFFLINE, and OFFLINE published on a clean stop),
// and republishes everything on <RootTopic>/refresh and after every
// reconnect (the first connect only when the offline queue lost readings
// taken before it: otherwise the queue has sent each one already). Under a
// 1.2 host, SR_PUBLISH_ABSOLUTE and SR_SUBSCRIBE_ABSOLUTE topics are whole
// topics outside RootTopic, and a source no actuator wants any more is
// UNSUBSCRIBEd.
//
// libmosquitto is driven from the host's event loop: its socket is an fd
// watch, keep-alives a 1 s timer calling mosquitto_loop_misc. Nothing here
// waits for the broker: the TCP connect and TLS handshake are non-blocking,
// and a host name (which needs a DNS lookup) is connected from a worker
// thread that owns the mosquitto handle until it hands it back. While the
// broker is unreachable readings wait in the OfflineQueue.
//
// CleanSession = no keeps the broker's session across disconnects and
// restarts (MQTT 5: for SessionExpiry seconds), so commands published at
// QoS 1 or 2 while we are away arrive after the reconnect. A Host that is
// a path (Port = 0) is the broker's unix socket.
//
//   [Connection1]
//   Class = mqtt.mqtt_conn.MqttConnection
//   Name = MQTT
//   Host = localhost
//   Port = 1883
//   RootTopic = sensor_reporter
//   Client = garage-pi
#pragma once

#include "discovery_announcer.hpp"
#include "offline_queue.hpp"
#include <sensor_reporter/reconnect_policy.hpp>

#include <sensor_reporter/sdk.hpp>

#include <mosquitto.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <string>
#include <vector>

namespace sr::mqtt {

// The table's Version choices, in their order ("3|4|5").
enum class Protocol { Mqtt31, Mqtt311, Mqtt5 };

// SessionExpiry's default: a board rebooted or offline overnight still
// finds its commands; a retired one's session does not pile them up for ever.
constexpr std::uint32_t kDefaultSessionExpiry = 86400;

// Every value comes from the table (its defaults included), so nothing here
// restates one.
struct Settings {
  std::string host;
  int port{};
  std::string client_id;
  std::string user;
  std::string password;
  bool has_password{};
  int keepalive{};
  std::string root_topic;
  bool tls{};
  std::string ca_file;  // empty: system store
  bool tls_insecure{};
  std::string cert_file;
  std::string key_file;
  Protocol version{};
  int qos{};
  bool retain{};
  double reconnect_min{};
  double reconnect_max{};
  double reconnect_spread{};
  std::size_t offline_queue{};
  std::string queue_file;  // empty: the queue is in memory only
  double queue_sync{};     // seconds between fdatasyncs of queue_file; 0: after every write
  bool clean_session{};
  std::uint32_t session_expiry{};  // MQTT 5 with clean_session false; 0 otherwise
  discovery::Settings discovery;

  // Host names the broker's unix socket (Port = 0).
  bool unix_socket() const { return !host.empty() && host.front() == '/'; }
};

// Reads and checks the parameters (PasswordFile, the TLS default port and
// CA file, the client id default). Throws std::runtime_error with the reason.
Settings read_settings(const sdk::Params& params);

class MqttConnection {
 public:
  static constexpr sr_kind kind = SR_KIND_CONNECTION;
  static constexpr const char* name = "MqttConnection";
  static constexpr const char* path = "mqtt.mqtt_conn.MqttConnection";
  static constexpr const char* summary = "MQTT broker link: readings, commands, status with Last Will, refresh";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Host").required().help(
          "broker host name or address, or the path of its unix socket (/run/mosquitto/mosquitto.sock)"),
      sdk::int_param("Port").min(0).max(65535).help(
          "broker port; default 1883, or 8883 with TLS; 0 (the default) with a socket path as Host"),
      sdk::string_param("Client").help("MQTT client id; default sensor_reporter-<hostname>"),
      sdk::string_param("User").help("user name; default anonymous"),
      sdk::string_param("Password").secret().help("password (write % as %%); see PasswordFile"),
      sdk::string_param("PasswordFile").secret_file().help("file whose first line is the password"),
      sdk::int_param("Keepalive").fallback("60").min(5).max(65535).help("seconds between keep-alives"),
      sdk::string_param("RootTopic")
          .required()
          .not_empty()
          .pattern("[^/+#]([^+#]*[^/+#])?", "a topic without + or # and without a leading or trailing /")
          .help("prefix of every topic; no wildcards"),
      sdk::bool_param("TLS").fallback("no").help("encrypt and verify the broker's certificate"),
      sdk::string_param("CAcert").help("CA file; default ./certs/ca.crt if it exists, else the system store"),
      sdk::bool_param("TLSinsecure").fallback("no").help("skip host-name verification (logged)"),
      sdk::string_param("Certfile").help("client certificate (PEM) for certificate authentication"),
      sdk::string_param("Keyfile").secret_file().help("client private key (PEM)"),
      sdk::choice_param("Version", "3|4|5").fallback("4").help("MQTT protocol: 3 (3.1), 4 (3.1.1), 5"),
      sdk::int_param("QoS").fallback("0").min(0).max(2).help("QoS of readings, states and status"),
      sdk::bool_param("Retain").fallback("no").help("retain readings and states"),
      sdk::float_param("ReconnectMin").fallback("1").min(0.05).max(3600).help("seconds before the first retry"),
      sdk::float_param("ReconnectMax").fallback("60").min(0.05).max(86400).help("longest wait between retries"),
      sdk::float_param("ReconnectSpread").fallback("3").min(0).max(3600).help(
          "after a lost connection, retry at a random time within this many seconds (at most ReconnectMax) "
          "and then every as many, so a fleet does not reconnect at once after a broker restart; 0: ReconnectMin"),
      sdk::int_param("OfflineQueue").fallback("1000").min(0).max(1000000)
          .help("messages kept in order while disconnected; 0 disables"),
      sdk::string_param("QueueFile").help(
          "keep the offline queue in this file too, so it survives a restart, SIGKILL or power cut "
          "(/var/lib/sensor_reporter/NAME.queue); one per connection"),
      sdk::float_param("QueueSync").fallback("1").min(0).max(3600).help(
          "QueueFile: longest seconds between fdatasyncs, what a power cut can lose; 0 syncs every write"),
      sdk::bool_param("CleanSession").fallback("yes").help(
          "no: the broker keeps our subscriptions and the QoS 1/2 commands sent while we are away (needs QoS 1 or 2)"),
      sdk::int_param("SessionExpiry").min(1).max(4294967295.0).help(
          "Version 5 with CleanSession = no: seconds the broker keeps the session after a disconnect; default 86400"),
      sdk::choice_param("Discovery", "none|homeassistant|homie")
          .fallback("none")
          .help("announce every section: Home Assistant MQTT discovery or a Homie device"),
      sdk::string_param("DiscoveryPrefix")
          .pattern("[^/+#]([^+#]*[^/+#])?", "a topic without + or # and without a leading or trailing /")
          .help("discovery topic prefix; default homeassistant, or homie"),
      sdk::choice_param("DiscoveryMode", "device|component")
          .fallback("device")
          .help("Home Assistant: one config per device (HA >= 2024.11) or one per entity (older HA, openHAB)"),
      sdk::choice_param("HomieVersion", "4|5").fallback("4").help("Homie convention: 4 (openHAB) or 5"),
      sdk::string_param("DeviceId").help("stable id of this device in discovery; default the Client id"),
      sdk::string_param("DeviceName").help("device name shown in discovery; default the host name"),
      sdk::string_param("BirthTopic")
          .fallback("homeassistant/status")
          .help("Home Assistant's status topic: announced again when it says online"),
      sdk::end_params};
  // Rules one value against another; --check reports them.
  static void check(const sdk::Params& params, sdk::CheckReport& report);

  MqttConnection(sdk::Host host, const sdk::Params& params);
  ~MqttConnection();
  MqttConnection(const MqttConnection&) = delete;
  MqttConnection& operator=(const MqttConnection&) = delete;

  void start();
  void publish(std::string_view destination, std::string_view payload, uint32_t flags);
  // flags: SR_SUBSCRIBE_ABSOLUTE (source is a whole topic filter) or 0.
  void subscribe(std::string_view source, uint32_t flags = 0);
  void unsubscribe(std::string_view source, uint32_t flags);
  void catalogue_changed();

 private:
  enum class State { Idle, Connecting, Handshake, Online };
  using Clock = std::chrono::nanoseconds;

  void connect();
  void connect_to(const std::string& host);
  // Another address of the host name to try now, after `why` ended this one.
  bool try_next_address(const std::string& why);
  void connect_started(int rc, int error_number);
  void watch_socket();
  void on_socket(uint32_t events);
  void on_keepalive_tick();
  void update_write_interest();
  void lost(const std::string& why);
  // link_just_lost: an established link dropped (the first retry is spread).
  void schedule_reconnect(bool link_just_lost);
  void send(const std::string& topic, std::string_view payload, int qos, bool retain);
  int subscribe_on_broker(const std::string& filter);
  // Returns how many messages the queue had dropped.
  std::uint64_t flush_queue();
  // After the queue changed: log what its file says, and sync it within QueueSync.
  void queue_changed();
  void on_published(int mid);
  std::string topic_of(const std::string& source, uint32_t flags) const;
  bool is_echo(const std::string& topic, std::string_view payload);
  void flush_before_exit();
  void report_status();
  std::string endpoint() const;
  discovery::Link discovery_link();

  void handle_connack(int rc, bool session_present);
  void handle_disconnect(int reason);
  void handle_message(const mosquitto_message* message);
  void handle_log(int level, const char* text);

  sdk::Host host_;
  Settings settings_;
  std::string status_topic_;
  std::string refresh_topic_;
  std::shared_ptr<mosquitto> mosq_;
  State state_ = State::Idle;
  bool connect_on_loop_ = false;
  // A host name's addresses (without TLS), tried in turn: libmosquitto's own
  // connect stops at the first (a broker on 127.0.0.1 only is never reached
  // through a `localhost` that resolves to ::1 first). Resolved again after a
  // round fails or a link drops.
  std::vector<std::string> addresses_;
  std::size_t address_index_ = 0;
  std::string address_failures_;  // "::1: Connection refused, " so far this round
  bool refused_ = false;
  std::string last_refusal_;
  std::string last_failure_;
  int last_disconnect_reason_ = 0;
  int socket_fd_ = -1;
  sdk::FdWatch socket_watch_;
  uint32_t watched_events_ = 0;
  sdk::Timer keepalive_timer_;
  sdk::Timer reconnect_timer_;
  sdk::ReconnectPolicy reconnect_;
  Clock outage_since_{0};
  Clock online_since_{0};
  bool ever_connected_ = false;
  bool reconnected_ = false;  // the current connection is not the first
  unsigned quick_drops_ = 0;
  bool clash_reported_ = false;
  OfflineQueue queue_;
  sdk::Timer queue_sync_timer_;
  // Publish callbacks that came while the queue's front was being handed to
  // libmosquitto (it writes at once outside its own callbacks), before
  // sent() knew the mid.
  bool sending_queued_ = false;
  std::vector<int> published_while_sending_;
  std::vector<std::pair<std::string, uint32_t>> sources_;  // source, SR_SUBSCRIBE_* flags
  struct Echo {
    std::string topic;
    std::string payload;
    Clock expires;
  };
  std::deque<Echo> echoes_;
  Clock handshake_deadline_{0};
  int offline_mid_ = -1;
  bool offline_acked_ = false;
  std::thread::id loop_thread_;
  discovery::Announcer discovery_;
};
static_assert(sdk::choice_count(MqttConnection::params, "Version") == 3,
              "Protocol follows Version's choices");
static_assert(sdk::choice_count(MqttConnection::params, "Discovery") == 3,
              "discovery::Format follows Discovery's choices");

}  // namespace sr::mqtt
