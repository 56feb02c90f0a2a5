// Secrets (issue 18 part 3, docs/security.md): passwords and tokens never
// show in the log (at any level), in --check, --describe or STATUS=, also
// when a plugin misbehaves and prints its own; every secret has a file
// option (PasswordFile, API-TokenFile); and a configuration, or a secret
// file, that every user can read draws a warning naming the key.
#include "support/broker.h"
#include "support/notify_socket.h"
#include "support/openhab_double.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/stat.h>

#include <csignal>

using namespace sr::test;

namespace {

constexpr const char* kMqttPassword = "mqtt-pw-LEAK";
constexpr const char* kOpenhabToken = "oh-token-LEAK";

bool all_masked(const std::string& text) { return text.find("LEAK") == std::string::npos; }

std::string joined(const std::vector<std::string>& messages) {
  std::string all;
  for (const auto& m : messages) all += m + "\n";
  return all;
}

}  // namespace

TEST_CASE("a plugin that logs its secret or puts it in its status shows ******** instead") {
  TempDir dir;
  const std::string ini = dir.write("sr.ini", R"([Connection_Local]
Class = local.local_conn.LocalConnection
Name = local

[Sensor_Leaky]
Class = sr_test.test.TestFamilies
Connection = local
Address = a
Destination = d
Token = 0123abcd
Label = leak
)");
  REQUIRE(chmod(ini.c_str(), 0600) == 0);
  NotifySocket systemd(dir.file("notify"));
  Process reporter({binary(), "--plugin-dir", test_plugin_dir(), ini}, {"NOTIFY_SOCKET=" + dir.file("notify")});
  REQUIRE(reporter.wait_for_output("[Sensor_Leaky] my token is ********", 10s));
  REQUIRE(systemd.wait_for(has("[Sensor_Leaky] token ********"), 10s));
  reporter.signal(SIGTERM);
  REQUIRE(reporter.wait_exit(10s) == 0);
  CHECK(reporter.output().find("0123abcd") == std::string::npos);
  CHECK(joined(systemd.messages()).find("0123abcd") == std::string::npos);
}

TEST_CASE("the MQTT password and the openHAB token: not in --check, --describe, a DEBUG log or STATUS=") {
  TempDir secrets;
  REQUIRE(run({"/usr/bin/mosquitto_passwd", "-c", "-b", secrets.file("passwd"), "reporter", "another"}).exit_code == 0);
  Broker broker("", fmt::format("allow_anonymous false\npassword_file {}\n", secrets.file("passwd")));
  OpenhabDouble openhab("oh4", {"--item", "Refresh:Switch", "--item", "Uptime:Number", "--item", "UptimeText:String", "--token", "oh.good.token",
                                "--no-implicit-user-role"});
  TempDir dir;
  const std::string sections = fmt::format(R"([Logging]
Level = DEBUG

[Connection_MQTT]
Class = mqtt.mqtt_conn.MqttConnection
Name = mqtt
Host = 127.0.0.1
Port = {}
RootTopic = sr
User = reporter
Password = {}
ReconnectMin = 0.2
ReconnectMax = 1

[Connection_OH]
Class = openhab_rest.rest_conn.OpenhabREST
Name = openhab
URL = {}
RefreshItem = Refresh
API-Token = {}
ReconnectMin = 0.1
ReconnectMax = 0.5

[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt, openhab
Poll = 1
Num-Dest = Uptime
Str-Dest = UptimeText
)",
                                           broker.port(), kMqttPassword, openhab.url(), kOpenhabToken);

  SUBCASE("--check, with the password interpolated into a bad value and the file readable by every user") {
    std::string text = sections;
    const std::string after = "ReconnectMax = 1\n";
    text.insert(text.find(after) + after.size(), "Keepalive = %(Password)s\n");
    const std::string ini = dir.write("check.ini", text);
    REQUIRE(chmod(ini.c_str(), 0644) == 0);
    auto checked = run({binary(), "--check", ini});
    INFO(checked.err);
    CHECK(checked.exit_code == 78);
    CHECK(all_masked(checked.out + checked.err));
    CHECK(checked.err.find(":14: [Connection_MQTT] Keepalive: '********' is not an integer") != std::string::npos);
    // Each secret named where it is, with its file alternative.
    CHECK(checked.err.find(":11: [Connection_MQTT] Password: this file holds a secret and every user can read it "
                           "(mode 0644); chmod o-r it, or use PasswordFile") != std::string::npos);
    CHECK(checked.err.find(":21: [Connection_OH] API-Token: this file holds a secret and every user can read it "
                           "(mode 0644); chmod o-r it, or use API-TokenFile") != std::string::npos);
  }

  SUBCASE("--describe") {
    for (const char* name : {"MqttConnection", "OpenhabREST"}) {
      auto described = run({binary(), "--describe", name});
      REQUIRE(described.exit_code == 0);
      CHECK(described.out.find("secret: shown as ********") != std::string::npos);
      CHECK(described.out.find("holds a secret: keep it unreadable to other users") != std::string::npos);
    }
  }

  SUBCASE("the daemon at DEBUG, refused by both, and its STATUS= lines") {
    const std::string ini = dir.write("sr.ini", sections);
    REQUIRE(chmod(ini.c_str(), 0600) == 0);
    NotifySocket systemd(dir.file("notify"));
    Process reporter({binary(), ini}, {"NOTIFY_SOCKET=" + dir.file("notify")});
    REQUIRE(reporter.wait_for_output("refused the connection: Connection Refused: not authorised.", 10s));
    REQUIRE(reporter.wait_for_output("API-Token is not accepted", 10s));
    REQUIRE(systemd.wait_for(has("STATUS="), 10s));
    reporter.signal(SIGTERM);
    REQUIRE(reporter.wait_exit(10s) == 0);
    CHECK_MESSAGE(all_masked(reporter.output()), reporter.output());
    CHECK(all_masked(joined(systemd.messages())));
  }
}

TEST_CASE("API-TokenFile: the token is read from the file, and a file every user can read draws a warning") {
  OpenhabDouble openhab("oh4", {"--item", "Refresh:Switch", "--item", "Uptime:Number", "--item", "UptimeText:String", "--token", "oh.good.token",
                                "--no-implicit-user-role"});
  TempDir dir;
  const std::string token_file = dir.write("openhab.token", "oh.good.token\r\nignored second line\n");
  REQUIRE(chmod(token_file.c_str(), 0644) == 0);
  auto config = [&](const std::string& name, const std::string& token_lines) {
    const std::string ini = dir.write(name, fmt::format(R"([Connection_OH]
Class = openhab_rest.rest_conn.OpenhabREST
Name = openhab
URL = {}
RefreshItem = Refresh
{}

[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = openhab
Poll = 60
Num-Dest = Uptime
Str-Dest = UptimeText
)",
                                                        openhab.url(), token_lines));
    REQUIRE(chmod(ini.c_str(), 0600) == 0);
    return ini;
  };
  const std::string ini = config("sr.ini", "API-TokenFile = " + token_file);
  auto checked = run({binary(), "--check", ini});
  CHECK(checked.exit_code == 0);
  CHECK(checked.err == "warning: " + ini + ":6: [Connection_OH] API-TokenFile: " + token_file +
                           " holds a secret and every user can read it (mode 0644); chmod o-r it\n");
  REQUIRE(chmod(token_file.c_str(), 0640) == 0);
  CHECK(run({binary(), "--check", ini}).err == "");

  Process reporter({binary(), ini});
  auto updates = openhab.wait_requests("PUT", "/rest/items/Uptime/state", 1);
  REQUIRE_MESSAGE(updates.size() == 1, reporter.output());
  CHECK(updates[0]["status"] == 202);  // openHAB accepts a state update
  CHECK(reporter.output().find("oh.good.token") == std::string::npos);

  // Not a one-letter token: secrets are masked by value, and the temporary
  // directory in the expected path could hold that letter.
  const std::string both = config("both.ini", "API-Token = oh.token.in.the.file\nAPI-TokenFile = " + token_file);
  auto refused = run({binary(), "--check", both});
  CHECK(refused.exit_code == 78);
  CHECK(refused.err.find(both + ":7: [Connection_OH] API-TokenFile: API-Token and API-TokenFile both set: use one\n") !=
        std::string::npos);
}

TEST_CASE("a URL with user:password@ is refused: it would show in the log") {
  TempDir dir;
  const std::string ini = dir.write("sr.ini", R"([Connection_OH]
Class = openhab_rest.rest_conn.OpenhabREST
Name = openhab
URL = http://admin:hunter2@openhab:8080/
RefreshItem = Refresh
)");
  auto checked = run({binary(), "--check", ini});
  CHECK(checked.exit_code == 78);
  CHECK(checked.err.find(ini + ":4: [Connection_OH] URL: URL holds credentials (user:password@); they would show "
                               "in the log: give the token in API-Token or API-TokenFile instead\n") !=
        std::string::npos);
}
