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

#include <sensor_reporter/text.hpp>

#include <fmt/format.h>

#include <filesystem>
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
  DeviceLookup result;
  spec = sdk::trim(spec);
  if (!spec.empty() && spec.front() == '/') {
    KernelDevice device = describe_device(under_root(root, spec));
    std::error_code error;
    if (!std::filesystem::is_directory(device.dir, error))
      result.error = fmt::format("Device: no IIO device at {}", device.dir);
    else
      result.device = std::move(device);
    return result;
  }
  const std::string class_dir = under_root(root, kIioClassDir);
  std::vector<KernelDevice> devices = list_devices(class_dir, "iio:device");
  DeviceChoice choice = choose_device(devices, spec, "IIO device", class_dir);
  if (choice.device)
    result.device = *choice.device;
  else
    result.error = "Device: " + choice.error;
  return result;
}

PlanOrError plan_iio(const std::string& root, const std::string& spec, const std::vector<Output>& outputs) {
  PlanOrError result;
  DeviceLookup lookup = find_iio_device(root, spec);
  if (!lookup.device) {
    result.error = std::move(lookup.error);
    return result;
  }
  const KernelDevice& device = *lookup.device;
  const std::set<std::string> names = file_names(device.dir);
  SensorPlan plan;
  plan.device = describe(device);
  for (const Output& output : outputs) {
    ChannelChoice channel =
        resolve_iio_channel(device.dir, names, output.channel, output.kind->channel_type ? output.kind->channel_type : "");
    if (!channel.files) {
      result.error = fmt::format("{}: {}: {}", output.channel.empty() ? output.kind->destination_key : output.kind->channel_key,
                                 plan.device, channel.error);
      return result;
    }
    plan.channels.push_back(std::move(*channel.files));
  }
  result.plan = std::move(plan);
  return result;
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
      report.error(kind.channel_key, fmt::format("'{}' is not a channel name such as temp or voltage0", *channel));
}

}  // namespace sr::iio
