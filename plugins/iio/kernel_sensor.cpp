// The poll of a section that reads kernel device channels; see kernel_sensor.hpp.
#include "kernel_sensor.hpp"

#include <sensor_reporter/sysfs.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <stdexcept>
#include <utility>

namespace sr::iio {
namespace {

std::string destination_keys(std::span<const OutputKind> kinds) {
  std::string keys;
  for (const OutputKind& kind : kinds)
    keys += fmt::format("{}{}", keys.empty() ? "" : ", ", kind.destination_key);
  return keys;
}

}  // namespace

std::vector<Output> configured_outputs(std::span<const OutputKind> kinds, const sdk::Params& params) {
  std::vector<Output> outputs;
  for (const OutputKind& kind : kinds)
    if (auto destination = params.find(kind.destination_key))
      outputs.push_back(Output{&kind, *destination, params.find(kind.channel_key).value_or("")});
  if (outputs.empty())
    throw std::runtime_error(fmt::format("nothing to publish: set one of {}", destination_keys(kinds)));
  for (const Output& output : outputs)
    if (!output.kind->channel_type && output.channel.empty())
      throw std::runtime_error(fmt::format("{} needs {}: the channel to read", output.kind->destination_key,
                                           output.kind->channel_key));
  return outputs;
}

void check_outputs(std::span<const OutputKind> kinds, const sdk::Params& params, sdk::CheckReport& report) {
  bool any = false;
  for (const OutputKind& kind : kinds) {
    const bool destination = params.has(kind.destination_key);
    const bool channel = params.has(kind.channel_key);
    any = any || destination;
    if (channel && !destination)
      report.warning(kind.channel_key,
                     fmt::format("has no effect without {} (where its readings go)", kind.destination_key));
    if (destination && !channel && !kind.channel_type)
      report.error(kind.destination_key, fmt::format("needs {}: the channel to read", kind.channel_key));
  }
  if (!any) report.error("", fmt::format("nothing to publish: set one of {}", destination_keys(kinds)));
}

std::string payload_for(const OutputKind& kind, double kernel_value, TempUnit unit) {
  double value = kernel_value * kind.factor;
  if (kind.temperature && unit == TempUnit::Fahrenheit) value = sdk::celsius_to_fahrenheit(value);
  return sdk::format_trimmed(value, kind.decimals);
}

PlanOrError plan_outputs(const KernelDevice& device, const std::vector<Output>& outputs,
                         const ChannelResolver& resolve) {
  PlanOrError result;
  SensorPlan plan;
  plan.device = describe(device);
  for (const Output& output : outputs) {
    ChannelChoice channel =
        resolve(output.channel, output.kind->channel_type ? output.kind->channel_type : "");
    if (!channel.files) {
      result.error = fmt::format(
          "{}: {}: {}", output.channel.empty() ? output.kind->destination_key : output.kind->channel_key,
          plan.device, channel.error);
      return result;
    }
    plan.channels.push_back(std::move(*channel.files));
  }
  result.plan = std::move(plan);
  return result;
}

KernelSensor::KernelSensor(sdk::Host host, std::vector<Output> outputs, TempUnit unit, Resolver resolver)
    : host_(host),
      outputs_(std::move(outputs)),
      unit_(unit),
      resolver_(std::move(resolver)),
      last_published_(outputs_.size()) {}

sdk::PollResult KernelSensor::poll() {
  auto done = [this](Result result) { return on_result(std::move(result)); };
  if (plan_)
    return host_.poll_async(
        [plan = plan_] {
          Result result;
          result.values.reserve(plan->channels.size());
          for (const OpenChannel& channel : plan->channels) result.values.push_back(read_channel(channel));
          return result;
        },
        done);
  return host_.poll_async(
      [resolver = resolver_, outputs = outputs_] { return find_and_read(resolver, outputs); }, done);
}

KernelSensor::Result KernelSensor::find_and_read(const Resolver& resolver,
                                                 const std::vector<Output>& outputs) {
  Result result;
  PlanOrError made = resolver(outputs);
  if (!made.plan) {
    result.plan_error = std::move(made.error);
    return result;
  }
  OpenPlan plan{std::move(made.plan->device), {}};
  bool all_open = true;
  for (const ChannelFiles& files : made.plan->channels) {
    OpenChannel channel;
    ChannelValue opened = open_channel(files, channel);
    result.values.push_back(opened.ok ? read_channel(channel) : std::move(opened));
    all_open = all_open && opened.ok;
    plan.channels.push_back(std::move(channel));
  }
  // A file that would not open: look again next time.
  if (all_open) result.new_plan = std::move(plan);
  return result;
}

void KernelSensor::refresh() {
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (last_published_[i]) host_.publish(outputs_[i].destination, *last_published_[i]);
}

bool KernelSensor::on_result(Result result) {
  if (!result.plan_error.empty()) {
    host_.error("{}", result.plan_error);
    return false;
  }
  if (result.new_plan) {
    std::string channels;
    for (size_t i = 0; i < outputs_.size(); ++i)
      channels += fmt::format("{}{} -> {}", i ? ", " : "", result.new_plan->channels[i].files.channel,
                              outputs_[i].destination);
    host_.info("reading {}: {}", result.new_plan->device, channels);
    plan_ = std::make_shared<const OpenPlan>(std::move(*result.new_plan));
  }
  bool published = false;
  bool device_gone = false;
  for (size_t i = 0; i < result.values.size() && i < outputs_.size(); ++i) {
    const ChannelValue& value = result.values[i];
    if (!value.ok) {
      host_.error("cannot read {}: {}", value.file, value.error);
      device_gone = device_gone || value.error_number == ENOENT || value.error_number == ENODEV;
      continue;
    }
    std::string payload = payload_for(*outputs_[i].kind, value.value, unit_);
    host_.publish(outputs_[i].destination, payload);
    last_published_[i] = std::move(payload);
    published = true;
  }
  // Unplugged or unbound (open descriptors then read ENODEV): look for it
  // again next time, it may come back under another iio:deviceN.
  if (device_gone) plan_.reset();
  return published;
}

}  // namespace sr::iio
