// One running configuration: the instances created from a Plan, the routing
// between them (plugin -> router -> connection -> wire and back) and the host
// services handed to each instance. Lifecycle and polling (with the failure
// policy) live in runtime.cpp, routing in router.cpp, the sr_host_api table in
// host_api.cpp and the connection catalogue in catalogue.cpp.
//
// Everything here runs on the event-loop thread. An instance's context
// (sr_host_ctx) outlives the instance while work it started is still queued:
// such work then sees `alive == false` and is cancelled, never delivered.
#pragma once

#include "config/plan.h"
#include "log/logger.h"
#include "loop/event_loop.h"
#include "loop/worker_pool.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sr {
class Runtime;
struct Component;
}  // namespace sr

namespace sr {
// The ids of one plugin instance's timers or fd watches: a handful each, so
// a vector (24 bytes empty) rather than a hash set (56), with 10,000
// sections in mind (issue 17).
class IdList {
 public:
  void insert(uint64_t id) { ids_.push_back(id); }
  // False when `id` is not here.
  bool erase(uint64_t id);
  bool contains(uint64_t id) const;
  // Hands the ids over and leaves the list empty.
  std::vector<uint64_t> take() { return std::exchange(ids_, {}); }

 private:
  std::vector<uint64_t> ids_;
};
}  // namespace sr

struct sr_host_ctx {
  sr::Runtime* runtime = nullptr;
  sr::Component* component = nullptr;
  bool alive = true;
  std::weak_ptr<sr_host_ctx> self;
  sr::IdList timers;  // created through the host API
  sr::IdList watches;
};

namespace sr {

struct Services {
  EventLoop& loop;
  WorkerPool& workers;
  log::Logger& logger;
};

// A command source as an actuator subscribed to it: the same text with
// SR_SUBSCRIBE_ABSOLUTE is another topic.
using Subscription = std::pair<std::string, uint32_t>;  // source, SR_SUBSCRIBE_* flags

// The failure policy's numbers (docs/architecture.md, "Failure policy").
inline constexpr unsigned kBackoffMaxFactor = 32;       // at most 32 x Poll between polls...
inline constexpr double kBackoffMaxSeconds = 600;       // ...and never more than 10 minutes
inline constexpr unsigned kPendingTimeoutFactor = 10;   // an async poll may take 10 x Poll...
inline constexpr double kPendingTimeoutMinSeconds = 1;  // ...but at least 1 s

// How many polls a sensor skips after `failures` failed polls in a row: none
// after the first, then the interval doubles (2, 4, ... x Poll) up to
// kBackoffMaxFactor x Poll and kBackoffMaxSeconds. Returns the factor (1: no
// back-off).
unsigned backoff_factor(unsigned failures, double poll_seconds);

// How long a pending poll may take before it counts as failed.
double pending_timeout_seconds(double poll_seconds);

// What only connections, actuators and sensors that take commands use: a
// Component holds it only once one of its fields is needed, since most of
// 10,000 sections are plain sensors (issue 17: ~150 bytes a section).
struct RoleState {
  std::vector<Subscription> subscriptions;  // actuators (and listening sensors): command sources
  std::string status;                       // connections: set through set_status
  // Connections: how many actuators want each source; the connection hears
  // conn_unsubscribe when the last one goes.
  std::map<Subscription, unsigned> subscribers;
  bool absolute_refused = false;  // connections: the one warning was given
  // Actuators with MaxRate: made at the first command, kept by a reload
  // that adopts the section.
  std::optional<config::RateLimit> rate_limit;
};

struct Component {
  config::ComponentPlan plan;
  std::shared_ptr<sr_host_ctx> ctx;
  void* instance = nullptr;
  std::vector<Component*> connections;  // sensors and actuators
  bool tearing_down = false;  // being destroyed with its runtime: no unsubscribes
  uint64_t poll_timer = 0;
  bool poll_running = false;
  uint64_t polls_skipped = 0;
  // Failure policy (sensors).
  uint64_t poll_timeout_timer = 0;  // the pending poll's deadline
  unsigned failures_in_row = 0;
  unsigned ticks_to_skip = 0;  // backing off: ticks left before the next poll
  std::unique_ptr<RoleState> role_state;  // null until role() is first called

  // Made on first use.
  RoleState& role() {
    if (!role_state) role_state = std::make_unique<RoleState>();
    return *role_state;
  }
  bool subscribed(const Subscription& wanted) const;
  const std::string& status() const;

  const sr_class_def& def() const { return *plan.plugin.def; }
  const std::string& section() const { return plan.section; }
  // The ABI minor the section's module declared (the current one if unknown).
  uint32_t abi_minor() const;
  // Sensors: failing often enough that polls are being skipped.
  bool backing_off() const;
};

// Errors of plugin callbacks the host counts rather than logs loudly (a DEBUG
// line each); systemd's STATUS= shows them.
struct ErrorCounts {
  uint64_t command = 0;
  uint64_t refresh = 0;
  uint64_t publish = 0;
};

// Commands the host kept from actuators (config/command_policy.h): refused
// by Accept/AcceptPattern, dropped over MaxRate. STATUS= shows them.
struct CommandCounts {
  uint64_t refused = 0;
  uint64_t over_rate = 0;
};

class Runtime {
 public:
  Runtime(Services services, config::Plan plan);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Takes over the components of `previous` whose definition did not change
  // (and whose connections are taken over too), so they keep running
  // untouched: an unchanged MQTT connection keeps its broker session. Call
  // before previous.stop() and start().
  size_t adopt_unchanged(Runtime& previous);
  // Creates every component in plan order (except adopted ones), then starts
  // the new ones and their polls. A section that fails is reported and left
  // out; the rest runs. Returns the creation failures as "[Section] reason"
  // lines; a section whose start() fails is destroyed and logged, not
  // returned (with the sections using it, if it is a connection). Ends by
  // telling every connection its catalogue changed.
  std::vector<std::string> start();
  // Destroys every component in reverse creation order.
  void stop();

  size_t component_count() const { return components_.size(); }
  // "running N sections; [Connection_MQTT] connected to ..." for systemd.
  std::string status_line() const;
  // The sections' plans move into their components at start(): afterwards
  // only the file-wide settings (logging, path) are left here.
  const config::Plan& plan() const { return plan_; }

  // Routing (router.cpp; also used by the host API trampolines).
  void publish(Component& from, const char* destination, std::string_view payload, uint32_t flags);
  // Counted per (connection, source, flags): a connection hears of a source
  // when the first actuator wants it and, through conn_unsubscribe, when the
  // last one goes (unsubscribe, or destroyed by a reload or a failure).
  bool subscribe(Component& actuator, const std::string& source, uint32_t flags = 0);
  bool unsubscribe(Component& actuator, const std::string& source, uint32_t flags = 0);
  void deliver(Component& connection, std::string source, std::string payload, uint32_t flags = 0);
  // Runs a delivered command on the actuators subscribed to `source` here.
  void route(Component& connection, const std::string& source, std::string_view payload, uint32_t flags = 0);
  void refresh_all();
  void poll(Component& sensor);
  // An asynchronous poll ended; `ok` false: it got no reading (poll_end).
  void poll_done(Component& sensor, bool ok);
  // The sections using `connection`, in file order (catalogue.cpp).
  size_t catalogue(const Component& connection, sr_catalogue_fn fn, void* user) const;

  Services& services() { return services_; }
  const ErrorCounts& error_counts() const { return errors_; }
  const CommandCounts& command_counts() const { return kept_; }

 private:
  bool create(Component& component, std::string& failure);
  void destroy(Component& component);
  void schedule_poll(Component& sensor);
  // Destroys and removes the components in `failed` (their start() failed)
  // and the sections that use a failed connection, logging each, and drops
  // them from `created`.
  void remove_failed(std::vector<Component*> failed, std::vector<Component*>& created);
  void poll_ended(Component& sensor, bool ok);
  void poll_timed_out(Component& sensor);
  void drop_subscriptions(Component& actuator);
  // False (logged, counted) when the actuator's Accept, AcceptPattern or
  // MaxRate keeps this command from it.
  bool admit_command(Component& actuator, const Component& connection, const std::string& source,
                     std::string_view payload);
  // False (with the one warning per connection) when `connection` is a
  // module older than ABI 1.2, which would take an absolute topic for one
  // under its root.
  bool absolute_allowed(Component& connection, const Component& from, std::string_view topic);
  // What `from`'s message to `destination` becomes on `connection`: the
  // payload as published, or (Format = json) its envelope, built once per
  // publish into `envelope`.
  std::string_view formatted(const Component& from, const Component& connection, const char* destination,
                             std::string_view payload, uint32_t flags, std::string& envelope) const;

  Services services_;
  config::Plan plan_;
  std::vector<std::unique_ptr<Component>> components_;  // creation order
  // From the previous runtime, until start(); keyed by section name (a view
  // of the component's own plan.section, which outlives the entry).
  std::unordered_map<std::string_view, std::unique_ptr<Component>> adopted_;
  ErrorCounts errors_;
  CommandCounts kept_;
  bool stopped_ = false;
};

// The function table every instance receives.
const sr_host_api& host_api();

}  // namespace sr
