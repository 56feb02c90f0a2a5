// The sr_host_api table every instance receives: trampolines from the C ABI
// into the Runtime of the moment (a reload may hand an instance on, so the
// context, not a captured Runtime, says which one).
#include "host/runtime.h"

#include <fmt/format.h>

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

void api_poll_end(sr_host_ctx* ctx, int status) {
  if (Runtime* rt = live(ctx)) rt->poll_done(*ctx->component, status == SR_OK);
}

void api_poll_done(sr_host_ctx* ctx) { api_poll_end(ctx, SR_OK); }

int api_subscribe_ex(sr_host_ctx* ctx, const char* source, uint32_t flags) {
  Runtime* rt = live(ctx);
  return rt && source && rt->subscribe(*ctx->component, source, flags) ? SR_OK : SR_ERROR;
}

int api_unsubscribe(sr_host_ctx* ctx, const char* source, uint32_t flags) {
  Runtime* rt = live(ctx);
  return rt && source && rt->unsubscribe(*ctx->component, source, flags) ? SR_OK : SR_ERROR;
}

void api_deliver_ex(sr_host_ctx* ctx, const char* source, const char* payload, size_t len, uint32_t flags) {
  if (Runtime* rt = live(ctx)) rt->deliver(*ctx->component, source, std::string(payload, len), flags);
}

// The ABI 1.0 forms: the 1.2 ones without flags.
int api_subscribe(sr_host_ctx* ctx, const char* source) { return api_subscribe_ex(ctx, source, 0); }

void api_deliver(sr_host_ctx* ctx, const char* source, const char* payload, size_t len) {
  api_deliver_ex(ctx, source, payload, len, 0);
}

size_t api_catalogue(sr_host_ctx* ctx, sr_catalogue_fn fn, void* user) {
  Runtime* rt = live(ctx);
  if (!rt || !fn || ctx->component->plan.kind != SR_KIND_CONNECTION) return 0;
  return rt->catalogue(*ctx->component, fn, user);
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
  if (!ctx || !ctx->watches.contains(watch_id)) return SR_ERROR;
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
  if (live(ctx) && status) ctx->component->role().status = status;
}

// One member a line, in the header's order.
// clang-format off
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
    // since ABI 1.2
    api_subscribe_ex,
    api_unsubscribe,
    api_deliver_ex,
    api_catalogue,
    api_poll_end,
};
// clang-format on

}  // namespace

const sr_host_api& host_api() { return kHostApi; }

}  // namespace sr
