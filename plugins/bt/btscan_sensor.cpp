// bt.btscan_sensor.SimpleBtSensor and BtRssiSensor; see btscan_sensor.hpp
// for the parameters and decisions.
#include "btscan_sensor.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace sr::bt {
namespace {

// The original's lookup_name(addr, timeout=25).
constexpr auto kNameTimeout = std::chrono::seconds(25);
// The original's inquiry: 4 × 1.28 s.
constexpr uint8_t kInquiryUnits = 4;

}  // namespace

void RssiCounters::count(bool found, std::optional<int> rssi, int max, int near_limit, int far_limit) {
  if (!found) {
    far += 1;
    near -= 1;
  } else if (!rssi || *rssi < -1) {
    near += 1;
    far -= 1;
  }
  near = std::clamp(near, 0, max);
  far = std::clamp(far, 0, max);
  if (near > far && near > near_limit)
    on = true;
  else if (far > near && far > far_limit)
    on = false;
}

// ---------------------------------------------------------------------------
// SimpleBtSensor

void SimpleBtSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (auto poll = params.find<double>("Poll"); poll && *poll <= 25)
    report.error("Poll", "must be more than 25: each device's name request may take 25 s");
  if (params.numbered("Address").empty())
    report.warning("", "no Address1/Destination1: this sensor watches nothing");
}

SimpleBtSensor::SimpleBtSensor(sdk::Host host, const sdk::Params& params)
    : host_(host), adapter_(params.get<std::string>("Adapter")) {
  devices_ = watched_devices(params);
}

SimpleBtSensor::~SimpleBtSensor() {
  if (channel_) channel_->cancel(this);
}

void SimpleBtSensor::start() { channel_ = HciChannel::for_adapter(adapter_); }

sdk::PollResult SimpleBtSensor::poll() {
  if (devices_.empty()) return sdk::PollResult::Done;
  failed_ = false;
  ask(0);
  return sdk::PollResult::Pending;
}

void SimpleBtSensor::ask(size_t index) {
  if (index == devices_.size()) {
    host_.poll_done(!failed_);
    return;
  }
  channel_->request_name(this, host_, devices_[index].address, kNameTimeout,
                         [this, index](std::optional<std::string> name, std::string error) {
                           WatchedDevice& device = devices_[index];
                           if (!error.empty()) {
                             host_.error("{}: {}", device.address, error);
                             failed_ = true;
                           } else {
                             bool present = name.has_value();
                             if (present) host_.debug("{} answered as '{}'", device.address, *name);
                             if (device.present != present) {
                               device.present = present;
                               host_.publish(device.destination, present ? "ON" : "OFF");
                             }
                           }
                           ask(index + 1);
                         });
}

void SimpleBtSensor::refresh() {
  for (const WatchedDevice& device : devices_)
    if (device.present) host_.publish(device.destination, *device.present ? "ON" : "OFF");
}

// ---------------------------------------------------------------------------
// BtRssiSensor

void BtRssiSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (auto poll = params.find<double>("Poll"); poll && *poll <= 10)
    report.error("Poll", "must be more than 10: each inquiry takes about 5 s");
  auto max = params.find<int>("Max"), near = params.find<int>("Near"), far = params.find<int>("Far");
  if (max && near && *near >= *max) report.error("Near", fmt::format("must be less than Max ({})", *max));
  if (max && far && *far >= *max) report.error("Far", fmt::format("must be less than Max ({})", *max));
}

BtRssiSensor::BtRssiSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      address_(canonical_address(params.get<std::string>("Address"))),
      destination_(params.get<std::string>("Destination")),
      max_(params.get<int>("Max")),
      near_limit_(params.get<int>("Near")),
      far_limit_(params.get<int>("Far")),
      adapter_(params.get<std::string>("Adapter")) {}

BtRssiSensor::~BtRssiSensor() {
  if (channel_) channel_->cancel(this);
}

void BtRssiSensor::start() { channel_ = HciChannel::for_adapter(adapter_); }

sdk::PollResult BtRssiSensor::poll() {
  channel_->inquire(
      this, host_, kInquiryUnits,
      [this](std::optional<std::map<std::string, std::optional<int>>> found, std::string error) {
        if (!found) {
          host_.error("{}", error);
          host_.poll_done(false);
          return;
        }
        auto it = found->find(address_);
        bool was_on = counters_.on;
        counters_.count(it != found->end(), it != found->end() ? it->second : std::nullopt, max_, near_limit_,
                        far_limit_);
        host_.debug("{} {} (near {}, far {})", address_,
                    it == found->end() ? std::string("not found")
                                       : fmt::format("found, RSSI {}", it->second.value_or(0)),
                    counters_.near, counters_.far);
        if (!published_ || was_on != counters_.on) refresh();
        host_.poll_done(true);
      });
  return sdk::PollResult::Pending;
}

void BtRssiSensor::refresh() {
  host_.publish(destination_, counters_.on ? "ON" : "OFF");
  published_ = true;
}

}  // namespace sr::bt
