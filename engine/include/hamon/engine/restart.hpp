// RestartBudget: whether, and when, a process that ended is started again. Pure logic.
//
// Policy (docs/configuration.md): `never` leaves it down; `on-failure` restarts unless it exited
// with status 0; `always` restarts. A process ended by hamon on request is never restarted.
// The first restart after a stable run is immediate; each further consecutive restart waits
// restart_delay, doubling, up to restart_delay_max. A run counts as stable once it lasted
// restart_delay_max. More than restart_budget restarts within one restart_window: give up (the
// process is `failed` and stays down until an operator starts it).
//
// The whole state is the flat struct State, so the server can keep it in shared memory and a
// restarted server continues with the same counters.
#ifndef HAMON_ENGINE_RESTART_HPP
#define HAMON_ENGINE_RESTART_HPP

#include <cstdint>
#include <string>

#include "hamon/engine/config.hpp"

namespace hamon::engine {

enum class EndKind : std::uint8_t {
  exited_ok,  // exit status 0
  failed,     // non-zero status, or killed by a signal hamon did not send
  hung,       // hamon killed it because it stopped beating
  requested,  // hamon stopped it on request
};

class RestartBudget {
 public:
  struct State {
    std::uint64_t window_start_ns = 0;
    std::uint32_t window_restarts = 0;
    std::uint32_t consecutive = 0;  // restarts since the last stable run
    std::uint32_t total = 0;        // restarts since the node came up
    std::uint32_t reserved = 0;
  };

  enum class Action : std::uint8_t { restart, stay_down, give_up };
  struct Decision {
    Action action;
    std::uint64_t at_ns;  // for restart: when
    std::string reason;   // for the event log
  };

  explicit RestartBudget(const ProcessSettings& settings) noexcept : s_(settings) {}
  RestartBudget(const ProcessSettings& settings, const State& state) noexcept
      : s_(settings), st_(state) {}

  // The process ended at `now_ns` after running for `uptime_ns`.
  Decision on_end(EndKind kind, std::uint64_t now_ns, std::uint64_t uptime_ns);

  // An operator's start: forget past failures.
  void reset() noexcept { st_ = State{0, 0, 0, st_.total, 0}; }

  [[nodiscard]] const State& state() const noexcept { return st_; }

 private:
  ProcessSettings s_;
  State st_;
};

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_RESTART_HPP
