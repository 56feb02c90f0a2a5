// heartbeat.heartbeat.Heartbeat — polling sensor (SPEC 7.1).
//
// Publishes the time since the section was created, on every poll and every
// refresh: integer milliseconds to Num-Dest and HH:MM:SS (D:HH:MM:SS from one
// day on, days not padded) to Str-Dest.
//
//   [Sensor_Heartbeat]
//   Class = heartbeat.heartbeat.Heartbeat
//   Connection = MQTT
//   Poll = 60
//   Num-Dest = heartbeat/num
//   Str-Dest = heartbeat/str
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace sr::heartbeat {

// "00:01:05" below one day, "3:04:05:06" from one day on.
std::string format_uptime(std::uint64_t milliseconds);

class Heartbeat {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "Heartbeat";
  static constexpr const char* path = "heartbeat.heartbeat.Heartbeat";
  static constexpr const char* summary = "Publishes the uptime of its section: milliseconds and HH:MM:SS";
  static constexpr sr_param_def params[] = {
      sdk::string_param("Num-Dest").required().help("destination of the uptime in integer milliseconds"),
      sdk::string_param("Str-Dest").required().help("destination of the uptime as HH:MM:SS or D:HH:MM:SS"),
      sdk::float_param("Poll").required().min(1).help("seconds between heartbeats (>= 1)"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sdk::publishes("Num-Dest", SR_VALUE_NUMBER, "uptime", "ms"),
      sdk::publishes("Str-Dest", SR_VALUE_STRING, "uptime"),
      sdk::end_ios};

  Heartbeat(sdk::Host host, const sdk::Params& params);
  void poll() { publish(); }
  void refresh() { publish(); }

 private:
  void publish();

  sdk::Host host_;
  std::string num_dest_;
  std::string str_dest_;
  std::chrono::nanoseconds created_;
};

}  // namespace sr::heartbeat
