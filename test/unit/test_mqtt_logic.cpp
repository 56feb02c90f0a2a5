// The MQTT plugin's pure logic: reconnect timing and parameter reading (the
// offline queue: test_offline_queue.cpp).
#include "mqtt/mqtt_connection.hpp"
#include <sensor_reporter/reconnect_policy.hpp>
#include "support/process.h"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using sr::sdk::ReconnectPolicy;

TEST_CASE("reconnect delays stay at ReconnectMin (with jitter) during the first seconds of an outage") {
  ReconnectPolicy policy(1s, 60s, 10s, 42);
  for (auto outage : {0s, 1s, 5s, 9s}) {
    auto delay = policy.next_delay(outage);
    CHECK(delay >= 500ms);
    CHECK(delay <= 1s);
  }
}

TEST_CASE("after the fast phase delays double up to ReconnectMax, each jittered into [d/2, d]") {
  ReconnectPolicy policy(1s, 8s, 10s, 7);
  std::chrono::nanoseconds expected_max[] = {1s, 2s, 4s, 8s, 8s, 8s};
  for (auto max : expected_max) {
    auto delay = policy.next_delay(30s);
    CHECK(delay >= max / 2);
    CHECK(delay <= max);
  }
  policy.reset();
  auto delay = policy.next_delay(30s);
  CHECK(delay <= 1s);
}

TEST_CASE("after a lost link: the first retry at a random phase in [0, spread], then every spread; capped by ReconnectMax") {
  // 1,000 reporters losing the broker at once: their first retries cover the
  // whole window evenly, not ReconnectMin's [d/2, d].
  ReconnectPolicy policy(1s, 60s, 10s, 3, 3s);
  int per_second[3] = {};
  for (int i = 0; i < 1000; ++i) {
    auto delay = policy.first_delay_after_loss();
    REQUIRE(delay >= 0s);
    REQUIRE(delay <= 3s);
    ++per_second[std::min<long>(delay / 1s, 2)];
  }
  for (int n : per_second) {
    CHECK(n > 280);
    CHECK(n < 390);
  }
  // A first retry that failed (the broker is not back yet) is followed by
  // one every spread during the fast phase: the random phase is kept, so
  // the fleet stays spread whenever the broker returns. Then the backoff.
  CHECK(policy.next_delay(2s) == 3s);
  CHECK(policy.next_delay(8s) == 3s);
  auto delay = policy.next_delay(11s);
  CHECK(delay >= 500ms);
  CHECK(delay <= 1s);
  // A connection accepted ends the spreading.
  policy.reset();
  delay = policy.next_delay(2s);
  CHECK(delay <= 1s);

  ReconnectPolicy capped(50ms, 200ms, 10s, 3, 3s);
  for (int i = 0; i < 100; ++i) CHECK(capped.first_delay_after_loss() <= 200ms);
  ReconnectPolicy none(1s, 60s, 10s, 3);
  for (int i = 0; i < 100; ++i) {
    auto d = none.first_delay_after_loss();
    CHECK(d >= 500ms);
    CHECK(d <= 1s);
  }
}

TEST_CASE("a huge number of attempts saturates at ReconnectMax without overflow") {
  ReconnectPolicy policy(1s, 60s, 0s, 1);
  std::chrono::nanoseconds last{};
  for (int i = 0; i < 200; ++i) last = policy.next_delay(1h);
  CHECK(last >= 30s);
  CHECK(last <= 60s);
}

namespace {
// Read by the class's table, as the host hands them over: absent keys
// answer the table's defaults.
sr::sdk::Params params(sr::sdk::Params::Values values) {
  return sr::sdk::Params(sr::mqtt::MqttConnection::params, std::move(values));
}
}  // namespace

TEST_CASE("settings: defaults for port, client id and protocol") {
  auto s = sr::mqtt::read_settings(params({{"Host", "broker"}, {"RootTopic", "home/pi/"}}));
  CHECK(s.port == 1883);
  CHECK(s.client_id.rfind("sensor_reporter-", 0) == 0);
  CHECK(s.root_topic == "home/pi");  // trailing slash removed
  CHECK(s.version == sr::mqtt::Protocol::Mqtt311);  // the table's "4"
  CHECK(s.offline_queue == 1000);
  CHECK(s.keepalive == 60);
  CHECK(s.qos == 0);
  CHECK_FALSE(s.retain);
  CHECK(s.reconnect_min == 1);
  CHECK(s.reconnect_max == 60);
  auto tls = sr::mqtt::read_settings(params({{"Host", "broker"}, {"RootTopic", "r"}, {"TLS", "yes"}}));
  CHECK(tls.port == 8883);
}

TEST_CASE("settings: PasswordFile is read, and conflicts are refused with a reason") {
  sr::test::TempDir dir;
  std::string file = dir.write("pw", "s3cret%\nsecond line\n");
  auto s = sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"User", "u"}, {"PasswordFile", file}}));
  CHECK(s.password == "s3cret%");
  CHECK(s.has_password);
  CHECK_THROWS_WITH(sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"User", "u"},
                                                    {"Password", "a"}, {"PasswordFile", file}})),
                    "Password and PasswordFile are exclusive; keep one");
  CHECK_THROWS_WITH(sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"User", "u"},
                                                    {"PasswordFile", dir.file("missing")}})),
                    ("PasswordFile " + dir.file("missing") + ": No such file or directory").c_str());
  CHECK_THROWS_WITH(sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "a/#"}})),
                    "RootTopic 'a/#' is not a valid topic (no + or #, not empty)");
  CHECK_THROWS_WITH(sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"Certfile", "c"}})),
                    "Certfile and Keyfile go together");
  CHECK_THROWS_WITH(sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"ReconnectMin", "5"},
                                                    {"ReconnectMax", "2"}})),
                    "ReconnectMax 2 is below ReconnectMin 5");
}

TEST_CASE("settings: Version picks the protocol by the table's choices") {
  using sr::mqtt::Protocol;
  auto version = [](const char* text) {
    return sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"Version", text}})).version;
  };
  CHECK(version("3") == Protocol::Mqtt31);
  CHECK(version("4") == Protocol::Mqtt311);
  CHECK(version("5") == Protocol::Mqtt5);
}

namespace {
// What check() reports, one "key: message" per problem.
std::vector<std::string> check(sr::sdk::Params::Values values) {
  std::vector<std::string> problems;
  sr::sdk::CheckReport report(
      [](void* ctx, int, const char* key, const char* message) {
        static_cast<std::vector<std::string>*>(ctx)->push_back(std::string(key ? key : "") + ": " + message);
      },
      &problems);
  sr::mqtt::MqttConnection::check(params(std::move(values)), report);
  return problems;
}
}  // namespace

TEST_CASE("check: the reconnect range against the table's defaults, quoted as written; pairs of keys") {
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}}).empty());
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}, {"ReconnectMin", "90.0"}}) ==
        std::vector<std::string>{"ReconnectMax: ReconnectMax 60 is below ReconnectMin 90.0"});
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}, {"ReconnectMax", "0.50"}}) ==
        std::vector<std::string>{"ReconnectMax: ReconnectMax 0.50 is below ReconnectMin 1"});
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}, {"Keyfile", "k"}}) ==
        std::vector<std::string>{"Keyfile: Keyfile without Certfile: they go together"});
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}, {"Password", "p"}}) ==
        std::vector<std::string>{"Password: a password without User is never sent"});
}

TEST_CASE("settings: sessions are clean unless asked; SessionExpiry only under MQTT 5; a socket path takes port 0") {
  auto clean = sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}}));
  CHECK(clean.clean_session);
  CHECK(clean.session_expiry == 0);
  auto kept = sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"QoS", "1"}, {"CleanSession", "no"}}));
  CHECK_FALSE(kept.clean_session);
  CHECK(kept.session_expiry == 0);  // MQTT 3.1.1 has no expiry to send
  auto kept5 = sr::mqtt::read_settings(
      params({{"Host", "h"}, {"RootTopic", "r"}, {"QoS", "1"}, {"CleanSession", "no"}, {"Version", "5"}}));
  CHECK(kept5.session_expiry == sr::mqtt::kDefaultSessionExpiry);
  auto longer = sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"QoS", "2"}, {"CleanSession", "no"},
                                                {"Version", "5"}, {"SessionExpiry", "4294967295"}}));
  CHECK(longer.session_expiry == 4294967295u);
  CHECK_THROWS_WITH(sr::mqtt::read_settings(params({{"Host", "h"}, {"RootTopic", "r"}, {"CleanSession", "no"}})),
                    "CleanSession = no with QoS 0: a broker need not keep QoS 0 commands for a client that is away "
                    "(mosquitto does not by default); set QoS = 1");
  auto local = sr::mqtt::read_settings(params({{"Host", "/run/mosquitto/mosquitto.sock"}, {"RootTopic", "r"}}));
  CHECK(local.unix_socket());
  CHECK(local.port == 0);
  CHECK_FALSE(clean.unix_socket());
  CHECK_THROWS_WITH(sr::mqtt::read_settings(params({{"Host", "/s"}, {"RootTopic", "r"}, {"Port", "1883"}})),
                    "Host /s is a unix socket: Port must be 0 or absent");
}

TEST_CASE("check: sessions and unix sockets that cannot work are refused at their key") {
  CHECK(check({{"Host", "/run/mosquitto/mosquitto.sock"}, {"RootTopic", "r"}, {"Port", "0"}}).empty());
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}, {"QoS", "1"}, {"CleanSession", "no"}, {"Version", "5"},
               {"SessionExpiry", "60"}})
            .empty());
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}, {"CleanSession", "no"}}) ==
        std::vector<std::string>{"CleanSession: CleanSession = no with QoS 0: a broker need not keep QoS 0 commands "
                                 "for a client that is away (mosquitto does not by default); set QoS = 1"});
  const std::string expiry_alone = "SessionExpiry: SessionExpiry applies only with CleanSession = no and Version = 5 "
                                   "(an MQTT 3.1.1 session lasts until the broker expires it)";
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}, {"Version", "5"}, {"SessionExpiry", "60"}}) ==
        std::vector<std::string>{expiry_alone});
  CHECK(check({{"Host", "h"}, {"RootTopic", "r"}, {"QoS", "1"}, {"CleanSession", "no"}, {"SessionExpiry", "60"}}) ==
        std::vector<std::string>{expiry_alone});
  CHECK(check({{"Host", "/s"}, {"RootTopic", "r"}, {"Port", "1883"}, {"TLS", "yes"}}) ==
        std::vector<std::string>{
            "Port: Host /s is a unix socket: Port must be 0 or absent",
            "TLS: TLS over a unix socket is not supported (the socket file's permissions guard it)"});
  CHECK(check({{"Host", "/" + std::string(107, 's')}, {"RootTopic", "r"}}) ==
        std::vector<std::string>{"Host: a unix socket path has at most 107 bytes"});
  CHECK(check({{"Host", "broker"}, {"RootTopic", "r"}, {"Port", "0"}}) ==
        std::vector<std::string>{
            "Port: Port 0 means a unix socket: Host must be its path (/run/mosquitto/mosquitto.sock)"});
}
