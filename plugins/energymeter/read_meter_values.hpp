// energymeter.read_meter_values.Pafal20ec3gr — polling sensor: the energy
// registers of a Pafal 20EC3gr electricity meter (or any meter that speaks
// IEC 62056-21 protocol mode C), read through an optical head on a serial
// port.
//
// Each poll is one data readout (iec62056.hpp): sign-on at 300 baud,
// identification, option select at the fastest rate both sides allow,
// data message with its block check. Then the imported energy (OBIS 1.8.0)
// goes to Import_Dst and the exported energy (2.8.0) to Export_Dst, in kWh,
// written as the original wrote them (Python's str(float): "48162.13").
// Refresh republishes the last values read.
//
// Parameters:
//   SerialDevice  the port, e.g. /dev/ttyUSB0 (required: the original's
//                 README forgot it, its code required it)
//   Import_Dst    where 1.8.0 goes
//   Export_Dst    where 2.8.0 goes
//   Poll          seconds between readouts, at least 60 (the original's rule:
//                 a readout starts at 300 baud and meters are not meant to be
//                 read continuously)
//   Timeout       seconds of silence from the meter that end a readout as
//                 failed (default 3; the standard allows the meter 1.5 s)
//   MaxBaud       the fastest rate to switch to (default 19200; 300 stays at
//                 300 baud, as the original did)
//
// Decisions:
//  - The original acknowledged at 300 baud only (its comment says 9600 "does
//    not seem to work": it changed speed before its acknowledgement had left
//    the port). Here the speed changes once the option select has been sent
//    (tcdrain on a worker, the only blocking call), as the standard says.
//  - The whole readout runs on the host's event loop: the port is a
//    non-blocking fd watch, the silences are host timers.
//  - Any mode C meter is read, not only one identifying itself exactly as
//    /PAF5EC3gr00006 (the original's check). The identification is logged
//    once, and again when it changes.
//  - The Pafal marks its current registers 1.8.0*00 and 2.8.0*00; plain
//    1.8.0, A-B:1.8.0 and *255 are taken too, other *NN suffixes (historical
//    values) are not (iec62056.hpp, find_energy_register).
//  - A readout that fails (no answer, a garbled identification, a wrong
//    block check, no 1.8.0 and no 2.8.0) publishes nothing and fails the
//    poll, so the host backs off; one register missing publishes the other
//    and warns.
//  - The port is opened for each readout and closed after it, so an
//    unplugged head is found again when it is back.
//
//   [Sensor_Meter]
//   Class = energymeter.read_meter_values.Pafal20ec3gr
//   Connection = MQTT
//   SerialDevice = /dev/ttyUSB0
//   Poll = 60
//   Import_Dst = energy/import
//   Export_Dst = energy/export
#pragma once

#include "iec62056.hpp"

#include <sensor_reporter/handle.hpp>
#include <sensor_reporter/sdk.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace sr::energymeter {

class Pafal20ec3gr {
 public:
  static constexpr sr_kind kind = SR_KIND_SENSOR;
  static constexpr const char* name = "Pafal20ec3gr";
  static constexpr const char* path = "energymeter.read_meter_values.Pafal20ec3gr";
  static constexpr const char* summary =
      "Publishes imported and exported energy (kWh) read from an IEC 62056-21 meter such as the Pafal 20EC3gr";
  static constexpr sr_param_def params[] = {
      sdk::string_param("SerialDevice").required().not_empty().help("serial port of the optical head, e.g. /dev/ttyUSB0"),
      sdk::string_param("Import_Dst").required().help("destination of the imported energy, kWh (OBIS 1.8.0)"),
      sdk::string_param("Export_Dst").required().help("destination of the exported energy, kWh (OBIS 2.8.0)"),
      sdk::float_param("Poll").required().min(60).help("seconds between readouts, at least 60"),
      sdk::float_param("Timeout").fallback("3").min(0.5).max(30).help(
          "seconds of silence from the meter that end a readout as failed"),
      sdk::int_param("MaxBaud").fallback("19200").min(300).max(19200).help(
          "fastest baud rate to switch to after the sign-on: 300, 600, 1200, 2400, 4800, 9600 or 19200"),
      sdk::end_params};
  static constexpr sr_io_def ios[] = {sdk::publishes("Import_Dst", SR_VALUE_NUMBER, "energy", "kWh"),
                                      sdk::publishes("Export_Dst", SR_VALUE_NUMBER, "energy", "kWh"), sdk::end_ios};

  static void check(const sdk::Params& params, sdk::CheckReport& report);

  Pafal20ec3gr(sdk::Host host, const sdk::Params& params);
  Pafal20ec3gr(const Pafal20ec3gr&) = delete;
  Pafal20ec3gr& operator=(const Pafal20ec3gr&) = delete;

  sdk::PollResult poll();
  void refresh();

  // Bytes the current (or last) readout has received, for the unit tests.
  size_t bytes_received() const { return received_; }

 private:
  enum class Step { Idle, Identification, Switching, Data };

  void on_readable();
  void take(std::string_view bytes);
  void on_identification(std::string_view line);
  void switched(int drain_error);
  void on_data();
  void arm_silence();
  void fail(std::string why);  // ends the readout as failed
  void end(bool ok);
  void publish();

  sdk::Host host_;
  std::string device_;
  std::string import_destination_;
  std::string export_destination_;
  std::chrono::nanoseconds timeout_;
  std::chrono::nanoseconds deadline_;  // a whole readout
  unsigned max_baud_;

  // The readout under way.
  Step step_ = Step::Idle;
  unsigned readout_ = 0;  // numbers them, so a late drain result is recognised
  sdk::UniqueFd port_;
  sdk::FdWatch watch_;
  sdk::Timer silence_;
  sdk::Timer overall_;
  std::string line_;  // the identification line being read
  iec62056::DataMessageReader reader_;
  unsigned baud_ = iec62056::kInitialBaud;
  size_t received_ = 0;  // bytes this readout

  std::string identification_;  // the last one seen, for its log line
  bool framing_noted_ = false;
  std::optional<std::string> import_, export_;  // last published
};

}  // namespace sr::energymeter
