// iio.iio_sensor.IioSensor — polling sensor: channels of a kernel IIO
// device. Parameters Device, <X>Dest/<X>Channel, Destination/Channel, Poll,
// TempUnit, Root; the decisions and an example section are in iio_sensor.hpp.
//
//   [Sensor_Room]
//   Class = iio.iio_sensor.IioSensor
//   Device = bme280
//   TempDest = room/temperature
//   Poll = 60
#include "iio_sensor.hpp"

#include "kernel_device.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace sr::iio {
namespace {

constexpr const char* kIioClassDir = "/sys/bus/iio/devices";

// Each output's channel in the form the files use, or an exception naming
// the key.
std::vector<Output> normalized(std::vector<Output> outputs) {
  for (Output& output : outputs) {
    if (output.channel.empty()) continue;
    std::string channel = normalize_iio_channel(output.channel);
    if (channel.empty())
      throw std::invalid_argument(fmt::format("{} '{}' is not a channel name such as temp or voltage0",
                                              output.kind->channel_key, output.channel));
    output.channel = std::move(channel);
  }
  return outputs;
}

}  // namespace

DeviceLookup find_iio_device(const std::string& root, std::string_view spec) {
  return find_device(root, spec, kIioClassDir, "iio:device", "IIO device", "Device");
}

PlanOrError plan_iio(const std::string& root, const std::string& spec, const std::vector<Output>& outputs) {
  DeviceLookup lookup = find_iio_device(root, spec);
  if (!lookup.device) return PlanOrError{std::nullopt, std::move(lookup.error)};
  const KernelDevice& device = *lookup.device;
  const std::set<std::string> names = file_names(device.dir);
  return plan_outputs(device, outputs, [&](std::string_view channel, std::string_view type) {
    return resolve_iio_channel(device.dir, names, channel, type);
  });
}

IioSensor::IioSensor(sdk::Host host, const sdk::Params& params)
    : sensor_(host, normalized(configured_outputs(kIioOutputs, params)), params.choice<TempUnit>("TempUnit"),
              [root = params.get("Root"), spec = params.get("Device")](const std::vector<Output>& outputs) {
                return plan_iio(root, spec, outputs);
              }) {}

void IioSensor::check(const sdk::Params& params, sdk::CheckReport& report) {
  check_outputs(kIioOutputs, params, report);
  for (const OutputKind& kind : kIioOutputs)
    if (auto channel = params.find(kind.channel_key); channel && normalize_iio_channel(*channel).empty())
      report.error(kind.channel_key,
                   fmt::format("'{}' is not a channel name such as temp or voltage0", *channel));
}

}  // namespace sr::iio
