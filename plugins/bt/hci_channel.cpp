// HciChannel: classic requests over a raw HCI socket; see hci_channel.hpp.
#include "hci_channel.hpp"

#include "advert_source.hpp"

#include <fmt/format.h>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace sr::bt {
namespace {

// The kernel's uAPI for raw HCI sockets (include/net/bluetooth/hci_sock.h,
// bluetooth.h), written out to spare a libbluetooth dependency.
constexpr int kBtprotoHci = 1;
constexpr int kSolHci = 0;
constexpr int kHciFilter = 2;
constexpr unsigned short kHciChannelRaw = 0;
struct SockaddrHci {
  sa_family_t family;
  unsigned short dev;
  unsigned short channel;
};
struct HciUfilter {
  uint32_t type_mask;
  uint32_t event_mask[2];
  uint16_t opcode;
};

// hci0 → 0
std::optional<unsigned short> device_index(std::string_view adapter) {
  if (!adapter.starts_with("hci")) return std::nullopt;
  unsigned short index = 0;
  auto digits = adapter.substr(3);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

void set_event(HciUfilter& filter, unsigned event) { filter.event_mask[event >> 5] |= 1u << (event & 31); }

// Inquiry length × 1.28 s, plus room for the controller to say it is done.
std::chrono::nanoseconds inquiry_timeout(uint8_t units) {
  return std::chrono::milliseconds(1280) * units + std::chrono::seconds(5);
}

}  // namespace

std::shared_ptr<HciChannel> HciChannel::for_adapter(const std::string& adapter) {
  return shared_per_adapter<HciChannel>(adapter);
}

HciChannel::~HciChannel() {
  watch_.reset();
  timeout_.cancel();
}

void HciChannel::request_name(const void* owner, const sdk::Host& host, const std::string& address,
                              std::chrono::nanoseconds timeout, NameDone done) {
  // The parameter table's pattern let only addresses through.
  auto bytes = hci::address_bytes(address);
  if (!bytes) throw std::invalid_argument(fmt::format("'{}' is not a Bluetooth address", address));
  queue_.push_back(Request{owner,
                           host,
                           hci::remote_name_request(*bytes),
                           hci::kOpRemoteNameRequest,
                           hci::address_text(*bytes),
                           timeout,
                           std::move(done),
                           {}});
  next();
}

void HciChannel::inquire(const void* owner, const sdk::Host& host, uint8_t length_units, InquiryDone done) {
  queue_.push_back(Request{owner,
                           host,
                           hci::inquiry(length_units),
                           hci::kOpInquiry,
                           {},
                           inquiry_timeout(length_units),
                           {},
                           std::move(done)});
  next();
}

void HciChannel::cancel(const void* owner) {
  queue_.erase(
      std::remove_if(queue_.begin(), queue_.end(), [&](const Request& r) { return r.owner == owner; }),
      queue_.end());
  if (running_ && running_->owner == owner) {
    if (running_->opcode == hci::kOpInquiry && socket_) {
      auto packet = hci::inquiry_cancel();
      [[maybe_unused]] ssize_t n = write(socket_.get(), packet.data(), packet.size());
    }
    watch_.reset();
    timeout_.cancel();
    running_.reset();
    next();
  }
}

std::string HciChannel::open_socket() {
  if (socket_) return {};
  auto index = device_index(adapter_);
  if (!index) return fmt::format("'{}' is not an adapter name such as hci0", adapter_);
  sdk::UniqueFd fd(socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, kBtprotoHci));
  if (!fd)
    return fmt::format("cannot open a Bluetooth HCI socket: {}{}", std::strerror(errno),
                       errno == EAFNOSUPPORT ? " (no Bluetooth in this kernel, or AF_BLUETOOTH not allowed: "
                                               "RestrictAddressFamilies)"
                                             : "");
  HciUfilter filter{};
  filter.type_mask = 1u << 0x04;  // events only
  for (unsigned event : {0x01u, 0x02u, 0x07u, 0x0fu, 0x22u, 0x2fu}) set_event(filter, event);
  if (setsockopt(fd.get(), kSolHci, kHciFilter, &filter, sizeof filter) != 0)
    return fmt::format("cannot set the HCI event filter: {}", std::strerror(errno));
  SockaddrHci address{AF_BLUETOOTH, *index, kHciChannelRaw};
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    return fmt::format("cannot bind to {}: {}", adapter_, std::strerror(errno));
  socket_ = std::move(fd);
  return {};
}

void HciChannel::next() {
  if (!running_ && !queue_.empty()) {
    running_ = std::move(queue_.front());
    queue_.pop_front();
    found_.clear();
    std::string error = open_socket();
    if (error.empty() && write(socket_.get(), running_->command.data(), running_->command.size()) < 0) {
      error = fmt::format("cannot send to {}: {}", adapter_, std::strerror(errno));
      // ENETDOWN (adapter down) or ENODEV (removed): open afresh next time.
      socket_.reset();
    }
    if (!error.empty()) {
      // Fails on the next turn of the loop, never inside the caller's poll():
      // a poll that returned Pending must not have ended already.
      timeout_ = running_->host.add_timer(std::chrono::nanoseconds(0), {}, [this, error] { fail(error); });
      return;
    }
    watch_ = running_->host.watch_fd(socket_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
    timeout_ = running_->host.add_timer(running_->timeout, {}, [this] {
      if (!running_) return;
      if (running_->opcode == hci::kOpInquiry) {
        auto packet = hci::inquiry_cancel();
        [[maybe_unused]] ssize_t n = write(socket_.get(), packet.data(), packet.size());
        finish_inquiry({});  // what answered so far
      } else {
        finish_name(std::nullopt, {});  // no answer: absent
      }
    });
  }
}

void HciChannel::fail(std::string error) {
  if (!running_) return;
  if (running_->opcode == hci::kOpInquiry)
    finish_inquiry(std::move(error));
  else
    finish_name(std::nullopt, std::move(error));
}

HciChannel::Request HciChannel::take_running() {
  Request request = std::move(*running_);
  running_.reset();
  watch_.reset();
  timeout_.cancel();
  return request;
}

void HciChannel::finish_name(std::optional<std::string> name, std::string error) {
  Request request = take_running();
  request.name_done(std::move(name), std::move(error));
  next();
}

void HciChannel::finish_inquiry(std::string error) {
  Request request = take_running();
  auto found = std::move(found_);
  found_.clear();
  if (error.empty())
    request.inquiry_done(std::move(found), {});
  else
    request.inquiry_done(std::nullopt, std::move(error));
  next();
}

void HciChannel::on_readable() {
  std::array<uint8_t, 260> packet{};  // type + header + at most 255 bytes
  for (;;) {
    ssize_t n = read(socket_.get(), packet.data(), packet.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      std::string error = fmt::format("reading from {} failed: {}", adapter_, std::strerror(errno));
      socket_.reset();
      fail(error);
      return;
    }
    if (!running_) return;
    hci::Event event = hci::decode(std::span<const uint8_t>(packet.data(), static_cast<size_t>(n)));
    if (auto* status = std::get_if<hci::CommandStatus>(&event)) {
      if (status->opcode != running_->opcode || status->status == 0) continue;
      std::string error = fmt::format("{} refused the {}: {}", adapter_,
                                      running_->opcode == hci::kOpInquiry ? "inquiry" : "name request",
                                      hci::status_text(status->status));
      fail(error);
      return;  // the watch belonged to that request
    }
    if (running_->opcode == hci::kOpRemoteNameRequest) {
      auto* done = std::get_if<hci::NameComplete>(&event);
      if (!done || done->address != running_->address) continue;  // bluetoothd's own, for instance
      // A failed name request (Page Timeout, mostly) is "not there".
      finish_name(done->status == 0 ? std::optional<std::string>(done->name) : std::nullopt, {});
      return;
    }
    if (auto* responses = std::get_if<std::vector<hci::InquiryResponse>>(&event)) {
      for (const auto& response : *responses) {
        auto& rssi = found_[response.address];
        if (response.rssi) rssi = response.rssi;
      }
      continue;
    }
    if (auto* complete = std::get_if<hci::InquiryComplete>(&event)) {
      finish_inquiry(complete->status == 0 ? std::string()
                                           : fmt::format("the inquiry on {} ended with {}", adapter_,
                                                         hci::status_text(complete->status)));
      return;
    }
  }
}

}  // namespace sr::bt
