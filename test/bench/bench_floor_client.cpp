// bench_idle's memory floor: the smallest C++ program that is an MQTT client
// through Debian's libmosquitto (so: libstdc++, libmosquitto and the OpenSSL
// it always links), connected and idle as the daemon is. Ends on SIGTERM.
// Usage: bench_floor_client PORT
#include <mosquitto.h>
#include <unistd.h>

#include <string>

int main(int argc, char** argv) {
  if (argc != 2) return 64;
  mosquitto_lib_init();
  const std::string id = "bench-floor-" + std::to_string(getpid());
  mosquitto* m = mosquitto_new(id.c_str(), true, nullptr);
  if (!m || mosquitto_connect(m, "127.0.0.1", std::stoi(argv[1]), 60) != MOSQ_ERR_SUCCESS) return 1;
  mosquitto_loop_forever(m, -1, 1);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();
  return 0;
}
