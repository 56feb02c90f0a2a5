// HTTP for the openHAB connection: libcurl's multi interface driven by the
// host's event loop.
//
// No thread per request and no blocking call: libcurl tells us which sockets
// to watch (CURLMOPT_SOCKETFUNCTION -> host fd watches) and when to wake it
// (CURLMOPT_TIMERFUNCTION -> a host timer); we hand every readiness back with
// curl_multi_socket_action. Name resolution runs in libcurl's own resolver
// thread (Debian's libcurl is built with the threaded resolver), so a slow
// DNS server does not stall the loop either. Connections are kept alive and
// reused between requests to the same server.
//
// Threading and lifetime: everything runs on the loop thread. Callbacks of a
// request run on the loop; on_data runs inside libcurl (it must not start or
// cancel requests: return false to abort instead); on_done runs after libcurl
// has let go of the request and may start or cancel requests freely.
// Destroying the client drops every request without calling on_done.
#pragma once

#include <sensor_reporter/sdk.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sr::openhab {

struct TlsOptions {
  std::string ca_file;    // empty: the system store
  bool insecure = false;  // no certificate or host-name checks at all
};

struct HttpResult {
  CURLcode code = CURLE_OK;  // transport outcome
  long status = 0;           // HTTP status, 0 when none arrived
  std::string body;          // buffered requests only
  std::string error;         // libcurl's reason when code != CURLE_OK
  bool transport_ok() const { return code == CURLE_OK; }
};

struct HttpRequest {
  std::string method = "GET";  // GET, PUT, POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{0};  // whole request; 0: none (streams)
  std::chrono::milliseconds connect_timeout{10000};
  bool tcp_keepalive = false;  // probes on an idle stream, to notice a dead peer
  // Streams: called with each piece of the body as it arrives (nothing is
  // buffered). Return false to abort the request.
  std::function<bool(std::string_view)> on_data;
  // Streams: called once the status line and headers are in.
  std::function<void(long status)> on_headers;
  std::function<void(HttpResult&&)> on_done;
};

class HttpClient {
 public:
  using RequestId = std::uint64_t;

  HttpClient(sdk::Host host, TlsOptions tls, long max_connections);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a request; its on_done will be called exactly once unless it is
  // cancelled or the client destroyed. Throws on a libcurl setup failure.
  RequestId start(HttpRequest request);
  // Drops a request without calling on_done. Unknown ids are ignored.
  void cancel(RequestId id);
  std::size_t in_flight() const { return requests_.size(); }

 private:
  struct Transfer;
  using EasyHandle = sdk::CHandle<CURL, curl_easy_cleanup>;

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  static size_t on_write(char* data, size_t size, size_t count, void* transfer);
  static size_t on_header(char* data, size_t size, size_t count, void* transfer);

  void act(curl_socket_t fd, int events);
  // A finished transfer's handle, kept for the next request: creating and
  // freeing one per update was 8 % of the daemon's CPU at 1,000 updates/s.
  void recycle(Transfer& transfer);
  void finish_done_transfers();

  sdk::Host host_;
  TlsOptions tls_;
  sdk::CHandle<CURLM, curl_multi_cleanup> multi_;
  std::map<curl_socket_t, sdk::FdWatch> sockets_;
  sdk::Timer timer_;
  RequestId next_id_ = 1;
  std::map<RequestId, std::unique_ptr<Transfer>> requests_;
  std::vector<EasyHandle> idle_handles_;
};

}  // namespace sr::openhab
