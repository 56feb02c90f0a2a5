// Network namespaces for tests; see netns.h.
#include "support/netns.h"

#include "support/process.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace sr::test {

std::string find_tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

bool enter_new_netns(std::string& why) {
  for (const char* tool : {"ip", "nsenter"})
    if (find_tool(tool).empty()) {
      why = std::string(tool) + " not found (Debian: iproute2, util-linux)";
      return false;
    }
  if (unshare(CLONE_NEWNET) != 0) {
    why = std::string("cannot create a network namespace: ") + std::strerror(errno) +
          (errno == EPERM ? " (needs root: CAP_SYS_ADMIN)" : "");
    return false;
  }
  // A new namespace's loopback is down.
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  up = up && ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  if (fd >= 0) close(fd);
  if (!up) why = std::string("cannot bring lo up in the new namespace: ") + std::strerror(errno);
  return up;
}

void ip(const std::vector<std::string>& args, pid_t in_pid) {
  std::vector<std::string> argv;
  if (in_pid != 0) argv = {find_tool("nsenter"), "-t", std::to_string(in_pid), "-n"};
  argv.push_back(find_tool("ip"));
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult result = run(argv);
  if (result.exit_code != 0) {
    std::string command;
    for (const auto& a : argv) command += a + " ";
    throw std::runtime_error(command + "failed (" + std::to_string(result.exit_code) + "): " + result.err);
  }
}

unsigned interface_index(const std::string& name) { return if_nametoindex(name.c_str()); }

}  // namespace sr::test
