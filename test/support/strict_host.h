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
#include <vector>

namespace sr::test {

inline void unexpected_host_call(const char* service) {
  FAIL_CHECK("the plugin called host service " << service << ", which this test's fake host does not offer");
}

// log_enabled answers yes (log lines are worth recording), monotonic_ns 0,
// section_name "Section", set_status (ABI 1.1) is not offered; every other
// service fails the test.
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
  api.set_status = nullptr;
  return api;
}

}  // namespace sr::test
