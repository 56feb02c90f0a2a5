// bt.govee_sensor.GoveeSensor; see govee_sensor.hpp for the parameters,
// topics and decisions.
#include "govee_sensor.hpp"

#include "govee_decoder.hpp"

#include <fmt/format.h>

#include <span>

namespace sr::bt {

std::string govee_topic_name(std::string_view advertised_name, std::string_view address) {
  if (advertised_name.empty()) {
    std::string name = "Govee_";
    for (char c : address)
      if (c != ':') name += c;
    return name;
  }
  std::string name(advertised_name);
  for (char& c : name)
    if (c == '/' || c == '+' || c == '#' || static_cast<unsigned char>(c) < 0x20) c = '_';
  return name;
}

GoveeSensor::GoveeSensor(sdk::Host host, const sdk::Params& params)
    : host_(host),
      destination_(params.get<std::string>("Destination")),
      adapter_(params.get<std::string>("Adapter")),
      min_interval_(std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(params.get<double>("MinInterval")))) {}

GoveeSensor::~GoveeSensor() {
  if (source_) source_->remove_listener(this);
}

void GoveeSensor::start() {
  source_ = advert_source(adapter_);
  source_->add_listener(this, host_);
}

void GoveeSensor::on_report(const DeviceState& state, unsigned carried) {
  if (!(carried & kManufacturerData)) return;
  std::optional<GoveeReading> reading;
  for (const auto& [company, data] : state.manufacturer_data) {
    reading = decode_govee(company, std::span<const uint8_t>(data), state.name);
    if (reading) break;
  }
  if (!reading) return;
  auto [it, added] = devices_.try_emplace(state.address);
  Device& device = it->second;
  if (added) {
    device.topic = fmt::format("{}/{}", destination_, govee_topic_name(state.name, state.address));
    host_.info("Govee device {} ({}) found: publishing to {}", state.address, state.name, device.topic);
  }
  // format_govee leaves temperature and humidity empty on a sensor error.
  Fields fields{format_govee(*reading), state.rssi};
  if (reading->sensor_error) {
    if (!device.error_logged)
      host_.warning("Govee device {} ({}) reports a sensor error: publishing battery and rssi only",
                    state.address, state.name);
    device.error_logged = true;
  } else {
    device.error_logged = false;
  }
  std::chrono::nanoseconds now = host_.now();
  bool first = device.published_at.count() == 0 && !device.release.active();
  if (first || min_interval_.count() == 0 || now - device.published_at >= min_interval_) {
    device.held.reset();
    device.release.cancel();
    publish(device, fields);
    device.published_at = now;
    return;
  }
  // Within MinInterval: keep the newest, publish it when the interval ends.
  device.held = fields;
  if (!device.release.active()) {
    device.release = host_.add_timer(device.published_at + min_interval_ - now, {}, [this, &device] {
      if (!device.held) return;
      publish(device, *device.held);
      device.held.reset();
      device.published_at = host_.now();
    });
  }
}

void GoveeSensor::publish(Device& device, const Fields& fields) {
  host_.publish(device.topic + "/battery", fields.values.battery);
  if (!fields.values.temp_c.empty()) {
    host_.publish(device.topic + "/temp_c", fields.values.temp_c);
    host_.publish(device.topic + "/temp_f", fields.values.temp_f);
    host_.publish(device.topic + "/humi", fields.values.humi);
  }
  if (fields.rssi) host_.publish(device.topic + "/rssi", fmt::format("{}", *fields.rssi));
  device.last = fields;
}

void GoveeSensor::refresh() {
  for (auto& [address, device] : devices_)
    if (device.published_at.count() != 0) publish(device, device.last);
}

}  // namespace sr::bt
