/* sensor_reporter plugin ABI, version 1.2.
 *
 * The only things that cross between the host and a plugin module are the C
 * types declared here. A module exports one function, SR_PLUGIN_ENTRY, which
 * returns a static descriptor; the host checks abi_major and abi_minor, then
 * struct_size, before it reads anything else.
 *
 * Compatibility rules (the loader, src/plugin/registry.cpp, keeps them and
 * test/plugins/abi/ proves them with modules built against the frozen 1.0 and
 * 1.1 layouts):
 *  - abi_major changes when a struct or function changes incompatibly; the
 *    host refuses any other major.
 *  - abi_minor grows only by appending members to the end of a struct that
 *    starts with struct_size. struct_size is always the size of the struct as
 *    its writer compiled it; nothing is ever removed, moved or retyped.
 *  - Negotiation: the host calls the entry point with its own version. The
 *    module answers, in the descriptor's abi_major and abi_minor, the version
 *    whose rules it follows: its own minor, or the host's older minor when it
 *    can run under it (the SDK's SR_PLUGIN_MODULE does this, sdk.hpp). The
 *    host refuses another major and a newer minor than its own, naming both
 *    versions.
 *  - Structs a module writes (sr_module_descriptor, sr_class_def): struct_size
 *    must cover at least the layout of the minor the module declares, else
 *    the module is refused. The host copies struct_size bytes (at most its own
 *    sizeof) into a zero-filled struct of its own size and reads only that
 *    copy, so a member the module's minor did not have reads as 0 or NULL; a
 *    NULL callback is not called.
 *  - Tables a module writes (the sr_param_def and sr_io_def arrays) are walked
 *    by element size, never at the host's stride: every entry starts with its
 *    struct_size (at least the 1.0 layout, a multiple of the struct's
 *    alignment) and the next entry starts that many bytes later; each entry is
 *    copied like a struct. A table
 *    ends at the first entry whose name (key) is NULL; that end marker must be
 *    as large as the 1.0 layout in memory, and its struct_size is not read
 *    (the SDK's end_params and end_ios leave it 0).
 *  - Structs the host writes (sr_host_api, sr_publish_opts) have the host's
 *    layout; a module reads a member appended after 1.0 only when struct_size
 *    covers it (sr_host_api.set_status, 1.1).
 *  - sr_param_value, the enums' values and the entry point's signature are
 *    frozen for the whole major.
 *  - Each ABI minor so far, and what it appended:
 *      1.0  everything up to sr_class_def.conn_subscribe and
 *           sr_host_api.section_name;
 *      1.1  sr_host_api.set_status (host-written: module structs and tables
 *           have the same layout as in 1.0).
 *      1.2  sr_param_def.pattern, .pattern_text, .paired_with and the flags
 *           SR_PARAM_SECRET, SR_PARAM_NUMBERED, SR_PARAM_NOT_EMPTY (and,
 *           later, SR_PARAM_SECRET_FILE);
 *           sr_io_def.unit_param, .unit_choices, .values_param;
 *           sr_class_def.check, .conn_subscribe_ex, .conn_unsubscribe,
 *           .conn_catalogue_changed; sr_host_api.subscribe_ex, .unsubscribe,
 *           .deliver_ex, .catalogue; SR_PUBLISH_ABSOLUTE,
 *           SR_SUBSCRIBE_ABSOLUTE; sr_catalogue_entry, sr_catalogue_io.
 *           A module whose tables use SR_PARAM_NUMBERED cannot run under an
 *           older host (which would drop Address1 as an unknown key): the
 *           SDK then answers no minor below 2.
 *
 * Ownership and lifetime:
 *  - Every pointer passed in a call is borrowed for the duration of that call.
 *  - Descriptors returned by the entry point are static and live as long as the
 *    module, which is never unloaded while the process runs.
 *  - Nothing is freed across the boundary: each side frees what it allocated.
 *
 * Threading: every function here is called on the host's event-loop thread,
 * except sr_host_api.post (any thread) and the work function given to
 * sr_host_api.run_blocking (a worker thread). A plugin never calls any other
 * host service from a thread of its own.
 *
 * Most plugins never touch this header directly: sensor_reporter/sdk.hpp wraps
 * it in C++ and generates the entry point and trampolines.
 */
#ifndef SENSOR_REPORTER_PLUGIN_ABI_H
#define SENSOR_REPORTER_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SR_ABI_MAJOR 1
#define SR_ABI_MINOR 2

/* The entry point's name, written only here: SR_PLUGIN_ENTRY is the
 * identifier a module defines (SR_PLUGIN_MODULE does), SR_PLUGIN_ENTRY_NAME
 * the string the host looks up, and the SDK's linker version script
 * (sensor_reporter/plugin.map, which exports nothing else) is generated from
 * it at build time. */
#define SR_PLUGIN_ENTRY sensor_reporter_plugin
#define SR_PLUGIN_STRINGIFY_(x) #x
#define SR_PLUGIN_STRINGIFY(x) SR_PLUGIN_STRINGIFY_(x)
#define SR_PLUGIN_ENTRY_NAME SR_PLUGIN_STRINGIFY(SR_PLUGIN_ENTRY)

/* Return codes of plugin callbacks. */
#define SR_OK 0
#define SR_ERROR (-1)
/* poll() started asynchronous work and will call sr_host_api.poll_done. */
#define SR_POLL_PENDING 1

typedef enum sr_kind {
  SR_KIND_CONNECTION = 1,
  SR_KIND_SENSOR = 2,
  SR_KIND_ACTUATOR = 3
} sr_kind;

typedef enum sr_param_type {
  SR_PARAM_STRING = 1,
  SR_PARAM_INT = 2,    /* decimal integer, checked against min/max */
  SR_PARAM_FLOAT = 3,  /* decimal number, checked against min/max */
  SR_PARAM_BOOL = 4,   /* yes/no, true/false, on/off, 1/0, any case */
  SR_PARAM_CHOICE = 5  /* one of `choices`, compared case-insensitively */
} sr_param_type;

#define SR_PARAM_REQUIRED 0x1u  /* the section must set it */
#define SR_PARAM_HAS_MIN 0x2u   /* min is meaningful */
#define SR_PARAM_HAS_MAX 0x4u   /* max is meaningful */
/* since 1.2 (an older host ignores them: it checks less, and shows a secret) */
#define SR_PARAM_SECRET 0x8u     /* a password or token: the host shows "********"
                                    for it in logs, --describe, --check and STATUS=,
                                    and warns when a file holding it is world-readable */
#define SR_PARAM_NOT_EMPTY 0x10u /* an empty or blank value is refused */
/* since 1.2, and a module using it needs a 1.2 host: a numbered family. The
 * entry named "Address" stands for the keys Address1, Address2, ... numbered
 * from 1 without a gap; each is checked like the entry. The bare key
 * "Address" is taken as Address1 (the INI-era files write it so). create()
 * receives the numbered keys ("Address1"). SR_PARAM_REQUIRED: at least
 * Address1. */
#define SR_PARAM_NUMBERED 0x20u
/* since 1.2 (added with issue 18; a host that does not know it ignores it):
 * the value is the path of a file that holds a secret (PasswordFile,
 * API-TokenFile, a TLS Keyfile). The host warns when every user can read
 * that file, as it does for a configuration holding an SR_PARAM_SECRET. */
#define SR_PARAM_SECRET_FILE 0x40u

/* One parameter of a class: drives validation, defaults, --describe and the
 * documentation. An array of these ends with an entry whose name is NULL; the
 * host walks it by each entry's struct_size (see the rules above). */
typedef struct sr_param_def {
  uint32_t struct_size;
  uint32_t type;              /* sr_param_type */
  uint32_t flags;             /* SR_PARAM_* */
  const char* name;           /* INI key as documented, e.g. "Num-Dest" */
  const char* default_value;  /* NULL: no default */
  double min;
  double max;
  const char* choices;        /* SR_PARAM_CHOICE: "UP|DOWN|OFF" */
  const char* help;
  /* --- since ABI 1.2 --- */
  /* POSIX extended regular expression the whole (trimmed) value must match;
   * NULL: none. */
  const char* pattern;
  /* What a value matching `pattern` is, for the error: "a MAC address such
   * as AA:BB:CC:DD:EE:FF". */
  const char* pattern_text;
  /* SR_PARAM_NUMBERED: the family whose numbers must be the same set as this
   * one's ("Destination" for "Address": every Address<n> has its
   * Destination<n> and the other way round). NULL: none. */
  const char* paired_with;
} sr_param_def;

typedef enum sr_value_type {
  SR_VALUE_STRING = 1,
  SR_VALUE_NUMBER = 2,
  SR_VALUE_BINARY = 3,     /* boolean-like: two values listed in `values` */
  SR_VALUE_TIMESTAMP = 4,  /* YYYY-MM-DDTHH:MM:SS.ffffff, local time */
  SR_VALUE_COMMAND = 5     /* a command string such as ON/OFF/TOGGLE */
} sr_value_type;

typedef enum sr_io_direction { SR_IO_PUBLISHES = 1, SR_IO_ACCEPTS = 2 } sr_io_direction;

/* What a class publishes (a destination key) or accepts (a command key), so
 * that discovery formats can be generated without changing the plugin.
 * Arrays end with an entry whose key is NULL and are walked by each entry's
 * struct_size, like the parameter table. */
typedef struct sr_io_def {
  uint32_t struct_size;
  uint32_t direction;   /* sr_io_direction */
  uint32_t value_type;  /* sr_value_type */
  const char* key;      /* parameter naming the destination, e.g. "Num-Dest" */
  const char* values;   /* SR_VALUE_BINARY: "OFF,ON"; NULL otherwise */
  const char* unit;     /* "ms", "°C", NULL */
  /* What it is: "uptime", "temperature", "humidity", "battery", "rssi",
   * "contact", "presence", "switch", "button", ... For an output that is the
   * root of a tree of topics <key's value>/<device>/<leaf>, devices named at
   * run time: "tree", then its leaves separated by spaces, each "<leaf>" or
   * "<leaf>:<measure>" ("tree temp_c:temperature temp_f:temperature_f
   * humi:humidity"); "temperature_f" is a temperature in °F. A leaf is one
   * topic level. Discovery announces each device's leaves once it publishes
   * (plugins/mqtt/discovery_model.hpp). */
  const char* measures;
  /* --- since ABI 1.2 --- */
  /* A parameter whose value chooses the unit ("TempUnit"), and how:
   * "C=°C|F=°F" (values compared case-insensitively). When the parameter is
   * absent or matches none, `unit` applies. NULL: the unit is fixed. */
  const char* unit_param;
  const char* unit_choices;
  /* SR_VALUE_BINARY: a parameter whose value lists the two values
   * ("Values" = "OFF,ON"), read instead of `values` when the section sets
   * it. NULL: `values` is fixed. */
  const char* values_param;
} sr_io_def;
/* An sr_io_def whose key is an SR_PARAM_NUMBERED family ("Destination")
 * stands for every numbered key the section sets (Destination1, ...). */

/* One resolved parameter handed to create(): defaults applied, values
 * validated against the table and interpolated. Keys are spelled as in the
 * class's table. No struct_size: this layout is frozen for the major. */
typedef struct sr_param_value {
  const char* key;
  const char* value;
} sr_param_value;

/* Opaque per-instance handle the host gives to each instance. */
typedef struct sr_host_ctx sr_host_ctx;

/* Publish flags. */
#define SR_PUBLISH_RETAIN 0x1u     /* ask for retain regardless of connection default */
#define SR_PUBLISH_NO_RETAIN 0x2u  /* ask for no retain regardless of connection default */
#define SR_PUBLISH_ECHO 0x4u       /* actuator state written back to its own CommandSrc:
                                      connections must not deliver it as a command */
/* since 1.2: the destination is a whole topic, not one under the connection's
 * root (MQTT: not prefixed with RootTopic). The host never hands it to a
 * connection module older than 1.2, which would prefix it: it warns once. */
#define SR_PUBLISH_ABSOLUTE 0x8u

/* Subscribe flags (since 1.2). */
#define SR_SUBSCRIBE_ABSOLUTE 0x1u /* the source is a whole topic, not under the root */

/* One output or input of a section as a connection's catalogue shows it:
 * the class's sr_io_def resolved against the section's parameters. Written
 * by the host; read a member only when struct_size covers it. */
typedef struct sr_catalogue_io {
  uint32_t struct_size;
  uint32_t direction;    /* sr_io_direction */
  uint32_t value_type;   /* sr_value_type */
  const char* key;       /* the parameter, numbered if its family is: "Destination2" */
  const char* topic;     /* its value: the destination or the command source */
  const char* values;    /* SR_VALUE_BINARY: "OFF,ON" as the section chose; else NULL */
  const char* unit;      /* as the section chose (TempUnit): "°F"; NULL: none */
  const char* measures;  /* as in sr_io_def */
} sr_catalogue_io;

/* One section that uses a connection. Written by the host; everything it
 * points to lives until the callback returns. */
typedef struct sr_catalogue_entry {
  uint32_t struct_size;
  uint32_t kind;               /* sr_kind: SR_KIND_SENSOR or SR_KIND_ACTUATOR */
  const char* section;         /* "Sensor_Temperature" */
  const char* class_name;      /* "Ds18x20Sensor" */
  const char* class_path;      /* "one_wire.ds18x20_sensor.Ds18x20Sensor" */
  const char* summary;
  const sr_catalogue_io* ios;
  size_t io_count;
  /* The section's resolved parameters (its class's table and the common
   * keys), table spelling; an SR_PARAM_SECRET value reads "********".
   * "Format" is always there, as it applies on this connection: "raw", or
   * "json" when the host wraps the section's readings in a JSON envelope. */
  const sr_param_value* params;
  size_t param_count;
} sr_catalogue_entry;

typedef void (*sr_catalogue_fn)(void* user, const sr_catalogue_entry* entry);

/* How sr_class_def.check reports one problem: level SR_LOG_ERROR (the
 * section is refused) or SR_LOG_WARNING; `key` is the parameter it concerns
 * (the host adds the file:line of that key), NULL for the whole section. */
typedef void (*sr_check_report_fn)(void* report_ctx, int level, const char* key, const char* message);

typedef enum sr_log_level {
  SR_LOG_DEBUG = 0,
  SR_LOG_INFO = 1,
  SR_LOG_WARNING = 2,
  SR_LOG_ERROR = 3
} sr_log_level;

typedef void (*sr_timer_cb)(void* user);
typedef void (*sr_fd_cb)(void* user, int fd, uint32_t epoll_events);
typedef void (*sr_work_fn)(void* user);
/* cancelled != 0 when the instance was destroyed before the result came
 * back: free `user`, touch nothing else. */
typedef void (*sr_done_fn)(void* user, int cancelled);

/* Services the host offers to one instance. Every function takes the ctx the
 * instance was created with. Ids returned are never 0; 0 means failure. */
typedef struct sr_host_api {
  uint32_t struct_size;

  /* --- logging, scoped to the instance's section --- */
  int (*log_enabled)(sr_host_ctx* ctx, int level);
  void (*log)(sr_host_ctx* ctx, int level, const char* msg, size_t len);

  /* --- sensors and actuators --- */
  /* Send a reading or state to every connection of the section. */
  void (*publish)(sr_host_ctx* ctx, const char* destination, const char* payload,
                  size_t len, uint32_t flags);
  /* Receive commands sent to `source` on every connection of the section
   * (actuators; a sensor with on_command may listen too); they arrive
   * through sr_class_def.on_command. */
  int (*subscribe)(sr_host_ctx* ctx, const char* source);
  /* The asynchronous poll started by returning SR_POLL_PENDING has ended
   * (since 1.2, poll_end also says whether it got a reading). */
  void (*poll_done)(sr_host_ctx* ctx);

  /* --- connections --- */
  /* A command arrived for `source`; the host routes it to the actuators
   * subscribed to it on this connection. Delivery is deferred to the loop,
   * never run inside the caller's stack. */
  void (*deliver)(sr_host_ctx* ctx, const char* source, const char* payload, size_t len);
  /* Every sensor and actuator republishes its current state. */
  void (*request_refresh)(sr_host_ctx* ctx);

  /* --- event loop --- */
  /* Monotonic deadlines; interval_ns 0 for a one-shot timer. Repeating timers
   * keep their phase: they never drift. */
  uint64_t (*add_timer)(sr_host_ctx* ctx, uint64_t first_delay_ns, uint64_t interval_ns,
                        sr_timer_cb cb, void* user);
  void (*cancel_timer)(sr_host_ctx* ctx, uint64_t timer_id);
  /* epoll events (EPOLLIN, EPOLLOUT, EPOLLPRI); the fd stays the plugin's. */
  uint64_t (*watch_fd)(sr_host_ctx* ctx, int fd, uint32_t epoll_events, sr_fd_cb cb,
                       void* user);
  int (*modify_fd)(sr_host_ctx* ctx, uint64_t watch_id, uint32_t epoll_events);
  void (*unwatch_fd)(sr_host_ctx* ctx, uint64_t watch_id);
  /* Run work(user) on a worker thread, then done(user, cancelled) on the
   * loop. work must not touch the instance: give it copies. */
  int (*run_blocking)(sr_host_ctx* ctx, sr_work_fn work, sr_done_fn done, void* user);
  /* Thread-safe: run done(user, cancelled) on the loop soon. */
  void (*post)(sr_host_ctx* ctx, sr_done_fn done, void* user);
  /* Nanoseconds on CLOCK_MONOTONIC (tests may inject another clock). */
  uint64_t (*monotonic_ns)(sr_host_ctx* ctx);

  /* --- identity --- */
  const char* (*section_name)(sr_host_ctx* ctx);

  /* --- since ABI 1.1: check struct_size before calling --- */
  /* Connections: a one-line state for operators ("connected to host:1883",
   * "unreachable, 12 queued"); the host shows it in systemd's STATUS=. */
  void (*set_status)(sr_host_ctx* ctx, const char* status);

  /* --- since ABI 1.2: check struct_size before calling --- */
  /* subscribe with SR_SUBSCRIBE_* flags; subscribe(ctx, s) is
   * subscribe_ex(ctx, s, 0). */
  int (*subscribe_ex)(sr_host_ctx* ctx, const char* source, uint32_t flags);
  /* Commands for `source` (with the flags it was subscribed with) are no
   * longer wanted. The host also drops an instance's subscriptions when it
   * destroys it, and tells a connection when no section wants one any more. */
  int (*unsubscribe)(sr_host_ctx* ctx, const char* source, uint32_t flags);
  /* connections: deliver() for a source subscribed with flags
   * (SR_SUBSCRIBE_ABSOLUTE); deliver(...) is deliver_ex(..., 0). */
  void (*deliver_ex)(sr_host_ctx* ctx, const char* source, const char* payload, size_t len,
                     uint32_t flags);
  /* connections: calls fn once per sensor and actuator section that uses this
   * connection, in the configuration's order; returns how many. */
  size_t (*catalogue)(sr_host_ctx* ctx, sr_catalogue_fn fn, void* user);
  /* sensors: the asynchronous poll started by returning SR_POLL_PENDING has
   * ended with `status`: SR_OK, or SR_ERROR when it got no reading, which
   * counts toward the host's back-off like a poll returning SR_ERROR.
   * poll_done(ctx) is poll_end(ctx, SR_OK). */
  void (*poll_end)(sr_host_ctx* ctx, int status);
} sr_host_api;

/* Options of one publish, as seen by a connection. */
typedef struct sr_publish_opts {
  uint32_t struct_size;
  uint32_t flags;  /* SR_PUBLISH_* */
} sr_publish_opts;

/* One class served by a module. Callbacks that do not apply to the kind are
 * NULL, and so, to the host, is every member appended after the minor the
 * module declares (the host reads a zero-filled copy). `instance` is what
 * create returned. */
typedef struct sr_class_def {
  uint32_t struct_size;
  uint32_t kind;        /* sr_kind */
  const char* name;     /* bare class name, e.g. "Heartbeat" */
  const char* path;     /* INI-era dotted path, e.g. "heartbeat.heartbeat.Heartbeat" */
  const char* summary;  /* one line */
  const sr_param_def* params;  /* NULL-name terminated */
  const sr_io_def* ios;        /* NULL-key terminated; may be NULL */

  /* Returns NULL on failure, with a reason written to err (NUL-terminated). */
  void* (*create)(const sr_host_api* host, sr_host_ctx* ctx, const sr_param_value* params,
                  size_t param_count, char* err, size_t err_size);
  void (*destroy)(void* instance);
  /* Called once every instance of the configuration exists. */
  int (*start)(void* instance);

  /* sensors: one scheduled poll; SR_OK, SR_ERROR or SR_POLL_PENDING */
  int (*poll)(void* instance);
  /* sensors and actuators: republish the current state */
  int (*refresh)(void* instance);
  /* actuators, and sensors that subscribe: a message from one of its sources */
  int (*on_command)(void* instance, const char* source, const char* payload, size_t len);

  /* connections: send one reading or state */
  int (*conn_publish)(void* instance, const char* destination, const char* payload,
                      size_t len, const sr_publish_opts* opts);
  /* connections: an actuator wants commands for `source` */
  int (*conn_subscribe)(void* instance, const char* source);

  /* --- since ABI 1.2: NULL to a host for a module declaring an older minor --- */
  /* Any kind, no instance: checks one section's resolved parameters beyond
   * what the table says (one value against another, a warning about a
   * value). The host calls it before create() and in --check, and reports
   * each problem with the file:line of its key. Returns SR_ERROR when it
   * reported an error, else SR_OK. NULL: nothing to check. */
  int (*check)(const sr_param_value* params, size_t param_count, sr_check_report_fn report,
               void* report_ctx);
  /* connections: conn_subscribe with SR_SUBSCRIBE_* flags. When set, the host
   * calls it for every subscription instead of conn_subscribe. */
  int (*conn_subscribe_ex)(void* instance, const char* source, uint32_t flags);
  /* connections: no section wants commands for `source` (with these flags)
   * any more; the connection may drop the subscription on the wire. */
  int (*conn_unsubscribe)(void* instance, const char* source, uint32_t flags);
  /* connections: the catalogue (sr_host_api.catalogue) changed: called once
   * every instance has started and after every reload. */
  int (*conn_catalogue_changed)(void* instance);
} sr_class_def;

typedef struct sr_module_descriptor {
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;
  uint32_t class_count;
  const char* module_name;     /* must equal the file's base name */
  const char* module_version;
  const sr_class_def* const* classes;
} sr_module_descriptor;

/* The one exported symbol of a module (SR_PLUGIN_ENTRY). The host passes its
 * own ABI version; the module returns a static descriptor whose abi_major and
 * abi_minor say which version it answers (see "Negotiation" above), or NULL,
 * which the host reports as a module that returned no descriptor. */
typedef const sr_module_descriptor* (*sr_plugin_entry_fn)(uint32_t host_abi_major,
                                                          uint32_t host_abi_minor);

#ifdef __cplusplus
}
#endif

#endif /* SENSOR_REPORTER_PLUGIN_ABI_H */
