// A broker host name with several addresses: each is tried in turn, as the
// original's paho client (socket.create_connection) does. The common case is
// `Host = localhost` where /etc/hosts gives ::1 first (stock Debian) and the
// broker listens on 127.0.0.1 only: libmosquitto's own non-blocking connect
// stops at the first address, so the daemon never connected.
//
// The test process enters a mount namespace of its own before any thread
// starts and binds a hosts file over /etc/hosts there, so the daemon it
// starts resolves the test's name through glibc's real resolver without
// touching the machine's file. Needs root (CAP_SYS_ADMIN) and ::1 on the
// loopback; without them it says why and exits 77 (SKIP).
#define DOCTEST_CONFIG_IMPLEMENT
#include "support/broker.h"
#include "support/mqtt_client.h"
#include "support/process.h"
#include "support/reporter.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <netdb.h>
#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

using namespace sr::test;

namespace {

constexpr const char* kName = "sr-test-dual";

const std::string kHeartbeat = mqtt_heartbeat_section(1);

// The first address getaddrinfo gives for `name`, as libmosquitto asks.
std::string first_address(const char* name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(name, "1883", &hints, &found) != 0) return "";
  char text[NI_MAXHOST] = "";
  getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
  freeaddrinfo(found);
  return text;
}

// /etc/hosts, in this process's own mount namespace only, names kName as
// ::1 and 127.0.0.1.
bool use_own_hosts_file(const std::string& dir, std::string& why) {
  const std::string path = dir + "/hosts";
  FILE* file = std::fopen(path.c_str(), "w");
  if (!file) {
    why = "cannot write " + path;
    return false;
  }
  std::fprintf(file, "127.0.0.1 localhost\n::1 %s\n127.0.0.1 %s\n", kName, kName);
  std::fclose(file);
  if (unshare(CLONE_NEWNS) != 0) {
    why = std::string("cannot create a mount namespace: ") + std::strerror(errno) +
          (errno == EPERM ? " (needs root: CAP_SYS_ADMIN)" : "");
    return false;
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      mount(path.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
    why = std::string("cannot bind a hosts file over /etc/hosts: ") + std::strerror(errno);
    return false;
  }
  if (first_address(kName) != "::1") {
    why = std::string(kName) + " does not resolve to ::1 first (no IPv6 on the loopback?): '" +
          first_address(kName) + "'";
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a host name whose first address refuses is reached through the next one, at once") {
  WatchedBroker watched;  // listens on 127.0.0.1 only
  TempDir dir;
  auto reporter = start_reporter(dir, with_host(mqtt_section(watched.broker.port()), kName) + kHeartbeat);
  REQUIRE(watched.observer.wait_for_message("sr/status", "ONLINE", 10s));
  REQUIRE(watched.observer.wait_for_message("sr/hb/str", "00:00:00", 5s));
  CHECK(reporter->output().find(fmt::format("connected to {}:{}", kName, watched.broker.port())) != std::string::npos);
  // Not after a retry: the first attempt went on to 127.0.0.1.
  CHECK(reporter->output().find("cannot reach broker") == std::string::npos);
  reporter->signal(SIGTERM);
  CHECK(reporter->wait_exit(5s) == 0);
}

TEST_CASE("when no address answers, one warning names each address and its failure") {
  Broker broker("", "", false);
  TempDir dir;
  auto reporter = start_reporter(dir, with_host(mqtt_section(broker.port()), kName) + kHeartbeat);
  const std::string failure =
      fmt::format("cannot reach broker {}:{}: ::1: Connection refused, 127.0.0.1: Connection refused; retrying",
                  kName, broker.port());
  REQUIRE(reporter->wait_for_output(failure, 10s));
  broker.start();
  REQUIRE(reporter->wait_for_output(fmt::format("connected to {}:{}", kName, broker.port()), 10s));
  CHECK(occurrences(reporter->output(), failure) == 1);
  reporter->signal(SIGTERM);
  CHECK(reporter->wait_exit(5s) == 0);
}

int main(int argc, char** argv) {
  TempDir dir;
  std::string why;
  if (!use_own_hosts_file(dir.path(), why)) {
    std::printf("SKIP: test_mqtt_addresses needs a hosts file of its own: %s\n", why.c_str());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
