// The one clock every daemon uses: CLOCK_MONOTONIC in nanoseconds (vDSO; no system call with a
// tsc clocksource). Event timestamps, heartbeat stamps and deadlines are all on this clock.
#ifndef HAMON_NODE_CLOCK_HPP
#define HAMON_NODE_CLOCK_HPP

#include <time.h>

#include <cstdint>

namespace hamon::node {

inline std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace hamon::node

#endif  // HAMON_NODE_CLOCK_HPP
