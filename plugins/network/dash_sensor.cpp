// network.dash_sensor.DashSensor; see dash_sensor.hpp for the parameters and
// decisions.
#include "dash_sensor.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

namespace sr::network {
namespace {

constexpr auto kInterfaceRetry = std::chrono::seconds(5);

// What to do about a socket() or setsockopt() refused for want of privilege.
std::string privilege_hint(int error) {
  if (error == EPERM || error == EACCES)
    return " (DashSensor needs CAP_NET_RAW: as a service, install the drop-in "
           "packaging/examples/dash.conf; see the README, \"Privileges\")";
  if (error == EAFNOSUPPORT)
    return " (AF_PACKET is not allowed: the service's RestrictAddressFamilies needs it, which the drop-in "
           "packaging/examples/dash.conf adds)";
  return {};
}

}  // namespace

void DashSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (auto poll = params.find<double>("Poll"); poll && *poll > 0)
    report.error("Poll", "DashSensor is not polled: presses are published as they happen; remove Poll");
  const auto macs = params.numbered("MAC");
  if (macs.empty()) report.error("", "no MAC1/Destination1: this sensor would listen for no button");
  if (macs.size() > kMaxDashButtons)
    report.error("", fmt::format("{} buttons; one section listens for at most {}", macs.size(), kMaxDashButtons));
  std::map<MacAddress, unsigned> seen;
  for (const auto& [number, text] : macs) {
    auto mac = parse_mac(text);
    if (!mac) continue;  // the table's pattern has said so
    auto [it, inserted] = seen.emplace(*mac, number);
    if (!inserted) report.error(fmt::format("MAC{}", number), fmt::format("the same button as MAC{}", it->second));
  }
}

DashSensor::DashSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      interface_(params.get("Interface")),
      debounce_(std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(params.get<double>("Debounce")))) {
  std::map<unsigned, std::string> destinations;
  for (auto& [number, destination] : params.numbered("Destination")) destinations[number] = destination;
  for (const auto& [number, text] : params.numbered("MAC")) {
    auto mac = parse_mac(text);
    if (!mac) throw std::invalid_argument(fmt::format("MAC{} '{}' is not a MAC address", number, text));
    auto destination = destinations.find(number);
    if (destination == destinations.end())
      throw std::invalid_argument(fmt::format("MAC{} has no Destination{}", number, number));
    buttons_.push_back(Button{*mac, destination->second, std::nullopt});
  }
  if (buttons_.empty()) throw std::invalid_argument("no MAC1/Destination1: no button to listen for");
  if (buttons_.size() > kMaxDashButtons)
    throw std::invalid_argument(fmt::format("at most {} buttons per section", kMaxDashButtons));
}

void DashSensor::start() {
  // Protocol 0: the socket receives nothing until bind(), so no frame gets
  // in before the filter is attached.
  sdk::UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    const int error = errno;
    throw std::runtime_error(
        fmt::format("cannot open a packet socket: {}{}", std::strerror(error), privilege_hint(error)));
  }
  std::vector<MacAddress> macs;
  for (const Button& b : buttons_) macs.push_back(b.mac);
  std::vector<sock_filter> program = dash_filter(macs);
  const sock_fprog filter{static_cast<unsigned short>(program.size()), program.data()};
  if (setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) != 0)
    throw std::runtime_error(fmt::format("cannot attach the frame filter: {}", std::strerror(errno)));
  socket_ = std::move(fd);
  if (!bind_interface()) watch_for_interface();
  watch_ = host_.watch_fd(socket_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
  std::string macs_text;
  for (const Button& b : buttons_) macs_text += (macs_text.empty() ? "" : ", ") + mac_text(b.mac);
  host_.info("listening for {} on {}", macs_text, interface_.empty() ? "every interface" : interface_);
}

bool DashSensor::bind_interface() {
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  if (!interface_.empty()) {
    address.sll_ifindex = static_cast<int>(if_nametoindex(interface_.c_str()));
    if (address.sll_ifindex == 0) return false;
  }
  if (bind(socket_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (errno == ENODEV) return false;  // gone between the two calls
    throw std::runtime_error(fmt::format("cannot listen on {}: {}", interface_.empty() ? "every interface" : interface_,
                                         std::strerror(errno)));
  }
  return true;
}

void DashSensor::watch_for_interface() {
  if (rebind_.active()) return;
  host_.warning("interface {} is not there; looking for it every {} s", interface_, kInterfaceRetry.count());
  rebind_ = host_.add_timer(kInterfaceRetry, kInterfaceRetry, [this] {
    if (!bind_interface()) return;
    host_.info("interface {} is back: listening again", interface_);
    rebind_.cancel();
  });
}

void DashSensor::on_readable() {
  std::array<uint8_t, 2048> buffer;  // an Ethernet frame; a longer one is no press
  for (;;) {
    sockaddr_ll from{};
    socklen_t from_size = sizeof from;
    const ssize_t n =
        recvfrom(socket_.get(), buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // The interface went down or away: the socket says so once.
      if ((errno == ENETDOWN || errno == ENXIO || errno == ENODEV) && !interface_.empty()) {
        host_.warning("interface {}: {}", interface_, std::strerror(errno));
        if (!bind_interface()) watch_for_interface();
        continue;
      }
      host_.error("cannot read a frame: {}", std::strerror(errno));
      return;
    }
    if (from.sll_pkttype == PACKET_OUTGOING) continue;  // the filter drops these too
    on_frame(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
  }
}

void DashSensor::on_frame(std::span<const uint8_t> frame) {
  const auto press = classify_press(frame);
  if (!press) return;
  for (Button& button : buttons_) {
    if (button.mac != press->source) continue;
    const auto now = host_.now();
    const bool same_press = button.last_frame_at && now - *button.last_frame_at < debounce_;
    button.last_frame_at = now;
    if (same_press) {
      host_.debug("{}: {} frame within Debounce of the one before, same press", mac_text(button.mac),
                  press_kind_name(press->kind));
      return;
    }
    const std::string mac = mac_text(button.mac);
    host_.info("{} pressed ({})", mac, press_kind_name(press->kind));
    host_.publish(button.destination, mac);
    return;
  }
}

}  // namespace sr::network
