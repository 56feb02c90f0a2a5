// The durable offline queue (QueueFile, docs/mqtt.md) against issue 15's
// budgets: ≥ 2,000 readings/s into the file with ≤ 1 fsync per 100 ms, and a
// replay of 10,000 queued readings after the reconnect in ≤ 1 s.
//
// 1. Into the file, the daemon: the broker is down; a RateSensor (module
//    sr_bench) publishes RATE readings/s (default 2000) for SECONDS (default
//    5) to a connection with QueueFile and QueueSync = 0.1. Then SIGKILL.
//    Figures: readings found in the file / readings due (RATE x elapsed),
//    fdatasyncs per second (the connection logs one DEBUG line per sync),
//    the daemon's CPU in % of one core.
//    Floor, this file system: the same records appended by a plain loop of
//    pwrite + fdatasync every 100 ms, as fast as it goes (what the disk
//    allows), and the cost of one fdatasync here (median).
// 2. The file itself, in process: QueueJournal::append as fast as it goes
//    with a sync every 100 ms, as a ratio to the plain pwrite loop.
// 3. Replay: a QueueFile holding COUNT readings (default 10000; written by
//    QueueJournal, as a killed daemon leaves it), the broker up, a counter
//    subscribed; the daemon starts: time from its ONLINE (sent on the
//    CONNACK, right before the queue) to the last reading received (the
//    order is the integration test's to check). Floor: a plain libmosquitto
//    publisher sending COUNT messages, first to last received.
// Usage: bench_queue [RATE] [SECONDS] [COUNT]
#include "bench_common.h"

#include "mqtt/queue_journal.hpp"
#include "support/reporter.h"

#include <fcntl.h>
#include <sys/stat.h>

using namespace sr::bench;
namespace t = sr::test;
using sr::mqtt::QueuedMessage;
using sr::mqtt::QueueJournal;

namespace {

constexpr auto kSyncEvery = 100ms;

QueuedMessage reading(long i) { return QueuedMessage{"q/r" + std::to_string(i % 10), std::to_string(i), 0, false}; }

// Appends records of the same sizes as QueueJournal's with plain pwrite,
// fdatasync every 100 ms, for `duration`. Returns appends per second; the
// fdatasync durations go to `sync_ms`.
double plain_append_rate(const std::string& path, std::chrono::milliseconds duration, std::vector<double>& sync_ms) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create " + path);
  off_t at = 0;
  long n = 0;
  const auto start = Clock::now();
  auto last_sync = start;
  for (;; ++n) {
    const QueuedMessage m = reading(n);
    // The record's size: 8 bytes of frame, 7 of fields, topic, payload.
    const std::string record = std::string(15, '\0') + m.topic + m.payload;
    if (pwrite(fd, record.data(), record.size(), at) != static_cast<ssize_t>(record.size())) fail("pwrite");
    at += static_cast<off_t>(record.size());
    const auto now = Clock::now();
    if (now - last_sync >= kSyncEvery) {
      fdatasync(fd);
      sync_ms.push_back(ms_between(now, Clock::now()));
      last_sync = Clock::now();
    }
    if (now - start >= duration) break;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  return static_cast<double>(n) / seconds;
}

// The same with QueueJournal (append, sync every 100 ms). Returns appends per second.
double journal_append_rate(const std::string& path, std::chrono::milliseconds duration, long& syncs) {
  unlink(path.c_str());
  QueueJournal::Contents contents;
  QueueJournal journal = QueueJournal::open(path, contents);
  long n = 0;
  const auto start = Clock::now();
  auto last_sync = start;
  for (;; ++n) {
    if (!journal.append(reading(n))) fail("append: " + journal.error());
    const auto now = Clock::now();
    if (now - last_sync >= kSyncEvery) {
      journal.sync();
      last_sync = Clock::now();
    }
    if (now - start >= duration) break;
  }
  syncs = static_cast<long>(journal.syncs());
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

static int bench_main(int argc, char** argv) {
  const int rate = arg_or(argc, argv, 1, 2000);
  const int seconds = arg_or(argc, argv, 2, 5);
  const long count = arg_or(argc, argv, 3, 10000);
  t::TempDir dir;
  const std::string queue_file = dir.file("bench.queue");

  // 1. The daemon, the broker down.
  t::Broker down("", "", false);
  std::string items;
  for (int i = 0; i < 10; ++i) items += " r" + std::to_string(i);
  // bench_common's mqtt_section has no room for the queue keys and the section's DEBUG level.
  std::string ini = "[Connection_MQTT]\nClass = mqtt.mqtt_conn.MqttConnection\nName = mqtt\nHost = 127.0.0.1\nPort = " +
                    std::to_string(down.port()) + "\nRootTopic = q\nClient = bench-queue\nLevel = DEBUG\n" +
                    "OfflineQueue = 1000000\nQueueFile = " + queue_file + "\nQueueSync = 0.1\n\n" +
                    "[Logging]\nLevel = INFO\n\n[Sensor_Rate]\nClass = sr_bench.bench.RateSensor\nConnection = mqtt\n" +
                    "Items =" + items + "\nRate = " + std::to_string(rate) + "\n";
  auto daemon = start_daemon(dir.write("queue.ini", ini));
  if (!daemon->wait_for_output("running 2 sections", 10s)) fail("the daemon did not start", daemon.get());
  const auto start = Clock::now();
  const CpuTimes cpu_before = cpu_times(daemon->pid());
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the measured interval
  const CpuTimes cpu_after = cpu_times(daemon->pid());
  daemon->signal(SIGKILL);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  daemon->wait_exit(5s);
  const long syncs = static_cast<long>(t::occurrences(daemon->output(), "QueueFile synced"));
  QueueJournal::Contents kept;
  { QueueJournal journal = QueueJournal::open(queue_file, kept); }
  const double due = rate * elapsed;
  const double into_file = static_cast<double>(kept.messages.size());
  const double cpu_percent = 100 * (cpu_after.self - cpu_before.self) / elapsed;

  // Floor and the file alone.
  std::vector<double> sync_ms;
  const double plain_rate = plain_append_rate(dir.file("plain.bin"), 2s, sync_ms);
  long journal_syncs = 0;
  const double journal_rate = journal_append_rate(dir.file("journal.queue"), 2s, journal_syncs);

  // 3. Replay: COUNT readings in the file, the broker up.
  unlink(queue_file.c_str());
  {
    QueueJournal::Contents none;
    QueueJournal journal = QueueJournal::open(queue_file, none);
    for (long i = 0; i < count; ++i)
      if (!journal.append(QueuedMessage{"q/replay", std::to_string(i), 0, false})) fail("cannot fill the queue file");
    journal.sync();
  }
  auto broker = start_broker();
  double replay_ms = 0;
  long replayed = 0;
  {
    // ONLINE goes out on the CONNACK right before the queue: the replay runs
    // from its arrival to the last reading's.
    ArrivalCounter counter(broker->port(), 0, "q/#", {"q/status", "q/replay"});
    std::string replay_ini = ini;
    replay_ini.replace(replay_ini.find("Port = " + std::to_string(down.port())),
                       7 + std::to_string(down.port()).size(), "Port = " + std::to_string(broker->port()));
    replay_ini = replay_ini.substr(0, replay_ini.find("[Sensor_Rate]"));
    replay_ini += "[Sensor_Idle]\nClass = sr_test.test.TestSensor\nConnection = mqtt\nPoll = 3600\nDestination = "
                  "idle\nValues = 1\n";
    auto replayer = start_daemon(dir.write("replay.ini", replay_ini));
    auto [replay_rate, got] = counter.wait(count + 1, 5s);
    replayed = got - 1;
    replay_ms = 1000.0 * static_cast<double>(got - 1) / replay_rate;
    stop_daemon(*replayer);
  }
  double plain_replay_ms = 0;
  {
    ArrivalCounter counter(broker->port(), 0, "q/#", {"q/plain"});
    PlainPublisher plain(broker->port(), 0);
    plain.flood(count, "q/plain");
    auto [plain_rate_received, got] = counter.wait(count, 5s);
    plain_replay_ms = 1000.0 * static_cast<double>(got - 1) / plain_rate_received;
  }

  std::printf(
      "queue file: daemon at %d readings/s for %.1f s, broker down: %.3f of them in the file, %.1f fdatasyncs/s "
      "(QueueSync 0.1), %.2f %% of a core; floor (this file system, plain pwrite + fdatasync per 100 ms): %.0f "
      "appends/s, fdatasync median %.2f ms; QueueJournal alone: %.0f appends/s (%.2f of the floor), %.1f syncs/s; "
      "replay of %ld: %ld received in %.0f ms after ONLINE (floor, a plain publisher, first to last: %.0f ms)\n",
      rate, elapsed, into_file / due, static_cast<double>(syncs) / elapsed, cpu_percent, plain_rate, median(sync_ms),
      journal_rate, journal_rate / plain_rate, static_cast<double>(journal_syncs) / 2.0, count, replayed, replay_ms,
      plain_replay_ms);
  return 0;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
