// Specification of how a watcher paces the restarts of a daemon that keeps failing to start, and
// when it takes a daemon for silent.
#include "hamon/node/daemon_watch.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

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

// A daemon watched from t0, its loop turning every 10 ms; the watcher looks every 10 ms too.
struct Watched {
  Watched() {
    slot.heartbeat_ns.store(t0);
    w.watch(::getpid(), -1, false, t0);
  }
  static constexpr std::uint64_t t0 = 1'000'000 * ms;
  shm::DaemonSlot slot{};
  DaemonWatch w{shm::DaemonId::server, "hamon-server"};
};

TEST(DaemonWatch, ADaemonSilentForItsLimitOfTheWatchersTimeIsSilent) {
  Watched d;
  const std::uint64_t limit = hang_limit_ns(shm::DaemonId::server);
  std::uint64_t now = Watched::t0;
  for (; now <= Watched::t0 + limit; now += 10 * ms) {
    ASSERT_FALSE(d.w.silent(d.slot, now)) << (now - Watched::t0) / ms << " ms";
  }
  EXPECT_TRUE(d.w.silent(d.slot, now));
}

// A node resumed after a pause (a virtual machine migrated, a host overloaded): the watcher ran
// no more than the daemon did, and the silence counts afresh from its first turn after it.
TEST(DaemonWatch, AStallOfTheWatcherItselfIsNoDaemonsSilence) {
  Watched d;
  const std::uint64_t limit = hang_limit_ns(shm::DaemonId::server);
  ASSERT_FALSE(d.w.silent(d.slot, Watched::t0 + 10 * ms));
  // Nobody ran for twice the limit; the watcher's first look after it:
  const std::uint64_t resumed = Watched::t0 + 2 * limit;
  EXPECT_FALSE(d.w.silent(d.slot, resumed)) << "a daemon killed for the machine's stall";
  std::uint64_t now = resumed;
  for (; now <= resumed + limit; now += 10 * ms) ASSERT_FALSE(d.w.silent(d.slot, now));
  EXPECT_TRUE(d.w.silent(d.slot, now)) << "a daemon truly silent since is still found";
}

}  // namespace
}  // namespace hamon::node
