// The command of the actuator benchmarks: appends "ARGUMENT NANOSECONDS" (on
// CLOCK_MONOTONIC, the clock the benchmark's steady_clock reads) to FILE.
// With --print, the script of bench_openhab's ExecSensor instead: writes
// just NANOSECONDS to stdout, the moment its reading exists.
// Deliberately tiny (no shell, no libstdc++ I/O) so that its own start-up
// cost is small next to what is measured.
// Usage: bench_stamp FILE ARGUMENT | bench_stamp --print
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long ns = static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
  char line[128];
  if (argc == 2 && std::strcmp(argv[1], "--print") == 0) {
    int n = std::snprintf(line, sizeof line, "%lld\n", ns);
    return write(STDOUT_FILENO, line, static_cast<size_t>(n)) == n ? 0 : 1;
  }
  if (argc < 3) return 64;
  int n = std::snprintf(line, sizeof line, "%s %lld\n", argv[2], ns);
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, line, static_cast<size_t>(n)) != n) return 1;
  return close(fd) == 0 ? 0 : 1;
}
