// HciChannel: the classic-Bluetooth requests of SimpleBtSensor and
// BtRssiSensor (remote name request, inquiry) over a raw HCI socket, one
// request at a time, on the host's event loop. One channel per adapter per
// process, shared: two requests at once would only earn one of them
// "Command Disallowed" from the controller.
//
// Privilege: the socket needs the AF_BLUETOOTH address family (the service
// unit's RestrictAddressFamilies must allow it: see plugins/bt/README.md)
// and no capability, because the kernel lets unprivileged raw sockets send
// exactly these commands and read their events (hci_codec.hpp). There is no
// D-Bus equivalent of a name request to an arbitrary address.
//
// A request's callbacks and the fd watch and timer that serve it belong to
// the section that asked (its Host); cancel(owner) drops that section's
// requests, the running one included, while the section still exists.
#pragma once

#include "hci_codec.hpp"

#include <sensor_reporter/handle.hpp>
#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace sr::bt {

class HciChannel {
 public:
  // The device's name, or empty when it did not answer (or the request
  // failed: `error` then says why, for a log line; empty for no answer).
  using NameDone = std::function<void(std::optional<std::string> name, std::string error)>;
  // Every device that answered, with its RSSI where the controller gave one;
  // empty optional when the inquiry failed (`error` says why).
  using InquiryDone =
      std::function<void(std::optional<std::map<std::string, std::optional<int>>> found, std::string error)>;

  explicit HciChannel(std::string adapter) : adapter_(std::move(adapter)) {}
  ~HciChannel();
  HciChannel(const HciChannel&) = delete;
  HciChannel& operator=(const HciChannel&) = delete;

  void request_name(const void* owner, const sdk::Host& host, const std::string& address,
                    std::chrono::nanoseconds timeout, NameDone done);
  // length_units × 1.28 s of inquiry.
  void inquire(const void* owner, const sdk::Host& host, uint8_t length_units, InquiryDone done);
  void cancel(const void* owner);

  // The channel for `adapter` ("hci0"), shared by the process's sections.
  static std::shared_ptr<HciChannel> for_adapter(const std::string& adapter);

 private:
  struct Request {
    const void* owner;
    sdk::Host host;
    std::vector<uint8_t> command;
    uint16_t opcode;
    std::string address;  // name requests
    std::chrono::nanoseconds timeout;
    NameDone name_done;
    InquiryDone inquiry_done;
  };

  void next();                   // start the queue's head, if idle
  Request take_running();        // ends the running request's watch and timer
  void fail(std::string error);  // the running request, whichever kind
  void finish_name(std::optional<std::string> name, std::string error);
  void finish_inquiry(std::string error);
  void on_readable();
  std::string open_socket();  // empty when open, else why not

  std::string adapter_;
  sdk::UniqueFd socket_;
  std::deque<Request> queue_;
  std::optional<Request> running_;
  std::map<std::string, std::optional<int>> found_;  // the running inquiry's
  sdk::FdWatch watch_;
  sdk::Timer timeout_;
};

}  // namespace sr::bt
