#include "support/openhab_double.h"

#include "support/broker.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <signal.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace sr::test {
namespace {

size_t append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// A query value, percent-encoded by libcurl.
std::string encode(const std::string& text) {
  std::unique_ptr<char, void (*)(void*)> escaped(curl_escape(text.c_str(), static_cast<int>(text.size())),
                                                 curl_free);
  return escaped ? escaped.get() : "";
}

}  // namespace

HttpAnswer http_request(const std::string& method, const std::string& url, const std::string& body,
                        const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)init;
  std::unique_ptr<CURL, void (*)(CURL*)> easy(curl_easy_init(), curl_easy_cleanup);
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> list(nullptr, curl_slist_free_all);
  for (const auto& header : headers) list.reset(curl_slist_append(list.release(), header.c_str()));
  HttpAnswer answer;
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &append);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer.body);
  // The tests' own client talks to its own double: the daemon is what must
  // verify certificates, and the https test checks that it does.
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  if (list) curl_easy_setopt(e, CURLOPT_HTTPHEADER, list.get());
  if (method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

OpenhabDouble::OpenhabDouble(std::string mode, std::vector<std::string> args, bool start_now)
    : mode_(std::move(mode)), args_(std::move(args)), port_(free_port()) {
  if (start_now) start();
}

OpenhabDouble::~OpenhabDouble() {
  if (process_) stop();
}

std::string OpenhabDouble::url() const {
  bool tls = std::find(args_.begin(), args_.end(), "--tls-cert") != args_.end();
  return fmt::format("{}://127.0.0.1:{}", tls ? "https" : "http", port_);
}

void OpenhabDouble::start() {
  std::vector<std::string> argv{"/usr/bin/python3", source_dir() + "/test/openhab/openhab_double.py",
                                "--mode",           mode_,
                                "--port",           std::to_string(port_)};
  argv.insert(argv.end(), args_.begin(), args_.end());
  process_ = std::make_unique<Process>(argv);
  if (!process_->wait_for_output(fmt::format("LISTENING {}", port_), std::chrono::seconds(15)))
    throw std::runtime_error("the openHAB double did not start:\n" + process_->output());
}

void OpenhabDouble::stop() {
  if (!process_) return;
  process_->signal(SIGTERM);
  process_->wait_exit(std::chrono::seconds(10));
  process_.reset();
}

long OpenhabDouble::command(const std::string& item, const std::string& value) {
  return http_request("POST", url() + "/rest/items/" + item, value, {"Content-Type: text/plain"}).status;
}

std::string OpenhabDouble::state(const std::string& item) {
  auto json = http_request("GET", url() + "/rest/items/" + item).json();
  return json.is_object() && json.contains("state") ? json["state"].get<std::string>() : "";
}

nlohmann::json OpenhabDouble::control(const std::string& method, const std::string& path,
                                      const nlohmann::json& body, std::chrono::milliseconds timeout) {
  HttpAnswer answer = http_request(method, url() + "/__double/" + path, body.is_null() ? "" : body.dump(),
                                   {"Content-Type: application/json"}, timeout);
  if (answer.status == 0) throw std::runtime_error("the openHAB double does not answer " + path);
  nlohmann::json json = answer.json();
  if (json.is_discarded()) json = nlohmann::json::object();
  json["__status"] = answer.status;
  return json;
}

std::size_t OpenhabDouble::next_seq() {
  return control("GET", "requests?since=1000000000")["next"].get<std::size_t>();
}

nlohmann::json OpenhabDouble::requests(std::size_t since) {
  return control("GET", fmt::format("requests?since={}", since))["requests"];
}

nlohmann::json OpenhabDouble::wait_requests(const std::string& method, const std::string& path,
                                            std::size_t count, std::size_t since,
                                            std::chrono::milliseconds timeout) {
  std::string query = fmt::format("wait?method={}&count={}&since={}&timeout={}", method, count, since,
                                  static_cast<double>(timeout.count()) / 1000.0);
  if (!path.empty()) query += "&path=" + encode(path);
  nlohmann::json answer = control("GET", query, nullptr, timeout + std::chrono::seconds(10));
  if (answer["__status"] != 200) return nlohmann::json::array();
  return answer["requests"];
}

bool OpenhabDouble::wait_streams(int open, int total, std::chrono::milliseconds timeout) {
  std::string query = fmt::format("wait_streams?timeout={}", static_cast<double>(timeout.count()) / 1000.0);
  if (open >= 0) query += fmt::format("&open={}", open);
  if (total >= 0) query += fmt::format("&total={}", total);
  return control("GET", query, nullptr, timeout + std::chrono::seconds(10))["__status"] == 200;
}

bool OpenhabDouble::wait_delayed(int count, std::chrono::milliseconds timeout) {
  std::string query =
      fmt::format("wait_streams?delayed={}&timeout={}", count, static_cast<double>(timeout.count()) / 1000.0);
  return control("GET", query, nullptr, timeout + std::chrono::seconds(10))["__status"] == 200;
}

nlohmann::json OpenhabDouble::streams() { return control("GET", "streams"); }

void OpenhabDouble::fault(const nlohmann::json& fault) { control("POST", "fault", fault); }

void OpenhabDouble::raw(const std::vector<std::string>& pieces, double gap_s) {
  control("POST", "raw", {{"pieces", pieces}, {"gap", gap_s}});
}

void OpenhabDouble::define_item(const std::string& name, const std::string& type, const std::string& state) {
  control("POST", "items", {{"name", name}, {"type", type}, {"state", state}});
}

void OpenhabDouble::event(const std::string& topic, const nlohmann::json& payload, const std::string& type) {
  control("POST", "event", {{"topic", topic}, {"payload_obj", payload}, {"type", type}});
}

}  // namespace sr::test
