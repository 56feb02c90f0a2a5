// ssdp_responder: Roku players answering SSDP searches, for the tests and
// the manual trials of roku.roku_addr.RokuAddressSensor. Written from the
// protocol (UPnP Device Architecture 1.1 §1.3.2-1.3.3: M-SEARCH and its
// unicast response) and Roku's External Control Protocol documentation
// (search target roku:ecp, the response's ST/LOCATION/USN), not from the
// plugin.
//
//   ssdp_responder [--own-netns] [--interface IF] [--max-delay-ms N]
//                  [--device SERIAL=LOCATION]...
//
// It joins 239.255.255.250 on IF (default: the kernel's choice), listens on
// UDP port 1900, and for every valid multicast search whose ST is roku:ecp
// or ssdp:all answers once per device, unicast to the searcher, each after
// a random delay of 0 to min(MX s, N ms) (UDA: "between 0 and MX seconds";
// default N 300). A search UDA says a device must ignore (no MX, MX not a
// number, wrong HOST or MAN, another request line) is discarded, and said
// so on stdout.
//
// --own-netns: first move into a network namespace of its own, print
// "netns <pid>" and wait for the line "go" on stdin, so the test can move
// an interface in and configure it (ip link set IF netns PID).
//
// stdout, one line each: "listening", "search from ADDR:PORT st=ST mx=MX",
// "discarded from ADDR:PORT: REASON", "answered ADDR:PORT SERIAL".
// stdin commands: "add SERIAL=LOCATION", "remove SERIAL", "junk" (every
// later search is also answered by a non-Roku device and with a datagram
// that is no HTTP), "quit"; each is acknowledged with "ok". The end of stdin
// ends the commands only: the responder serves until killed or "quit".
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Pending {
  Clock::time_point due;
  sockaddr_in to;
  std::string datagram;
  std::string what;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

std::string address_text(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(a.sin_port));
}

void say(const std::string& line) {
  std::cout << line << std::endl;  // flushed: the test waits for each line
}

// A search as UDA 1.1 §1.3.2 defines it: the reason to discard it, or ""
// with `st` and `mx` filled in.
std::string read_search(const std::string& datagram, std::string& st, int& mx) {
  std::istringstream in(datagram);
  std::string line;
  if (!std::getline(in, line) || trim(line.substr(0, line.find('\r'))) != "M-SEARCH * HTTP/1.1")
    return "not an M-SEARCH request line";
  std::map<std::string, std::string> headers;
  bool ended = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      ended = true;
      break;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return "header line without ':'";
    headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  if (!ended) return "no empty line after the headers";
  if (headers["host"] != "239.255.255.250:1900") return "HOST is not 239.255.255.250:1900";
  if (headers["man"] != "\"ssdp:discover\"") return "MAN is not \"ssdp:discover\" (quoted)";
  const std::string& mx_text = headers["mx"];
  if (mx_text.empty() || mx_text.find_first_not_of("0123456789") != std::string::npos) return "no MX, or not a number";
  mx = std::min(std::stoi(mx_text.substr(0, 3)), 5);  // "greater than 5 SHOULD be treated as 5"
  if (mx < 1) return "MX below 1";
  st = headers["st"];
  if (st.empty()) return "no ST";
  return "";
}

std::string roku_answer(const std::string& serial, const std::string& location) {
  return "HTTP/1.1 200 OK\r\n"
         "Cache-Control: max-age=3600\r\n"
         "EXT:\r\n"
         "Server: Roku/9.4.0 UPnP/1.0 Roku/9.4.0\r\n"
         "ST: roku:ecp\r\n"
         "Location: " + location + "\r\n"
         "USN: uuid:roku:ecp:" + serial + "\r\n"
         "\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> devices;
  std::string interface;
  int max_delay_ms = 300;
  bool own_netns = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n";
        std::exit(64);
      }
      return argv[++i];
    };
    if (arg == "--own-netns") {
      own_netns = true;
    } else if (arg == "--interface") {
      interface = value();
    } else if (arg == "--max-delay-ms") {
      max_delay_ms = std::stoi(value());
    } else if (arg == "--device") {
      const std::string d = value();
      const size_t eq = d.find('=');
      if (eq == std::string::npos) return 64;
      devices[d.substr(0, eq)] = d.substr(eq + 1);
    } else {
      std::cerr << "usage: ssdp_responder [--own-netns] [--interface IF] [--max-delay-ms N] "
                   "[--device SERIAL=LOCATION]...\n";
      return 64;
    }
  }
  if (own_netns) {
    if (unshare(CLONE_NEWNET) != 0) {
      std::cerr << "unshare(CLONE_NEWNET): " << std::strerror(errno) << "\n";
      return 1;
    }
    say("netns " + std::to_string(getpid()));
    std::string line;
    if (!std::getline(std::cin, line) || line != "go") return 1;
  }

  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(1900);
  if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) {
    std::cerr << "bind 0.0.0.0:1900: " << std::strerror(errno) << "\n";
    return 1;
  }
  ip_mreqn membership{};
  inet_pton(AF_INET, "239.255.255.250", &membership.imr_multiaddr);
  membership.imr_ifindex = interface.empty() ? 0 : static_cast<int>(if_nametoindex(interface.c_str()));
  if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
    std::cerr << "joining 239.255.255.250 on " << (interface.empty() ? "the default interface" : interface) << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  say("listening");

  std::mt19937 random(static_cast<unsigned>(getpid()));
  std::vector<Pending> pending;
  bool junk = false;
  bool commands = true;
  for (;;) {
    int timeout = -1;
    if (!pending.empty()) {
      auto next = std::min_element(pending.begin(), pending.end(),
                                   [](const Pending& a, const Pending& b) { return a.due < b.due; });
      timeout = static_cast<int>(std::max<long long>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(next->due - Clock::now()).count() + 1));
    }
    // stdin at its end (run in the background of a shell) ends the commands,
    // not the responder: it serves until killed or told "quit".
    pollfd fds[2] = {{commands ? STDIN_FILENO : -1, POLLIN, 0}, {fd, POLLIN, 0}};
    if (::poll(fds, 2, timeout) < 0 && errno != EINTR) return 1;
    const auto now = Clock::now();
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->due > now) {
        ++it;
        continue;
      }
      sendto(fd, it->datagram.data(), it->datagram.size(), 0, reinterpret_cast<sockaddr*>(&it->to), sizeof it->to);
      if (!it->what.empty()) say("answered " + address_text(it->to) + " " + it->what);
      it = pending.erase(it);
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      std::string line;
      if (!std::getline(std::cin, line)) {
        commands = false;
        continue;
      }
      if (line == "quit") return 0;
      if (line.rfind("add ", 0) == 0 && line.find('=') != std::string::npos) {
        const size_t eq = line.find('=');
        devices[line.substr(4, eq - 4)] = line.substr(eq + 1);
      } else if (line.rfind("remove ", 0) == 0) {
        devices.erase(line.substr(7));
      } else if (line == "junk") {
        junk = true;
      }
      say("ok");
    }
    if (fds[1].revents & POLLIN) {
      char buffer[2048];
      sockaddr_in from{};
      socklen_t size = sizeof from;
      const ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &size);
      if (n <= 0) continue;
      std::string st;
      int mx = 0;
      const std::string why = read_search(std::string(buffer, static_cast<size_t>(n)), st, mx);
      if (!why.empty()) {
        say("discarded from " + address_text(from) + ": " + why);
        continue;
      }
      say("search from " + address_text(from) + " st=" + st + " mx=" + std::to_string(mx));
      if (st != "roku:ecp" && st != "ssdp:all") continue;
      std::uniform_int_distribution<int> delay(0, std::min(mx * 1000, max_delay_ms));
      for (const auto& [serial, location] : devices)
        pending.push_back({now + std::chrono::milliseconds(delay(random)), from, roku_answer(serial, location), serial});
      if (junk) {
        pending.push_back({now, from,
                           "HTTP/1.1 200 OK\r\nST: urn:dial-multiscreen-org:service:dial:1\r\nLOCATION: "
                           "http://10.77.0.2:8008/ssdp/device-desc.xml\r\nUSN: uuid:chromecast::dial\r\n\r\n",
                           ""});
        pending.push_back({now, from, "\x01\x02 this is no HTTP", ""});
      }
    }
  }
}
