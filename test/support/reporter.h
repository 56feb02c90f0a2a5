// Helpers shared by the tests that run the real daemon against a broker:
// the usual MQTT connection section, starting the daemon with the test
// plugins, and counting what arrived.
#pragma once

#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"

#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace sr::test {

// [Connection_MQTT] named `mqtt`, RootTopic sr, Client reporter, quick
// reconnects; `extra` lines are appended to the section.
inline std::string mqtt_section(int port, const std::string& extra = "") {
  return fmt::format(R"([Connection_MQTT]
Class = mqtt.mqtt_conn.MqttConnection
Name = mqtt
Host = 127.0.0.1
Port = {}
RootTopic = sr
Client = reporter
ReconnectMin = 0.2
ReconnectMax = 1
{}
)",
                     port, extra);
}

// `section` (an mqtt_section) with another Host.
inline std::string with_host(std::string section, const std::string& host) {
  return section.replace(section.find("Host = 127.0.0.1"), 16, "Host = " + host);
}

// [Sensor_Heartbeat] on connection `mqtt`: hb/num and hb/str every `poll` s.
inline std::string mqtt_heartbeat_section(int poll) {
  return fmt::format(R"(
[Sensor_Heartbeat]
Class = heartbeat.heartbeat.Heartbeat
Connection = mqtt
Poll = {}
Num-Dest = hb/num
Str-Dest = hb/str
)",
                     poll);
}

// A private broker and a client on it watching `filter`: the test's view of
// the wire.
struct WatchedBroker {
  Broker broker;
  MqttClient observer;
  explicit WatchedBroker(const std::string& filter = "sr/#") : observer(broker.port()) {
    if (!observer.wait_connected(5s) || !observer.subscribe(filter))
      throw std::runtime_error("the test client cannot watch " + filter + " on the test broker");
  }
};

// Writes the configuration into `dir` and starts the daemon on it, with the
// test-only plugins on the path.
inline std::unique_ptr<Process> start_reporter(const TempDir& dir, const std::string& ini_text,
                                               const std::string& name = "sr.ini") {
  std::string ini = dir.write(name, ini_text);
  return std::make_unique<Process>(std::vector<std::string>{binary(), "--plugin-dir", test_plugin_dir(), ini});
}

inline size_t count(const std::vector<Received>& messages, const std::string& topic, const std::string& payload) {
  return static_cast<size_t>(std::count_if(messages.begin(), messages.end(), [&](const Received& m) {
    return m.topic == topic && m.payload == payload;
  }));
}

inline size_t count_topic(const std::vector<Received>& messages, const std::string& topic) {
  return static_cast<size_t>(
      std::count_if(messages.begin(), messages.end(), [&](const Received& m) { return m.topic == topic; }));
}

// A /bin/sh script in `dir`, executable; returns its path.
inline std::string write_script(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.write(name, "#!/bin/sh\n" + body);
  if (chmod(path.c_str(), 0755) != 0) throw std::runtime_error("chmod " + path);
  return path;
}

inline size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace sr::test
