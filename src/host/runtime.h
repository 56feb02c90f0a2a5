// One running configuration: the instances created from a Plan, the routing
// between them (plugin -> router -> connection -> wire and back) and the host
// services handed to each instance.
//
// Everything here runs on the event-loop thread. An instance's context
// (sr_host_ctx) outlives the instance while work it started is still queued:
// such work then sees `alive == false` and is cancelled, never delivered.
#pragma once

#include "config/plan.h"
#include "log/logger.h"
#include "loop/event_loop.h"
#include "loop/worker_pool.h"

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace sr {
class Runtime;
struct Component;
}  // namespace sr

struct sr_host_ctx {
  sr::Runtime* runtime = nullptr;
  sr::Component* component = nullptr;
  bool alive = true;
  std::weak_ptr<sr_host_ctx> self;
  std::unordered_set<uint64_t> timers;   // created through the host API
  std::unordered_set<uint64_t> watches;
};

namespace sr {

struct Services {
  EventLoop& loop;
  WorkerPool& workers;
  log::Logger& logger;
};

struct Component {
  config::ComponentPlan plan;
  std::shared_ptr<sr_host_ctx> ctx;
  void* instance = nullptr;
  std::vector<Component*> connections;    // sensors and actuators
  std::vector<std::string> subscriptions; // actuators: command sources
  std::string status;                     // connections: set through set_status
  uint64_t poll_timer = 0;
  bool poll_running = false;
  uint64_t polls_skipped = 0;

  const sr_class_def& def() const { return *plan.plugin.def; }
  const std::string& section() const { return plan.section; }
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
  // out; the rest runs. Returns the failures as "[Section] reason" lines.
  std::vector<std::string> start();
  // Destroys every component in reverse creation order.
  void stop();

  size_t component_count() const { return components_.size(); }
  // "running N sections; [Connection_MQTT] connected to ..." for systemd.
  std::string status_line() const;
  const config::Plan& plan() const { return plan_; }

  // Routing (also used by the host API trampolines).
  void publish(Component& from, const char* destination, std::string_view payload, uint32_t flags);
  bool subscribe(Component& actuator, const std::string& source);
  void deliver(Component& connection, std::string source, std::string payload);
  // Runs a delivered command on the actuators subscribed to `source` here.
  void route(Component& connection, const std::string& source, std::string_view payload);
  void refresh_all();
  void poll(Component& sensor);
  void poll_done(Component& sensor);

  Services& services() { return services_; }

 private:
  bool create(Component& component, std::string& failure);
  void destroy(Component& component);
  void schedule_poll(Component& sensor);

  Services services_;
  config::Plan plan_;
  std::vector<std::unique_ptr<Component>> components_;  // creation order
  std::vector<std::unique_ptr<Component>> adopted_;     // from the previous runtime, until start()
  bool stopped_ = false;
};

// The function table every instance receives.
const sr_host_api& host_api();

}  // namespace sr
