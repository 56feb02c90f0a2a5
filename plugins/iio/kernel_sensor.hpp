// What iio.IioSensor and hwmon.HwmonSensor share: a section with one
// destination key per quantity (TempDest, HumiDest, ..., and Destination for
// any other channel), each reading one channel of one device, polled on a
// worker; the device and its channels are found, and their files opened, on
// the first poll and again after the device went away.
//
// Threading: KernelSensor lives on the loop. poll() hands a copy of what the
// worker needs (the plan, or a Resolver to make one) to Host::poll_async;
// the result comes back on the loop. The instance owns everything; the
// worker touches nothing of it.
#pragma once

#include "channel.hpp"
#include "kernel_device.hpp"

#include <sensor_reporter/sdk.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace sr::iio {

// TempUnit's choices, in the table's order (C|F).
enum class TempUnit { Celsius, Fahrenheit };

// One destination key of a class and how its readings are made.
struct OutputKind {
  const char* destination_key;  // "TempDest"
  const char* channel_key;      // "TempChannel"
  const char* channel_type;  // without a channel key: the device's only channel of this type; null: required
  double factor;             // the kernel's unit -> the published one (m°C -> °C: 0.001)
  int decimals;              // published with up to this many, trailing zeros removed
  bool temperature;          // TempUnit applies
};

// One output a section configured.
struct Output {
  const OutputKind* kind = nullptr;
  std::string destination;
  std::string channel;  // as the section names it; empty: the kind's default
};

// The outputs the section sets, in the kinds' order.
std::vector<Output> configured_outputs(std::span<const OutputKind> kinds, const sdk::Params& params);

// The rules the table cannot say: at least one destination; a channel key
// needs its destination; Destination needs Channel.
void check_outputs(std::span<const OutputKind> kinds, const sdk::Params& params, sdk::CheckReport& report);

// The payload for a kernel value: factor, then TempUnit for temperatures,
// then up to `decimals` decimals ("21.5", "1006.533", "3.3").
std::string payload_for(const OutputKind& kind, double kernel_value, TempUnit unit);

// Where each output reads: the device and, per output, its files.
struct SensorPlan {
  std::string device;                  // for messages: "iio:device0 (bme280 on 1-0076)"
  std::vector<ChannelFiles> channels;  // one per output, in order
};
struct PlanOrError {
  std::optional<SensorPlan> plan;
  std::string error;
};
// The plan for `device`: each output's channel as `resolve` finds it from
// the channel the section names (empty: none) and the kind's type; an error
// names the output's key and the device.
using ChannelResolver = std::function<ChannelChoice(std::string_view channel, std::string_view type)>;
PlanOrError plan_outputs(const KernelDevice& device, const std::vector<Output>& outputs,
                         const ChannelResolver& resolve);

// Makes a plan on a worker: finds the device and each output's channel.
// Copied into each poll that needs one, so it must capture values only.
using Resolver = std::function<PlanOrError(const std::vector<Output>& outputs)>;

class KernelSensor {
 public:
  KernelSensor(sdk::Host host, std::vector<Output> outputs, TempUnit unit, Resolver resolver);

  // Pending; the poll fails when no output got a reading.
  sdk::PollResult poll();
  // Republishes each output's last reading.
  void refresh();

  const std::vector<Output>& outputs() const { return outputs_; }
  // The device and its files are found and open: false before the first
  // good lookup and after the device went away.
  bool found() const { return plan_ != nullptr; }

 private:
  // A plan with each channel's files open, kept between polls.
  struct OpenPlan {
    std::string device;
    std::vector<OpenChannel> channels;
  };
  struct Result {
    std::optional<OpenPlan> new_plan;
    std::string plan_error;
    std::vector<ChannelValue> values;
  };
  static Result find_and_read(const Resolver& resolver, const std::vector<Output>& outputs);
  bool on_result(Result result);

  sdk::Host host_;
  std::vector<Output> outputs_;
  TempUnit unit_;
  Resolver resolver_;
  // Shared with the worker of a poll in flight (the only reader of its
  // descriptors: one poll at a time), never changed once made.
  std::shared_ptr<const OpenPlan> plan_;
  std::vector<std::optional<std::string>> last_published_;
};

}  // namespace sr::iio
