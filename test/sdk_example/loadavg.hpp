// loadavg.loadavg.LoadAverage — polling sensor (an out-of-tree example).
//
// Publishes the 1-minute load average from /proc/loadavg on every poll and
// refresh. The class lives in this header so that both the module
// (loadavg.cpp) and its unit test (test_loadavg.cpp) compile it.
//
//   [Sensor_Load]
//   Class = loadavg.loadavg.LoadAverage
//   Connection = MQTT
//   Poll = 60
//   Destination = load
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

namespace loadavg {

class LoadAverage {
 public:
  // What the host needs to know: kind, names, summary, parameters, messages.
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "LoadAverage";
  static constexpr const char* path = "loadavg.loadavg.LoadAverage";
  static constexpr const char* summary = "Publishes the 1-minute load average";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("Destination").required().help("where the load average goes"),
      sr::sdk::float_param("Poll").required().min(1).help("seconds between readings"),
      sr::sdk::string_param("File").fallback("/proc/loadavg").help("file to read (for tests)"),
      sr::sdk::end_params};
  static constexpr sr_io_def ios[] = {
      sr::sdk::publishes("Destination", SR_VALUE_NUMBER, "load"), sr::sdk::end_ios};

  // Parameters arrive validated, with defaults applied. A throw here becomes
  // the section's creation error.
  LoadAverage(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host), destination_(params.get("Destination")), file_(params.get("File")) {}

  void poll() {
    std::ifstream in(file_);
    std::string first;
    if (!(in >> first)) throw std::runtime_error("cannot read " + file_);
    last_ = first;
    host_.publish(destination_, last_);
  }
  void refresh() {
    if (!last_.empty()) host_.publish(destination_, last_);
  }

 private:
  sr::sdk::Host host_;
  std::string destination_;
  std::string file_;
  std::string last_;
};

}  // namespace loadavg
