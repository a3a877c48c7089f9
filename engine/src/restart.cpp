#include "hamon/engine/restart.hpp"

#include <algorithm>
#include <chrono>

#include "hamon/engine/duration.hpp"

namespace hamon::engine {

RestartBudget::Decision RestartBudget::on_end(EndKind kind, std::uint64_t now,
                                              std::uint64_t uptime) {
  if (kind == EndKind::requested) return {Action::stay_down, 0, "stopped on request"};
  if (s_.restart == RestartPolicy::never) return {Action::stay_down, 0, "restart = never"};
  if (s_.restart == RestartPolicy::on_failure && kind == EndKind::exited_ok) {
    return {Action::stay_down, 0, "exited with status 0 (restart = on-failure)"};
  }

  const auto window = static_cast<std::uint64_t>(s_.restart_window.count());
  if (st_.window_restarts == 0 || now >= st_.window_start_ns + window) {
    st_.window_start_ns = now;
    st_.window_restarts = 0;
  }
  if (st_.window_restarts >= s_.restart_budget) {
    return {Action::give_up, 0,
            "restarted " + std::to_string(st_.window_restarts) + " times within restart_window"};
  }

  const auto max_delay = static_cast<std::uint64_t>(s_.restart_delay_max.count());
  if (uptime >= max_delay) st_.consecutive = 0;
  std::uint64_t delay = 0;
  if (st_.consecutive > 0) {
    delay = static_cast<std::uint64_t>(s_.restart_delay.count());
    // At most 64 doublings reach the cap; a zero delay stays zero (and must not loop once per
    // past restart).
    for (std::uint32_t i = 1; i < st_.consecutive && delay != 0 && delay < max_delay; ++i)
      delay *= 2;
    delay = std::min(delay, max_delay);
  }
  ++st_.consecutive;
  ++st_.window_restarts;
  ++st_.total;
  return {Action::restart, now + delay,
          delay == 0 ? "restarting now"
                     : "restarting in " + format_duration(std::chrono::nanoseconds(delay))};
}

}  // namespace hamon::engine
