// A host service table for fuzz targets: records what a plugin publishes,
// delivers and logs; timers and fd watches are accepted and never fire; the
// monotonic clock is a counter the target moves. No event loop, no threads,
// no I/O, so every execution is deterministic and cheap.
//
// Lifetime: a FuzzHost must outlive every plugin object created with its
// host() (the plugin keeps the table and context pointers). Single-threaded.
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace sr::fuzz {

// Fuzz targets check invariants with this, not assert(): it stays on in every
// build and names the broken invariant before libFuzzer's stack trace.
#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

struct Message {
  std::string destination;
  std::string payload;
  uint32_t flags = 0;
};

struct FuzzHost {
  std::string section = "Fuzz";
  uint64_t clock_ns = 1'000'000'000;
  uint64_t next_id = 1;
  std::vector<Message> published;
  std::vector<Message> delivered;
  std::vector<std::string> subscriptions;
  std::vector<std::pair<int, std::string>> logs;

  sr_host_ctx* ctx() { return reinterpret_cast<sr_host_ctx*>(this); }
  static FuzzHost& of(sr_host_ctx* ctx) { return *reinterpret_cast<FuzzHost*>(ctx); }
  static const sr_host_api* api();
  sdk::Host host() { return sdk::Host(api(), ctx()); }

  void clear() {
    published.clear();
    delivered.clear();
    logs.clear();
  }
};

inline const sr_host_api* FuzzHost::api() {
  static const sr_host_api table = {
      sizeof(sr_host_api),
      [](sr_host_ctx*, int) { return 1; },
      [](sr_host_ctx* ctx, int level, const char* msg, size_t len) {
        of(ctx).logs.emplace_back(level, std::string(msg, len));
      },
      [](sr_host_ctx* ctx, const char* destination, const char* payload, size_t len, uint32_t flags) {
        of(ctx).published.push_back({destination, std::string(payload, len), flags});
      },
      [](sr_host_ctx* ctx, const char* source) {
        of(ctx).subscriptions.emplace_back(source);
        return SR_OK;
      },
      [](sr_host_ctx*) {},
      [](sr_host_ctx* ctx, const char* source, const char* payload, size_t len) {
        of(ctx).delivered.push_back({source, std::string(payload, len), 0});
      },
      [](sr_host_ctx*) {},
      [](sr_host_ctx* ctx, uint64_t, uint64_t, sr_timer_cb, void*) -> uint64_t { return of(ctx).next_id++; },
      [](sr_host_ctx*, uint64_t) {},
      [](sr_host_ctx* ctx, int, uint32_t, sr_fd_cb, void*) -> uint64_t { return of(ctx).next_id++; },
      [](sr_host_ctx*, uint64_t, uint32_t) { return SR_OK; },
      [](sr_host_ctx*, uint64_t) {},
      // Blocking work is refused: a fuzz target never needs a worker.
      [](sr_host_ctx*, sr_work_fn, sr_done_fn, void*) { return SR_ERROR; },
      [](sr_host_ctx*, sr_done_fn, void*) {},
      [](sr_host_ctx* ctx) { return of(ctx).clock_ns; },
      [](sr_host_ctx* ctx) { return of(ctx).section.c_str(); },
      [](sr_host_ctx*, const char*) {},
  };
  return &table;
}

}  // namespace sr::fuzz
