// A libmosquitto test client with its own network thread: it watches the
// wire like mosquitto_sub and pokes it like mosquitto_pub.
#pragma once

#include <mosquitto.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace sr::test {

struct Received {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  std::chrono::steady_clock::time_point at;
};

struct ClientOptions {
  std::string id{};            // empty: random
  bool persistent = false;     // clean_session = false
  std::string user{};
  std::string password{};
  std::string ca_file{};       // TLS when set
  int version = 4;
  std::string cert_file{};     // TLS client certificate and key (with ca_file)
  std::string key_file{};
  std::string host = "127.0.0.1";  // "localhost" for a broker certificate's DNS name
};

class MqttClient {
 public:
  MqttClient(int port, ClientOptions options = {});
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Waits for CONNACK; libmosquitto then reconnects by itself after a loss.
  bool wait_connected(std::chrono::milliseconds timeout);
  // Subscribes and waits for the SUBACK.
  bool subscribe(const std::string& filter, int qos = 0, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool publish(const std::string& topic, const std::string& payload, int qos = 0, bool retain = false);
  // Publishes at QoS 1 and waits for the PUBACK: the broker has routed the
  // message to its subscribers, or dropped it (mosquitto acknowledges a
  // publish its ACL refuses, and drops it).
  bool publish_acked(const std::string& topic, const std::string& payload, bool retain = false,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The CONNACK code of the last connection attempt (0: accepted; 5: not
  // authorised), or -1 before any answer; -1 also when the link failed
  // before a CONNACK (a refused TLS handshake).
  int last_connack() const;
  // True once a CONNACK or a disconnect has ended a connection attempt.
  bool wait_answered(std::chrono::milliseconds timeout);

  std::vector<Received> messages() const;
  std::vector<Received> messages(const std::string& topic) const;
  // True once predicate(messages) holds, within timeout. The predicate runs
  // under the client's lock: it must use its argument, not messages().
  bool wait_for(const std::function<bool(const std::vector<Received>&)>& predicate,
                std::chrono::milliseconds timeout);
  bool wait_for_message(const std::string& topic, const std::string& payload, std::chrono::milliseconds timeout);
  void clear();

 private:
  mosquitto* mosq_ = nullptr;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Received> received_;
  bool connected_ = false;
  int connack_ = -1;
  bool answered_ = false;
  int last_mid_ = -1;
  std::vector<int> acked_mids_;
  std::vector<int> published_mids_;
  // Subscribed filters, renewed on every reconnect: a broker killed before
  // it saved its persistence forgets a persistent session's subscriptions.
  std::vector<std::pair<std::string, int>> filters_;
};

}  // namespace sr::test
