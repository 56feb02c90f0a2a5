#include "mqtt_connection.hpp"

#include <arpa/inet.h>
#include <mqtt_protocol.h>
#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace sr::mqtt {
namespace {

using namespace std::chrono_literals;

constexpr auto kKeepaliveTick = 1s;
constexpr auto kHandshakeLimit = 10s;
constexpr auto kQuickDrop = 2s;        // online for less than this: dropped "at once"
constexpr unsigned kQuickDropsForClash = 3;
constexpr auto kEchoWindow = 5s;
constexpr auto kExitFlushLimit = 1s;

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

bool is_numeric_address(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

struct Resolved {
  std::vector<std::string> addresses;  // numeric, in getaddrinfo's order
  std::string error;
};

// What libmosquitto's own connect would look up, as numeric addresses.
Resolved resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) return {{}, rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc)};
  sdk::CHandle<addrinfo, freeaddrinfo> list(found);
  Resolved resolved;
  for (const addrinfo* a = list.get(); a; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) continue;
    if (std::find(resolved.addresses.begin(), resolved.addresses.end(), text) == resolved.addresses.end())
      resolved.addresses.emplace_back(text);
  }
  if (resolved.addresses.empty()) resolved.error = "no address";
  return resolved;
}

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

std::string describe(int rc, int error_number) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(error_number);
  return mosquitto_strerror(rc);
}

int protocol_number(Protocol version) {
  switch (version) {
    case Protocol::Mqtt31: return MQTT_PROTOCOL_V31;
    case Protocol::Mqtt311: return MQTT_PROTOCOL_V311;
    case Protocol::Mqtt5: return MQTT_PROTOCOL_V5;
  }
  return MQTT_PROTOCOL_V311;  // not reached: choice() yields only the table's choices
}

void init_library() {
  // mosquitto_lib_init is not reference counted in every 2.0.x release: once
  // per process, and never cleaned up (modules stay loaded until exit).
  static const int once = (mosquitto_lib_init(), 0);
  (void)once;
}

void free_properties(mosquitto_property* properties) { mosquitto_property_free_all(&properties); }
using Properties = sdk::CHandle<mosquitto_property, free_properties>;

// libmosquitto 2.0 has no non-blocking connect that takes CONNECT
// properties, and its blocking one would hold a worker (and the exit) for a
// whole TCP timeout. mosquitto_connect_bind_v5 keeps the properties on the
// handle, where every later connect sends them, before it checks its
// arguments: called without a host it keeps them and connects nowhere.
// The MQTT 5 session test fails should a release stop doing so.
void keep_session_expiry(mosquitto* m, std::uint32_t seconds, int keepalive) {
  mosquitto_property* list = nullptr;
  int rc = mosquitto_property_add_int32(&list, MQTT_PROP_SESSION_EXPIRY_INTERVAL, seconds);
  Properties properties(list);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_connect_bind_v5(m, nullptr, 0, keepalive, nullptr, properties.get());
  if (rc != MOSQ_ERR_INVAL)
    throw std::runtime_error(fmt::format("SessionExpiry: {}", rc == MOSQ_ERR_SUCCESS ? "not kept" : mosquitto_strerror(rc)));
}

struct Problem {
  const char* key;
  std::string message;
};

// Rules between keys that make a session or a unix socket meaningless;
// check() reports them at the key's line, read_settings() refuses them.
std::vector<Problem> combination_problems(const sdk::Params& params) {
  std::vector<Problem> problems;
  const bool persistent = !params.get<bool>("CleanSession");
  if (persistent && params.get<int>("QoS") == 0)
    problems.push_back({"CleanSession", "CleanSession = no with QoS 0: a broker need not keep QoS 0 commands for a "
                                        "client that is away (mosquitto does not by default); set QoS = 1"});
  if (params.has("SessionExpiry") && (!persistent || params.choice<Protocol>("Version") != Protocol::Mqtt5))
    problems.push_back({"SessionExpiry", "SessionExpiry applies only with CleanSession = no and Version = 5 (an MQTT "
                                         "3.1.1 session lasts until the broker expires it)"});
  const std::string host = params.find("Host").value_or("");
  const std::optional<int> port = params.find<int>("Port");
  if (!host.empty() && host.front() == '/') {
    if (port && *port != 0)
      problems.push_back({"Port", fmt::format("Host {} is a unix socket: Port must be 0 or absent", host)});
    if (params.get<bool>("TLS"))
      problems.push_back({"TLS", "TLS over a unix socket is not supported (the socket file's permissions guard it)"});
    if (host.size() >= sizeof(sockaddr_un::sun_path))
      problems.push_back({"Host", fmt::format("a unix socket path has at most {} bytes", sizeof(sockaddr_un::sun_path) - 1)});
  } else if (port && *port == 0) {
    problems.push_back({"Port", "Port 0 means a unix socket: Host must be its path (/run/mosquitto/mosquitto.sock)"});
  }
  if (params.has("QueueFile") && params.get<std::size_t>("OfflineQueue") == 0)
    problems.push_back({"QueueFile", "QueueFile needs an OfflineQueue above 0 (0 disables the queue)"});
  return problems;
}

// A publish refused because the link broke: the message waits for the next connection.
bool link_broken(int rc) { return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO; }

// Reads and discards until the peer closes (EOF), an error, or `deadline`.
void drain_until_closed(const sdk::Host& host, int fd, std::chrono::nanoseconds deadline) {
  char sink[512];
  while (host.now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - host.now()).count();
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::max<long long>(left, 1)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return;
    const ssize_t n = read(fd, sink, sizeof sink);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return;
  }
}

}  // namespace

Settings read_settings(const sdk::Params& params) {
  Settings s;
  s.host = params.get("Host");
  s.tls = params.get<bool>("TLS");
  if (const auto problems = combination_problems(params); !problems.empty())
    throw std::runtime_error(problems.front().message);
  // Port's default depends on TLS and Host, which a table default cannot say.
  s.port = params.find<int>("Port").value_or(s.unix_socket() ? 0 : s.tls ? 8883 : 1883);
  s.client_id = params.find("Client").value_or("");
  if (s.client_id.empty()) s.client_id = "sensor_reporter-" + host_name();
  s.user = params.find("User").value_or("");
  const auto password = params.find("Password");
  const auto password_file = params.find("PasswordFile");
  if (password && password_file)
    throw std::runtime_error("Password and PasswordFile are exclusive; keep one");
  if (password) {
    s.password = *password;
    s.has_password = true;
  }
  if (password_file) {
    try {
      s.password = sdk::read_secret_file(*password_file);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format("PasswordFile {}", e.what()));
    }
    s.has_password = true;
  }
  if (s.has_password && s.user.empty()) throw std::runtime_error("a password needs a User");
  s.keepalive = params.get<int>("Keepalive");
  s.root_topic = params.get("RootTopic");
  while (s.root_topic.size() > 1 && s.root_topic.back() == '/') s.root_topic.pop_back();
  if (s.root_topic.empty() || mosquitto_pub_topic_check(s.root_topic.c_str()) != MOSQ_ERR_SUCCESS)
    throw std::runtime_error(fmt::format("RootTopic '{}' is not a valid topic (no + or #, not empty)", s.root_topic));
  if (auto ca_file = params.find("CAcert")) {
    s.ca_file = *ca_file;
    if (s.tls && !readable(s.ca_file))
      throw std::runtime_error(fmt::format("CAcert {}: {}", s.ca_file, std::strerror(errno)));
  } else if (s.tls && readable("./certs/ca.crt")) {
    s.ca_file = "./certs/ca.crt";
  }
  s.tls_insecure = params.get<bool>("TLSinsecure");
  s.cert_file = params.find("Certfile").value_or("");
  s.key_file = params.find("Keyfile").value_or("");
  if (s.cert_file.empty() != s.key_file.empty()) throw std::runtime_error("Certfile and Keyfile go together");
  for (const auto& file : {s.cert_file, s.key_file})
    if (s.tls && !file.empty() && !readable(file))
      throw std::runtime_error(fmt::format("{}: {}", file, std::strerror(errno)));
  s.version = params.choice<Protocol>("Version");
  s.qos = params.get<int>("QoS");
  s.retain = params.get<bool>("Retain");
  s.reconnect_min = params.get<double>("ReconnectMin");
  s.reconnect_max = params.get<double>("ReconnectMax");
  s.reconnect_spread = params.get<double>("ReconnectSpread");
  if (s.reconnect_max < s.reconnect_min)
    throw std::runtime_error(fmt::format("ReconnectMax {} is below ReconnectMin {}", s.reconnect_max, s.reconnect_min));
  s.offline_queue = params.get<std::size_t>("OfflineQueue");
  s.queue_file = params.find("QueueFile").value_or("");
  s.queue_sync = params.get<double>("QueueSync");
  s.clean_session = params.get<bool>("CleanSession");
  if (!s.clean_session && s.version == Protocol::Mqtt5)
    s.session_expiry = params.find<std::uint32_t>("SessionExpiry").value_or(kDefaultSessionExpiry);
  auto& d = s.discovery;
  d.format = params.choice<discovery::Format>("Discovery");
  d.prefix = params.find("DiscoveryPrefix").value_or(d.format == discovery::Format::Homie ? "homie" : "homeassistant");
  d.mode = params.choice<discovery::HaMode>("DiscoveryMode");
  d.homie_version = params.get<int>("HomieVersion");
  d.birth_topic = params.get("BirthTopic");
  d.device.id = params.find("DeviceId").value_or(s.client_id);
  if (d.format != discovery::Format::None && discovery::sanitize_id(d.device.id).empty())
    throw std::runtime_error(fmt::format("DeviceId '{}' has no letter or digit to make an id of", d.device.id));
  d.device.name = params.find("DeviceName").value_or(host_name());
  d.device.sw_version = SR_MQTT_VERSION;
  d.device.root_topic = s.root_topic;
  return s;
}

MqttConnection::MqttConnection(sdk::Host host, const sdk::Params& params)
    : host_(host),
      settings_(read_settings(params)),
      status_topic_(settings_.root_topic + "/status"),
      refresh_topic_(settings_.root_topic + "/refresh"),
      reconnect_(seconds(settings_.reconnect_min), seconds(settings_.reconnect_max), std::chrono::seconds(10),
                 std::random_device{}(), seconds(settings_.reconnect_spread)),
      queue_(settings_.offline_queue),
      discovery_(host, settings_.discovery, discovery_link()) {
  init_library();
  // Only a host name needs a (blocking) DNS lookup; a unix socket connects at once.
  connect_on_loop_ = settings_.unix_socket() || is_numeric_address(settings_.host);
  mosquitto* m = mosquitto_new(settings_.client_id.c_str(), settings_.clean_session, this);
  if (!m) throw std::runtime_error(fmt::format("cannot create an MQTT client: {}", std::strerror(errno)));
  mosq_.reset(m, mosquitto_destroy);

  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, protocol_number(settings_.version));
  // On a unix socket TCP_NODELAY fails, and libmosquitto would warn on every connect.
  if (!settings_.unix_socket()) mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  if (settings_.session_expiry > 0) keep_session_expiry(m, settings_.session_expiry, settings_.keepalive);
  mosquitto_connect_v5_callback_set(m, [](mosquitto*, void* self, int rc, int flags, const mosquitto_property*) {
    static_cast<MqttConnection*>(self)->handle_connack(rc, flags & 0x01);
  });
  mosquitto_disconnect_v5_callback_set(m, [](mosquitto*, void* self, int rc, const mosquitto_property*) {
    static_cast<MqttConnection*>(self)->handle_disconnect(rc);
  });
  mosquitto_message_callback_set(m, [](mosquitto*, void* self, const mosquitto_message* message) {
    static_cast<MqttConnection*>(self)->handle_message(message);
  });
  mosquitto_log_callback_set(m, [](mosquitto*, void* self, int level, const char* text) {
    static_cast<MqttConnection*>(self)->handle_log(level, text);
  });
  mosquitto_publish_callback_set(m, [](mosquitto*, void* self, int mid) {
    static_cast<MqttConnection*>(self)->on_published(mid);
  });

  if (!settings_.user.empty()) {
    int rc = mosquitto_username_pw_set(m, settings_.user.c_str(),
                                       settings_.has_password ? settings_.password.c_str() : nullptr);
    if (rc != MOSQ_ERR_SUCCESS) throw std::runtime_error(fmt::format("credentials: {}", mosquitto_strerror(rc)));
  }
  // The Will goes into every CONNECT, the first one included. MQTT has one
  // per connection: a Homie device's must set its $state to lost (the
  // convention requires it), so with Homie the status topic goes OFFLINE on
  // a clean stop only (docs/discovery.md).
  const discovery::Message homie_will = discovery_.will();
  int rc = homie_will.topic.empty()
               ? mosquitto_will_set(m, status_topic_.c_str(), 7, "OFFLINE", settings_.qos, true)
               : mosquitto_will_set(m, homie_will.topic.c_str(), static_cast<int>(homie_will.payload.size()),
                                    homie_will.payload.data(), homie_will.qos, true);
  if (rc != MOSQ_ERR_SUCCESS) throw std::runtime_error(fmt::format("Last Will: {}", mosquitto_strerror(rc)));

  if (settings_.tls) {
    const char* ca = settings_.ca_file.empty() ? nullptr : settings_.ca_file.c_str();
    rc = mosquitto_tls_set(m, ca, ca ? nullptr : "/etc/ssl/certs",
                           settings_.cert_file.empty() ? nullptr : settings_.cert_file.c_str(),
                           settings_.key_file.empty() ? nullptr : settings_.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) throw std::runtime_error(fmt::format("TLS setup: {}", mosquitto_strerror(rc)));
    if (settings_.tls_insecure) {
      mosquitto_tls_insecure_set(m, true);
      host_.warning("TLSinsecure: the broker's host name is not verified");
    }
    host_.debug("TLS with CA {}", ca ? ca : "from the system store (/etc/ssl/certs)");
  }
  if (!settings_.queue_file.empty()) {
    QueueJournal::Contents contents;
    QueueJournal journal = QueueJournal::open(settings_.queue_file, contents);
    if (!contents.problem.empty()) host_.warning("QueueFile {}: {}", settings_.queue_file, contents.problem);
    const std::size_t kept = contents.messages.size();
    queue_.attach(std::move(journal), std::move(contents.messages));
    if (kept > 0)
      host_.info("QueueFile {}: {} message(s) queued before the restart, sent once connected", settings_.queue_file,
                 kept);
  }
  loop_thread_ = std::this_thread::get_id();
}

MqttConnection::~MqttConnection() {
  flush_before_exit();
  queue_sync_timer_.cancel();
  queue_.sync();
  if (std::string news = queue_.take_journal_news(); !news.empty()) host_.error("{}", news);
  socket_watch_.reset();
  keepalive_timer_.cancel();
  reconnect_timer_.cancel();
  // A worker may still hold the handle in a connect; it must not call back
  // into this object (the log callback is the only one it can reach, and
  // setting it takes libmosquitto's own lock).
  mosquitto_log_callback_set(mosq_.get(), nullptr);
  mosquitto_user_data_set(mosq_.get(), nullptr);
}

std::string MqttConnection::endpoint() const {
  return settings_.unix_socket() ? settings_.host : fmt::format("{}:{}", settings_.host, settings_.port);
}

discovery::Link MqttConnection::discovery_link() {
  discovery::Link link;
  // The announcer sends only while online; its messages skip the offline
  // queue (a reconnect announces again anyway).
  link.send = [this](const discovery::Message& m) {
    if (state_ != State::Online) return;
    send(m.topic, m.payload, m.qos, m.retain);
    update_write_interest();
  };
  link.subscribe = [this](const std::string& filter) {
    if (state_ != State::Online) return;
    int rc = mosquitto_subscribe(mosq_.get(), nullptr, filter.c_str(), 1);
    if (rc != MOSQ_ERR_SUCCESS) host_.error("cannot subscribe to {}: {}", filter, mosquitto_strerror(rc));
    update_write_interest();
  };
  link.unsubscribe = [this](const std::string& filter) {
    if (state_ != State::Online) return;
    mosquitto_unsubscribe(mosq_.get(), nullptr, filter.c_str());
    update_write_interest();
  };
  link.refresh = [this] { host_.request_refresh(); };
  link.deliver = [this](const std::string& relative, std::string_view payload) { host_.deliver(relative, payload); };
  return link;
}

void MqttConnection::report_status() {
  std::string status;
  switch (state_) {
    case State::Online: status = fmt::format("connected to {}", endpoint()); break;
    case State::Connecting:
    case State::Handshake: status = fmt::format("connecting to {}", endpoint()); break;
    case State::Idle:
      status = fmt::format("{} unreachable{}", endpoint(), last_failure_.empty() ? "" : " (" + last_failure_ + ")");
      break;
  }
  if (!queue_.empty()) status += fmt::format(", {} queued", queue_.size());
  host_.set_status(status);
}

void MqttConnection::start() {
  host_.info("connecting to {} as '{}'{}{}", endpoint(), settings_.client_id, settings_.tls ? " over TLS" : "",
             settings_.clean_session ? "" : ", keeping the session");
  outage_since_ = host_.now();
  connect();
}

void MqttConnection::connect() {
  state_ = State::Connecting;
  refused_ = false;
  last_disconnect_reason_ = 0;
  report_status();
  if (connect_on_loop_) {
    connect_to(settings_.host);
    return;
  }
  if (!settings_.tls) {
    if (address_index_ < addresses_.size()) {
      connect_to(addresses_[address_index_]);
      return;
    }
    // The lookup blocks: on a worker, which does not touch the handle.
    host_.run_blocking([host = settings_.host, port = settings_.port] { return resolve(host, port); },
                       [this](Resolved resolved) {
                         addresses_ = std::move(resolved.addresses);
                         address_index_ = 0;
                         address_failures_.clear();
                         if (addresses_.empty())
                           lost(resolved.error);
                         else
                           connect_to(addresses_.front());
                       });
    return;
  }
  // TLS checks the certificate against the name libmosquitto connected to,
  // so it gets the host name and looks it up itself, on a worker, which owns
  // the handle until connect_started runs back on the loop.
  host_.run_blocking(
      [mosq = mosq_, host = settings_.host, port = settings_.port, keepalive = settings_.keepalive] {
        errno = 0;
        int rc = mosquitto_connect_async(mosq.get(), host.c_str(), port, keepalive);
        return std::pair<int, int>(rc, errno);
      },
      [this](std::pair<int, int> result) { connect_started(result.first, result.second); });
}

void MqttConnection::connect_to(const std::string& host) {
  errno = 0;
  int rc = mosquitto_connect_async(mosq_.get(), host.c_str(), settings_.port, settings_.keepalive);
  connect_started(rc, errno);
}

bool MqttConnection::try_next_address(const std::string& why) {
  if (address_index_ + 1 >= addresses_.size()) return false;
  const std::string& failed = addresses_[address_index_];
  address_failures_ += fmt::format("{}: {}, ", failed, why);
  ++address_index_;
  host_.debug("{} at {}: {}; trying {}", endpoint(), failed, why, addresses_[address_index_]);
  connect();
  return true;
}

void MqttConnection::connect_started(int rc, int error_number) {
  if (rc != MOSQ_ERR_SUCCESS) {
    lost(describe(rc, error_number));
    return;
  }
  state_ = State::Handshake;
  handshake_deadline_ = host_.now() + kHandshakeLimit;
  watch_socket();
  if (state_ == State::Handshake && !keepalive_timer_.active())
    keepalive_timer_ = host_.add_timer(kKeepaliveTick, kKeepaliveTick, [this] { on_keepalive_tick(); });
}

void MqttConnection::watch_socket() {
  socket_fd_ = mosquitto_socket(mosq_.get());
  if (socket_fd_ < 0) {
    lost("no socket after connect");
    return;
  }
  watched_events_ = EPOLLIN | (mosquitto_want_write(mosq_.get()) ? EPOLLOUT : 0u);
  socket_watch_ = host_.watch_fd(socket_fd_, watched_events_, [this](uint32_t events) { on_socket(events); });
}

void MqttConnection::on_socket(uint32_t events) {
  mosquitto* m = mosq_.get();
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    // TLS may hold decrypted records the socket no longer signals: read on
    // until libmosquitto has nothing left (bounded).
    int rounds = settings_.tls ? 8 : 1;
    for (int i = 0; i < rounds; ++i) {
      errno = 0;
      int rc = mosquitto_loop_read(m, 1);
      if (rc != MOSQ_ERR_SUCCESS) {
        lost(refused_ ? "refused" : describe(rc, errno));
        return;
      }
      if (state_ == State::Idle) return;
    }
  }
  if (events & EPOLLOUT) {
    errno = 0;
    int rc = mosquitto_loop_write(m, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      lost(describe(rc, errno));
      return;
    }
  }
  update_write_interest();
}

void MqttConnection::update_write_interest() {
  if (!socket_watch_.active()) return;
  uint32_t wanted = EPOLLIN | (mosquitto_want_write(mosq_.get()) ? EPOLLOUT : 0u);
  if (wanted != watched_events_ && socket_watch_.modify(wanted)) watched_events_ = wanted;
}

void MqttConnection::on_keepalive_tick() {
  if (state_ == State::Handshake && host_.now() > handshake_deadline_) {
    lost(fmt::format("no answer to CONNECT within {} s", kHandshakeLimit.count()));
    return;
  }
  errno = 0;
  int rc = mosquitto_loop_misc(mosq_.get());
  if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_.get()) != socket_fd_) {
    lost(rc == MOSQ_ERR_SUCCESS ? "keep-alive timed out" : describe(rc, errno));
    return;
  }
  update_write_interest();
}

void MqttConnection::lost(const std::string& why) {
  const bool was_online = state_ == State::Online;
  state_ = State::Idle;
  queue_.connection_lost();
  discovery_.disconnected();
  socket_watch_.reset();
  keepalive_timer_.cancel();
  socket_fd_ = -1;
  // The broker answering and refusing is not the address's fault.
  if (!was_online && !refused_ && try_next_address(why)) return;
  std::string failure = why;
  if (!address_failures_.empty()) failure = address_failures_ + addresses_[address_index_] + ": " + why;
  addresses_.clear();  // looked up again on the next attempt
  address_index_ = 0;
  address_failures_.clear();
  const Clock now = host_.now();
  if (was_online) {
    outage_since_ = now;
    quick_drops_ = now - online_since_ < kQuickDrop ? quick_drops_ + 1 : 0;
    host_.warning("connection to {} lost: {}", endpoint(), why);
    last_failure_ = why;
    bool taken_over = last_disconnect_reason_ == MQTT_RC_SESSION_TAKEN_OVER;
    if ((taken_over || quick_drops_ >= kQuickDropsForClash) && !clash_reported_) {
      host_.error(
          "client id '{}' is in use by another client: the broker {} (two reporters with one Client knock "
          "each other off; give each its own Client)",
          settings_.client_id,
          taken_over ? "handed the session over to it" : "dropped this connection right after accepting it");
      clash_reported_ = true;
    }
  } else if (!refused_ && failure != last_failure_) {
    host_.warning("cannot reach broker {}: {}; retrying", endpoint(), failure);
    last_failure_ = failure;
  }
  if (refused_ && !last_refusal_.empty()) last_failure_ = "refused: " + last_refusal_;
  report_status();
  schedule_reconnect(was_online);
}

void MqttConnection::schedule_reconnect(bool link_just_lost) {
  Clock delay = link_just_lost ? reconnect_.first_delay_after_loss() : reconnect_.next_delay(host_.now() - outage_since_);
  host_.debug("next connection attempt in {:.2f} s", std::chrono::duration<double>(delay).count());
  reconnect_timer_ = host_.add_timer(delay, Clock(0), [this] { connect(); });
}

void MqttConnection::handle_connack(int rc, bool session_present) {
  if (rc != 0) {
    refused_ = true;
    std::string reason =
        settings_.version == Protocol::Mqtt5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc);
    if (reason != last_refusal_)
      host_.error("broker {} refused the connection: {} (client id '{}'); retrying", endpoint(), reason,
                  settings_.client_id);
    last_refusal_ = reason;
    return;  // the broker closes the socket; on_socket reports it
  }
  const Clock now = host_.now();
  state_ = State::Online;
  reconnect_.reset();
  online_since_ = now;
  reconnected_ = ever_connected_;
  // Whether the broker still had our session tells whether commands sent
  // meanwhile can come (it may have expired it, or lost it in a restart).
  const char* session = settings_.clean_session ? "" : session_present ? " (session resumed)" : " (new session)";
  if (!ever_connected_)
    host_.info("connected to {}{}", endpoint(), session);
  else
    host_.info("reconnected to {} after {:.1f} s{}", endpoint(),
               std::chrono::duration<double>(now - outage_since_).count(), session);
  ever_connected_ = true;
  last_refusal_.clear();
  last_failure_.clear();

  subscribe_on_broker(refresh_topic_);
  for (const auto& [source, flags] : sources_) subscribe_on_broker(topic_of(source, flags));
  send(status_topic_, "ONLINE", settings_.qos, true);
  const std::uint64_t dropped = flush_queue();
  report_status();
  // After an outage the broker may have lost retained state and consumers
  // missed changes: everything republishes. The first connection needs that
  // only when the queue lost readings taken before it; otherwise every
  // reading has just been sent once, and a refresh would send it twice.
  if (reconnected_ || dropped > 0)
    host_.request_refresh();
  else
    host_.debug("first connection: the queue held every reading taken before it; no refresh");
  discovery_.connected();
}

std::string MqttConnection::topic_of(const std::string& source, uint32_t flags) const {
  return flags & SR_SUBSCRIBE_ABSOLUTE ? source : settings_.root_topic + "/" + source;
}

void MqttConnection::handle_disconnect(int reason) {
  host_.debug("disconnected by the broker, reason {}", reason);
  last_disconnect_reason_ = reason;
}

void MqttConnection::handle_message(const mosquitto_message* message) {
  std::string topic = message->topic;
  std::string_view payload(static_cast<const char*>(message->payload),
                           static_cast<size_t>(message->payloadlen > 0 ? message->payloadlen : 0));
  if (topic == refresh_topic_) {
    host_.info("refresh requested");
    host_.request_refresh();
    return;
  }
  if (discovery_.on_message(topic, payload, message->retain)) return;
  if (is_echo(topic, payload)) {
    host_.debug("ignored own state echo on {}", topic);
    return;
  }
  const std::string prefix = settings_.root_topic + "/";
  const bool under_root = topic.compare(0, prefix.size(), prefix) == 0;
  const std::string_view relative = under_root ? std::string_view(topic).substr(prefix.size()) : "";
  bool relative_wanted = false, any_absolute = false;
  for (const auto& [source, flags] : sources_) {
    if (!(flags & SR_SUBSCRIBE_ABSOLUTE)) {
      relative_wanted = relative_wanted || (under_root && relative == source);
      continue;
    }
    any_absolute = true;
    // An absolute source may be a filter (+, #): the actuator subscribed
    // to the filter, so that is what the host routes by.
    bool matches = false;
    if (mosquitto_topic_matches_sub(source.c_str(), topic.c_str(), &matches) == MOSQ_ERR_SUCCESS && matches)
      host_.deliver(source, payload, SR_SUBSCRIBE_ABSOLUTE);
  }
  // Relative sources as before: whatever arrives under the root (the host
  // says when no actuator takes it).
  if (under_root && (relative_wanted || !any_absolute)) host_.deliver(std::string(relative), payload);
}

void MqttConnection::handle_log(int level, const char* text) {
  // During a connect on a worker thread the host must not be called.
  if (std::this_thread::get_id() != loop_thread_) return;
  if (level & MOSQ_LOG_ERR)
    host_.error("libmosquitto: {}", text);
  else if (level & MOSQ_LOG_WARNING)
    host_.warning("libmosquitto: {}", text);
  else if (host_.log_enabled(SR_LOG_DEBUG))
    host_.debug("libmosquitto: {}", text);
}

void MqttConnection::publish(std::string_view destination, std::string_view payload, uint32_t flags) {
  std::string topic =
      flags & SR_PUBLISH_ABSOLUTE ? std::string(destination) : settings_.root_topic + "/" + std::string(destination);
  if ((flags & SR_PUBLISH_ABSOLUTE) && mosquitto_pub_topic_check(topic.c_str()) != MOSQ_ERR_SUCCESS)
    throw std::runtime_error(fmt::format("'{}' is not a topic to publish to (empty, or with + or #)", topic));
  bool retain = flags & SR_PUBLISH_RETAIN ? true : flags & SR_PUBLISH_NO_RETAIN ? false : settings_.retain;
  if (flags & SR_PUBLISH_ECHO) echoes_.push_back(Echo{topic, std::string(payload), host_.now() + kEchoWindow});
  discovery_.published(topic, payload);
  if (state_ == State::Online && queue_.empty()) {
    send(topic, payload, settings_.qos, retain);
    update_write_interest();
    return;
  }
  queue_.push(QueuedMessage{std::move(topic), std::string(payload), settings_.qos, retain});
  queue_changed();
  report_status();
}

void MqttConnection::send(const std::string& topic, std::string_view payload, int qos, bool retain) {
  int mid = 0;
  int rc = mosquitto_publish(mosq_.get(), &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                             qos, retain);
  if (rc == MOSQ_ERR_SUCCESS) {
    // With libmosquitto's own "received PUBACK (Mid: N)" this tells which
    // reading the broker has acknowledged, when one goes missing downstream.
    if (qos > 0 && host_.log_enabled(SR_LOG_DEBUG))
      host_.debug("mid {}: {} = {}", mid, topic, sr::sdk::printable(payload));
    return;
  }
  if (link_broken(rc)) {
    // The link broke under us; keep the message for the next connection.
    queue_.push(QueuedMessage{topic, std::string(payload), qos, retain});
    queue_changed();
    return;
  }
  host_.error("cannot publish to {}: {}", topic, mosquitto_strerror(rc));
}

// Every connect renews the subscriptions (a broker may have lost the
// session, and actuators may have come since). A kept session still has
// them: MQTT 5 can say not to send their retained messages again (what was
// queued for us arrives anyway); MQTT 3.1.1 cannot, so there a retained
// command published while we were away arrives twice (docs/mqtt.md).
int MqttConnection::subscribe_on_broker(const std::string& filter) {
  const int options =
      settings_.version == Protocol::Mqtt5 && !settings_.clean_session ? MQTT_SUB_OPT_SEND_RETAIN_NEW : 0;
  return mosquitto_subscribe_v5(mosq_.get(), nullptr, filter.c_str(), settings_.qos, options, nullptr);
}

std::uint64_t MqttConnection::flush_queue() {
  const std::uint64_t dropped = queue_.take_dropped();
  if (dropped)
    host_.warning("{} message(s) were dropped while the broker was unreachable (OfflineQueue = {})", dropped,
                  queue_.capacity());
  if (!queue_.empty()) {
    // Readings taken before the very first CONNACK are routine, not news.
    if (reconnected_)
      host_.info("sending {} message(s) queued while offline", queue_.size());
    else
      host_.debug("sending {} message(s) queued before the first connection", queue_.size());
  }
  mosquitto* m = mosq_.get();
  while (!queue_.empty() && state_ == State::Online) {
    const QueuedMessage& message = queue_.front();
    int mid = 0;
    sending_queued_ = true;
    const int rc = mosquitto_publish(m, &mid, message.topic.c_str(), static_cast<int>(message.payload.size()),
                                     message.payload.data(), message.qos, message.retain);
    sending_queued_ = false;
    if (link_broken(rc)) break;  // the next connection
    if (rc == MOSQ_ERR_SUCCESS) {
      // As in send(): which queued reading the broker acknowledges later.
      if (message.qos > 0 && host_.log_enabled(SR_LOG_DEBUG))
        host_.debug("mid {}: {} = {}", mid, message.topic, sr::sdk::printable(message.payload));
      queue_.sent(mid);
    } else {
      host_.error("cannot publish to {}: {}", message.topic, mosquitto_strerror(rc));
      queue_.discard_front();
    }
    for (int early : published_while_sending_) queue_.published(early);
    published_while_sending_.clear();
  }
  queue_changed();
  return dropped;
}

void MqttConnection::on_published(int mid) {
  if (mid == offline_mid_) offline_acked_ = true;
  if (sending_queued_)
    published_while_sending_.push_back(mid);
  else
    queue_.published(mid);
  // From inside libmosquitto: the sync is left to the timer.
  if (queue_.needs_sync() && !queue_sync_timer_.active() && std::this_thread::get_id() == loop_thread_)
    queue_changed();
}

void MqttConnection::queue_changed() {
  if (std::string news = queue_.take_journal_news(); !news.empty()) {
    if (queue_.journal()->error().empty())
      host_.info("{}", news);
    else
      host_.error("{}", news);
  }
  if (!queue_.needs_sync() || queue_sync_timer_.active()) return;
  if (settings_.queue_sync <= 0) {
    queue_.sync();
    return;
  }
  const auto delay = std::chrono::duration_cast<Clock>(std::chrono::duration<double>(settings_.queue_sync));
  queue_sync_timer_ = host_.add_timer(delay, Clock(0), [this] {
    // bench_queue counts these lines (one per fdatasync); the VM tier's
    // power cut (guest/power-cut.sh) reads what the file held at the last.
    if (queue_.sync())
      host_.debug("QueueFile synced: {} message(s), {} bytes", queue_.journal()->live(), queue_.journal()->size());
    queue_changed();
  });
}

void MqttConnection::subscribe(std::string_view source, uint32_t flags) {
  std::pair<std::string, uint32_t> wanted(std::string(source), flags & SR_SUBSCRIBE_ABSOLUTE);
  std::string topic = topic_of(wanted.first, wanted.second);
  if (mosquitto_sub_topic_check(topic.c_str()) != MOSQ_ERR_SUCCESS)
    throw std::runtime_error(fmt::format("'{}' is not a topic filter to subscribe to", topic));
  if (std::find(sources_.begin(), sources_.end(), wanted) != sources_.end()) return;
  sources_.push_back(std::move(wanted));
  if (state_ != State::Online) return;  // subscribed on connect
  int rc = subscribe_on_broker(topic);
  if (rc != MOSQ_ERR_SUCCESS) host_.error("cannot subscribe to {}: {}", topic, mosquitto_strerror(rc));
  update_write_interest();
}

void MqttConnection::unsubscribe(std::string_view source, uint32_t flags) {
  std::pair<std::string, uint32_t> unwanted(std::string(source), flags & SR_SUBSCRIBE_ABSOLUTE);
  auto it = std::find(sources_.begin(), sources_.end(), unwanted);
  if (it == sources_.end()) return;
  sources_.erase(it);
  std::string topic = topic_of(unwanted.first, unwanted.second);
  host_.debug("unsubscribing from {}", topic);
  if (state_ != State::Online) return;  // not renewed on the next connect
  int rc = mosquitto_unsubscribe(mosq_.get(), nullptr, topic.c_str());
  if (rc != MOSQ_ERR_SUCCESS) host_.error("cannot unsubscribe from {}: {}", topic, mosquitto_strerror(rc));
  update_write_interest();
}

void MqttConnection::catalogue_changed() {
  // Building the catalogue costs about 10 us a section: not worth paying at
  // start for nobody (most configurations announce nothing).
  const bool debug = host_.log_enabled(SR_LOG_DEBUG);
  if (!discovery_.active() && !debug) return;
  const std::vector<sdk::CatalogueEntry> catalogue = host_.catalogue();
  discovery_.set_catalogue(catalogue);
  if (!debug) return;
  for (const auto& entry : catalogue)
    for (const auto& io : entry.ios)
      host_.debug("catalogue: [{}] {} {} {}{}", entry.section, io.direction == SR_IO_PUBLISHES ? "publishes" : "accepts",
                  io.key, io.topic, io.unit.empty() ? "" : " in " + io.unit);
}

bool MqttConnection::is_echo(const std::string& topic, std::string_view payload) {
  const Clock now = host_.now();
  while (!echoes_.empty() && echoes_.front().expires < now) echoes_.pop_front();
  for (auto it = echoes_.begin(); it != echoes_.end(); ++it) {
    if (it->topic == topic && it->payload == payload) {
      echoes_.erase(it);
      return true;
    }
  }
  return false;
}

void MqttConnection::flush_before_exit() {
  if (state_ != State::Online) return;
  mosquitto* m = mosq_.get();
  for (const discovery::Message& last : discovery_.farewell())
    mosquitto_publish(m, nullptr, last.topic.c_str(), static_cast<int>(last.payload.size()), last.payload.data(),
                      last.qos, last.retain);
  offline_acked_ = settings_.qos == 0;
  int rc = mosquitto_publish(m, &offline_mid_, status_topic_.c_str(), 7, "OFFLINE", settings_.qos, true);
  if (rc != MOSQ_ERR_SUCCESS) return;
  // Bounded wait until OFFLINE is written (and, with QoS > 0, acknowledged):
  // the process is stopping, so blocking here holds up nothing else.
  const Clock deadline = host_.now() + kExitFlushLimit;
  while (host_.now() < deadline && (mosquitto_want_write(m) || !offline_acked_)) {
    pollfd p{socket_fd_, static_cast<short>(POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0)), 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - host_.now()).count();
    if (poll(&p, 1, static_cast<int>(std::max<long long>(left, 1))) < 0 && errno != EINTR) break;
    if ((p.revents & POLLOUT) && mosquitto_loop_write(m, 1) != MOSQ_ERR_SUCCESS) break;
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && mosquitto_loop_read(m, 1) != MOSQ_ERR_SUCCESS) break;
  }
  // libmosquitto closes its socket once DISCONNECT is written. A socket
  // closed with input unread (an UNSUBACK or PUBACK still on its way) sends
  // RST, and the broker then drops what it had not yet read of ours: the
  // configs announced just before a quick stop were lost so. A duplicate
  // keeps the connection open until the broker, having read DISCONNECT,
  // closes its side.
  sdk::UniqueFd lingering{socket_fd_ >= 0 ? dup(socket_fd_) : -1};
  mosquitto_disconnect(m);
  mosquitto_loop_write(m, 1);
  if (lingering && shutdown(lingering.get(), SHUT_WR) == 0) drain_until_closed(host_, lingering.get(), deadline);
  host_.info("disconnected from {}", endpoint());
  state_ = State::Idle;
}

// What the table guarantees (defaults applied, numbers valid) is all it
// relies on; none of the keys it asks has() about has a table default, so
// has() here means the section sets it.
void MqttConnection::check(const sdk::Params& params, sdk::CheckReport& report) {
  sdk::check_reconnect_range(params, report);
  if (params.has("Certfile") != params.has("Keyfile"))
    report.error(params.has("Certfile") ? "Certfile" : "Keyfile",
                 params.has("Certfile") ? "Certfile without Keyfile: they go together"
                                        : "Keyfile without Certfile: they go together");
  if (params.has("Password") && params.has("PasswordFile"))
    report.error("PasswordFile", "Password and PasswordFile both set: use one");
  if ((params.has("Password") || params.has("PasswordFile")) && !params.has("User"))
    report.error(params.has("Password") ? "Password" : "PasswordFile", "a password without User is never sent");
  for (const Problem& problem : combination_problems(params)) report.error(problem.key, problem.message);
  // The file itself is created at start; a missing directory would stop the connection then.
  if (const auto queue_file = params.find("QueueFile")) {
    const std::string dir = directory_of(*queue_file);
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      report.error("QueueFile", fmt::format("directory {} does not exist", dir));
  }
}

}  // namespace sr::mqtt
