// Lifecycle (create, start, destroy, adopt on reload) and polling with the
// host's failure policy: a failing sensor backs off, a pending poll that
// never ends times out, a section whose start() fails is destroyed.
#include "host/runtime.h"

#include "host/catalogue.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace sr {

unsigned backoff_factor(unsigned failures, double poll_seconds) {
  unsigned factor = 1;
  for (unsigned failure = 2; failure <= failures && factor < kBackoffMaxFactor; ++failure) factor *= 2;
  if (poll_seconds > 0)
    factor = std::min(factor, static_cast<unsigned>(std::max(1.0, std::floor(kBackoffMaxSeconds / poll_seconds))));
  return factor;
}

double pending_timeout_seconds(double poll_seconds) {
  return std::max(kPendingTimeoutMinSeconds, kPendingTimeoutFactor * poll_seconds);
}

bool Component::backing_off() const {
  return plan.poll_seconds > 0 && backoff_factor(failures_in_row, plan.poll_seconds) > 1;
}

bool Component::subscribed(const Subscription& wanted) const {
  return role_state && std::find(role_state->subscriptions.begin(), role_state->subscriptions.end(), wanted) !=
                           role_state->subscriptions.end();
}

const std::string& Component::status() const {
  static const std::string none;
  return role_state ? role_state->status : none;
}

uint32_t Component::abi_minor() const {
  return plan.plugin.module ? plan.plugin.module->descriptor.abi_minor : SR_ABI_MINOR;
}

Runtime::Runtime(Services services, config::Plan plan) : services_(services), plan_(std::move(plan)) {}

Runtime::~Runtime() { stop(); }

size_t Runtime::adopt_unchanged(Runtime& previous) {
  // By section name, not by scanning: a reload of 10,000 sections made 10^8
  // comparisons that way (issue 17).
  std::unordered_map<std::string_view, std::unique_ptr<Component>*> by_section;
  for (auto& c : previous.components_)
    if (c) by_section.emplace(c->plan.section, &c);
  auto adopted = [&](const Component* c) {
    auto it = adopted_.find(c->plan.section);
    return it != adopted_.end() && it->second.get() == c;
  };
  // Connections first: a sensor or actuator is kept only if every
  // connection it uses is kept, because it holds pointers to them.
  for (auto kind : {SR_KIND_CONNECTION, SR_KIND_ACTUATOR, SR_KIND_SENSOR}) {
    for (const auto& wanted : plan_.components) {
      if (wanted.kind != kind) continue;
      auto found = by_section.find(wanted.section);
      if (found == by_section.end() || !config::same_definition((*found->second)->plan, wanted)) continue;
      std::unique_ptr<Component>& old = *found->second;
      if (!std::all_of(old->connections.begin(), old->connections.end(), adopted)) continue;
      old->ctx->runtime = this;
      const std::string_view section = old->plan.section;
      adopted_.emplace(section, std::move(old));
    }
  }
  // The moved-from slots are empty; drop them so stop() sees only the rest.
  std::erase(previous.components_, nullptr);
  return adopted_.size();
}

std::vector<std::string> Runtime::start() {
  std::vector<std::string> failures;
  std::vector<Component*> created;
  for (auto& component_plan : plan_.components) {
    if (auto found = adopted_.find(component_plan.section); found != adopted_.end()) {
      std::unique_ptr<Component>& kept = found->second;
      if (kept->plan.level) services_.logger.set_section_level(kept->plan.section, *kept->plan.level);
      components_.push_back(std::move(kept));
      continue;
    }
    // Moved, not copied: each section's plan is kept once, in its component
    // (at 10,000 sections the copy was a third of the process's heap).
    auto component = std::make_unique<Component>();
    component->plan = std::move(component_plan);
    std::string failure;
    if (create(*component, failure)) {
      created.push_back(component.get());
      components_.push_back(std::move(component));
    } else {
      services_.logger.error(component->plan.section, "{}", failure);
      failures.push_back(fmt::format("[{}] {}", component->plan.section, failure));
    }
  }
  plan_.components.clear();
  plan_.components.shrink_to_fit();
  adopted_.clear();
  std::vector<Component*> failed;
  for (Component* component : created) {
    // A section that depends on a connection that failed is removed with it.
    if (std::any_of(failed.begin(), failed.end(), [&](Component* f) {
          return std::find(component->connections.begin(), component->connections.end(), f) !=
                 component->connections.end();
        }))
      continue;
    if (component->def().start && component->def().start(component->instance) != SR_OK)
      failed.push_back(component);
  }
  // Unlike a section that cannot be created (a configuration problem, which
  // stops a start without --keep-going), a failed start() is the section's
  // own trouble at run time: it goes, the rest keeps running.
  remove_failed(std::move(failed), created);
  // Polls start last, so the first reading finds every route in place.
  for (Component* component : created)
    schedule_poll(*component);
  // Every connection (kept ones too: a reload changes what uses them) hears
  // that its catalogue may have changed.
  for (auto& component : components_)
    if (component->plan.kind == SR_KIND_CONNECTION && component->instance &&
        component->def().conn_catalogue_changed)
      component->def().conn_catalogue_changed(component->instance);
  return failures;
}

void Runtime::remove_failed(std::vector<Component*> failed, std::vector<Component*>& created) {
  if (failed.empty()) return;
  for (Component* component : failed) {
    services_.logger.error(component->section(), "start failed; section destroyed (the rest keeps running)");
  }
  // Sections using a failed connection cannot run either.
  for (auto& component : components_) {
    if (std::find(failed.begin(), failed.end(), component.get()) != failed.end()) continue;
    for (Component* connection : component->connections) {
      if (std::find(failed.begin(), failed.end(), connection) == failed.end()) continue;
      services_.logger.error(component->section(), "connection '{}' failed to start; section destroyed",
                             connection->plan.name);
      failed.push_back(component.get());
      break;
    }
  }
  // Out of `created` before they are freed: start() schedules polls from it.
  std::erase_if(created, [&](Component* c) { return std::find(failed.begin(), failed.end(), c) != failed.end(); });
  // Users first, connections last: an actuator's unsubscribe reaches a live
  // connection.
  for (auto it = components_.rbegin(); it != components_.rend(); ++it)
    if (std::find(failed.begin(), failed.end(), it->get()) != failed.end()) destroy(**it);
  std::erase_if(components_, [&](const auto& c) {
    return std::find(failed.begin(), failed.end(), c.get()) != failed.end();
  });
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
  // Resolved: the names are the Connection key's, still in plan.params.
  std::vector<std::string>().swap(component.plan.connections);
  if (plan.level) services_.logger.set_section_level(plan.section, *plan.level);
  component.ctx = std::make_shared<sr_host_ctx>();
  component.ctx->runtime = this;
  component.ctx->component = &component;
  component.ctx->self = component.ctx;

  std::vector<sr_param_value> values;
  values.reserve(plan.params.size());
  for (const auto& [key, value] : plan.params) values.push_back({key.data(), value.data()});
  char error[512] = {};
  component.instance = component.def().create(&host_api(), component.ctx.get(), values.data(), values.size(),
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
  if (component.poll_timeout_timer) services_.loop.cancel_timer(component.poll_timeout_timer);
  component.poll_timeout_timer = 0;
  drop_subscriptions(component);
  if (component.instance) component.def().destroy(component.instance);
  component.instance = nullptr;
  if (!component.ctx) return;
  sr_host_ctx& ctx = *component.ctx;
  ctx.alive = false;
  // Whatever the plugin forgot to cancel.
  for (uint64_t id : ctx.timers.take()) services_.loop.cancel_timer(id);
  for (uint64_t id : ctx.watches.take()) services_.loop.unwatch_fd(id);
}

bool IdList::erase(uint64_t id) {
  auto it = std::find(ids_.begin(), ids_.end(), id);
  if (it == ids_.end()) return false;
  *it = ids_.back();
  ids_.pop_back();
  return true;
}

bool IdList::contains(uint64_t id) const { return std::find(ids_.begin(), ids_.end(), id) != ids_.end(); }

void Runtime::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Connections that go too need not hear of each unsubscribe first.
  for (auto& component : components_) component->tearing_down = true;
  for (auto it = components_.rbegin(); it != components_.rend(); ++it) destroy(**it);
  components_.clear();
  services_.logger.clear_section_levels();
}

void Runtime::schedule_poll(Component& sensor) {
  if (sensor.plan.kind != SR_KIND_SENSOR || sensor.plan.poll_seconds <= 0) return;
  auto interval = static_cast<uint64_t>(std::llround(sensor.plan.poll_seconds * 1e9));
  // Through the context, not `this`: an adopted sensor keeps its timer (and
  // its phase) when a reload hands it to the next runtime.
  sr_host_ctx* ctx = sensor.ctx.get();
  sensor.poll_timer = services_.loop.add_timer(0, interval, [ctx] { ctx->runtime->poll(*ctx->component); });
}

void Runtime::poll(Component& sensor) {
  // Backing off: the timer keeps its phase, the sensor sits out ticks.
  if (sensor.ticks_to_skip > 0) {
    --sensor.ticks_to_skip;
    return;
  }
  if (sensor.poll_running) {
    // One warning per stuck poll, not one per tick.
    if (sensor.polls_skipped++ == 0)
      services_.logger.warning(sensor.section(),
                               "the previous poll is still running; skipping polls until it ends");
    return;
  }
  int rc = sensor.def().poll(sensor.instance);
  if (!sensor.instance) return;
  if (rc != SR_POLL_PENDING) {
    poll_ended(sensor, rc == SR_OK);
    return;
  }
  sensor.poll_running = true;
  if (sensor.plan.poll_seconds <= 0) return;  // polled only by hand: no deadline to keep
  const double limit = pending_timeout_seconds(sensor.plan.poll_seconds);
  sr_host_ctx* ctx = sensor.ctx.get();
  sensor.poll_timeout_timer =
      services_.loop.add_timer(static_cast<uint64_t>(std::llround(limit * 1e9)), 0, [ctx] {
        ctx->component->poll_timeout_timer = 0;
        ctx->runtime->poll_timed_out(*ctx->component);
      });
}

void Runtime::poll_done(Component& sensor, bool ok) {
  if (!sensor.poll_running) {
    // It had timed out and was counted as a failure already.
    services_.logger.debug(sensor.section(), "a poll that timed out has ended after all");
    return;
  }
  sensor.poll_running = false;
  if (sensor.poll_timeout_timer) services_.loop.cancel_timer(sensor.poll_timeout_timer);
  sensor.poll_timeout_timer = 0;
  if (sensor.polls_skipped > 0)
    services_.logger.info(sensor.section(), "the slow poll ended; {} poll(s) were skipped",
                          sensor.polls_skipped);
  sensor.polls_skipped = 0;
  poll_ended(sensor, ok);
}

void Runtime::poll_timed_out(Component& sensor) {
  if (!sensor.poll_running) return;
  const double limit = pending_timeout_seconds(sensor.plan.poll_seconds);
  // The first of a run says so; the back-off line covers the rest.
  if (sensor.failures_in_row == 0)
    services_.logger.warning(sensor.section(), "poll did not end within {:g} s; counted as a failed poll",
                             limit);
  else
    services_.logger.debug(sensor.section(), "poll did not end within {:g} s", limit);
  sensor.poll_running = false;
  sensor.polls_skipped = 0;
  poll_ended(sensor, false);
}

void Runtime::poll_ended(Component& sensor, bool ok) {
  if (ok) {
    if (sensor.backing_off())
      services_.logger.info(sensor.section(), "recovered after {} failures; polling every {:g} s again",
                            sensor.failures_in_row, sensor.plan.poll_seconds);
    sensor.failures_in_row = 0;
    sensor.ticks_to_skip = 0;
    return;
  }
  const bool was_backing_off = sensor.backing_off();
  ++sensor.failures_in_row;
  if (!sensor.backing_off()) return;
  const unsigned factor = backoff_factor(sensor.failures_in_row, sensor.plan.poll_seconds);
  sensor.ticks_to_skip = factor - 1;
  if (!was_backing_off) {
    const unsigned most = backoff_factor(64, sensor.plan.poll_seconds);
    // INFO, not WARNING: the plugin's own error lines are the alarm, and a
    // line at their level would end their repeat count, so the next failure
    // would be printed again (the logger counts one run per section).
    services_.logger.info(sensor.section(),
                          "failing, backing off: {} failed polls in a row; polling every {:g} s, "
                          "doubling up to {:g} s while it keeps failing",
                          sensor.failures_in_row, factor * sensor.plan.poll_seconds,
                          most * sensor.plan.poll_seconds);
  } else {
    services_.logger.debug(sensor.section(), "{} failed polls in a row; next poll in {:g} s",
                           sensor.failures_in_row, factor * sensor.plan.poll_seconds);
  }
}

}  // namespace sr
