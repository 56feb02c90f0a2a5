// roku.roku_addr.RokuAddressSensor; see roku_addr.hpp for the parameters and
// decisions.
#include "roku_addr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace sr::roku {
namespace {

// UDA 1.1 §1.3.2: multicast M-SEARCH "SHOULD" go out with TTL 2.
constexpr int kMulticastTtl = 2;
constexpr int kCopies = 2;  // of each M-SEARCH: UDP may lose one

std::string sender_text(const sockaddr_in& from) {
  char address[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &from.sin_addr, address, sizeof address);
  return fmt::format("{}:{}", address, ntohs(from.sin_port));
}

}  // namespace

std::optional<SearchAddress> parse_search_address(std::string_view text) {
  const size_t colon = text.find(':');
  const std::string address_text(text.substr(0, colon));
  unsigned port = kSsdpPort;
  if (colon != std::string_view::npos) {
    const std::string_view digits = text.substr(colon + 1);
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535)
      return std::nullopt;
  }
  SearchAddress result;
  result.address.sin_family = AF_INET;
  result.address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address_text.c_str(), &result.address.sin_addr) != 1) return std::nullopt;
  result.multicast = IN_MULTICAST(ntohl(result.address.sin_addr.s_addr));
  result.host = fmt::format("{}:{}", address_text, port);
  return result;
}

void RokuAddressSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  const auto poll = params.find<double>("Poll");
  const auto timeout = params.find<double>("Timeout");
  if (poll && timeout && *poll <= *timeout)
    report.error("Poll", fmt::format("must be more than Timeout ({} s): each search listens that long", *timeout));
  if (auto address = params.find("SearchAddress"); address && !parse_search_address(*address))
    report.error("SearchAddress", fmt::format("'{}' is not an IPv4 address with an optional port 1-65535", *address));
}

RokuAddressSensor::RokuAddressSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      window_(std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(params.get<double>("Timeout")))),
      mx_(std::clamp(static_cast<int>(std::ceil(params.get<double>("Timeout"))) - 1, 1, 5)) {
  const std::string address = params.get("SearchAddress");
  auto target = parse_search_address(address);
  if (!target) throw std::invalid_argument(fmt::format("SearchAddress '{}' is not an IPv4 address[:port]", address));
  target_ = *target;
}

bool RokuAddressSensor::open_socket() {
  sdk::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    host_.error("cannot open a UDP socket: {}", std::strerror(errno));
    return false;
  }
  const int ttl = kMulticastTtl;
  if (target_.multicast && setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) {
    host_.error("cannot set the multicast TTL: {}", std::strerror(errno));
    return false;
  }
  // Answers come back unicast to the port the search left from: an
  // ephemeral one, chosen at the first sendto.
  socket_ = std::move(fd);
  watch_ = host_.watch_fd(socket_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
  return true;
}

sdk::PollResult RokuAddressSensor::poll() {
  if (!socket_ && !open_socket()) return sdk::PollResult::Failed;
  const std::string request =
      m_search(kRokuSearchTarget, target_.host, target_.multicast ? std::optional(mx_) : std::nullopt);
  for (int copy = 0; copy < kCopies; ++copy) {
    if (sendto(socket_.get(), request.data(), request.size(), 0,
               reinterpret_cast<const sockaddr*>(&target_.address), sizeof target_.address) < 0) {
      host_.error("cannot send the search to {}: {}", target_.host, std::strerror(errno));
      // A new socket next time: the routes may have changed by then.
      watch_.reset();
      socket_.reset();
      return sdk::PollResult::Failed;
    }
  }
  found_.clear();
  searching_ = true;
  window_end_ = host_.add_timer(window_, {}, [this] { finish(); });
  host_.debug("searching {} for roku:ecp for {} s", target_.host, std::chrono::duration<double>(window_).count());
  return sdk::PollResult::Pending;
}

void RokuAddressSensor::on_readable() {
  std::array<char, kMaxSsdpDatagram + 1> buffer;  // one more: a longer datagram shows as too long
  for (;;) {
    sockaddr_in from{};
    socklen_t from_size = sizeof from;
    const ssize_t n =
        recvfrom(socket_.get(), buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) host_.error("cannot read an answer: {}", std::strerror(errno));
      return;
    }
    on_datagram(std::string_view(buffer.data(), static_cast<size_t>(n)), sender_text(from));
  }
}

void RokuAddressSensor::on_datagram(std::string_view datagram, const std::string& sender) {
  if (!searching_) {
    host_.debug("an answer from {} after the search ended, ignored", sender);
    return;
  }
  const SsdpParse parsed = parse_ssdp_response(datagram);
  if (!parsed.response) {
    host_.debug("ignored a datagram from {}: {}", sender, parsed.error);
    return;
  }
  const RokuParse roku = roku_device(*parsed.response);
  if (!roku.device) {
    host_.debug("ignored an answer from {}: {}", sender, roku.error);
    return;
  }
  host_.debug("Roku {} answered from {}: {}", roku.device->serial, sender, roku.device->location);
  found_.insert_or_assign(roku.device->serial, roku.device->location);
}

void RokuAddressSensor::finish() {
  searching_ = false;
  for (const auto& [serial, location] : found_) {
    const auto before = known_.find(serial);
    if (before == known_.end())
      host_.info("found Roku {} at {}", serial, location);
    else if (before->second != location)
      host_.info("Roku {} moved from {} to {}", serial, before->second, location);
    host_.publish(serial, location);
  }
  for (const auto& [serial, location] : known_)
    if (!found_.contains(serial)) host_.info("Roku {} ({}) did not answer", serial, location);
  if (found_.empty() && (!known_.empty() || !polled_)) host_.info("no Roku answered");
  known_ = std::move(found_);
  found_.clear();
  polled_ = true;
  host_.poll_done(true);
}

void RokuAddressSensor::refresh() {
  for (const auto& [serial, location] : known_) host_.publish(serial, location);
}

}  // namespace sr::roku
