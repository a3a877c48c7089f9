// RestartBudget: restart policy, back-off and the restart budget, as specified in restart.hpp.
#include "hamon/engine/restart.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace hamon::engine {
namespace {

using namespace std::chrono_literals;
using Action = RestartBudget::Action;

constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t t0 = 1'000'000'000'000;  // an arbitrary monotonic time
constexpr std::uint64_t short_run = 1000;        // far below any restart_delay_max here

// restart_delay 1ms doubling to 10ms; 100 restarts per second (so that back-off tests do not
// meet the budget).
ProcessSettings settings(RestartPolicy policy = RestartPolicy::always) {
  ProcessSettings s;
  s.restart = policy;
  s.restart_delay = 1ms;
  s.restart_delay_max = 10ms;
  s.restart_budget = 100;
  s.restart_window = 1s;
  return s;
}

const EndKind all_kinds[] = {EndKind::exited_ok, EndKind::failed, EndKind::hung,
                             EndKind::requested};

std::string name(EndKind k) {
  switch (k) {
    case EndKind::exited_ok: return "exited_ok";
    case EndKind::failed: return "failed";
    case EndKind::hung: return "hung";
    case EndKind::requested: return "requested";
  }
  return "?";
}

// ---- policy x end kind -------------------------------------------------------------------------

TEST(RestartBudget, AlwaysRestartsEveryEndExceptAStopOnRequest) {
  for (EndKind k : all_kinds) {
    RestartBudget b(settings(RestartPolicy::always));
    const auto d = b.on_end(k, t0, short_run);
    EXPECT_EQ(d.action, k == EndKind::requested ? Action::stay_down : Action::restart) << name(k);
  }
}

TEST(RestartBudget, OnFailureRestartsFailuresAndHangsButNotACleanExit) {
  for (EndKind k : all_kinds) {
    RestartBudget b(settings(RestartPolicy::on_failure));
    const auto d = b.on_end(k, t0, short_run);
    const bool restarts = k == EndKind::failed || k == EndKind::hung;
    EXPECT_EQ(d.action, restarts ? Action::restart : Action::stay_down) << name(k);
  }
}

TEST(RestartBudget, NeverLeavesEveryEndDown) {
  for (EndKind k : all_kinds) {
    RestartBudget b(settings(RestartPolicy::never));
    EXPECT_EQ(b.on_end(k, t0, short_run).action, Action::stay_down) << name(k);
  }
}

TEST(RestartBudget, StayingDownIsNotCountedAsARestart) {
  RestartBudget b(settings(RestartPolicy::on_failure));
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(b.on_end(EndKind::exited_ok, t0 + i, short_run).action, Action::stay_down);
    ASSERT_EQ(b.on_end(EndKind::requested, t0 + i, short_run).action, Action::stay_down);
  }
  EXPECT_EQ(b.state().window_restarts, 0u);
  EXPECT_EQ(b.state().consecutive, 0u);
  EXPECT_EQ(b.state().total, 0u);
  // ...so the next failure is still the first restart: immediate.
  const auto d = b.on_end(EndKind::failed, t0 + 20, short_run);
  EXPECT_EQ(d.action, Action::restart);
  EXPECT_EQ(d.at_ns, t0 + 20);
}

TEST(RestartBudget, AStopOnRequestStaysDownEvenWhenTheBudgetIsExhausted) {
  ProcessSettings s = settings();
  s.restart_budget = 1;
  RestartBudget b(s);
  ASSERT_EQ(b.on_end(EndKind::failed, t0, short_run).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 1, short_run).action, Action::give_up);
  EXPECT_EQ(b.on_end(EndKind::requested, t0 + 2, short_run).action, Action::stay_down);
}

TEST(RestartBudget, ReasonsSayWhy) {
  EXPECT_EQ(RestartBudget(settings()).on_end(EndKind::requested, t0, 0).reason,
            "stopped on request");
  EXPECT_EQ(RestartBudget(settings(RestartPolicy::never)).on_end(EndKind::failed, t0, 0).reason,
            "restart = never");
  EXPECT_EQ(
      RestartBudget(settings(RestartPolicy::on_failure)).on_end(EndKind::exited_ok, t0, 0).reason,
      "exited with status 0 (restart = on-failure)");
  RestartBudget b(settings());
  EXPECT_EQ(b.on_end(EndKind::failed, t0, short_run).reason, "restarting now");
  EXPECT_EQ(b.on_end(EndKind::failed, t0, short_run).reason, "restarting in 1ms");
  EXPECT_EQ(b.on_end(EndKind::failed, t0, short_run).reason, "restarting in 2ms");
}

TEST(RestartBudget, NamesASubMicrosecondDelayExactly) {
  ProcessSettings s = settings();
  s.restart_delay = 500ns;
  RestartBudget b(s);
  ASSERT_EQ(b.on_end(EndKind::failed, t0, short_run).at_ns, t0);
  const auto d = b.on_end(EndKind::failed, t0, short_run);
  EXPECT_EQ(d.at_ns, t0 + 500);
  EXPECT_EQ(d.reason, "restarting in 500ns");
}

// ---- back-off ----------------------------------------------------------------------------------

TEST(RestartBudget, FirstRestartIsImmediate) {
  RestartBudget b(settings());
  const auto d = b.on_end(EndKind::failed, t0, short_run);
  EXPECT_EQ(d.action, Action::restart);
  EXPECT_EQ(d.at_ns, t0);
}

TEST(RestartBudget, FurtherRestartsWaitRestartDelayDoublingUpToTheMax) {
  RestartBudget b(settings());
  std::vector<std::uint64_t> delays;
  std::uint64_t now = t0;
  for (int i = 0; i < 8; ++i) {
    const auto d = b.on_end(EndKind::failed, now, short_run);
    ASSERT_EQ(d.action, Action::restart);
    delays.push_back(d.at_ns - now);
    now = d.at_ns + short_run;
  }
  // 1, 2, 4, 8 ms, then 16 capped at 10 ms.
  EXPECT_EQ(delays, (std::vector<std::uint64_t>{0, 1 * ms, 2 * ms, 4 * ms, 8 * ms, 10 * ms, 10 * ms,
                                                10 * ms}));
  EXPECT_EQ(b.state().consecutive, 8u);
}

TEST(RestartBudget, DelayEqualToTheMaxStaysAtTheMax) {
  ProcessSettings s = settings();
  s.restart_delay = 10ms;  // == restart_delay_max
  RestartBudget b(s);
  EXPECT_EQ(b.on_end(EndKind::failed, t0, short_run).at_ns, t0);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(b.on_end(EndKind::failed, t0, short_run).at_ns, t0 + 10 * ms);
}

TEST(RestartBudget, ZeroRestartDelayRestartsImmediatelyEveryTime) {
  ProcessSettings s = settings();
  s.restart_delay = 0ns;
  RestartBudget b(s);
  for (int i = 0; i < 20; ++i) {
    const auto d = b.on_end(EndKind::failed, t0 + i, short_run);
    ASSERT_EQ(d.action, Action::restart);
    EXPECT_EQ(d.at_ns, t0 + i) << i;
    EXPECT_EQ(d.reason, "restarting now");
  }
}

TEST(RestartBudget, ZeroRestartDelayStaysZeroAfterBillionsOfRestarts) {
  // A restored state with a huge consecutive count: the delay is still zero (and computing it
  // does not take one step per past restart).
  ProcessSettings s = settings();
  s.restart_delay = 0ns;
  s.restart_budget = 0xFFFFFFFFu;
  RestartBudget b(s, RestartBudget::State{t0, 1, 0xFFFFFFF0u, 0xFFFFFFF0u, 0});
  const auto d = b.on_end(EndKind::failed, t0 + 1, short_run);
  ASSERT_EQ(d.action, Action::restart);
  EXPECT_EQ(d.at_ns, t0 + 1);
}

TEST(RestartBudget, HugeConsecutiveCountsStayCappedAtTheMax) {
  ProcessSettings s = settings();
  s.restart_delay = 1ns;
  s.restart_delay_max = std::chrono::nanoseconds(std::numeric_limits<std::int64_t>::max());
  s.restart_budget = 0xFFFFFFFFu;
  RestartBudget b(s, RestartBudget::State{t0, 1, 200, 200, 0});  // 2^199 ns would overflow
  const auto d = b.on_end(EndKind::failed, t0 + 1, 0);
  ASSERT_EQ(d.action, Action::restart);
  EXPECT_EQ(d.at_ns - (t0 + 1), static_cast<std::uint64_t>(s.restart_delay_max.count()));
}

TEST(RestartBudget, AStableRunResetsTheBackoff) {
  RestartBudget b(settings());
  std::uint64_t now = t0;
  for (int i = 0; i < 4; ++i) now = b.on_end(EndKind::failed, now, short_run).at_ns + short_run;
  ASSERT_EQ(b.state().consecutive, 4u);
  // A run of exactly restart_delay_max is stable: immediate again, then restart_delay.
  const auto stable = b.on_end(EndKind::failed, now, 10 * ms);
  EXPECT_EQ(stable.at_ns, now);
  EXPECT_EQ(b.state().consecutive, 1u);
  const auto next = b.on_end(EndKind::hung, now + 1, short_run);
  EXPECT_EQ(next.at_ns - (now + 1), 1 * ms);
}

TEST(RestartBudget, ARunShorterThanRestartDelayMaxIsNotStable) {
  RestartBudget b(settings());
  std::uint64_t now = t0;
  for (int i = 0; i < 3; ++i) now = b.on_end(EndKind::failed, now, short_run).at_ns + short_run;
  // Delays so far 0, 1, 2 ms; a run one nanosecond short of stable goes on with 4 ms.
  const auto d = b.on_end(EndKind::failed, now, 10 * ms - 1);
  EXPECT_EQ(d.at_ns - now, 4 * ms);
}

TEST(RestartBudget, ZeroRestartDelayMaxMakesEveryRunStable) {
  ProcessSettings s = settings();
  s.restart_delay = 0ns;
  s.restart_delay_max = 0ns;
  RestartBudget b(s);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(b.on_end(EndKind::failed, t0 + i, 0).at_ns, t0 + i);
    EXPECT_EQ(b.state().consecutive, 1u);
  }
}

// ---- budget and window -------------------------------------------------------------------------

ProcessSettings budgeted(std::uint32_t budget, std::chrono::nanoseconds window) {
  ProcessSettings s = settings();
  s.restart_delay = 0ns;
  s.restart_budget = budget;
  s.restart_window = window;
  return s;
}

// ---- the defaults -------------------------------------------------------------------------------

// A process that exits the moment it starts (a missing file, a port in use) under the default
// settings: each run lasts 1 ms, and it is restarted as soon as hamon may. The times of its
// restarts before `until`.
std::vector<std::uint64_t> restart_times_of_a_process_that_exits_at_once(std::uint64_t until) {
  RestartBudget b(ProcessSettings{});
  std::vector<std::uint64_t> at;
  std::uint64_t now = t0;
  for (;;) {
    const auto d = b.on_end(EndKind::failed, now, 1 * ms);
    if (d.action != Action::restart || d.at_ns >= until) break;
    at.push_back(d.at_ns);
    now = d.at_ns + 1 * ms;
  }
  return at;
}

TEST(RestartBudget, ByDefaultTheFirstRestartIsImmediateAndTheNextWaitsATenthOfASecond) {
  const auto at = restart_times_of_a_process_that_exits_at_once(t0 + 150 * ms);
  ASSERT_EQ(at.size(), 2u);
  EXPECT_EQ(at[0], t0);
  EXPECT_EQ(at[1], t0 + 1 * ms + 100 * ms);
}

TEST(RestartBudget, ByDefaultAProcessThatExitsAtOnceHasNotSpentItsBudgetWithin100ms) {
  const ProcessSettings defaults;
  const auto at = restart_times_of_a_process_that_exits_at_once(t0 + 100 * ms);
  EXPECT_LT(at.size(), defaults.restart_budget);
}

TEST(RestartBudget, ByDefaultAProcessThatExitsAtOnceSpendsItsBudgetOverMoreThanASecond) {
  const ProcessSettings defaults;
  const auto at = restart_times_of_a_process_that_exits_at_once(t0 + 60'000 * ms);
  ASSERT_EQ(at.size(), defaults.restart_budget);  // then hamon gives up
  EXPECT_GE(at.back() - t0, 1000 * ms);
  // and no later than a critical process should fail over
  EXPECT_LE(at.back() - t0, 2000 * ms);
}

TEST(RestartBudget, GivesUpOnTheFirstEndAfterBudgetRestartsWithinTheWindow) {
  RestartBudget b(budgeted(3, 1s));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(b.on_end(EndKind::failed, t0 + i * ms, short_run).action, Action::restart) << i;
  }
  const auto d = b.on_end(EndKind::failed, t0 + 3 * ms, short_run);
  EXPECT_EQ(d.action, Action::give_up);
  EXPECT_EQ(d.reason, "restarted 3 times within restart_window");
  EXPECT_EQ(b.state().total, 3u);
}

TEST(RestartBudget, HangsCountAgainstTheBudgetLikeFailures) {
  RestartBudget b(budgeted(2, 1s));
  ASSERT_EQ(b.on_end(EndKind::hung, t0, short_run).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 1, short_run).action, Action::restart);
  EXPECT_EQ(b.on_end(EndKind::hung, t0 + 2, short_run).action, Action::give_up);
}

TEST(RestartBudget, CleanExitsUnderAlwaysCountAgainstTheBudget) {
  RestartBudget b(budgeted(2, 1s));
  ASSERT_EQ(b.on_end(EndKind::exited_ok, t0, short_run).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::exited_ok, t0 + 1, short_run).action, Action::restart);
  EXPECT_EQ(b.on_end(EndKind::exited_ok, t0 + 2, short_run).action, Action::give_up);
}

TEST(RestartBudget, BudgetOfOneAllowsOneRestartPerWindow) {
  RestartBudget b(budgeted(1, 100ms));
  EXPECT_EQ(b.on_end(EndKind::failed, t0, short_run).action, Action::restart);
  EXPECT_EQ(b.on_end(EndKind::failed, t0 + 100 * ms - 1, short_run).action, Action::give_up);
  EXPECT_EQ(b.on_end(EndKind::failed, t0 + 100 * ms, short_run).action, Action::restart);
}

TEST(RestartBudget, KeepsGivingUpUntilTheWindowHasPassed) {
  RestartBudget b(budgeted(2, 100ms));
  ASSERT_EQ(b.on_end(EndKind::failed, t0, short_run).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 1, short_run).action, Action::restart);
  for (std::uint64_t t : {t0 + 2, t0 + 50 * ms, t0 + 100 * ms - 1}) {
    EXPECT_EQ(b.on_end(EndKind::failed, t, short_run).action, Action::give_up) << t - t0;
  }
  const RestartBudget::State before = b.state();
  EXPECT_EQ(before.window_restarts, 2u);
  EXPECT_EQ(before.total, 2u);
}

TEST(RestartBudget, AllowsRestartsAgainOnceTheWindowHasPassed) {
  RestartBudget b(budgeted(2, 100ms));
  ASSERT_EQ(b.on_end(EndKind::failed, t0, short_run).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 1, short_run).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 2, short_run).action, Action::give_up);
  // The window opened at the first restart (t0); it is over at t0 + 100ms exactly.
  const auto d = b.on_end(EndKind::failed, t0 + 100 * ms, short_run);
  EXPECT_EQ(d.action, Action::restart);
  EXPECT_EQ(b.state().window_start_ns, t0 + 100 * ms);
  EXPECT_EQ(b.state().window_restarts, 1u);
  EXPECT_EQ(b.state().total, 3u);
  // A fresh window holds a fresh budget: one more, then give up.
  EXPECT_EQ(b.on_end(EndKind::failed, t0 + 101 * ms, short_run).action, Action::restart);
  EXPECT_EQ(b.on_end(EndKind::failed, t0 + 102 * ms, short_run).action, Action::give_up);
}

TEST(RestartBudget, TheWindowTumblesFromItsFirstRestart) {
  // budget 3 per 100 ms: restarts at 0, 90, 99 ms fill the window; the one at 100 ms opens the
  // next window, which holds 3 again (tumbling, not sliding).
  RestartBudget b(budgeted(3, 100ms));
  for (std::uint64_t t : {0 * ms, 90 * ms, 99 * ms, 100 * ms, 101 * ms, 102 * ms}) {
    EXPECT_EQ(b.on_end(EndKind::failed, t0 + t, short_run).action, Action::restart) << t / ms;
  }
  EXPECT_EQ(b.on_end(EndKind::failed, t0 + 150 * ms, short_run).action, Action::give_up);
}

TEST(RestartBudget, StableRunsStillCountAgainstTheBudgetWithinTheWindow) {
  // Stability resets the back-off, not the budget.
  ProcessSettings s = budgeted(2, 1s);
  s.restart_delay = 1ms;
  RestartBudget b(s);
  ASSERT_EQ(b.on_end(EndKind::failed, t0, 10 * ms).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 20 * ms, 10 * ms).action, Action::restart);
  EXPECT_EQ(b.on_end(EndKind::failed, t0 + 40 * ms, 10 * ms).action, Action::give_up);
}

TEST(RestartBudget, GivingUpChangesNoCounter) {
  RestartBudget b(budgeted(1, 1s));
  ASSERT_EQ(b.on_end(EndKind::failed, t0, short_run).action, Action::restart);
  const RestartBudget::State before = b.state();
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 1, short_run).action, Action::give_up);
  EXPECT_EQ(b.state().window_start_ns, before.window_start_ns);
  EXPECT_EQ(b.state().window_restarts, before.window_restarts);
  EXPECT_EQ(b.state().consecutive, before.consecutive);
  EXPECT_EQ(b.state().total, before.total);
}

// ---- reset and restored state ------------------------------------------------------------------

TEST(RestartBudget, ResetForgetsFailuresButKeepsTheTotal) {
  ProcessSettings s = budgeted(2, 1s);
  s.restart_delay = 1ms;
  RestartBudget b(s);
  ASSERT_EQ(b.on_end(EndKind::failed, t0, short_run).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 1, short_run).action, Action::restart);
  ASSERT_EQ(b.on_end(EndKind::failed, t0 + 2, short_run).action, Action::give_up);
  b.reset();
  EXPECT_EQ(b.state().window_restarts, 0u);
  EXPECT_EQ(b.state().consecutive, 0u);
  EXPECT_EQ(b.state().window_start_ns, 0u);
  EXPECT_EQ(b.state().total, 2u);
  // Within the same window as before: allowed again, immediately, then with restart_delay.
  const auto first = b.on_end(EndKind::failed, t0 + 3, short_run);
  EXPECT_EQ(first.action, Action::restart);
  EXPECT_EQ(first.at_ns, t0 + 3);
  const auto second = b.on_end(EndKind::failed, t0 + 4, short_run);
  EXPECT_EQ(second.action, Action::restart);
  EXPECT_EQ(second.at_ns, t0 + 4 + 1 * ms);
  EXPECT_EQ(b.on_end(EndKind::failed, t0 + 5, short_run).action, Action::give_up);
  EXPECT_EQ(b.state().total, 4u);
}

TEST(RestartBudget, ContinuesFromARestoredState) {
  // A restarted server hands back the counters it kept in shared memory.
  const RestartBudget::State kept{t0, 2, 3, 7, 0};
  RestartBudget b(budgeted(3, 1s), kept);
  EXPECT_EQ(b.state().total, 7u);
  ProcessSettings s = budgeted(3, 1s);
  s.restart_delay = 1ms;
  RestartBudget c(s, kept);
  const auto d = c.on_end(EndKind::failed, t0 + 10 * ms, short_run);
  ASSERT_EQ(d.action, Action::restart);
  EXPECT_EQ(d.at_ns - (t0 + 10 * ms), 4 * ms);  // after 0, 1, 2 ms comes 4 ms
  EXPECT_EQ(c.state().window_restarts, 3u);
  EXPECT_EQ(c.state().window_start_ns, t0);  // same window
  EXPECT_EQ(c.on_end(EndKind::failed, t0 + 20 * ms, short_run).action, Action::give_up);
}

TEST(RestartBudget, CountsEveryRestartInTotal) {
  RestartBudget b(budgeted(2, 10ms));
  std::uint32_t restarts = 0;
  for (std::uint64_t t = 0; t < 100; ++t) {
    if (b.on_end(EndKind::failed, t0 + t * ms, short_run).action == Action::restart) ++restarts;
  }
  // Two per 10 ms window over 100 ms.
  EXPECT_EQ(restarts, 20u);
  EXPECT_EQ(b.state().total, 20u);
}

}  // namespace
}  // namespace hamon::engine
