// bt.btle_sensor.BtleSensor; see btle_sensor.hpp for the parameters and
// decisions.
#include "btle_sensor.hpp"

#include <sensor_reporter/text.hpp>

#include <fmt/format.h>

namespace sr::bt {

std::optional<std::pair<std::string, std::string>> split_values(std::string_view values) {
  size_t comma = values.find(',');
  if (comma == std::string_view::npos || values.find(',', comma + 1) != std::string_view::npos)
    return std::nullopt;
  std::string first(sdk::trim(values.substr(0, comma))), second(sdk::trim(values.substr(comma + 1)));
  if (first.empty() || second.empty()) return std::nullopt;
  return std::make_pair(first, second);
}

void BtleSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (auto poll = params.find<double>("Poll"), timeout = params.find<double>("Timeout");
      poll && timeout && *poll <= *timeout)
    report.error("Poll", fmt::format("must be greater than Timeout ({} s): a poll looks back Timeout seconds",
                                     *timeout));
  if (!split_values(params.get<std::string>("Values")))
    report.error("Values", "must be two values separated by a comma: present,absent");
  if (params.numbered("Address").empty())
    report.warning("", "no Address1/Destination1: this sensor watches nothing");
}

BtleSensor::BtleSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      timeout_(std::chrono::seconds(params.get<int>("Timeout"))),
      adapter_(params.get<std::string>("Adapter")) {
  auto values = split_values(params.get<std::string>("Values"));
  if (!values) throw std::runtime_error("Values must be two values separated by a comma: present,absent");
  present_value_ = values->first;
  absent_value_ = values->second;
  devices_ = watched_devices(params);
}

BtleSensor::~BtleSensor() {
  if (source_) source_->remove_listener(this);
}

void BtleSensor::start() {
  source_ = advert_source(adapter_);
  source_->add_listener(this, host_);
}

sdk::PollResult BtleSensor::poll() {
  auto since = source_->discovering_since();
  std::chrono::nanoseconds now = host_.now();
  if (since && now - *since >= timeout_) return evaluate() ? sdk::PollResult::Done : sdk::PollResult::Failed;
  // Discovery has not looked for Timeout seconds yet: ask again when it
  // could have (from now, when it does not run at all).
  std::chrono::nanoseconds wait = since ? *since + timeout_ - now : timeout_;
  pending_poll_ = host_.add_timer(wait, {}, [this] { host_.poll_done(evaluate()); });
  return sdk::PollResult::Pending;
}

bool BtleSensor::evaluate() {
  if (!source_->discovering_since()) {
    host_.warning("Bluetooth discovery is not running: no presence published this poll");
    return false;
  }
  std::chrono::nanoseconds now = host_.now();
  for (WatchedDevice& device : devices_) {
    const DeviceState* seen = source_->find(device.address);
    bool present = seen && now - seen->last_seen <= timeout_;
    if (device.present == present) continue;
    device.present = present;
    publish(device);
  }
  return true;
}

void BtleSensor::publish(const WatchedDevice& device) {
  host_.publish(device.destination, device.present.value_or(false) ? present_value_ : absent_value_);
}

void BtleSensor::refresh() {
  for (const WatchedDevice& device : devices_) publish(device);
}

}  // namespace sr::bt
