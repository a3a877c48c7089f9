// Specification of how a watcher paces the restarts of a daemon that keeps failing to start.
#include "hamon/node/daemon_watch.hpp"

#include <gtest/gtest.h>

namespace hamon::node {
namespace {

constexpr std::uint64_t ms = 1'000'000;

TEST(RestartPacer, RestartsADaemonThatRanStablyAtOnce) {
  RestartPacer p;
  std::uint64_t t = 10'000 * ms;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(p.ended(t, t + 2000 * ms), t + 2000 * ms);
    t += 2000 * ms;
  }
  EXPECT_EQ(p.failures(), 0u);
}

TEST(RestartPacer, TheFirstQuickFailureIsRetriedAtOnceThenThePauseGrows) {
  RestartPacer p;
  std::uint64_t t = 10'000 * ms;
  EXPECT_EQ(p.ended(t, t + 1 * ms), t + 1 * ms);  // an accident: at once
  std::uint64_t previous_pause = 0;
  for (int i = 0; i < 12; ++i) {
    t += 2 * ms;
    const std::uint64_t at = p.ended(t, t + 1 * ms);
    const std::uint64_t pause = at - (t + 1 * ms);
    EXPECT_GT(pause, 0u);
    EXPECT_GE(pause, previous_pause);
    EXPECT_LE(pause, RestartPacer::kMaxPauseNs);
    previous_pause = pause;
  }
  EXPECT_EQ(previous_pause, RestartPacer::kMaxPauseNs);
  EXPECT_EQ(p.failures(), 13u);
}

TEST(RestartPacer, AStableRunForgivesEarlierFailures) {
  RestartPacer p;
  std::uint64_t t = 10'000 * ms;
  for (int i = 0; i < 6; ++i) (void)p.ended(t, t + 1 * ms);
  EXPECT_EQ(p.failures(), 6u);
  EXPECT_EQ(p.ended(t, t + RestartPacer::kStableNs), t + RestartPacer::kStableNs);
  EXPECT_EQ(p.failures(), 0u);
}

TEST(HangLimit, EveryDaemonHasOneAboveItsWorstTurn) {
  for (auto d : {shm::DaemonId::watcher, shm::DaemonId::master, shm::DaemonId::spawner,
                 shm::DaemonId::monitor, shm::DaemonId::server}) {
    EXPECT_GE(hang_limit_ns(d), 500 * ms) << shm::to_string(d);
  }
  // The spawner forks in bursts: it gets the longest.
  EXPECT_GT(hang_limit_ns(shm::DaemonId::spawner), hang_limit_ns(shm::DaemonId::monitor));
}

}  // namespace
}  // namespace hamon::node
