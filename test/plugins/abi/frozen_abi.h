// The plugin ABI as released at 1.0 and 1.1, frozen: what a module built
// against those headers was compiled with (git 98eafd2 and df3c373 of
// src/include/sensor_reporter/plugin_abi.h, types only, in namespaces so that
// a test can compare them with today's header). Never edit a layout here: a
// module built then cannot change either. A new minor adds its own namespace
// only if it appends to a struct the module writes or reads.
//
// test_abi_compat.cpp checks that each frozen layout is a prefix of today's
// and that the loader's minimum sizes (src/plugin/abi_compat.h) match them.
#pragma once

#include <cstddef>
#include <cstdint>

// The entry point's name is part of the 1.x ABI; a module built against
// 1.0 spells it like this.
#define FROZEN_SR_PLUGIN_ENTRY sensor_reporter_plugin

namespace frozen::v1_0 {

constexpr uint32_t kAbiMajor = 1;
constexpr uint32_t kAbiMinor = 0;

constexpr int kOk = 0;
constexpr int kError = -1;
constexpr uint32_t kKindConnection = 1, kKindSensor = 2, kKindActuator = 3;
constexpr uint32_t kParamString = 1, kParamInt = 2, kParamFloat = 3, kParamBool = 4, kParamChoice = 5;
constexpr uint32_t kParamRequired = 0x1u, kParamHasMin = 0x2u, kParamHasMax = 0x4u;
constexpr uint32_t kValueString = 1, kValueCommand = 5;
constexpr uint32_t kIoPublishes = 1, kIoAccepts = 2;
constexpr int kLogDebug = 0, kLogInfo = 1, kLogWarning = 2, kLogError = 3;

struct sr_param_def {
  uint32_t struct_size;
  uint32_t type;             /* sr_param_type */
  uint32_t flags;            /* SR_PARAM_* */
  const char* name;          /* INI key as documented, e.g. "Num-Dest" */
  const char* default_value; /* NULL: no default */
  double min;
  double max;
  const char* choices; /* SR_PARAM_CHOICE: "UP|DOWN|OFF" */
  const char* help;
};

struct sr_io_def {
  uint32_t struct_size;
  uint32_t direction;   /* sr_io_direction */
  uint32_t value_type;  /* sr_value_type */
  const char* key;      /* parameter naming the destination, e.g. "Num-Dest" */
  const char* values;   /* SR_VALUE_BINARY: "OFF,ON"; NULL otherwise */
  const char* unit;     /* "ms", "°C", NULL */
  const char* measures; /* "uptime", "temperature", "switch", "button", ... */
};

struct sr_param_value {
  const char* key;
  const char* value;
};

struct sr_host_ctx;

typedef void (*sr_timer_cb)(void* user);
typedef void (*sr_fd_cb)(void* user, int fd, uint32_t epoll_events);
typedef void (*sr_work_fn)(void* user);
typedef void (*sr_done_fn)(void* user, int cancelled);

struct sr_host_api {
  uint32_t struct_size;
  int (*log_enabled)(sr_host_ctx* ctx, int level);
  void (*log)(sr_host_ctx* ctx, int level, const char* msg, size_t len);
  void (*publish)(sr_host_ctx* ctx, const char* destination, const char* payload, size_t len, uint32_t flags);
  int (*subscribe)(sr_host_ctx* ctx, const char* source);
  void (*poll_done)(sr_host_ctx* ctx);
  void (*deliver)(sr_host_ctx* ctx, const char* source, const char* payload, size_t len);
  void (*request_refresh)(sr_host_ctx* ctx);
  uint64_t (*add_timer)(sr_host_ctx* ctx, uint64_t first_delay_ns, uint64_t interval_ns, sr_timer_cb cb,
                        void* user);
  void (*cancel_timer)(sr_host_ctx* ctx, uint64_t timer_id);
  uint64_t (*watch_fd)(sr_host_ctx* ctx, int fd, uint32_t epoll_events, sr_fd_cb cb, void* user);
  int (*modify_fd)(sr_host_ctx* ctx, uint64_t watch_id, uint32_t epoll_events);
  void (*unwatch_fd)(sr_host_ctx* ctx, uint64_t watch_id);
  int (*run_blocking)(sr_host_ctx* ctx, sr_work_fn work, sr_done_fn done, void* user);
  void (*post)(sr_host_ctx* ctx, sr_done_fn done, void* user);
  uint64_t (*monotonic_ns)(sr_host_ctx* ctx);
  const char* (*section_name)(sr_host_ctx* ctx);
};

struct sr_publish_opts {
  uint32_t struct_size;
  uint32_t flags;
};

struct sr_class_def {
  uint32_t struct_size;
  uint32_t kind;
  const char* name;
  const char* path;
  const char* summary;
  const sr_param_def* params;
  const sr_io_def* ios;
  void* (*create)(const sr_host_api* host, sr_host_ctx* ctx, const sr_param_value* params, size_t param_count,
                  char* err, size_t err_size);
  void (*destroy)(void* instance);
  int (*start)(void* instance);
  int (*poll)(void* instance);
  int (*refresh)(void* instance);
  int (*on_command)(void* instance, const char* source, const char* payload, size_t len);
  int (*conn_publish)(void* instance, const char* destination, const char* payload, size_t len,
                      const sr_publish_opts* opts);
  int (*conn_subscribe)(void* instance, const char* source);
};

struct sr_module_descriptor {
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;
  uint32_t class_count;
  const char* module_name;
  const char* module_version;
  const sr_class_def* const* classes;
};

}  // namespace frozen::v1_0

// 1.1 appended sr_host_api.set_status. Everything a module writes kept its
// 1.0 layout; sr_class_def and sr_module_descriptor are repeated only because
// create() now takes the 1.1 host table.
namespace frozen::v1_1 {

using namespace frozen::v1_0;
constexpr uint32_t kAbiMinor = 1;

struct sr_host_api {
  uint32_t struct_size;
  int (*log_enabled)(sr_host_ctx* ctx, int level);
  void (*log)(sr_host_ctx* ctx, int level, const char* msg, size_t len);
  void (*publish)(sr_host_ctx* ctx, const char* destination, const char* payload, size_t len, uint32_t flags);
  int (*subscribe)(sr_host_ctx* ctx, const char* source);
  void (*poll_done)(sr_host_ctx* ctx);
  void (*deliver)(sr_host_ctx* ctx, const char* source, const char* payload, size_t len);
  void (*request_refresh)(sr_host_ctx* ctx);
  uint64_t (*add_timer)(sr_host_ctx* ctx, uint64_t first_delay_ns, uint64_t interval_ns, sr_timer_cb cb,
                        void* user);
  void (*cancel_timer)(sr_host_ctx* ctx, uint64_t timer_id);
  uint64_t (*watch_fd)(sr_host_ctx* ctx, int fd, uint32_t epoll_events, sr_fd_cb cb, void* user);
  int (*modify_fd)(sr_host_ctx* ctx, uint64_t watch_id, uint32_t epoll_events);
  void (*unwatch_fd)(sr_host_ctx* ctx, uint64_t watch_id);
  int (*run_blocking)(sr_host_ctx* ctx, sr_work_fn work, sr_done_fn done, void* user);
  void (*post)(sr_host_ctx* ctx, sr_done_fn done, void* user);
  uint64_t (*monotonic_ns)(sr_host_ctx* ctx);
  const char* (*section_name)(sr_host_ctx* ctx);
  /* --- since ABI 1.1: check struct_size before calling --- */
  void (*set_status)(sr_host_ctx* ctx, const char* status);
};

struct sr_class_def {
  uint32_t struct_size;
  uint32_t kind;
  const char* name;
  const char* path;
  const char* summary;
  const sr_param_def* params;
  const sr_io_def* ios;
  void* (*create)(const sr_host_api* host, sr_host_ctx* ctx, const sr_param_value* params, size_t param_count,
                  char* err, size_t err_size);
  void (*destroy)(void* instance);
  int (*start)(void* instance);
  int (*poll)(void* instance);
  int (*refresh)(void* instance);
  int (*on_command)(void* instance, const char* source, const char* payload, size_t len);
  int (*conn_publish)(void* instance, const char* destination, const char* payload, size_t len,
                      const sr_publish_opts* opts);
  int (*conn_subscribe)(void* instance, const char* source);
};

struct sr_module_descriptor {
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;
  uint32_t class_count;
  const char* module_name;
  const char* module_version;
  const sr_class_def* const* classes;
};

}  // namespace frozen::v1_1
