// What machine a figure was measured on: printed with every benchmark result, because figures
// from a shared 2-core VM and from a tuned server are not comparable.
#ifndef HAMON_BENCH_MACHINE_HPP
#define HAMON_BENCH_MACHINE_HPP

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace hamon::bench {

inline std::string first_line(const char* path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line.empty() ? "unknown" : line;
}

inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

inline std::string kernel() {
  utsname u{};
  uname(&u);
  return std::string(u.sysname) + " " + u.release;
}

inline std::string clocksource() {
  return first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
}

inline long cores() { return sysconf(_SC_NPROCESSORS_ONLN); }

}  // namespace hamon::bench

#endif  // HAMON_BENCH_MACHINE_HPP
