// The command of the actuator benchmark: appends "ARGUMENT NANOSECONDS" (on
// CLOCK_MONOTONIC, the clock the benchmark's steady_clock reads) to FILE.
// Deliberately tiny (no shell, no libstdc++ I/O) so that its own start-up
// cost is small next to what is measured.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (argc < 3) return 64;
  char line[128];
  int n = std::snprintf(line, sizeof line, "%s %lld\n", argv[2],
                        static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec);
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, line, static_cast<size_t>(n)) != n) return 1;
  return close(fd) == 0 ? 0 : 1;
}
