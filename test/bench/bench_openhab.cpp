// openHAB: the connection openhab_rest.rest_conn.OpenhabREST against the
// openHAB double (test/openhab/openhab_double.py, mode oh4, on loopback).
// Four figures, one line each, every one next to a floor measured in the
// same run. The double records each request with `t` = time.monotonic() when
// its request line arrived: CLOCK_MONOTONIC, the clock steady_clock and
// bench_stamp read, so its records and our stamps share one time line.
//
// 1. reading -> PUT received: an ExecSensor (Poll 0.1 s) runs
//    `bench_stamp --print`, which prints its CLOCK_MONOTONIC nanoseconds;
//    latency = the PUT's `t` minus that stamp, over READINGS readings
//    (default 100; the first is dropped). Floor: this program's own libcurl
//    PUT on one keep-alive handle, its body its own stamp, interleaved with
//    the sensor's polls 50 ms off them: the double's own cost of taking a PUT.
// 2. command -> ExecActuator effect, openHAB and MQTT alternating in one run,
//    COMMANDS each (default 100), each after the previous one finished.
//    openHAB: POST /rest/items/BenchCmd on a keep-alive handle at t0 -> the
//    double's event stream -> the daemon -> an ExecActuator running
//    bench_stamp; latency = stamp - t0. MQTT: as bench_actuator (private
//    mosquitto, publish at t0). Floors: the POST's own round trip, the
//    command event's arrival at a plain libcurl stream client of this program
//    (what the daemon could do at best), the MQTT round trip.
// 3. 1000 readings/s to 20 items round-robin (RateSensor, module sr_bench):
//    the daemon's CPU (schedstat, all threads) over SECONDS (default 10)
//    after 2 s of warm-up, the PUTs the double recorded in that window, the
//    longest time without one (window edges included: a stalled daemon shows
//    here), and readings - PUTs (coalesced: one update per item is in flight
//    and only the latest pending one is kept). Floor: this program's main thread
//    PUTting at the same rate to the same items on one keep-alive libcurl
//    handle, its CPU from CLOCK_THREAD_CPUTIME_ID. The double's own CPU in
//    both windows shows whether the double was the limit.
// 4. idle memory the module adds: daemon A = LocalConnection + Heartbeat
//    (Poll 10), daemon B = OpenhabREST + the same Heartbeat, each running
//    alone and measured SETTLE s (default 3) after it is up: private
//    (Private_Clean + Private_Dirty, smaps_rollup), its dirty part and VmRSS,
//    B - A, and where B - A goes by mapping (/proc/PID/smaps). A clean page
//    of a library that this program (libcurl and its chain, libstdc++) or
//    the Python double (OpenSSL) also maps counts as shared, not private, so
//    private understates what B costs where nothing else maps libcurl; the
//    dirty part (heap, relocated library data) is B's own whatever else runs,
//    and VmRSS counts every page. Measured first, before this program has
//    initialised libcurl, so that it shares as few pages as possible.
// Usage: bench_openhab [READINGS] [COMMANDS] [SECONDS] [SETTLE]
#include "bench_common.h"
#include "support/openhab_double.h"

#include <curl/curl.h>
#include <time.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

using namespace sr::bench;
namespace t = sr::test;

namespace {

constexpr double kRate = 1000;  // readings/s of figure 3
constexpr int kRateItems = 20;

// A failure ends the run through main's catch, so that every process this
// program started is stopped by its owner's destructor (std::exit would not
// unwind).
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void bail(const std::string& why, const t::Process* daemon = nullptr) {
  throw Failure(daemon ? why + "\n--- daemon output ---\n" + daemon->output() : why);
}
void stop(t::Process& daemon) {
  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(10s);
  if (code != 0)
    bail("exit code " + (code ? std::to_string(*code) : std::string("none within 10 s")), &daemon);
}

Clock::time_point from_ns(long long ns) { return Clock::time_point(std::chrono::nanoseconds(ns)); }
Clock::time_point from_s(double s) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
}
long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// "ARG NS" lines of a bench_stamp file, by ARG.
std::map<std::string, long long> stamps(const std::string& path) {
  std::map<std::string, long long> out;
  std::istringstream in(t::read_file(path));
  std::string arg;
  long long ns;
  while (in >> arg >> ns) out[arg] = ns;
  return out;
}

// The double's process (a child of this one, found by its port) for its CPU.
pid_t double_pid(int port) {
  const std::string needle = "--port " + std::to_string(port) + " ";
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = t::read_file(entry.path() / "stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string state;
    pid_t ppid = 0;
    if (!(fields >> state >> ppid) || ppid != getpid()) continue;
    std::string cmdline = t::read_file(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find("openhab_double.py") != std::string::npos && cmdline.find(needle) != std::string::npos)
      return static_cast<pid_t>(std::stol(name));
  }
  bail("cannot find the double's process");
}

// A plain libcurl client: one easy handle, so one keep-alive connection.
class PlainHttp {
 public:
  PlainHttp() : easy_(curl_easy_init()) {
    if (!easy_) bail("curl_easy_init failed");
    headers_ = curl_slist_append(nullptr, "Content-Type: text/plain; charset=utf-8");
    headers_ = curl_slist_append(headers_, "Expect:");
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(
        easy_, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) { return size * n; });
  }
  ~PlainHttp() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(easy_);
  }
  PlainHttp(const PlainHttp&) = delete;
  PlainHttp& operator=(const PlainHttp&) = delete;
  // PUT or POST of a text/plain body; the status (0: no answer).
  long send(const char* method, const std::string& url, const std::string& body) {
    curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    long status = 0;
    if (curl_easy_perform(easy_) == CURLE_OK) curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }

 private:
  CURL* easy_;
  curl_slist* headers_ = nullptr;
};

// A plain libcurl event-stream client on its own thread: when each command
// event (by its value) arrived.
class StreamWatcher {
 public:
  explicit StreamWatcher(std::string url) : thread_([this, url = std::move(url)] { run(url); }) {}
  ~StreamWatcher() {
    stop_ = true;  // seen by the progress callback within about a second
    thread_.join();
  }
  StreamWatcher(const StreamWatcher&) = delete;
  StreamWatcher& operator=(const StreamWatcher&) = delete;

  std::optional<Clock::time_point> arrival(const std::string& value, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return seen_.count(value) > 0; })) return std::nullopt;
    return seen_[value];
  }

 private:
  void run(const std::string& url) {
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(
        easy, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* self) {
          static_cast<StreamWatcher*>(self)->on_data(Clock::now(), std::string_view(data, size * n));
          return size * n;
        });
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(
        easy, CURLOPT_XFERINFOFUNCTION, +[](void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
          return static_cast<StreamWatcher*>(self)->stop_.load() ? 1 : 0;
        });
    curl_easy_perform(easy);
    curl_easy_cleanup(easy);
  }
  // Each event's data holds the payload as escaped JSON: ...\"value\":\"o12\"}...
  void on_data(Clock::time_point at, std::string_view bytes) {
    std::lock_guard lock(mutex_);
    buffer_.append(bytes);
    static constexpr std::string_view key = R"(\"value\":\")";
    for (size_t end; (end = buffer_.find("\n\n")) != std::string::npos; buffer_.erase(0, end + 2)) {
      size_t from = buffer_.find(key);
      if (from == std::string::npos || from > end) continue;
      from += key.size();
      size_t to = buffer_.find('\\', from);
      if (to != std::string::npos && to < end) seen_.emplace(buffer_.substr(from, to - from), at);
    }
    changed_.notify_all();
  }

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string buffer_;
  std::map<std::string, Clock::time_point> seen_;
  std::thread thread_;  // last: starts once everything above exists
};

std::string openhab_section(const t::OpenhabDouble& openhab) {
  return "[Connection_OH]\nClass = openhab_rest.rest_conn.OpenhabREST\nName = openhab\nURL = " +
         openhab.url() + "\nRefreshItem = Refresh\n\n[Logging]\nLevel = INFO\n\n";
}

std::vector<std::string> items(std::initializer_list<const char*> specs) {
  std::vector<std::string> args;
  for (const char* spec : specs) args.insert(args.end(), {"--item", spec});
  return args;
}

// ---------------------------------------------------------------------------
// 4. idle memory

struct Idle {
  Memory memory;
  std::map<std::string, Mapping> maps;
};
Idle idle_daemon(const t::TempDir& dir, const std::string& name, const std::string& config,
                 const std::string& up, int settle_s) {
  auto daemon = start_daemon(dir.write(name, config));
  if (!daemon->wait_for_output(up, 10s)) bail(name + ": no '" + up + "'", daemon.get());
  std::this_thread::sleep_for(std::chrono::seconds(settle_s));
  Idle idle{memory(daemon->pid()), smaps_by_name(daemon->pid())};
  stop(*daemon);
  return idle;
}

std::string measure_memory(int settle_s) {
  t::TempDir dir;
  auto heartbeat = [](const std::string& connection) {
    return "[Sensor_Hb]\nClass = heartbeat.heartbeat.Heartbeat\nConnection = " + connection +
           "\nPoll = 10\nNum-Dest = HbNum\nStr-Dest = HbStr\n\n";
  };
  Idle a = idle_daemon(dir, "local.ini",
                       "[Connection_Local]\nClass = local.local_conn.LocalConnection\nName = local\n\n"
                       "[Logging]\nLevel = INFO\n\n" +
                           heartbeat("local"),
                       "running 2 sections", settle_s);
  t::OpenhabDouble openhab("oh4", items({"Refresh:Switch", "HbNum:Number", "HbStr:String"}));
  // Up = its event stream is open (from its log: no request of ours).
  Idle b = idle_daemon(dir, "openhab.ini", openhab_section(openhab) + heartbeat("openhab"),
                       "connected to openHAB", settle_s);

  const MappingDelta delta = mapping_delta(a.maps, b.maps);
  char line[1024];
  std::snprintf(
      line, sizeof line,
      "openhab idle memory (each alone, %d s after start, + Heartbeat Poll 10): private LocalConnection "
      "%.2f MB -> OpenhabREST %.2f MB = %+.2f MB (private dirty %+.2f MB), VmRSS %.2f -> %.2f MB = %+.2f MB; "
      "B - A by mapping, dirty/private/RSS kB: %s; %ld libraries only B maps: RSS %ld kB, private %ld kB, "
      "dirty %ld kB (floor: daemon A itself; budget: module adds <= 0.3 MB private)",
      settle_s, a.memory.private_mb, b.memory.private_mb, b.memory.private_mb - a.memory.private_mb,
      static_cast<double>(delta.dirty_kb) / 1024, a.memory.rss_mb, b.memory.rss_mb,
      b.memory.rss_mb - a.memory.rss_mb, delta.top.c_str(), delta.only_b_count, delta.only_b.rss_kb,
      delta.only_b.private_kb, delta.only_b.dirty_kb);
  return line;
}

// ---------------------------------------------------------------------------
// 1. reading -> PUT

std::string measure_reading(int readings) {
  t::OpenhabDouble openhab("oh4", items({"Refresh:Switch", "Stamp:String", "Floor:String"}));
  t::TempDir dir;
  auto daemon = start_daemon(dir.write(
      "reading.ini", openhab_section(openhab) + "[Sensor_Stamp]\nClass = exec.exec_sensor.ExecSensor\n"
                                                "Connection = openhab\nScript = " SR_BENCH_STAMP
                                                " --print\nDestination = Stamp\nPoll = 0.1\n\n"));
  if (!openhab.wait_streams(1, 1)) bail("no event stream", daemon.get());
  const std::size_t since = openhab.next_seq();
  auto first = openhab.wait_requests("PUT", "/rest/items/Stamp/state", 1, since, 10s);
  if (first.empty()) bail("no reading arrived", daemon.get());
  PlainHttp http;
  const std::string floor_url = openhab.url() + "/rest/items/Floor/state";
  if (http.send("PUT", floor_url, std::to_string(now_ns())) != 202) bail("the floor PUT failed");  // connects
  // Half-way between two polls (the sensor keeps its phase).
  const auto phase = from_s(first[0]["t"].get<double>()) + 150ms;
  for (int k = 0; k < readings; ++k) {
    std::this_thread::sleep_until(phase + k * 100ms);
    http.send("PUT", floor_url, std::to_string(now_ns()));
  }
  auto puts =
      openhab.wait_requests("PUT", "/rest/items/Stamp/state", static_cast<size_t>(readings) + 1, since, 10s);
  auto floors =
      openhab.wait_requests("PUT", "/rest/items/Floor/state", static_cast<size_t>(readings) + 1, since, 10s);
  stop(*daemon);
  std::vector<double> latency, floor;
  for (size_t i = 1; i < puts.size() && i <= static_cast<size_t>(readings); ++i)
    latency.push_back(ms_between(from_ns(std::stoll(puts[i]["body"].get<std::string>())),
                                 from_s(puts[i]["t"].get<double>())));
  for (size_t i = 1; i < floors.size(); ++i)
    floor.push_back(ms_between(from_ns(std::stoll(floors[i]["body"].get<std::string>())),
                               from_s(floors[i]["t"].get<double>())));
  char line[512];
  std::snprintf(
      line, sizeof line,
      "openhab reading -> PUT received (%zu ExecSensor readings, Poll 0.1 s): p50 %.2f ms, p99 %.2f ms "
      "(floor: plain libcurl keep-alive PUT, stamp -> received, p50 %.2f ms, p99 %.2f ms; budget p50 "
      "<= 2 ms)",
      latency.size(), percentile(latency, 50), percentile(latency, 99), percentile(floor, 50),
      percentile(floor, 99));
  return line;
}

// ---------------------------------------------------------------------------
// 2. command -> ExecActuator effect, openHAB and MQTT

std::string measure_command(int commands) {
  t::OpenhabDouble openhab("oh4", items({"Refresh:Switch", "BenchCmd:String", "BenchResult:String"}));
  auto broker = start_broker();
  t::TempDir dir;
  const std::string oh_file = dir.file("openhab.txt"), mqtt_file = dir.file("mqtt.txt");
  auto actuator = [](const std::string& connection, const std::string& file, const std::string& source,
                     const std::string& result) {
    return "[Actuator_Stamp]\nClass = exec.exec_actuator.ExecActuator\nConnection = " + connection +
           "\nCommand = " SR_BENCH_STAMP " " + file + "\nCommandSrc = " + source +
           "\nResultsDest = " + result + "\nTimeout = 5\n\n";
  };
  StreamWatcher watcher(openhab.url() + "/rest/events?topics=openhab/items/BenchCmd/command");
  t::MqttClient client(broker->port());
  if (!client.wait_connected(5s) || !client.subscribe("act/#", 0)) bail("MQTT client cannot subscribe");
  auto oh_daemon = start_daemon(dir.write(
      "openhab.ini", openhab_section(openhab) + actuator("openhab", oh_file, "BenchCmd", "BenchResult")));
  auto mqtt_daemon = start_daemon(dir.write("mqtt.ini", mqtt_section(broker->port(), "act", "bench-openhab") +
                                                            actuator("mqtt", mqtt_file, "cmd", "result")));
  if (!openhab.wait_streams(2, 2)) bail("no event streams (daemon and watcher)", oh_daemon.get());
  if (!client.wait_for_message("act/status", "ONLINE", 10s)) bail("no ONLINE", mqtt_daemon.get());
  std::this_thread::sleep_for(300ms);

  PlainHttp http;
  const std::string command_url = openhab.url() + "/rest/items/BenchCmd";
  std::vector<double> oh_effect, post_rtt, event_at, oh_own, mqtt_effect, mqtt_rtt, mqtt_own;
  for (int i = 0; i < commands + 1; ++i) {  // the first of each warms up
    const std::string oh_seq = "o" + std::to_string(i), mqtt_seq = "m" + std::to_string(i);
    const std::size_t since = openhab.next_seq();
    auto t0 = Clock::now();
    if (http.send("POST", command_url, oh_seq) != 200) bail("POST " + oh_seq + " failed");
    const auto posted = Clock::now();
    if (openhab.wait_requests("PUT", "/rest/items/BenchResult/state", 1, since, 5s).empty())
      bail("command " + oh_seq + " had no result", oh_daemon.get());
    auto s = stamps(oh_file);
    auto event = watcher.arrival(oh_seq, 2s);
    if (!s.count(oh_seq) || !event) bail("command " + oh_seq + " left no stamp or event", oh_daemon.get());
    if (i > 0) {
      oh_effect.push_back(ms_between(t0, from_ns(s[oh_seq])));
      post_rtt.push_back(ms_between(t0, posted));
      event_at.push_back(ms_between(t0, *event));
      oh_own.push_back(oh_effect.back() - event_at.back());
    }
    std::this_thread::sleep_for(20ms);

    client.clear();
    t0 = Clock::now();
    client.publish("act/cmd", mqtt_seq, 0);
    if (!client.wait_for(
            [](const std::vector<t::Received>& all) {
              return std::any_of(all.begin(), all.end(),
                                 [](const t::Received& m) { return m.topic == "act/result"; });
            },
            5s))
      bail("command " + mqtt_seq + " had no result", mqtt_daemon.get());
    s = stamps(mqtt_file);
    if (!s.count(mqtt_seq)) bail("command " + mqtt_seq + " left no stamp", mqtt_daemon.get());
    if (i > 0) {
      mqtt_effect.push_back(ms_between(t0, from_ns(s[mqtt_seq])));
      for (const auto& m : client.messages())
        if (m.topic == "act/cmd" && m.payload == mqtt_seq) {
          mqtt_rtt.push_back(ms_between(t0, m.at));
          mqtt_own.push_back(mqtt_effect.back() - mqtt_rtt.back());
        }
    }
    std::this_thread::sleep_for(20ms);
  }
  stop(*oh_daemon);
  stop(*mqtt_daemon);
  openhab.fault({{"close_streams", true}});  // lets the watcher's thread end at once
  char line[768];
  std::snprintf(
      line, sizeof line,
      "openhab command -> ExecActuator -> timestamp (%d commands per path, alternating): openHAB p50 "
      "%.2f ms, p99 %.2f ms; MQTT p50 %.2f ms, p99 %.2f ms; openHAB - MQTT p50 %+.2f ms, p99 %+.2f ms; "
      "after the command reached a plain client: openHAB p50 %.2f ms, MQTT p50 %.2f ms "
      "(floors: POST round trip to the double p50 %.2f ms, its event at a plain libcurl stream client "
      "p50 %.2f ms, MQTT round trip p50 %.2f ms; budget: openHAB within 1 ms of MQTT)",
      commands, percentile(oh_effect, 50), percentile(oh_effect, 99), percentile(mqtt_effect, 50),
      percentile(mqtt_effect, 99), percentile(oh_effect, 50) - percentile(mqtt_effect, 50),
      percentile(oh_effect, 99) - percentile(mqtt_effect, 99), percentile(oh_own, 50),
      percentile(mqtt_own, 50), percentile(post_rtt, 50), percentile(event_at, 50), percentile(mqtt_rtt, 50));
  return line;
}

// ---------------------------------------------------------------------------
// 3. 1000 readings/s

struct Window {
  long puts = 0, not_accepted = 0;
  long long last_reading = -1;  // the highest counter value PUT
  double longest_gap_ms = 0;    // between two PUTs arriving (a stall shows here)
};
// The PUTs with seq in [from, to) of the records, made between start and end
// (and the highest value PUT before `from`).
std::pair<Window, long long> window_of(const nlohmann::json& records, std::size_t from, std::size_t to,
                                       Clock::time_point start, Clock::time_point end) {
  Window w;
  long long before = -1;
  // The window's edges count: a stall that lasts until its end is a gap too.
  std::vector<double> arrivals{std::chrono::duration<double>(start.time_since_epoch()).count(),
                               std::chrono::duration<double>(end.time_since_epoch()).count()};
  for (const auto& r : records) {
    if (r["method"] != "PUT") continue;
    const auto seq = r["seq"].get<std::size_t>();
    const long long value = std::atoll(r["body"].get<std::string>().c_str());
    if (seq < from) {
      before = std::max(before, value);
    } else if (seq < to) {
      ++w.puts;
      if (r["status"].get<long>() / 100 != 2) ++w.not_accepted;
      arrivals.push_back(r["t"].get<double>());
      w.last_reading = std::max(w.last_reading, value);
    }
  }
  std::sort(arrivals.begin(), arrivals.end());
  for (size_t i = 1; i < arrivals.size(); ++i)
    w.longest_gap_ms = std::max(w.longest_gap_ms, 1e3 * (arrivals[i] - arrivals[i - 1]));
  return {w, before};
}

std::string measure_rate(int seconds) {
  std::vector<std::string> args = {"--item", "Refresh:Switch"};
  std::string item_list;
  for (int i = 0; i < kRateItems; ++i) {
    args.insert(args.end(), {"--item", "R" + std::to_string(i) + ":Number"});
    item_list += " R" + std::to_string(i);
  }
  t::OpenhabDouble openhab("oh4", args);
  const pid_t double_process = double_pid(openhab.port());
  t::TempDir dir;
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, "%g", kRate);
  auto daemon = start_daemon(dir.write("rate.ini", openhab_section(openhab) +
                                                       "[Sensor_Rate]\nClass = sr_bench.bench.RateSensor\n"
                                                       "Connection = openhab\nItems =" +
                                                       item_list + "\nRate = " + rate_text + "\n\n"));
  if (!openhab.wait_streams(1, 1)) bail("no event stream", daemon.get());
  std::this_thread::sleep_for(2s);  // warm-up

  std::size_t seq0 = openhab.next_seq();
  double cpu0 = cpu_times(daemon->pid()).self, double_cpu0 = cpu_times(double_process).self;
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  double cpu1 = cpu_times(daemon->pid()).self, double_cpu1 = cpu_times(double_process).self;
  auto t1 = Clock::now();
  std::size_t seq1 = openhab.next_seq();
  auto [daemon_window, before] = window_of(openhab.requests(seq0 > 400 ? seq0 - 400 : 1), seq0, seq1, t0, t1);
  stop(*daemon);
  const double span = std::chrono::duration<double>(t1 - t0).count();
  const long long readings = daemon_window.last_reading - before;

  // Floor: the same rate from this thread, one keep-alive handle.
  PlainHttp http;
  std::vector<std::string> urls;
  for (int i = 0; i < kRateItems; ++i)
    urls.push_back(openhab.url() + "/rest/items/R" + std::to_string(i) + "/state");
  http.send("PUT", urls[0], "0");  // connects
  const std::size_t fseq0 = openhab.next_seq();
  const double fcpu0 = thread_cpu_s(), fdouble_cpu0 = cpu_times(double_process).self;
  const auto f0 = Clock::now();
  long long sent = 0;
  for (auto tick = f0 + 1ms; tick < f0 + std::chrono::seconds(seconds); tick += 1ms) {
    std::this_thread::sleep_until(tick);
    const auto due = static_cast<long long>(std::chrono::duration<double>(Clock::now() - f0).count() * kRate);
    for (; sent < due; ++sent)
      http.send("PUT", urls[static_cast<size_t>(sent) % urls.size()], std::to_string(sent));
  }
  const double fcpu1 = thread_cpu_s(), fdouble_cpu1 = cpu_times(double_process).self;
  const auto f1 = Clock::now();
  const std::size_t fseq1 = openhab.next_seq();
  const Window floor_window = window_of(openhab.requests(fseq0), fseq0, fseq1, f0, f1).first;
  const double fspan = std::chrono::duration<double>(f1 - f0).count();

  char line[768];
  std::snprintf(
      line, sizeof line,
      "openhab %g readings/s to %d items (%d s): daemon CPU %.2f %% of one core (%.1f us per PUT), "
      "double answered %.0f PUTs/s (%ld not 2xx, longest gap %.0f ms), readings %lld, coalesced %lld, "
      "double CPU %.0f %% (floor: plain libcurl keep-alive client at the same rate: CPU %.2f %% (%.1f us "
      "per PUT), %.0f PUTs/s (longest gap %.0f ms), double CPU %.0f %%; budget <= 5 %%)",
      kRate, kRateItems, seconds, 100 * (cpu1 - cpu0) / span,
      1e6 * (cpu1 - cpu0) / static_cast<double>(std::max(1L, daemon_window.puts)),
      static_cast<double>(daemon_window.puts) / span, daemon_window.not_accepted,
      daemon_window.longest_gap_ms, readings, readings - daemon_window.puts,
      100 * (double_cpu1 - double_cpu0) / span, 100 * (fcpu1 - fcpu0) / fspan,
      1e6 * (fcpu1 - fcpu0) / static_cast<double>(std::max(1L, floor_window.puts)),
      static_cast<double>(floor_window.puts) / fspan, floor_window.longest_gap_ms,
      100 * (fdouble_cpu1 - fdouble_cpu0) / fspan);
  return line;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  const int readings = arg_or(argc, argv, 1, 100);
  const int commands = arg_or(argc, argv, 2, 100);
  const int seconds = arg_or(argc, argv, 3, 10);
  const int settle = arg_or(argc, argv, 4, 3);
  std::vector<std::string> lines;
  std::string memory_line;
  int code = 0;
  try {
    memory_line = measure_memory(settle);   // first: see the header
    curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread uses libcurl
    lines.push_back(measure_reading(readings));
    lines.push_back(measure_command(commands));
    lines.push_back(measure_rate(seconds));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "benchmark failed: %s\n", e.what());
    code = 1;
  }
  if (!memory_line.empty()) lines.push_back(memory_line);
  for (const auto& line : lines) std::printf("%s\n", line.c_str());
  return code;
}

int main(int argc, char** argv) { return sr::bench::run_bench(bench_main, argc, argv); }
