// energymeter.read_meter_values.Pafal20ec3gr; see read_meter_values.hpp for
// the parameters and decisions.
#include "read_meter_values.hpp"

#include "serial_port.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace sr::energymeter {
namespace {

using namespace iec62056;

constexpr size_t kMaxIdentificationLine = 64;  // '/', XXX, Z, 16 characters, and noise before it

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

}  // namespace

void Pafal20ec3gr::check(const sdk::Params& params, sdk::CheckReport& report) {
  if (auto baud = params.find<long long>("MaxBaud"); baud && !mode_c_baud_char(static_cast<unsigned>(*baud)))
    report.error("MaxBaud", "must be 300, 600, 1200, 2400, 4800, 9600 or 19200");
}

Pafal20ec3gr::Pafal20ec3gr(sdk::Host host, const sdk::Params& params)
    : host_(host),
      device_(params.get("SerialDevice")),
      import_destination_(params.get("Import_Dst")),
      export_destination_(params.get("Export_Dst")),
      timeout_(seconds(params.get<double>("Timeout"))),
      // A readout still going at 90 % of Poll is not going to end well.
      deadline_(seconds(params.get<double>("Poll") * 0.9)),
      max_baud_(params.get<unsigned>("MaxBaud")) {
  if (!mode_c_baud_char(max_baud_))
    throw std::invalid_argument(fmt::format("MaxBaud {} is not 300, 600, 1200, 2400, 4800, 9600 or 19200", max_baud_));
}

sdk::PollResult Pafal20ec3gr::poll() {
  SerialOpen port = open_serial(device_, kInitialBaud);
  if (!port.fd) {
    host_.error("{}", port.error);
    return sdk::PollResult::Failed;
  }
  if (!port.framing_kept && !framing_noted_) {
    host_.info("{} does not keep 7 data bits with even parity (a pseudo-terminal?); reading anyway", device_);
    framing_noted_ = true;
  }
  if (::write(port.fd.get(), kSignOn.data(), kSignOn.size()) != static_cast<ssize_t>(kSignOn.size())) {
    host_.error("cannot send the sign-on to {}: {}", device_, std::strerror(errno));
    return sdk::PollResult::Failed;
  }
  port_ = std::move(port.fd);
  ++readout_;
  step_ = Step::Identification;
  line_.clear();
  reader_ = DataMessageReader();
  baud_ = kInitialBaud;
  received_ = 0;
  watch_ = host_.watch_fd(port_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
  arm_silence();
  overall_ = host_.add_timer(deadline_, {}, [this] {
    fail(fmt::format("the readout took longer than {:.0f} s (90 % of Poll); {} bytes received",
                     std::chrono::duration<double>(deadline_).count(), received_));
  });
  return sdk::PollResult::Pending;
}

void Pafal20ec3gr::arm_silence() {
  silence_ = host_.add_timer(timeout_, {}, [this] {
    const double s = std::chrono::duration<double>(timeout_).count();
    switch (step_) {
      case Step::Identification:
        fail(received_ == 0 ? fmt::format("the meter did not answer the sign-on within {} s (is the optical head "
                                          "on the meter's LED?)",
                                          s)
                            : fmt::format("no identification within {} s of the last byte ({} bytes received)",
                                          s, received_));
        break;
      case Step::Switching:
        fail(fmt::format("the option select was not sent within {} s", s));
        break;
      case Step::Data:
        fail(reader_.state() == DataMessageReader::State::BeforeStx
                 ? fmt::format("no data message within {} s of the option select at {} baud", s, baud_)
                 : fmt::format("the meter stopped sending after {} bytes of data ({} s of silence)",
                               reader_.data().size(), s));
        break;
      case Step::Idle: break;
    }
  });
}

void Pafal20ec3gr::on_readable() {
  std::array<char, 512> buffer;
  for (;;) {
    const ssize_t n = ::read(port_.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      // EIO: the adapter was unplugged; 0: the other end of a pty closed.
      fail(n == 0 ? fmt::format("{} was closed", device_) : fmt::format("cannot read {}: {}", device_, std::strerror(errno)));
      return;
    }
    received_ += static_cast<size_t>(n);
    arm_silence();
    take(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (step_ == Step::Idle) return;  // the readout ended in there
  }
}

void Pafal20ec3gr::take(std::string_view bytes) {
  switch (step_) {
    case Step::Identification:
      for (const char byte : bytes) {
        const char c = static_cast<char>(byte & 0x7f);
        if (c == '\n') {
          std::string line = std::move(line_);
          line_.clear();
          if (!line.empty() && line.back() == '\r') line.pop_back();
          // An optical head hears its own sign-on; noise before '/' is the
          // head waking up.
          const size_t slash = line.find('/');
          if (slash == std::string::npos || line.substr(slash) == kSignOn.substr(0, kSignOn.size() - 2)) continue;
          on_identification(std::string_view(line).substr(slash));
          return;  // the rest of the chunk belongs to the next step, which discards it
        }
        if (line_.size() == kMaxIdentificationLine) {
          fail(fmt::format("no identification line: {} bytes without a line end", received_));
          return;
        }
        line_ += c;
      }
      break;
    case Step::Switching:
      // Said at the old speed while ours changes (an echo of the option
      // select): not the data message, which waits for the switch.
      break;
    case Step::Data:
      reader_.feed(bytes);
      if (reader_.failed()) {
        fail(reader_.error());
      } else if (reader_.done()) {
        on_data();
      }
      break;
    case Step::Idle: break;
  }
}

void Pafal20ec3gr::on_identification(std::string_view line) {
  const IdentificationParse parsed = parse_identification(line);
  if (!parsed.identification) {
    fail(parsed.error);
    return;
  }
  const Identification& id = *parsed.identification;
  if (identification_ != line) {
    host_.info("meter {} on {} offers up to {} baud", sdk::printable(line), device_, id.baud);
    identification_ = std::string(line);
  }
  baud_ = std::min(id.baud, max_baud_);
  const std::string select = option_select(*mode_c_baud_char(baud_));
  if (::write(port_.get(), select.data(), select.size()) != static_cast<ssize_t>(select.size())) {
    fail(fmt::format("cannot send the option select to {}: {}", device_, std::strerror(errno)));
    return;
  }
  if (baud_ == kInitialBaud) {
    step_ = Step::Data;
    return;
  }
  // The new speed applies once the option select has left the port at the
  // old one: tcdrain blocks until then (about 200 ms at 300 baud), so it
  // runs on a worker, on a duplicate that the worker closes (the readout
  // may end, and close the port, meanwhile).
  step_ = Step::Switching;
  const int copy = ::fcntl(port_.get(), F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    fail(fmt::format("cannot duplicate the port's descriptor: {}", std::strerror(errno)));
    return;
  }
  const unsigned readout = readout_;
  host_.run_blocking(
      [copy] {
        const int error = tcdrain(copy) == 0 ? 0 : errno;
        ::close(copy);
        return error;
      },
      [this, readout](int error) {
        if (readout == readout_ && step_ == Step::Switching) switched(error);
      });
}

void Pafal20ec3gr::switched(int drain_error) {
  if (drain_error != 0) {
    fail(fmt::format("cannot wait for the option select to be sent: {}", std::strerror(drain_error)));
    return;
  }
  if (const std::string error = set_serial_speed(port_.get(), baud_); !error.empty()) {
    fail(fmt::format("cannot switch {} to {} baud: {}", device_, baud_, error));
    return;
  }
  step_ = Step::Data;
  arm_silence();
}

void Pafal20ec3gr::on_data() {
  const DataBlockParse block = parse_data_block(reader_.data());
  if (!block.error.empty()) {
    fail(block.error);
    return;
  }
  const RegisterRead imported = find_energy_register(block.sets, "1.8.0");
  const RegisterRead exported = find_energy_register(block.sets, "2.8.0");
  if (!imported.kwh && !exported.kwh) {
    fail(fmt::format("{}; {}", imported.error, exported.error));
    return;
  }
  for (const RegisterRead* missing : {&imported, &exported})
    if (!missing->kwh) host_.warning("{}", missing->error);
  import_ = imported.kwh ? std::optional(python_float(*imported.kwh)) : std::nullopt;
  export_ = exported.kwh ? std::optional(python_float(*exported.kwh)) : std::nullopt;
  host_.debug("read {} data sets at {} baud: import {} kWh, export {} kWh", block.sets.size(), baud_,
              import_.value_or("?"), export_.value_or("?"));
  end(true);
  publish();
}

void Pafal20ec3gr::fail(std::string why) {
  host_.error("{}: {}", device_, why);
  end(false);
}

void Pafal20ec3gr::end(bool ok) {
  step_ = Step::Idle;
  watch_.reset();
  silence_.cancel();
  overall_.cancel();
  port_.reset();
  host_.poll_done(ok);
}

void Pafal20ec3gr::publish() {
  if (import_) host_.publish(import_destination_, *import_);
  if (export_) host_.publish(export_destination_, *export_);
}

void Pafal20ec3gr::refresh() { publish(); }

}  // namespace sr::energymeter
