// A module as a later minor might build it: every struct it writes is
// today's layout with one member appended (Grown<T>: today's struct, then
// `appended`), the table entries included, so each is longer than this
// host's sizeof and the tables' stride is not the host's. It declares the
// next minor, SR_ABI_MINOR + 1. Built twice:
//  - abi_grown.so (GROWN_NEGOTIATES 1) negotiates like the SDK: to an older
//    host it answers the host's minor, and that host must read it by its own
//    layout: the first sizeof bytes of each struct, the tables walked by the
//    entries' own struct_size.
//  - newer_minor.so (GROWN_NEGOTIATES 0) always answers SR_ABI_MINOR + 1; the
//    host refuses it, naming both versions.
//
// Classes (plain SDK classes; only the descriptors are grown):
//  - GrownSensor publishes Value to Destination on every poll and refresh.
//  - GrownActuator appends "SOURCE PAYLOAD" to Output for every command.
#include <sensor_reporter/sdk.hpp>

#include <array>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace {

template <typename T>
struct Grown {
  T current;
  const char* appended;
};

// A table of today's entries as the later minor writes it. The end marker
// keeps struct_size 0, as the SDK's end_params and end_ios do.
template <typename T, size_t N>
constexpr std::array<Grown<T>, N> grow_table(const T (&table)[N], const char* appended) {
  std::array<Grown<T>, N> grown{};
  for (size_t i = 0; i < N; ++i) {
    grown[i] = Grown<T>{table[i], appended};
    if (i + 1 < N) grown[i].current.struct_size = sizeof(Grown<T>);
  }
  return grown;
}

class GrownSensor {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "GrownSensor";
  static constexpr const char* path = GROWN_MODULE ".grown.GrownSensor";
  static constexpr const char* summary =
      "Publishes a fixed value (tests only, a layout grown past the host's)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("Destination").required().help("where Value goes"),
      sr::sdk::string_param("Value").fallback("from " GROWN_MODULE).help("what every poll publishes"),
      sr::sdk::int_param("Unused").fallback("5").min(1).max(9).help(
          "a ranged parameter, read only by --describe"),
      sr::sdk::end_params};
  static constexpr sr_io_def ios[] = {sr::sdk::publishes("Destination", SR_VALUE_STRING, "text"),
                                      sr::sdk::end_ios};

  GrownSensor(sr::sdk::Host host, const sr::sdk::Params& params)
      : host_(host), destination_(params.get("Destination")), value_(params.get("Value")) {}
  void poll() { host_.publish(destination_, value_); }
  void refresh() { poll(); }

 private:
  sr::sdk::Host host_;
  std::string destination_;
  std::string value_;
};

class GrownActuator {
 public:
  static constexpr sr_kind kind = SR_KIND_ACTUATOR;
  static constexpr const char* name = "GrownActuator";
  static constexpr const char* path = GROWN_MODULE ".grown.GrownActuator";
  static constexpr const char* summary =
      "Records every command to a file (tests only, a layout grown past the host's)";
  static constexpr sr_param_def params[] = {
      sr::sdk::string_param("CommandSrc").required().help("where commands come from"),
      sr::sdk::string_param("Output").required().help("file that receives one line per command"),
      sr::sdk::end_params};
  static constexpr sr_io_def ios[] = {sr::sdk::accepts("CommandSrc", SR_VALUE_COMMAND, "text"),
                                      sr::sdk::end_ios};

  GrownActuator(sr::sdk::Host host, const sr::sdk::Params& params) : output_(params.get("Output")) {
    if (!host.subscribe(params.get("CommandSrc"))) throw std::runtime_error("cannot subscribe");
  }
  void on_command(std::string_view source, std::string_view payload) {
    std::FILE* file = std::fopen(output_.c_str(), "ae");
    if (!file) throw std::runtime_error("cannot open " + output_);
    std::fprintf(file, "%.*s %.*s\n", static_cast<int>(source.size()), source.data(),
                 static_cast<int>(payload.size()), payload.data());
    std::fclose(file);
  }

 private:
  std::string output_;
};

template <typename T>
struct GrownClass {
  static constexpr auto params = grow_table(T::params, "appended to a parameter");
  static constexpr auto ios = grow_table(T::ios, "appended to an io entry");
  static constexpr Grown<sr_class_def> make() {
    Grown<sr_class_def> grown{sr::sdk::detail::make_class_def<T>(), "appended to a class"};
    grown.current.struct_size = sizeof grown;
    grown.current.params = &params[0].current;
    grown.current.ios = &ios[0].current;
    return grown;
  }
  static constexpr Grown<sr_class_def> value = make();
};

constexpr uint32_t kOwnMinor = SR_ABI_MINOR + 1;

constexpr const sr_class_def* kClasses[] = {&GrownClass<GrownSensor>::value.current,
                                            &GrownClass<GrownActuator>::value.current};

constexpr std::array<Grown<sr_module_descriptor>, kOwnMinor + 1> make_descriptors() {
  std::array<Grown<sr_module_descriptor>, kOwnMinor + 1> descriptors{};
  for (uint32_t minor = 0; minor <= kOwnMinor; ++minor)
    descriptors[minor] = {
        {SR_ABI_MAJOR, minor, sizeof(Grown<sr_module_descriptor>), 2, GROWN_MODULE, "9.0.0", kClasses},
        "appended to the descriptor"};
  return descriptors;
}
constexpr auto kDescriptors = make_descriptors();

}  // namespace

extern "C" SR_PLUGIN_EXPORT const sr_module_descriptor* SR_PLUGIN_ENTRY(uint32_t host_abi_major,
                                                                        uint32_t host_abi_minor) noexcept {
  bool older_host = host_abi_major == SR_ABI_MAJOR && host_abi_minor < kOwnMinor;
  uint32_t minor = GROWN_NEGOTIATES && older_host ? host_abi_minor : kOwnMinor;
  return &kDescriptors[minor].current;
}
