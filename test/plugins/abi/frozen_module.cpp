// A module as it was written against a released ABI minor: built from the
// frozen layouts of frozen_abi.h only (never from today's plugin_abi.h or the
// SDK), once per minor (FROZEN_MINOR 0 -> abi_1_0.so, 1 -> abi_1_1.so). It
// declares that minor and the struct sizes it had, and ignores the version
// the host offers, as a hand-written module of that time might.
//
//  - Abi1<minor>Sensor publishes Value to Destination on every poll and
//    refresh.
//  - Abi1<minor>Actuator appends "SOURCE PAYLOAD" to Output for every command
//    from CommandSrc; the 1.1 build also reports "last command: PAYLOAD"
//    through set_status when the host's table is long enough to have it.
//
//   [Sensor_Old]
//   Class = abi_1_0.frozen.Abi10Sensor
//   Connection = local
//   Poll = 1
//   Destination = old
#include "frozen_abi.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#if FROZEN_MINOR == 0
namespace abi = frozen::v1_0;
#define FROZEN_TAG "10"
#define FROZEN_VERSION "1.0"
#define FROZEN_MODULE "abi_1_0"
#elif FROZEN_MINOR == 1
namespace abi = frozen::v1_1;
#define FROZEN_TAG "11"
#define FROZEN_VERSION "1.1"
#define FROZEN_MODULE "abi_1_1"
#else
#error "FROZEN_MINOR must be 0 or 1"
#endif

namespace {

const char* find(const abi::sr_param_value* params, size_t count, const char* key) {
  for (size_t i = 0; i < count; ++i)
    if (std::strcmp(params[i].key, key) == 0) return params[i].value;
  return nullptr;
}

void copy_error(char* err, size_t err_size, const char* text) {
  if (err && err_size > 0) std::snprintf(err, err_size, "%s", text);
}

struct Instance {
  const abi::sr_host_api* host;
  abi::sr_host_ctx* ctx;
  std::string first;   // sensor: Destination; actuator: CommandSrc
  std::string second;  // sensor: Value; actuator: Output
};

// Exceptions must not cross the boundary: create catches them all.
void* create(const abi::sr_host_api* host, abi::sr_host_ctx* ctx, const abi::sr_param_value* params,
             size_t count, char* err, size_t err_size, const char* first_key, const char* second_key) {
  const char* first = find(params, count, first_key);
  const char* second = find(params, count, second_key);
  if (!first || !second) {
    copy_error(err, err_size, "missing parameter");
    return nullptr;
  }
  try {
    return new Instance{host, ctx, first, second};
  } catch (...) {
    copy_error(err, err_size, "out of memory");
    return nullptr;
  }
}

void destroy(void* instance) { delete static_cast<Instance*>(instance); }

// --- the sensor

void* sensor_create(const abi::sr_host_api* host, abi::sr_host_ctx* ctx, const abi::sr_param_value* params,
                    size_t count, char* err, size_t err_size) {
  return create(host, ctx, params, count, err, err_size, "Destination", "Value");
}

int sensor_poll(void* instance) {
  auto* self = static_cast<Instance*>(instance);
  self->host->publish(self->ctx, self->first.c_str(), self->second.data(), self->second.size(), 0);
  return abi::kOk;
}

constexpr abi::sr_param_def kSensorParams[] = {
    {sizeof(abi::sr_param_def), abi::kParamString, abi::kParamRequired, "Destination", nullptr, 0, 0, nullptr,
     "where Value goes"},
    {sizeof(abi::sr_param_def), abi::kParamString, 0, "Value", "from " FROZEN_MODULE, 0, 0, nullptr,
     "what every poll publishes"},
    {sizeof(abi::sr_param_def), abi::kParamInt, abi::kParamHasMin | abi::kParamHasMax, "Unused", "5", 1, 9,
     nullptr, "a ranged parameter, read only by --describe"},
    {},
};
constexpr abi::sr_io_def kSensorIos[] = {
    {sizeof(abi::sr_io_def), abi::kIoPublishes, abi::kValueString, "Destination", nullptr, nullptr, "text"},
    {},
};

constexpr abi::sr_class_def kSensor = {
    sizeof(abi::sr_class_def),
    abi::kKindSensor,
    "Abi" FROZEN_TAG "Sensor",
    FROZEN_MODULE ".frozen.Abi" FROZEN_TAG "Sensor",
    "Publishes a fixed value (tests only, ABI " FROZEN_VERSION " layout)",
    kSensorParams,
    kSensorIos,
    sensor_create,
    destroy,
    nullptr,
    sensor_poll,
    sensor_poll,
    nullptr,
    nullptr,
    nullptr,
};

// --- the actuator

void* actuator_create(const abi::sr_host_api* host, abi::sr_host_ctx* ctx, const abi::sr_param_value* params,
                      size_t count, char* err, size_t err_size) {
  auto* self =
      static_cast<Instance*>(create(host, ctx, params, count, err, err_size, "CommandSrc", "Output"));
  if (self && host->subscribe(ctx, self->first.c_str()) != abi::kOk) {
    copy_error(err, err_size, "cannot subscribe");
    delete self;
    return nullptr;
  }
  return self;
}

int actuator_command(void* instance, const char* source, const char* payload, size_t len) {
  auto* self = static_cast<Instance*>(instance);
  std::FILE* file = std::fopen(self->second.c_str(), "ae");
  if (!file) return abi::kError;
  std::fprintf(file, "%s %.*s\n", source, static_cast<int>(len), payload);
  std::fclose(file);
#if FROZEN_MINOR >= 1
  // The 1.1 way: a service appended in 1.1 is used only when the host's
  // table is long enough to have it.
  if (self->host->struct_size >= offsetof(abi::sr_host_api, set_status) + sizeof(void*) &&
      self->host->set_status) {
    try {
      std::string status = "last command: " + std::string(payload, len);
      self->host->set_status(self->ctx, status.c_str());
    } catch (...) {
      return abi::kError;
    }
  }
#endif
  return abi::kOk;
}

constexpr abi::sr_param_def kActuatorParams[] = {
    {sizeof(abi::sr_param_def), abi::kParamString, abi::kParamRequired, "CommandSrc", nullptr, 0, 0, nullptr,
     "where commands come from"},
    {sizeof(abi::sr_param_def), abi::kParamString, abi::kParamRequired, "Output", nullptr, 0, 0, nullptr,
     "file that receives one line per command"},
    {},
};
constexpr abi::sr_io_def kActuatorIos[] = {
    {sizeof(abi::sr_io_def), abi::kIoAccepts, abi::kValueCommand, "CommandSrc", nullptr, nullptr, "text"},
    {},
};

constexpr abi::sr_class_def kActuator = {
    sizeof(abi::sr_class_def),
    abi::kKindActuator,
    "Abi" FROZEN_TAG "Actuator",
    FROZEN_MODULE ".frozen.Abi" FROZEN_TAG "Actuator",
    "Records every command to a file (tests only, ABI " FROZEN_VERSION " layout)",
    kActuatorParams,
    kActuatorIos,
    actuator_create,
    destroy,
    nullptr,
    nullptr,
    nullptr,
    actuator_command,
    nullptr,
    nullptr,
};

constexpr const abi::sr_class_def* kClasses[] = {&kSensor, &kActuator};

constexpr abi::sr_module_descriptor kDescriptor = {
    abi::kAbiMajor,      abi::kAbiMinor, sizeof(abi::sr_module_descriptor), 2, FROZEN_MODULE,
    FROZEN_VERSION ".0", kClasses,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const abi::sr_module_descriptor* FROZEN_SR_PLUGIN_ENTRY(
    uint32_t /*host_abi_major*/, uint32_t /*host_abi_minor*/) {
  return &kDescriptor;
}
