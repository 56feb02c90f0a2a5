// A host services table for unit tests that drive a plugin class through
// the SDK's trampolines: every service fails the test when called, so a test
// starts from strict_host_api() and replaces only the services its plugin
// is allowed to use. Includes the doctest printer for vectors of whatever
// a fake host records.
#pragma once

#include "support/doctest_vector.h"

#include <sensor_reporter/plugin_abi.h>

#include <doctest/doctest.h>

#include <cstdint>

namespace sr::test {

inline void unexpected_host_call(const char* service) {
  FAIL_CHECK("the plugin called host service " << service << ", which this test's fake host does not offer");
}

// log_enabled answers yes (log lines are worth recording), monotonic_ns 0,
// section_name "Section", set_status (ABI 1.1) is not offered (null); every
// other service fails the test.
inline sr_host_api strict_host_api() {
  sr_host_api api{};
  api.struct_size = sizeof(sr_host_api);
  api.log_enabled = [](sr_host_ctx*, int) { return 1; };
  api.log = [](sr_host_ctx*, int, const char*, size_t) { unexpected_host_call("log"); };
  api.publish = [](sr_host_ctx*, const char*, const char*, size_t, uint32_t) {
    unexpected_host_call("publish");
  };
  api.subscribe = [](sr_host_ctx*, const char*) {
    unexpected_host_call("subscribe");
    return SR_ERROR;
  };
  api.poll_done = [](sr_host_ctx*) { unexpected_host_call("poll_done"); };
  api.poll_end = [](sr_host_ctx*, int) { unexpected_host_call("poll_end"); };
  api.deliver = [](sr_host_ctx*, const char*, const char*, size_t) { unexpected_host_call("deliver"); };
  api.request_refresh = [](sr_host_ctx*) { unexpected_host_call("request_refresh"); };
  api.add_timer = [](sr_host_ctx*, uint64_t, uint64_t, sr_timer_cb, void*) -> uint64_t {
    unexpected_host_call("add_timer");
    return 0;
  };
  api.cancel_timer = [](sr_host_ctx*, uint64_t) { unexpected_host_call("cancel_timer"); };
  api.watch_fd = [](sr_host_ctx*, int, uint32_t, sr_fd_cb, void*) -> uint64_t {
    unexpected_host_call("watch_fd");
    return 0;
  };
  api.modify_fd = [](sr_host_ctx*, uint64_t, uint32_t) {
    unexpected_host_call("modify_fd");
    return SR_ERROR;
  };
  api.unwatch_fd = [](sr_host_ctx*, uint64_t) { unexpected_host_call("unwatch_fd"); };
  api.run_blocking = [](sr_host_ctx*, sr_work_fn, sr_done_fn, void*) {
    unexpected_host_call("run_blocking");
    return SR_ERROR;
  };
  api.post = [](sr_host_ctx*, sr_done_fn, void*) { unexpected_host_call("post"); };
  api.monotonic_ns = [](sr_host_ctx*) { return uint64_t{0}; };
  api.section_name = [](sr_host_ctx*) { return "Section"; };
  api.subscribe_ex = [](sr_host_ctx*, const char*, uint32_t) {
    unexpected_host_call("subscribe_ex");
    return SR_ERROR;
  };
  api.unsubscribe = [](sr_host_ctx*, const char*, uint32_t) {
    unexpected_host_call("unsubscribe");
    return SR_ERROR;
  };
  api.deliver_ex = [](sr_host_ctx*, const char*, const char*, size_t, uint32_t) {
    unexpected_host_call("deliver_ex");
  };
  api.catalogue = [](sr_host_ctx*, sr_catalogue_fn, void*) -> size_t {
    unexpected_host_call("catalogue");
    return 0;
  };
  return api;
}

// The timer and fd services of a fake host backed by a real sr::EventLoop:
// Host has a member `loop` and a static `Host& of(sr_host_ctx*)`. A template,
// so tests that do not use it need not link the loop.
template <typename Host>
void serve_loop(sr_host_api& api) {
  api.add_timer = [](sr_host_ctx* ctx, uint64_t first_ns, uint64_t interval_ns, sr_timer_cb cb,
                     void* user) -> uint64_t {
    return Host::of(ctx).loop.add_timer(first_ns, interval_ns, [cb, user] { cb(user); });
  };
  api.cancel_timer = [](sr_host_ctx* ctx, uint64_t id) { Host::of(ctx).loop.cancel_timer(id); };
  api.watch_fd = [](sr_host_ctx* ctx, int fd, uint32_t events, sr_fd_cb cb, void* user) -> uint64_t {
    return Host::of(ctx).loop.watch_fd(fd, events, [cb, user, fd](uint32_t ev) { cb(user, fd, ev); });
  };
  api.modify_fd = [](sr_host_ctx* ctx, uint64_t id, uint32_t events) {
    return Host::of(ctx).loop.modify_fd(id, events) ? SR_OK : SR_ERROR;
  };
  api.unwatch_fd = [](sr_host_ctx* ctx, uint64_t id) { Host::of(ctx).loop.unwatch_fd(id); };
}

}  // namespace sr::test
