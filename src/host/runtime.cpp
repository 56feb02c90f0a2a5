#include "host/runtime.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sr {
namespace {

log::Level to_log_level(int level) {
  switch (level) {
    case SR_LOG_DEBUG: return log::Level::Debug;
    case SR_LOG_INFO: return log::Level::Info;
    case SR_LOG_WARNING: return log::Level::Warning;
    default: return log::Level::Error;
  }
}

// Host API trampolines. A context whose instance is gone (or being torn
// down) gets no service; that is what keeps late callbacks harmless.
Runtime* live(sr_host_ctx* ctx) { return ctx && ctx->alive ? ctx->runtime : nullptr; }

int api_log_enabled(sr_host_ctx* ctx, int level) {
  if (!ctx) return 0;
  return ctx->runtime->services().logger.enabled(ctx->component->section(), to_log_level(level)) ? 1 : 0;
}

void api_log(sr_host_ctx* ctx, int level, const char* msg, size_t len) {
  if (!ctx) return;
  ctx->runtime->services().logger.write(to_log_level(level), ctx->component->section(),
                                        std::string_view(msg, len));
}

void api_publish(sr_host_ctx* ctx, const char* destination, const char* payload, size_t len, uint32_t flags) {
  if (Runtime* rt = live(ctx))
    rt->publish(*ctx->component, destination, std::string_view(payload, len), flags);
}

int api_subscribe(sr_host_ctx* ctx, const char* source) {
  Runtime* rt = live(ctx);
  return rt && rt->subscribe(*ctx->component, source) ? SR_OK : SR_ERROR;
}

void api_poll_done(sr_host_ctx* ctx) {
  if (Runtime* rt = live(ctx)) rt->poll_done(*ctx->component);
}

void api_deliver(sr_host_ctx* ctx, const char* source, const char* payload, size_t len) {
  if (Runtime* rt = live(ctx)) rt->deliver(*ctx->component, source, std::string(payload, len));
}

void api_request_refresh(sr_host_ctx* ctx) {
  Runtime* rt = live(ctx);
  if (!rt) return;
  // Deferred: a connection asks from inside its own callbacks.
  rt->services().loop.defer([weak = ctx->self] {
    if (auto c = weak.lock(); c && c->alive) c->runtime->refresh_all();
  });
}

uint64_t api_add_timer(sr_host_ctx* ctx, uint64_t first_delay_ns, uint64_t interval_ns, sr_timer_cb cb,
                       void* user) {
  Runtime* rt = live(ctx);
  if (!rt || !cb) return 0;
  auto id = std::make_shared<uint64_t>(0);
  *id = rt->services().loop.add_timer(first_delay_ns, interval_ns, [ctx, cb, user, id, interval_ns] {
    if (interval_ns == 0) ctx->timers.erase(*id);
    cb(user);
  });
  ctx->timers.insert(*id);
  return *id;
}

void api_cancel_timer(sr_host_ctx* ctx, uint64_t timer_id) {
  if (!ctx || !ctx->timers.erase(timer_id)) return;
  ctx->runtime->services().loop.cancel_timer(timer_id);
}

uint64_t api_watch_fd(sr_host_ctx* ctx, int fd, uint32_t events, sr_fd_cb cb, void* user) {
  Runtime* rt = live(ctx);
  if (!rt || !cb) return 0;
  uint64_t id = rt->services().loop.watch_fd(fd, events, [cb, user, fd](uint32_t ev) { cb(user, fd, ev); });
  if (id) ctx->watches.insert(id);
  return id;
}

int api_modify_fd(sr_host_ctx* ctx, uint64_t watch_id, uint32_t events) {
  if (!ctx || !ctx->watches.count(watch_id)) return SR_ERROR;
  return ctx->runtime->services().loop.modify_fd(watch_id, events) ? SR_OK : SR_ERROR;
}

void api_unwatch_fd(sr_host_ctx* ctx, uint64_t watch_id) {
  if (!ctx || !ctx->watches.erase(watch_id)) return;
  ctx->runtime->services().loop.unwatch_fd(watch_id);
}

int api_run_blocking(sr_host_ctx* ctx, sr_work_fn work, sr_done_fn done, void* user) {
  Runtime* rt = live(ctx);
  if (!rt || !work || !done) return SR_ERROR;
  auto keep = ctx->self.lock();
  bool queued = rt->services().workers.submit([work, user] { work(user); },
                                              [keep, done, user] { done(user, keep->alive ? 0 : 1); });
  return queued ? SR_OK : SR_ERROR;
}

void api_post(sr_host_ctx* ctx, sr_done_fn done, void* user) {
  if (!ctx || !done) return;
  // Any thread: only the weak self-reference and the loop's queue are
  // touched here, both thread-safe.
  auto keep = ctx->self.lock();
  if (!keep) return;
  keep->runtime->services().loop.post([keep, done, user] { done(user, keep->alive ? 0 : 1); });
}

uint64_t api_monotonic_ns(sr_host_ctx*) { return EventLoop::monotonic_ns(); }

const char* api_section_name(sr_host_ctx* ctx) { return ctx ? ctx->component->section().c_str() : ""; }

void api_set_status(sr_host_ctx* ctx, const char* status) {
  if (live(ctx) && status) ctx->component->status = status;
}

constexpr sr_host_api kHostApi = {
    sizeof(sr_host_api),
    api_log_enabled,
    api_log,
    api_publish,
    api_subscribe,
    api_poll_done,
    api_deliver,
    api_request_refresh,
    api_add_timer,
    api_cancel_timer,
    api_watch_fd,
    api_modify_fd,
    api_unwatch_fd,
    api_run_blocking,
    api_post,
    api_monotonic_ns,
    api_section_name,
    api_set_status,
    // ABI 1.2 services, not offered yet (the SDK reads NULL as "not here").
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

const sr_host_api& host_api() { return kHostApi; }

Runtime::Runtime(Services services, config::Plan plan) : services_(services), plan_(std::move(plan)) {}

Runtime::~Runtime() { stop(); }

size_t Runtime::adopt_unchanged(Runtime& previous) {
  // Connections first: a sensor or actuator is kept only if every
  // connection it uses is kept, because it holds pointers to them.
  for (auto kind : {SR_KIND_CONNECTION, SR_KIND_ACTUATOR, SR_KIND_SENSOR}) {
    for (const auto& wanted : plan_.components) {
      if (wanted.kind != kind) continue;
      auto it = std::find_if(previous.components_.begin(), previous.components_.end(),
                             [&](const auto& c) { return c && config::same_definition(c->plan, wanted); });
      if (it == previous.components_.end()) continue;
      bool connections_kept =
          std::all_of((*it)->connections.begin(), (*it)->connections.end(), [&](Component* c) {
            return std::any_of(adopted_.begin(), adopted_.end(), [&](const auto& a) { return a.get() == c; });
          });
      if (!connections_kept) continue;
      (*it)->ctx->runtime = this;
      adopted_.push_back(std::move(*it));
    }
  }
  // The moved-from slots are empty; drop them so stop() sees only the rest.
  std::erase(previous.components_, nullptr);
  return adopted_.size();
}

std::vector<std::string> Runtime::start() {
  std::vector<std::string> failures;
  std::vector<Component*> created;
  for (const auto& component_plan : plan_.components) {
    auto adopted = std::find_if(adopted_.begin(), adopted_.end(), [&](const auto& c) {
      return c && c->plan.section == component_plan.section;
    });
    if (adopted != adopted_.end()) {
      if ((*adopted)->plan.level)
        services_.logger.set_section_level(component_plan.section, *(*adopted)->plan.level);
      components_.push_back(std::move(*adopted));
      continue;
    }
    auto component = std::make_unique<Component>();
    component->plan = component_plan;
    std::string failure;
    if (create(*component, failure)) {
      created.push_back(component.get());
      components_.push_back(std::move(component));
    } else {
      services_.logger.error(component_plan.section, "{}", failure);
      failures.push_back(fmt::format("[{}] {}", component_plan.section, failure));
    }
  }
  adopted_.clear();
  for (Component* component : created)
    if (component->def().start) component->def().start(component->instance);
  // Polls start last, so the first reading finds every route in place.
  for (Component* component : created) schedule_poll(*component);
  return failures;
}

void Runtime::schedule_poll(Component& sensor) {
  if (sensor.plan.kind != SR_KIND_SENSOR || sensor.plan.poll_seconds <= 0) return;
  auto interval = static_cast<uint64_t>(std::llround(sensor.plan.poll_seconds * 1e9));
  // Through the context, not `this`: an adopted sensor keeps its timer (and
  // its phase) when a reload hands it to the next runtime.
  sr_host_ctx* ctx = sensor.ctx.get();
  sensor.poll_timer = services_.loop.add_timer(0, interval, [ctx] { ctx->runtime->poll(*ctx->component); });
}

bool Runtime::create(Component& component, std::string& failure) {
  const config::ComponentPlan& plan = component.plan;
  for (const auto& name : plan.connections) {
    auto it = std::find_if(components_.begin(), components_.end(), [&](const auto& c) {
      return c->plan.kind == SR_KIND_CONNECTION && c->plan.name == name;
    });
    if (it == components_.end()) {
      failure = fmt::format("connection '{}' is not running; section not created", name);
      return false;
    }
    component.connections.push_back(it->get());
  }
  if (plan.level) services_.logger.set_section_level(plan.section, *plan.level);
  component.ctx = std::make_shared<sr_host_ctx>();
  component.ctx->runtime = this;
  component.ctx->component = &component;
  component.ctx->self = component.ctx;

  std::vector<sr_param_value> values;
  values.reserve(plan.params.size());
  for (const auto& [key, value] : plan.params) values.push_back({key.c_str(), value.c_str()});
  char error[512] = {};
  component.instance = component.def().create(&kHostApi, component.ctx.get(), values.data(), values.size(),
                                              error, sizeof error);
  if (!component.instance) {
    failure = fmt::format("cannot create {}: {}",
                          plan.plugin.def->path ? plan.plugin.def->path : plan.plugin.def->name,
                          error[0] ? error : "no reason given");
    destroy(component);
    return false;
  }
  return true;
}

void Runtime::destroy(Component& component) {
  if (component.poll_timer) services_.loop.cancel_timer(component.poll_timer);
  component.poll_timer = 0;
  if (component.instance) component.def().destroy(component.instance);
  component.instance = nullptr;
  if (!component.ctx) return;
  sr_host_ctx& ctx = *component.ctx;
  ctx.alive = false;
  // Whatever the plugin forgot to cancel.
  for (uint64_t id : ctx.timers) services_.loop.cancel_timer(id);
  for (uint64_t id : ctx.watches) services_.loop.unwatch_fd(id);
  ctx.timers.clear();
  ctx.watches.clear();
}

void Runtime::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto it = components_.rbegin(); it != components_.rend(); ++it) destroy(**it);
  components_.clear();
  services_.logger.clear_section_levels();
}

void Runtime::publish(Component& from, const char* destination, std::string_view payload, uint32_t flags) {
  if (from.plan.retain && !(flags & (SR_PUBLISH_RETAIN | SR_PUBLISH_NO_RETAIN)))
    flags |= *from.plan.retain ? SR_PUBLISH_RETAIN : SR_PUBLISH_NO_RETAIN;
  services_.logger.debug(from.section(), "publish {} = {}", destination, payload);
  const sr_publish_opts opts{sizeof(sr_publish_opts), flags};
  for (Component* connection : from.connections)
    if (connection->instance && connection->def().conn_publish)
      connection->def().conn_publish(connection->instance, destination, payload.data(), payload.size(),
                                     &opts);
}

bool Runtime::subscribe(Component& actuator, const std::string& source) {
  if (std::find(actuator.subscriptions.begin(), actuator.subscriptions.end(), source) ==
      actuator.subscriptions.end())
    actuator.subscriptions.push_back(source);
  bool ok = true;
  for (Component* connection : actuator.connections)
    if (connection->instance && connection->def().conn_subscribe)
      ok = connection->def().conn_subscribe(connection->instance, source.c_str()) == SR_OK && ok;
  return ok;
}

void Runtime::deliver(Component& connection, std::string source, std::string payload) {
  // Deferred to the loop: an actuator never runs inside the stack of the
  // sensor (or connection) that caused the command, so rules that feed each
  // other cannot recurse.
  services_.loop.defer(
      [weak = connection.ctx->self, source = std::move(source), payload = std::move(payload)] {
        auto ctx = weak.lock();
        if (!ctx || !ctx->alive) return;
        // The runtime of the moment: a reload may have handed the connection on.
        ctx->runtime->route(*ctx->component, source, payload);
      });
}

void Runtime::route(Component& connection, const std::string& source, std::string_view payload) {
  bool delivered = false;
  for (auto& component : components_) {
    Component& actuator = *component;
    if (actuator.plan.kind != SR_KIND_ACTUATOR || !actuator.instance) continue;
    if (std::find(actuator.connections.begin(), actuator.connections.end(), &connection) ==
        actuator.connections.end())
      continue;
    if (std::find(actuator.subscriptions.begin(), actuator.subscriptions.end(), source) ==
        actuator.subscriptions.end())
      continue;
    delivered = true;
    actuator.def().on_command(actuator.instance, source.c_str(), payload.data(), payload.size());
  }
  if (!delivered) services_.logger.debug(connection.section(), "no actuator takes commands from {}", source);
}

std::string Runtime::status_line() const {
  size_t n = components_.size();
  std::string line = fmt::format("running {} section{}", n, n == 1 ? "" : "s");
  for (const auto& component : components_)
    if (!component->status.empty()) line += fmt::format("; [{}] {}", component->section(), component->status);
  return line;
}

void Runtime::refresh_all() {
  for (auto kind : {SR_KIND_SENSOR, SR_KIND_ACTUATOR})
    for (auto& component : components_)
      if (component->plan.kind == kind && component->instance && component->def().refresh)
        component->def().refresh(component->instance);
}

void Runtime::poll(Component& sensor) {
  if (sensor.poll_running) {
    // One warning per stuck poll, not one per tick.
    if (sensor.polls_skipped++ == 0)
      services_.logger.warning(sensor.section(),
                               "the previous poll is still running; skipping polls until it ends");
    return;
  }
  if (sensor.def().poll(sensor.instance) == SR_POLL_PENDING) sensor.poll_running = true;
}

void Runtime::poll_done(Component& sensor) {
  sensor.poll_running = false;
  if (sensor.polls_skipped > 0)
    services_.logger.info(sensor.section(), "the slow poll ended; {} poll(s) were skipped",
                          sensor.polls_skipped);
  sensor.polls_skipped = 0;
}

}  // namespace sr
