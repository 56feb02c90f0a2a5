// The openHAB double (test/openhab/openhab_double.py) for tests: started on
// a free loopback port in one of its modes, restartable on the same port,
// and its control API (/__double/...) as blocking calls with deadlines.
// Waits happen in the double (a condition variable), never as sleeps here.
#pragma once

#include "support/process.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace sr::test {

struct HttpAnswer {
  long status = 0;  // 0: no answer (connection refused, timeout)
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// One blocking HTTP request (libcurl easy); `headers` as "Name: value".
HttpAnswer http_request(const std::string& method, const std::string& url, const std::string& body = "",
                        const std::vector<std::string>& headers = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

class OpenhabDouble {
 public:
  // mode: oh2, oh3.0, oh3.3, oh4, oh5.1; args: more command-line options
  // (--item NAME:TYPE, --token T, --alive-interval S, ...).
  explicit OpenhabDouble(std::string mode, std::vector<std::string> args = {}, bool start_now = true);
  ~OpenhabDouble();
  OpenhabDouble(const OpenhabDouble&) = delete;
  OpenhabDouble& operator=(const OpenhabDouble&) = delete;

  int port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:<port>
  const std::string& mode() const { return mode_; }
  void start();  // on the same port as before
  void stop();   // SIGTERM and wait
  std::string log() const { return process_ ? process_->output() : ""; }

  // openHAB's own API, as a user would call it.
  long command(const std::string& item, const std::string& value);  // POST /rest/items/<item>
  std::string state(const std::string& item);                       // GET /rest/items/<item> -> state

  // Control API.
  std::size_t next_seq();  // the seq the next recorded request will get
  // Requests with seq >= since matching method and path, once there are at
  // least `count` (empty when the deadline passed first).
  nlohmann::json wait_requests(const std::string& method, const std::string& path, std::size_t count,
                               std::size_t since = 0,
                               std::chrono::milliseconds timeout = std::chrono::seconds(15));
  nlohmann::json requests(std::size_t since = 0);
  // Blocks until `open` streams are open (negative: any) and `total` were ever opened.
  bool wait_streams(int open, int total, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Blocks until at least `count` requests are held back by the delay fault.
  bool wait_delayed(int count, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  nlohmann::json streams();
  void fault(const nlohmann::json& fault);
  void raw(const std::vector<std::string>& pieces, double gap_s = 0.05);
  void define_item(const std::string& name, const std::string& type, const std::string& state = "NULL");
  void event(const std::string& topic, const nlohmann::json& payload, const std::string& type);

 private:
  nlohmann::json control(const std::string& method, const std::string& path,
                         const nlohmann::json& body = nullptr,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

  std::string mode_;
  std::vector<std::string> args_;
  int port_;
  std::unique_ptr<Process> process_;
};

}  // namespace sr::test
