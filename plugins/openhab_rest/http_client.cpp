#include "http_client.hpp"

#include <sys/epoll.h>

#include <cstdint>
#include <stdexcept>
#include <utility>

namespace sr::openhab {
namespace {

// Answers we buffer are small JSON documents and error bodies; anything
// longer is cut (the stream is not buffered at all).
constexpr std::size_t kMaxBufferedBody = 64 * 1024;

void init_library() {
  // curl_global_init is not reference counted safely across threads: once
  // per process, never cleaned up (modules stay loaded until exit).
  static const CURLcode once = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (once != CURLE_OK) throw std::runtime_error(fmt::format("libcurl: {}", curl_easy_strerror(once)));
}

// Handles kept for reuse: as many as can be in flight at once.
constexpr std::size_t kIdleHandles = 8;

using HeaderList = sdk::CHandle<curl_slist, curl_slist_free_all>;

// Appends `header` to `list`, which goes on owning it; false when out of
// memory (the list is unchanged then).
bool append_header(HeaderList& list, const char* header) {
  curl_slist* grown = curl_slist_append(list.get(), header);
  if (!grown) return false;
  (void)list.release();  // grown is that list, one longer (or a new one when it was empty)
  list.reset(grown);
  return true;
}

template <typename Value>
void set(CURL* easy, CURLoption option, Value value) {
  CURLcode rc = curl_easy_setopt(easy, option, value);
  if (rc != CURLE_OK)
    throw std::runtime_error(
        fmt::format("libcurl option {}: {}", static_cast<int>(option), curl_easy_strerror(rc)));
}

}  // namespace

struct HttpClient::Transfer {
  RequestId id = 0;
  HttpRequest request;
  EasyHandle easy;
  HeaderList headers;
  std::string body;
  bool headers_reported = false;
  char error[CURL_ERROR_SIZE] = {};
};

HttpClient::HttpClient(sdk::Host host, TlsOptions tls, long max_connections)
    : host_(host), tls_(std::move(tls)) {
  init_library();
  multi_.reset(curl_multi_init());
  if (!multi_) throw std::runtime_error("cannot create a libcurl multi handle");
  CURLM* m = multi_.get();
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &HttpClient::on_socket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &HttpClient::on_timer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, max_connections);
}

HttpClient::~HttpClient() {
  // libcurl may still call back while it lets go of sockets; by now nothing
  // of ours may run.
  CURLM* m = multi_.get();
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, nullptr);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, nullptr);
  for (auto& [id, transfer] : requests_) curl_multi_remove_handle(m, transfer->easy.get());
  requests_.clear();
  idle_handles_.clear();
  sockets_.clear();
  timer_.cancel();
  multi_.reset();
}

HttpClient::RequestId HttpClient::start(HttpRequest request) {
  auto transfer = std::make_unique<Transfer>();
  transfer->id = next_id_++;
  transfer->request = std::move(request);
  if (!idle_handles_.empty()) {
    transfer->easy = std::move(idle_handles_.back());
    idle_handles_.pop_back();
    curl_easy_reset(transfer->easy.get());
  } else {
    transfer->easy.reset(curl_easy_init());
  }
  if (!transfer->easy) throw std::runtime_error("cannot create a libcurl handle");
  CURL* e = transfer->easy.get();
  const HttpRequest& r = transfer->request;

  set(e, CURLOPT_URL, r.url.c_str());
  set(e, CURLOPT_PRIVATE, reinterpret_cast<void*>(static_cast<std::uintptr_t>(transfer->id)));
  set(e, CURLOPT_NOSIGNAL, 1L);
  set(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set(e, CURLOPT_ERRORBUFFER, transfer->error);
  set(e, CURLOPT_WRITEFUNCTION, &HttpClient::on_write);
  set(e, CURLOPT_WRITEDATA, transfer.get());
  set(e, CURLOPT_HEADERFUNCTION, &HttpClient::on_header);
  set(e, CURLOPT_HEADERDATA, transfer.get());
  set(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
  if (r.timeout.count() > 0) set(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
  if (r.tcp_keepalive) {
    set(e, CURLOPT_TCP_KEEPALIVE, 1L);
    set(e, CURLOPT_TCP_KEEPIDLE, 10L);
    set(e, CURLOPT_TCP_KEEPINTVL, 5L);
  }
  if (r.method == "PUT" || r.method == "POST") {
    if (r.method == "PUT") set(e, CURLOPT_CUSTOMREQUEST, "PUT");
    set(e, CURLOPT_POSTFIELDS, r.body.data());
    set(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
  } else if (r.method != "GET") {
    set(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  if (!tls_.ca_file.empty()) set(e, CURLOPT_CAINFO, tls_.ca_file.c_str());
  if (tls_.insecure) {
    set(e, CURLOPT_SSL_VERIFYPEER, 0L);
    set(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  for (const std::string& header : r.headers)
    if (!append_header(transfer->headers, header.c_str()))
      throw std::runtime_error("out of memory for HTTP headers");
  // libcurl adds "Expect: 100-continue" to large bodies: one round trip for
  // nothing on a server we talk to all day.
  append_header(transfer->headers, "Expect:");
  set(e, CURLOPT_HTTPHEADER, transfer->headers.get());

  RequestId id = transfer->id;
  Transfer& added = *transfer;
  requests_.emplace(id, std::move(transfer));
  CURLMcode rc = curl_multi_add_handle(multi_.get(), added.easy.get());
  if (rc != CURLM_OK) {
    requests_.erase(id);
    throw std::runtime_error(fmt::format("libcurl: {}", curl_multi_strerror(rc)));
  }
  return id;
}

void HttpClient::cancel(RequestId id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  std::unique_ptr<Transfer> transfer = std::move(it->second);
  requests_.erase(it);
  curl_multi_remove_handle(multi_.get(), transfer->easy.get());
  recycle(*transfer);
}

void HttpClient::recycle(Transfer& transfer) {
  if (idle_handles_.size() < kIdleHandles) idle_handles_.push_back(std::move(transfer.easy));
}

int HttpClient::on_socket(CURL* /*easy*/, curl_socket_t fd, int what, void* self_ptr, void* /*socket_data*/) {
  auto* self = static_cast<HttpClient*>(self_ptr);
  if (what == CURL_POLL_REMOVE) {
    self->sockets_.erase(fd);
    return 0;
  }
  uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  auto it = self->sockets_.find(fd);
  if (it != self->sockets_.end()) {
    it->second.modify(events);
    return 0;
  }
  try {
    self->sockets_.emplace(fd, self->host_.watch_fd(fd, events, [self, fd](uint32_t ready) {
      int mask = (ready & EPOLLIN ? CURL_CSELECT_IN : 0) | (ready & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                 (ready & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
      self->act(fd, mask);
    }));
  } catch (const std::exception& e) {
    self->host_.error("cannot watch an HTTP socket: {}", e.what());
    return -1;  // libcurl fails the transfer
  }
  return 0;
}

int HttpClient::on_timer(CURLM* /*multi*/, long timeout_ms, void* self_ptr) {
  auto* self = static_cast<HttpClient*>(self_ptr);
  if (timeout_ms < 0) {
    self->timer_.cancel();
    return 0;
  }
  // Never call curl_multi_socket_action from inside this callback: a zero
  // timeout runs on the next loop round instead.
  try {
    self->timer_ = self->host_.add_timer(std::chrono::milliseconds(timeout_ms), std::chrono::nanoseconds(0),
                                         [self] { self->act(CURL_SOCKET_TIMEOUT, 0); });
  } catch (const std::exception& e) {
    self->host_.error("cannot arm the HTTP timer: {}", e.what());
    return -1;
  }
  return 0;
}

size_t HttpClient::on_write(char* data, size_t size, size_t count, void* transfer_ptr) {
  auto* transfer = static_cast<Transfer*>(transfer_ptr);
  const size_t bytes = size * count;
  if (transfer->request.on_data) {
    try {
      return transfer->request.on_data(std::string_view(data, bytes)) ? bytes : 0;
    } catch (...) {
      return 0;  // aborts the transfer; on_done reports the write error
    }
  }
  if (transfer->body.size() < kMaxBufferedBody)
    transfer->body.append(data, std::min(bytes, kMaxBufferedBody - transfer->body.size()));
  return bytes;
}

size_t HttpClient::on_header(char* data, size_t size, size_t count, void* transfer_ptr) {
  auto* transfer = static_cast<Transfer*>(transfer_ptr);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  // The blank line ends a header block; a 1xx block is followed by another.
  if (line != "\r\n" && line != "\n") return bytes;
  long status = 0;
  curl_easy_getinfo(transfer->easy.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && !transfer->headers_reported) {
    transfer->headers_reported = true;
    if (transfer->request.on_headers) {
      try {
        transfer->request.on_headers(status);
      } catch (...) {
        return 0;
      }
    }
  }
  return bytes;
}

void HttpClient::act(curl_socket_t fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_.get(), fd, events, &running);
  finish_done_transfers();
}

void HttpClient::finish_done_transfers() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_.get(), &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    void* private_data = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &private_data);
    auto id = static_cast<RequestId>(reinterpret_cast<std::uintptr_t>(private_data));
    auto it = requests_.find(id);
    if (it == requests_.end()) continue;  // cancelled meanwhile
    std::unique_ptr<Transfer> transfer = std::move(it->second);
    requests_.erase(it);
    HttpResult result;
    result.code = message->data.result;
    curl_easy_getinfo(transfer->easy.get(), CURLINFO_RESPONSE_CODE, &result.status);
    result.body = std::move(transfer->body);
    if (result.code != CURLE_OK)
      result.error = transfer->error[0] ? transfer->error : curl_easy_strerror(result.code);
    curl_multi_remove_handle(multi_.get(), transfer->easy.get());
    recycle(*transfer);
    // After removal: on_done may start or cancel requests.
    if (!transfer->request.on_done) continue;
    try {
      transfer->request.on_done(std::move(result));
    } catch (const std::exception& e) {
      host_.error("HTTP result handling failed: {}", e.what());
    }
  }
}

}  // namespace sr::openhab
