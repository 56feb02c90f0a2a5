// Shared pieces of the benchmark programs in test/bench/: statistics, what
// /proc says about a process, and the daemon started the way a user starts
// it (the real binary, the build tree's plugins, a private mosquitto).
//
// Benchmarks print figures; they assert nothing. Every program prints one
// line; the figures are medians (or percentiles) over repeated runs.
#pragma once

#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sr::bench {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Nearest-rank percentile (p in 0..100) of a copy of the samples.
inline double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return std::nan("");
  std::sort(samples.begin(), samples.end());
  double rank = std::ceil(p / 100.0 * static_cast<double>(samples.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return samples[std::min(index, samples.size() - 1)];
}
inline double median(const std::vector<double>& samples) {
  if (samples.empty()) return std::nan("");
  std::vector<double> s = samples;
  std::sort(s.begin(), s.end());
  size_t n = s.size();
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// An integer from argv[index], or `fallback` (lets a user shorten or lengthen a run).
inline int arg_or(int argc, char** argv, int index, int fallback) {
  return argc > index ? std::atoi(argv[index]) : fallback;
}

// ---------------------------------------------------------------------------
// /proc

// CPU seconds the process itself has used (all its threads, from
// /proc/PID/task/*/schedstat: nanoseconds, where utime + stime only count
// 10 ms ticks); its reaped children's (utime + stime) separately.
struct CpuTimes {
  double self = 0;
  double children = 0;
};
inline double thread_cpu_seconds(pid_t pid) {
  double total = 0;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    std::ifstream in(task.path() / "schedstat");
    double ns = 0;
    if (in >> ns) total += ns / 1e9;
  }
  return total;
}
inline CpuTimes cpu_times(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which may contain spaces: from the last ')'.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> f;
  for (std::string word; fields >> word;) f.push_back(word);
  // f[0] is field 3 (state); utime 14, stime 15, cutime 16, cstime 17.
  if (f.size() < 15) return {};
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return CpuTimes{thread_cpu_seconds(pid), (std::stod(f[13]) + std::stod(f[14])) / tick};
}

// A "Key:   123 kB" line of a /proc file, in kB (-1 when absent).
inline long proc_kb(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::atol(line.c_str() + key.size() + 1);
  }
  return -1;
}

struct Memory {
  double rss_mb = 0;      // VmRSS
  double hwm_mb = 0;      // VmHWM
  double private_mb = 0;  // Private_Clean + Private_Dirty (smaps_rollup)
  double anon_mb = 0;     // Anonymous (smaps_rollup): heap, stacks, .bss
};
inline Memory memory(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  Memory m;
  m.rss_mb = static_cast<double>(proc_kb(base + "/status", "VmRSS")) / 1024;
  m.hwm_mb = static_cast<double>(proc_kb(base + "/status", "VmHWM")) / 1024;
  m.private_mb = static_cast<double>(proc_kb(base + "/smaps_rollup", "Private_Clean") +
                                     proc_kb(base + "/smaps_rollup", "Private_Dirty")) / 1024;
  m.anon_mb = static_cast<double>(proc_kb(base + "/smaps_rollup", "Anonymous")) / 1024;
  return m;
}

struct Mapping {
  long rss_kb = 0;
  long private_kb = 0;  // Private_Clean + Private_Dirty
  long dirty_kb = 0;    // Private_Dirty: the process's own whatever else runs
};
// Rss, private and private dirty pages of /proc/PID/smaps by mapped file
// (its base name), "[heap]", "[stack]", ... or "[anon]".
inline std::map<std::string, Mapping> smaps_by_name(pid_t pid) {
  std::map<std::string, Mapping> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  Mapping* current = nullptr;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const char c = line[0];
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {  // "start-end perms offset dev inode path"
      std::istringstream fields(line);
      std::string skip, path;
      for (int i = 0; i < 5; ++i) fields >> skip;
      std::getline(fields >> std::ws, path);
      std::string name = path.empty()     ? std::string("[anon]")
                         : path[0] == '[' ? path
                                          : std::filesystem::path(path).filename().string();
      current = &out[name];
    } else if (current) {
      long kb = std::atol(line.c_str() + line.find(':') + 1);
      if (line.rfind("Rss:", 0) == 0) current->rss_kb += kb;
      if (line.rfind("Private_Clean:", 0) == 0) current->private_kb += kb;
      if (line.rfind("Private_Dirty:", 0) == 0) {
        current->private_kb += kb;
        current->dirty_kb += kb;
      }
    }
  }
  return out;
}

// Daemon B's mappings minus daemon A's: the six that grew most by private
// dirty pages (heap, relocated and written library data: B's own whatever
// else runs, where a clean page counts as private only while no other
// process maps it), as "name dirty/private/RSS kB", and the libraries only B
// maps.
struct MappingDelta {
  std::string top;
  long dirty_kb = 0;  // B - A over every mapping
  long only_b_count = 0;
  Mapping only_b;
};
inline MappingDelta mapping_delta(const std::map<std::string, Mapping>& a,
                                  const std::map<std::string, Mapping>& b) {
  struct Delta {
    std::string name;
    long dirty_kb, private_kb, rss_kb;
  };
  std::vector<Delta> deltas;
  MappingDelta out;
  for (const auto& [name, m] : b) {
    const Mapping base = a.count(name) ? a.at(name) : Mapping{};
    if (!a.count(name) && name[0] != '[') {
      ++out.only_b_count;
      out.only_b.rss_kb += m.rss_kb;
      out.only_b.private_kb += m.private_kb;
      out.only_b.dirty_kb += m.dirty_kb;
    }
    deltas.push_back(
        {name, m.dirty_kb - base.dirty_kb, m.private_kb - base.private_kb, m.rss_kb - base.rss_kb});
    out.dirty_kb += m.dirty_kb - base.dirty_kb;
  }
  for (const auto& [name, m] : a)
    if (!b.count(name)) out.dirty_kb -= m.dirty_kb;
  std::sort(deltas.begin(), deltas.end(),
            [](const Delta& x, const Delta& y) { return x.dirty_kb > y.dirty_kb; });
  for (size_t i = 0; i < deltas.size() && i < 6; ++i) {
    char part[160];
    std::snprintf(part, sizeof part, "%s%s %+ld/%+ld/%+ld", i ? ", " : "", deltas[i].name.c_str(),
                  deltas[i].dirty_kb, deltas[i].private_kb, deltas[i].rss_kb);
    out.top += part;
  }
  return out;
}

// The moment a process ends, to the microsecond (a pidfd becomes readable
// when it exits; Process::wait_exit only polls every 2 ms).
inline Clock::time_point wait_exit_precisely(const test::Process& process, std::chrono::milliseconds timeout) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, process.pid(), 0));
  if (fd < 0) throw std::runtime_error("pidfd_open failed");
  pollfd p{fd, POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  Clock::time_point at = Clock::now();
  ::close(fd);
  if (rc != 1) throw std::runtime_error("the daemon did not exit in time");
  return at;
}

// ---------------------------------------------------------------------------
// The daemon

// A private broker tuned for measuring: no persistence (the test broker
// saves its database on every change, which would make the broker the
// bottleneck of every throughput figure), and no cap on the messages queued
// for a slow subscriber (the default 1000 drops QoS 1 messages in a flood).
// No connection messages in its log: at 1,000 reporters reconnecting they
// filled the log pipe faster than the benchmark drained it, and the broker
// stalled in write(2) for over 30 s.
inline std::unique_ptr<test::Broker> start_broker() {
  return std::make_unique<test::Broker>("",
                                        "persistence false\nautosave_on_changes false\nmax_queued_messages 0\n"
                                        "max_queued_bytes 0\nconnection_messages false\n");
}

// The [Connection_MQTT] section every benchmark uses.
inline std::string mqtt_section(int port, const std::string& root, const std::string& client, int qos = 0) {
  return "[Connection_MQTT]\nClass = mqtt.mqtt_conn.MqttConnection\nName = mqtt\nHost = 127.0.0.1\nPort = " +
         std::to_string(port) + "\nRootTopic = " + root + "\nClient = " + client + "\nQoS = " + std::to_string(qos) +
         "\n\n[Logging]\nLevel = INFO\n\n";
}

inline std::string heartbeat_section(int index, double poll) {
  std::string n = std::to_string(index);
  char poll_text[32];
  std::snprintf(poll_text, sizeof poll_text, "%g", poll);
  return "[Sensor_Hb" + n + "]\nClass = heartbeat.heartbeat.Heartbeat\nConnection = mqtt\nPoll = " + poll_text +
         "\nNum-Dest = hb" + n + "/num\nStr-Dest = hb" + n + "/str\n\n";
}

// The build tree's plugins, the test-only modules and the benchmark module.
inline std::vector<std::string> daemon_env() {
  return {"SENSOR_REPORTER_PLUGIN_PATH=" + test::plugin_path() + ":" + test::test_plugin_dir() + ":" +
          SR_BENCH_PLUGIN_DIR};
}

inline std::unique_ptr<test::Process> start_daemon(const std::string& config_path) {
  return std::make_unique<test::Process>(std::vector<std::string>{test::binary(), config_path}, daemon_env());
}

// Thrown by fail() so that every daemon and broker on the stack is stopped
// by its destructor on the way out: std::exit left a failed 1,000-reporter
// fleet run's daemons and broker running.
struct BenchFailure {};

[[noreturn]] inline void fail(const std::string& why, const test::Process* daemon = nullptr) {
  std::fprintf(stderr, "benchmark failed: %s\n", why.c_str());
  if (daemon) std::fprintf(stderr, "--- daemon output ---\n%s\n", daemon->output().c_str());
  throw BenchFailure{};
}

// Each benchmark's main: its body, or exit status 1 after a fail() (from
// the main thread; the body's objects are destroyed first).
inline int run_bench(int (*body)(int, char**), int argc, char** argv) {
  try {
    return body(argc, argv);
  } catch (const BenchFailure&) {
    return 1;
  }
}

// Stops the daemon (SIGTERM); anything but exit code 0 within 10 s fails
// the benchmark: a figure from a daemon that did not stop cleanly is void.
inline void stop_daemon(test::Process& daemon) {
  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(10s);
  if (code != 0) fail("exit code " + (code ? std::to_string(*code) : std::string("none within 10 s")), &daemon);
}

// A plain libmosquitto publisher, driven the way the daemon drives its
// client (external loop, TCP_NODELAY): the yardstick for throughput.
class PlainPublisher {
 public:
  PlainPublisher(int port, int qos) : qos_(qos) {
    mosq_ = mosquitto_new(nullptr, true, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int) { static_cast<PlainPublisher*>(self)->acked_++; });
    if (mosquitto_connect(mosq_, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) fail("plain publisher cannot connect");
    for (int i = 0; i < 100; ++i) mosquitto_loop(mosq_, 10, 1);  // CONNACK
  }
  ~PlainPublisher() {
    mosquitto_disconnect(mosq_);
    mosquitto_destroy(mosq_);
  }
  void flood(long count, const char* topic = "fl/plain") {
    acked_ = 0;
    for (long i = 0; i < count; ++i) {
      std::string payload = std::to_string(i);
      mosquitto_publish(mosq_, nullptr, topic, static_cast<int>(payload.size()), payload.data(), qos_, false);
    }
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline && (mosquitto_want_write(mosq_) || (qos_ > 0 && acked_ < count)))
      mosquitto_loop(mosq_, 10, 1);
  }

 private:
  mosquitto* mosq_;
  int qos_;
  long acked_ = 0;
};


// Counts arrivals on `filter` whose topic starts with one of `prefixes`,
// without storing them (a recording client would be the bottleneck), and
// when the first and the last came.
class ArrivalCounter {
 public:
  ArrivalCounter(int port, int qos, const std::string& filter, std::vector<std::string> prefixes)
      : prefixes_(std::move(prefixes)) {
    mosq_ = mosquitto_new(nullptr, true, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
      static_cast<ArrivalCounter*>(self)->connected_ = rc == 0;
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<ArrivalCounter*>(self)->subscribed_ = true;
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto* c = static_cast<ArrivalCounter*>(self);
      const std::string_view topic(m->topic);
      if (std::none_of(c->prefixes_.begin(), c->prefixes_.end(),
                       [&](const std::string& prefix) { return topic.starts_with(prefix); }))
        return;
      auto now = Clock::now();
      std::lock_guard lock(c->mutex_);
      if (c->count_++ == 0) c->first_ = now;
      c->last_ = now;
    });
    mosquitto_connect(mosq_, "127.0.0.1", port, 60);
    mosquitto_loop_start(mosq_);
    while (!connected_) std::this_thread::sleep_for(1ms);
    mosquitto_subscribe(mosq_, nullptr, filter.c_str(), qos);
    while (!subscribed_) std::this_thread::sleep_for(1ms);
  }
  ~ArrivalCounter() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  void reset() {
    std::lock_guard lock(mutex_);
    count_ = 0;
  }
  // Waits for `expected` arrivals (or `quiet` without progress); returns the
  // rate in messages per second and the number that arrived.
  std::pair<double, long> wait(long expected, std::chrono::milliseconds quiet = 2s) {
    long seen = -1;
    auto progress = Clock::now();
    for (;;) {
      std::this_thread::sleep_for(5ms);
      std::lock_guard lock(mutex_);
      if (count_ >= expected || Clock::now() - progress > quiet) {
        double seconds = std::chrono::duration<double>(last_ - first_).count();
        return {seconds > 0 ? static_cast<double>(count_ - 1) / seconds : 0, count_};
      }
      if (count_ != seen) {
        seen = count_;
        progress = Clock::now();
      }
    }
  }
  Clock::time_point first() {
    std::lock_guard lock(mutex_);
    return first_;
  }
  Clock::time_point last() {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  std::vector<std::string> prefixes_;
  mosquitto* mosq_;
  std::atomic<bool> connected_{false}, subscribed_{false};
  std::mutex mutex_;
  long count_ = 0;
  Clock::time_point first_, last_;
};

}  // namespace sr::bench
