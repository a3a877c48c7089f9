// The smallest useful hamon client: copy it into your application.
//
// hamon starts this program with its heartbeat slot in the environment. The program attaches,
// says it is ready, then beats at least once per interval for as long as it works. If it stops
// beating (a hang) or exits, hamon notices and restarts it.
//
//   heartbeat_example [BEATS]     beat BEATS times then exit 0 (default: forever)
#include <hamon/heartbeat.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
  auto hb = hamon::Heartbeat::attach();
  if (!hb) {
    std::fprintf(stderr, "%s\n", hb.error_message());
    return 2;
  }
  // Beat twice per interval: one late wake-up must not look like a hang.
  const auto interval = hb.interval().count() > 0 ? hb.interval() : std::chrono::milliseconds(100);
  const long beats = argc > 1 ? std::strtol(argv[1], nullptr, 10) : -1;

  hb.ready();
  std::printf("attached: slot %u, incarnation %llu, role %s\n", hb.slot(),
              static_cast<unsigned long long>(hb.incarnation()), hamon::to_string(hb.role()));
  std::fflush(stdout);
  for (long i = 0; beats < 0 || i < beats; ++i) {
    // ... a slice of real work goes here ...
    hb.beat();
    std::this_thread::sleep_for(interval / 2);
  }
  return 0;
}
