// Routing: plugin -> router -> connection -> wire, and wire -> connection ->
// router -> actuator. Subscriptions are counted per (connection, source,
// flags) so that a connection drops a subscription on the wire when its last
// actuator goes; absolute topics never reach a connection module older than
// ABI 1.2, which would file them under its root. With Format = json a
// reading reaches its connection wrapped in the envelope of envelope.h.
#include "host/runtime.h"
#include "util/text.h"

#include "host/catalogue.h"
#include "host/envelope.h"

#include <fmt/format.h>

#include <algorithm>

namespace sr {

bool Runtime::absolute_allowed(Component& connection, const Component& from, std::string_view topic) {
  const uint32_t minor = connection.abi_minor();
  if (minor >= 2) return true;
  if (!connection.role().absolute_refused) {
    connection.role().absolute_refused = true;
    services_.logger.warning(
        connection.section(),
        "[{}] wants the absolute topic '{}', but module '{}' follows plugin ABI {}.{}, which "
        "has no absolute topics: refused (and every later one through this connection, "
        "without another warning); install a module built for ABI 1.2",
        from.section(), topic, connection.plan.plugin.module ? connection.plan.plugin.module->name : "?",
        SR_ABI_MAJOR, minor);
  } else {
    services_.logger.debug(connection.section(), "[{}] absolute topic '{}' refused", from.section(), topic);
  }
  return false;
}

std::string_view Runtime::formatted(const Component& from, const Component& connection,
                                    const char* destination, std::string_view payload, uint32_t flags,
                                    std::string& envelope) const {
  // An echo must still read as a command when it comes back (docs/mqtt.md,
  // "Payload formats"), and an absolute topic is another device's, in its
  // own format (MqttActuator's commands to a Tasmota plug).
  if (flags & (SR_PUBLISH_ECHO | SR_PUBLISH_ABSOLUTE)) return payload;
  if (config::payload_format(from.plan, connection.plan) != config::PayloadFormat::Json) return payload;
  if (envelope.empty()) {
    // Looked up for each JSON publish (a walk over a few ios) rather than
    // kept in every section: most sections publish raw (issue 17).
    const auto units = output_units(from.plan);
    auto unit = std::find_if(units.begin(), units.end(), [&](const auto& u) { return u.first == destination; });
    envelope = json_envelope(payload, unit == units.end() ? "" : unit->second, std::chrono::system_clock::now(),
                             from.section());
  }
  return envelope;
}

void Runtime::publish(Component& from, const char* destination, std::string_view payload, uint32_t flags) {
  if (from.plan.retain && !(flags & (SR_PUBLISH_RETAIN | SR_PUBLISH_NO_RETAIN)))
    flags |= *from.plan.retain ? SR_PUBLISH_RETAIN : SR_PUBLISH_NO_RETAIN;
  services_.logger.debug(from.section(), "publish {}{} = {}",
                         flags & SR_PUBLISH_ABSOLUTE ? "(absolute) " : "", destination, payload);
  const sr_publish_opts opts{sizeof(sr_publish_opts), flags};
  std::string envelope;  // one per publish: every json connection gets the same time
  for (Component* connection : from.connections) {
    if (!connection->instance || !connection->def().conn_publish) continue;
    if ((flags & SR_PUBLISH_ABSOLUTE) && !absolute_allowed(*connection, from, destination)) continue;
    const std::string_view sent = formatted(from, *connection, destination, payload, flags, envelope);
    if (connection->def().conn_publish(connection->instance, destination, sent.data(), sent.size(), &opts) !=
        SR_OK) {
      ++errors_.publish;
      services_.logger.debug(connection->section(), "publish of {} from [{}] failed", destination,
                             from.section());
    }
  }
}

bool Runtime::subscribe(Component& actuator, const std::string& source, uint32_t flags) {
  const Subscription wanted{source, flags};
  if (actuator.subscribed(wanted)) return true;
  actuator.role().subscriptions.push_back(wanted);
  bool ok = true;
  for (Component* connection : actuator.connections) {
    // Counted even when refused, so that unsubscribing stays symmetric; a
    // module older than 1.2 has no conn_unsubscribe to call anyway.
    if (++connection->role().subscribers[wanted] > 1) continue;  // the connection has it already
    if (!connection->instance) continue;
    const sr_class_def& def = connection->def();
    if ((flags & SR_SUBSCRIBE_ABSOLUTE) && !absolute_allowed(*connection, actuator, source)) {
      ok = false;
      continue;
    }
    int rc = SR_ERROR;
    if (def.conn_subscribe_ex)
      rc = def.conn_subscribe_ex(connection->instance, source.c_str(), flags);
    else if (def.conn_subscribe && flags == 0)
      rc = def.conn_subscribe(connection->instance, source.c_str());
    else if (!def.conn_subscribe && flags == 0)
      rc = SR_OK;  // a connection that takes no commands
    ok = rc == SR_OK && ok;
  }
  return ok;
}

bool Runtime::unsubscribe(Component& actuator, const std::string& source, uint32_t flags) {
  const Subscription unwanted{source, flags};
  if (!actuator.subscribed(unwanted)) return false;
  auto& subscriptions = actuator.role().subscriptions;
  subscriptions.erase(std::find(subscriptions.begin(), subscriptions.end(), unwanted));
  for (Component* connection : actuator.connections) {
    auto& subscribers = connection->role().subscribers;
    auto count = subscribers.find(unwanted);
    if (count == subscribers.end() || --count->second > 0) continue;
    subscribers.erase(count);
    if (!connection->instance || connection->tearing_down || !connection->def().conn_unsubscribe) continue;
    services_.logger.debug(connection->section(), "no section wants commands from {} any more", source);
    connection->def().conn_unsubscribe(connection->instance, source.c_str(), flags);
  }
  return true;
}

void Runtime::drop_subscriptions(Component& actuator) {
  while (actuator.role_state && !actuator.role_state->subscriptions.empty()) {
    Subscription last = actuator.role_state->subscriptions.back();
    unsubscribe(actuator, last.first, last.second);
  }
}

void Runtime::deliver(Component& connection, std::string source, std::string payload, uint32_t flags) {
  // Deferred to the loop: an actuator never runs inside the stack of the
  // sensor (or connection) that caused the command, so rules that feed each
  // other cannot recurse.
  services_.loop.defer(
      [weak = connection.ctx->self, source = std::move(source), payload = std::move(payload), flags] {
        auto ctx = weak.lock();
        if (!ctx || !ctx->alive) return;
        // The runtime of the moment: a reload may have handed the connection on.
        ctx->runtime->route(*ctx->component, source, payload, flags);
      });
}

void Runtime::route(Component& connection, const std::string& source, std::string_view payload,
                    uint32_t flags) {
  bool delivered = false;
  const Subscription wanted{source, flags};
  for (auto& component : components_) {
    // Actuators, and sensors that listen to a topic (they have on_command).
    Component& actuator = *component;
    if (actuator.plan.kind == SR_KIND_CONNECTION || !actuator.instance || !actuator.def().on_command)
      continue;
    if (std::find(actuator.connections.begin(), actuator.connections.end(), &connection) ==
        actuator.connections.end())
      continue;
    if (!actuator.subscribed(wanted)) continue;
    delivered = true;
    if (actuator.plan.kind == SR_KIND_ACTUATOR && !admit_command(actuator, connection, source, payload)) continue;
    if (actuator.def().on_command(actuator.instance, source.c_str(), payload.data(), payload.size()) !=
        SR_OK) {
      ++errors_.command;
      services_.logger.debug(actuator.section(), "command from {} failed", source);
    }
  }
  if (!delivered) services_.logger.debug(connection.section(), "no actuator takes commands from {}", source);
}

bool Runtime::admit_command(Component& actuator, const Component& connection, const std::string& source,
                            std::string_view payload) {
  const auto& policy = actuator.plan.command_policy;
  if (!policy) return true;
  // The WARNING lines leave the payload out: each repeats word for word, so
  // the logger collapses a flood of them into one line and a count
  // (Logger::repeat_window), whatever payloads a foreign client sends.
  if (policy->refuses(payload)) {
    ++kept_.refused;
    services_.logger.warning(actuator.section(), "refused a command from {} on [{}]: its payload is not in {}",
                             source, connection.section(), policy->filter_keys());
    services_.logger.debug(actuator.section(), "the refused payload: '{}'", sdk::printable(payload));
    return false;
  }
  if (auto rate = policy->max_rate()) {
    auto& rate_limit = actuator.role().rate_limit;
    if (!rate_limit) rate_limit.emplace(*rate);
    if (!rate_limit->admit(services_.loop.now_ns())) {
      ++kept_.over_rate;
      services_.logger.warning(actuator.section(), "dropped a command from {} on [{}]: more than MaxRate {:g} per second",
                               source, connection.section(), *rate);
      return false;
    }
  }
  return true;
}

std::string Runtime::status_line() const {
  size_t n = components_.size();
  std::string line = fmt::format("running {} section{}", n, n == 1 ? "" : "s");
  size_t backing_off = static_cast<size_t>(
      std::count_if(components_.begin(), components_.end(), [](const auto& c) { return c->backing_off(); }));
  if (backing_off) line += fmt::format(", {} backing off", backing_off);
  for (const auto& component : components_)
    if (!component->status().empty())
      line += fmt::format("; [{}] {}", component->section(), component->status());
  if (kept_.refused || kept_.over_rate)
    line += fmt::format("; kept from actuators: {} refused command(s), {} over MaxRate", kept_.refused,
                        kept_.over_rate);
  if (errors_.command || errors_.refresh || errors_.publish)
    line += fmt::format("; failed: {} command(s), {} refresh(es), {} publish(es)", errors_.command,
                        errors_.refresh, errors_.publish);
  return line;
}

void Runtime::refresh_all() {
  for (auto kind : {SR_KIND_SENSOR, SR_KIND_ACTUATOR})
    for (auto& component : components_)
      if (component->plan.kind == kind && component->instance && component->def().refresh &&
          component->def().refresh(component->instance) != SR_OK) {
        ++errors_.refresh;
        services_.logger.debug(component->section(), "refresh failed");
      }
}

}  // namespace sr
