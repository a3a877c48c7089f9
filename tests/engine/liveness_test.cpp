// Liveness: the monitor's verdict on one incarnation, as specified in liveness.hpp, with a fake
// clock. The property tests replay the timing model of the header: the monitor writes its
// clock into the segment, a beat copies the latest write as its stamp, the monitor looks when
// the verdict asks it to (plus some wake-up latency, and sometimes earlier).
#include "hamon/engine/liveness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace hamon::engine {
namespace {

constexpr std::uint64_t us = 1'000;
constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

constexpr std::uint64_t t0 = 1'000'000'000'000;  // spawn time
constexpr std::uint64_t inc = 7;                 // the incarnation under watch
constexpr std::uint64_t tick = 1 * ms;
constexpr std::uint64_t timeout = 10 * ms;
constexpr std::uint64_t start_timeout = 100 * ms;

// The slot as the previous incarnation left it: beats counted, a stamp, and ready.
constexpr BeatReading baseline{40, t0 - 5 * ms, inc - 1, 1};

LivenessParams params(Readiness mode) { return {timeout, start_timeout, tick, mode}; }

Liveness make(Readiness mode) { return Liveness(inc, t0, params(mode), baseline); }

// A reading of this incarnation: `beats` beats after the baseline, the latest stamped `stamp`.
BeatReading mine(std::uint64_t beats, std::uint64_t stamp, std::uint32_t ready = 0) {
  return {baseline.count + beats, stamp, inc, ready};
}
// Attached, not beaten yet.
BeatReading attached() { return {baseline.count, baseline.stamp_ns, inc, 0}; }

// A running heartbeat-mode process whose latest beat (its first) was stamped `stamp`, so it
// is alive at stamp + tick.
Liveness running_since(std::uint64_t stamp) {
  Liveness l = make(Readiness::on_heartbeat);
  const auto v1 = l.observe(mine(1, stamp), stamp + tick);
  EXPECT_EQ(v1.state, LiveState::ready);
  const auto v2 = l.observe(mine(1, stamp), stamp + 2 * tick);
  EXPECT_EQ(v2.state, LiveState::running);
  EXPECT_EQ(l.alive_at_ns(), stamp + tick);
  return l;
}

// ---- readiness, by ready mode ------------------------------------------------------------------

TEST(Liveness, SpawnModeIsReadyFromTheStart) {
  Liveness l = make(Readiness::on_spawn);
  EXPECT_EQ(l.state(), LiveState::ready);
  EXPECT_EQ(l.beats(), 0u);
  EXPECT_EQ(l.alive_at_ns(), t0);
}

TEST(Liveness, SpawnModeIsRunningFromItsFirstLook) {
  Liveness l = make(Readiness::on_spawn);
  const auto v = l.observe(baseline, t0 + tick);
  EXPECT_EQ(v.state, LiveState::running);
  EXPECT_TRUE(v.changed);
  const auto again = l.observe(baseline, t0 + 2 * tick);
  EXPECT_EQ(again.state, LiveState::running);
  EXPECT_FALSE(again.changed);
}

TEST(Liveness, SpawnModeProcessThatNeverAttachesIsNeverHung) {
  // A program that does not use the client: watched for exit alone, looked at once per timeout.
  Liveness l = make(Readiness::on_spawn);
  std::uint64_t now = t0;
  for (int i = 0; i < 10'000; ++i) {
    const auto v = l.observe(baseline, now);
    ASSERT_EQ(v.state, LiveState::running) << i;
    ASSERT_EQ(v.next_check_ns, now + timeout);
    now = v.next_check_ns;
  }
  EXPECT_GT(now - t0, 100 * start_timeout);
}

TEST(Liveness, SpawnModeProcessThatBeatsIsWatchedForSilence) {
  Liveness l = make(Readiness::on_spawn);
  ASSERT_EQ(l.observe(baseline, t0 + tick).state, LiveState::running);
  const std::uint64_t stamp = t0 + 3 * tick;
  const auto v = l.observe(mine(1, stamp), t0 + 4 * tick);
  EXPECT_EQ(v.state, LiveState::running);
  EXPECT_EQ(v.next_check_ns, stamp + tick + timeout);
  EXPECT_EQ(l.observe(mine(1, stamp), stamp + tick + timeout - 1).state, LiveState::running);
  EXPECT_EQ(l.observe(mine(1, stamp), stamp + tick + timeout).state, LiveState::hung);
}

TEST(Liveness, AnAdoptedProcessThatBeatBeforeIsHungAfterATimeoutWithoutABeat) {
  // A restarted monitor takes over a process the previous one saw beating; it hung meanwhile.
  Liveness l = make(Readiness::on_spawn);
  l.beaten_before();
  const auto first = l.observe(baseline, t0 + tick);
  EXPECT_EQ(first.state, LiveState::running);
  EXPECT_EQ(first.next_check_ns, t0 + timeout);
  EXPECT_EQ(l.observe(baseline, t0 + timeout - 1).state, LiveState::running);
  EXPECT_EQ(l.observe(baseline, t0 + timeout).state, LiveState::hung);
}

TEST(Liveness, AnAdoptedProcessThatBeatBeforeAndBeatsOnStaysRunning) {
  Liveness l = make(Readiness::on_spawn);
  l.beaten_before();
  std::uint64_t now = t0;
  for (std::uint64_t k = 1; k <= 100; ++k) {
    now += timeout / 2;
    ASSERT_EQ(l.observe(mine(k, now - tick), now).state, LiveState::running) << k;
  }
}

// The watcher's own stall (the time it could not run: a paused virtual machine, an overloaded
// host) is no process's silence: the deadline moves on by it.
TEST(Liveness, TheWatchersStallSinceTheLastBeatIsExcusedFromTheSilence) {
  Liveness l = make(Readiness::on_spawn);
  const std::uint64_t stamp = t0 + 3 * tick, alive = stamp + tick;
  ASSERT_EQ(l.observe(mine(1, stamp), t0 + 4 * tick, 0).state, LiveState::running);
  // The watcher then could not run for 50 ms.
  const std::uint64_t stall = 50 * ms;
  const auto v = l.observe(mine(1, stamp), alive + timeout, stall);
  EXPECT_EQ(v.state, LiveState::running) << "hung by the watcher's own stall";
  EXPECT_EQ(v.next_check_ns, alive + timeout + stall);
  EXPECT_EQ(l.excused_ns(stall), stall);
  EXPECT_EQ(l.observe(mine(1, stamp), alive + timeout + stall - 1, stall).state,
            LiveState::running);
  EXPECT_EQ(l.observe(mine(1, stamp), alive + timeout + stall, stall).state, LiveState::hung);
}

// Running processes are looked at only at their deadlines: a beat made before a stall is often
// first seen after it. Placed at its bound (before the stall), it keeps the stall's excuse.
TEST(Liveness, ABeatMadeBeforeAStallAndSeenAfterItKeepsTheExcuse) {
  Liveness l = make(Readiness::on_spawn);
  ASSERT_EQ(l.observe(mine(1, t0 + tick), t0 + 2 * tick, 0).state, LiveState::running);
  // Beat 2 was stamped at t0 + 5 ticks, bounded by the clock write at t0 + 6 ticks, before the
  // watcher stalled 400 ms; seen only now, after the stall.
  const std::uint64_t bound = t0 + 6 * tick, stall = 400 * ms, now = bound + stall + tick;
  BeatReading r = mine(2, t0 + 5 * tick);
  r.bound_ns = bound;
  r.lost_at_bound_ns = 0;
  const auto v = l.observe(r, now, stall);
  EXPECT_EQ(v.state, LiveState::running);
  EXPECT_EQ(l.alive_at_ns(), bound);
  EXPECT_EQ(l.excused_ns(stall), stall);
  EXPECT_EQ(v.next_check_ns, bound + timeout + stall);
}

TEST(Liveness, AStallBeforeTheLastBeatExcusesNothing) {
  Liveness l = make(Readiness::on_spawn);
  const std::uint64_t stall = 30 * ms;
  const std::uint64_t stamp = t0 + 40 * ms, alive = stamp + tick;
  // Stalled, then it beat: the silence that counts starts at the beat, with no stall since.
  ASSERT_EQ(l.observe(mine(1, stamp), stamp + tick, stall).state, LiveState::running);
  EXPECT_EQ(l.excused_ns(stall), 0u);
  EXPECT_EQ(l.observe(mine(1, stamp), alive + timeout - 1, stall).state, LiveState::running);
  EXPECT_EQ(l.observe(mine(1, stamp), alive + timeout, stall).state, LiveState::hung);
}

TEST(Liveness, AWatchBegunAfterAStallCountsOnlyTheStallsAfterIt) {
  // The monitor had lost a second before this watch began: none of it is this process's excuse.
  Liveness l(inc, t0, params(Readiness::on_spawn), baseline, 1000 * ms);
  l.beaten_before();
  EXPECT_EQ(l.observe(baseline, t0 + timeout - 1, 1000 * ms).state, LiveState::running);
  EXPECT_EQ(l.observe(baseline, t0 + timeout, 1000 * ms).state, LiveState::hung);
}

TEST(Liveness, AStallWhileAProcessIsTrulyHungOnlyDelaysTheVerdictByTheStall) {
  Liveness l = make(Readiness::on_spawn);
  l.beaten_before();
  // Stalls of 2 ms in every 10 ms of the watcher's time: a hung process is still found, once it
  // has been silent for `timeout` of the time the watcher ran.
  std::uint64_t now = t0, lost = 0;
  LiveState state = LiveState::running;
  while (state != LiveState::hung && now < t0 + 10 * timeout) {
    now += 10 * ms;
    lost += 2 * ms;
    state = l.observe(baseline, now, lost).state;
  }
  EXPECT_EQ(state, LiveState::hung);
  EXPECT_LE(now - t0 - lost, timeout + 10 * ms);
}

// A hang verdict the watcher judges the machine's (most processes fell silent together) is
// withdrawn once: one more timeout from then; a beat clears the slate, no beat and it stands.
TEST(Liveness, AWithdrawnVerdictGivesOneMoreTimeoutOnce) {
  Liveness l = make(Readiness::on_spawn);
  l.beaten_before();
  ASSERT_EQ(l.observe(baseline, t0 + timeout).state, LiveState::hung);
  const std::uint64_t now = t0 + timeout;
  ASSERT_TRUE(l.excuse(now, 0));
  EXPECT_EQ(l.state(), LiveState::running);
  const auto v = l.observe(baseline, now);
  EXPECT_EQ(v.state, LiveState::running);
  EXPECT_EQ(v.next_check_ns, now + timeout);
  EXPECT_EQ(l.observe(baseline, now + timeout).state, LiveState::hung);
  EXPECT_FALSE(l.excuse(now + timeout, 0)) << "a second verdict without a beat stands";
  EXPECT_EQ(l.state(), LiveState::hung);
}

TEST(Liveness, ABeatAfterAWithdrawnVerdictAllowsTheNextToBeWithdrawnToo) {
  Liveness l = make(Readiness::on_spawn);
  l.beaten_before();
  ASSERT_EQ(l.observe(baseline, t0 + timeout).state, LiveState::hung);
  ASSERT_TRUE(l.excuse(t0 + timeout, 0));
  const std::uint64_t stamp = t0 + timeout + 2 * tick;
  ASSERT_EQ(l.observe(mine(1, stamp), stamp + tick).state, LiveState::running);
  ASSERT_EQ(l.observe(mine(1, stamp), stamp + tick + timeout).state, LiveState::hung);
  EXPECT_TRUE(l.excuse(stamp + tick + timeout, 0));
}

TEST(Liveness, AVerdictOfAStartThatNeverCameIsNotWithdrawn) {
  Liveness l = make(Readiness::on_heartbeat);
  ASSERT_EQ(l.observe(attached(), t0 + start_timeout).state, LiveState::hung);
  EXPECT_FALSE(l.excuse(t0 + start_timeout, 0));
  EXPECT_EQ(l.state(), LiveState::hung);
}

// A verdict of silence part of which its CPU could not run (the CPU's sentinel measured it)
// moves the deadline on by that part: as often as the stall grows, never by the same stall
// twice, and a beat clears what was forgiven.
TEST(Liveness, ACpuStallWithinTheSilenceMovesTheDeadlineOnByItsLength) {
  Liveness l = make(Readiness::on_spawn);
  l.beaten_before();
  ASSERT_EQ(l.observe(baseline, t0 + timeout).state, LiveState::hung);
  ASSERT_TRUE(l.forgive(4 * ms));
  EXPECT_EQ(l.excused_ns(0), 4 * ms);
  auto v = l.observe(baseline, t0 + timeout);
  EXPECT_EQ(v.state, LiveState::running);
  EXPECT_EQ(v.next_check_ns, t0 + timeout + 4 * ms);
  ASSERT_EQ(l.observe(baseline, t0 + timeout + 4 * ms).state, LiveState::hung);
  EXPECT_FALSE(l.forgive(4 * ms)) << "the same stall, asked again, forgives nothing more";
  EXPECT_EQ(l.state(), LiveState::hung);
}

TEST(Liveness, AStallThatGoesOnIsForgivenAsItGrowsAndABeatStartsAfresh) {
  Liveness l = make(Readiness::on_spawn);
  l.beaten_before();
  ASSERT_EQ(l.observe(baseline, t0 + timeout).state, LiveState::hung);
  ASSERT_TRUE(l.forgive(2 * ms));
  ASSERT_EQ(l.observe(baseline, t0 + timeout + 2 * ms).state, LiveState::hung);
  ASSERT_TRUE(l.forgive(5 * ms));
  ASSERT_EQ(l.observe(baseline, t0 + timeout + 2 * ms).state, LiveState::running);
  // It beats: what was forgiven belonged to the old silence.
  const std::uint64_t stamp = t0 + timeout + 3 * ms;
  ASSERT_EQ(l.observe(mine(1, stamp), stamp + tick).state, LiveState::running);
  EXPECT_EQ(l.excused_ns(0), 0u);
  EXPECT_EQ(l.observe(mine(1, stamp), stamp + tick + timeout).state, LiveState::hung);
}

TEST(Liveness, NoStallForgivesNothingAndAStartThatNeverCameIsNotForgiven) {
  Liveness l = make(Readiness::on_spawn);
  l.beaten_before();
  ASSERT_EQ(l.observe(baseline, t0 + timeout).state, LiveState::hung);
  EXPECT_FALSE(l.forgive(0));
  EXPECT_EQ(l.state(), LiveState::hung);
  Liveness never_ready = make(Readiness::on_heartbeat);
  ASSERT_EQ(never_ready.observe(attached(), t0 + start_timeout).state, LiveState::hung);
  EXPECT_FALSE(never_ready.forgive(start_timeout));
  EXPECT_EQ(never_ready.state(), LiveState::hung);
}

TEST(Liveness, HeartbeatModeBecomesReadyAtTheFirstBeatOfItsIncarnation) {
  Liveness l = make(Readiness::on_heartbeat);
  EXPECT_EQ(l.state(), LiveState::starting);
  auto v = l.observe(attached(), t0 + tick);
  EXPECT_EQ(v.state, LiveState::starting);
  EXPECT_FALSE(v.changed);
  v = l.observe(mine(1, t0 + tick), t0 + 2 * tick);
  EXPECT_EQ(v.state, LiveState::ready);
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(l.beats(), 1u);
}

TEST(Liveness, ReadyIsReportedOnceThenRunning) {
  Liveness l = make(Readiness::on_heartbeat);
  std::vector<std::pair<LiveState, bool>> seen;
  for (std::uint64_t k = 1; k <= 4; ++k) {
    const auto v = l.observe(mine(k, t0 + k * tick), t0 + k * tick + 1);
    seen.emplace_back(v.state, v.changed);
  }
  EXPECT_EQ(seen, (std::vector<std::pair<LiveState, bool>>{{LiveState::ready, true},
                                                           {LiveState::running, true},
                                                           {LiveState::running, false},
                                                           {LiveState::running, false}}));
}

TEST(Liveness, HeartbeatModeDoesNotCountBeatsAlreadyInTheBaseline) {
  Liveness l = make(Readiness::on_heartbeat);
  // Attached as this incarnation; the count is still the previous incarnation's.
  for (std::uint64_t now = t0; now < t0 + start_timeout; now += tick) {
    ASSERT_EQ(l.observe(attached(), now).state, LiveState::starting);
  }
  EXPECT_EQ(l.beats(), 0u);
}

TEST(Liveness, ExplicitModeWaitsForTheReadyFlagNotJustBeats) {
  Liveness l = make(Readiness::on_ready_call);
  for (std::uint64_t k = 1; k <= 5; ++k) {
    ASSERT_EQ(l.observe(mine(k, t0 + k * tick), t0 + k * tick).state, LiveState::starting) << k;
  }
  const auto v = l.observe(mine(6, t0 + 6 * tick, 1), t0 + 6 * tick);
  EXPECT_EQ(v.state, LiveState::ready);
  EXPECT_TRUE(v.changed);
}

TEST(Liveness, ExplicitModeIsReadyOnTheFlagEvenBeforeTheBeatThatFollowsIt) {
  // ready() stores the flag, then beats: a look between the two sees the flag alone.
  Liveness l = make(Readiness::on_ready_call);
  const auto v = l.observe({baseline.count, baseline.stamp_ns, inc, 1}, t0 + tick);
  EXPECT_EQ(v.state, LiveState::ready);
  EXPECT_EQ(l.beats(), 0u);
}

TEST(Liveness, ExplicitModeIgnoresTheReadyFlagOfAnotherIncarnation) {
  Liveness l = make(Readiness::on_ready_call);
  // The baseline itself says ready (the previous incarnation was).
  for (std::uint64_t other : {inc - 1, inc + 1, std::uint64_t{0}, never}) {
    const auto v = l.observe({baseline.count + 9, t0, other, 1}, t0 + tick);
    EXPECT_EQ(v.state, LiveState::starting) << other;
  }
  EXPECT_EQ(l.beats(), 0u);
}

TEST(Liveness, ExplicitModeTakesOnlyOneAsTheReadyFlag) {
  Liveness l = make(Readiness::on_ready_call);
  for (std::uint32_t flag : {2u, 0x80000001u, 0xFFFFFFFFu}) {
    EXPECT_EQ(l.observe(mine(0, 0, flag), t0 + tick).state, LiveState::starting) << flag;
  }
}

TEST(Liveness, LooksEveryTickWhileStarting) {
  Liveness l = make(Readiness::on_heartbeat);
  for (std::uint64_t now = t0; now < t0 + start_timeout - tick; now += tick / 3) {
    const auto v = l.observe(attached(), now);
    ASSERT_EQ(v.next_check_ns, now + tick) << now - t0;
  }
}

TEST(Liveness, LooksAtTheStartDeadlineWhenItComesBeforeTheNextTick) {
  Liveness l = make(Readiness::on_heartbeat);
  const auto v = l.observe(attached(), t0 + start_timeout - 300 * us);
  EXPECT_EQ(v.next_check_ns, t0 + start_timeout);
}

TEST(Liveness, LooksAgainWithinATickAfterBecomingReady) {
  Liveness l = make(Readiness::on_heartbeat);
  const auto v = l.observe(mine(1, t0 + tick), t0 + 2 * tick);
  ASSERT_EQ(v.state, LiveState::ready);
  EXPECT_EQ(v.next_check_ns, t0 + 3 * tick);
}

// ---- the start timeout -------------------------------------------------------------------------

TEST(Liveness, DeclaresHungWhenNotReadyWithinTheStartTimeoutAndNotBefore) {
  Liveness l = make(Readiness::on_heartbeat);
  EXPECT_EQ(l.observe(attached(), t0 + start_timeout - 1).state, LiveState::starting);
  const auto v = l.observe(attached(), t0 + start_timeout);
  EXPECT_EQ(v.state, LiveState::hung);
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(v.next_check_ns, never);
  EXPECT_EQ(l.alive_at_ns(), t0);
}

TEST(Liveness, AProcessThatNeverAttachesHitsTheStartTimeout) {
  Liveness l = make(Readiness::on_heartbeat);
  EXPECT_EQ(l.observe(baseline, t0 + start_timeout - 1).state, LiveState::starting);
  EXPECT_EQ(l.observe(baseline, t0 + start_timeout).state, LiveState::hung);
}

TEST(Liveness, ReadinessSeenLateStillWinsOverTheStartTimeout) {
  // The monitor looked late; the reading shows it ready: ready, not hung.
  Liveness l = make(Readiness::on_heartbeat);
  const auto v = l.observe(mine(1, t0 + start_timeout - tick), t0 + start_timeout + 5);
  EXPECT_EQ(v.state, LiveState::ready);
}

TEST(Liveness, ExplicitProcessThatBeatsButNeverCallsReadyHitsTheStartTimeout) {
  Liveness l = make(Readiness::on_ready_call);
  std::uint64_t k = 0;
  std::uint64_t now = t0;
  LiveState s = LiveState::starting;
  for (; now <= t0 + start_timeout; now += tick) {
    ++k;
    s = l.observe(mine(k, now), now).state;
    if (s != LiveState::starting) break;
  }
  EXPECT_EQ(s, LiveState::hung);
  EXPECT_EQ(now, t0 + start_timeout);
}

TEST(Liveness, ExplicitProcessSilentBeforeReadyIsHungAtItsTimeoutNotTheStartTimeout) {
  // It attached and beat once, then fell silent: silence counts from its beat.
  Liveness l = make(Readiness::on_ready_call);
  const std::uint64_t stamp = t0 + tick;
  ASSERT_EQ(l.observe(mine(1, stamp), t0 + 2 * tick).state, LiveState::starting);
  EXPECT_EQ(l.observe(mine(1, stamp), stamp + tick + timeout - 1).state, LiveState::starting);
  EXPECT_EQ(l.observe(mine(1, stamp), stamp + tick + timeout).state, LiveState::hung);
  EXPECT_LT(stamp + tick + timeout, t0 + start_timeout);
}

// ---- silence -----------------------------------------------------------------------------------

TEST(Liveness, TakesTheLatestTimeABeatCouldHaveHappened) {
  Liveness l = make(Readiness::on_heartbeat);
  const std::uint64_t stamp = t0 + 2 * tick;
  l.observe(mine(1, stamp), t0 + 5 * tick);
  EXPECT_EQ(l.alive_at_ns(), stamp + tick);
}

TEST(Liveness, NeverPlacesABeatAfterTheLookThatSawIt) {
  Liveness l = make(Readiness::on_heartbeat);
  const std::uint64_t now = t0 + 5 * tick;
  l.observe(mine(1, now - 100), now);  // stamp + tick is after now
  EXPECT_EQ(l.alive_at_ns(), now);
}

TEST(Liveness, NeverDeclaresHungBeforeTheFullTimeout) {
  const std::uint64_t stamp = t0 + 2 * tick;
  Liveness l = running_since(stamp);
  const std::uint64_t silence_at = stamp + tick + timeout;
  for (std::uint64_t now = stamp + tick; now < silence_at; now += 97 * us) {
    ASSERT_EQ(l.observe(mine(1, stamp), now).state, LiveState::running) << now - stamp;
  }
  EXPECT_EQ(l.observe(mine(1, stamp), silence_at - 1).state, LiveState::running);
  const auto v = l.observe(mine(1, stamp), silence_at);
  EXPECT_EQ(v.state, LiveState::hung);
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(v.next_check_ns, never);
}

TEST(Liveness, SchedulesTheNextLookWhenSilenceWouldReachTheTimeout) {
  const std::uint64_t stamp = t0 + 2 * tick;
  Liveness l = running_since(stamp);
  const auto v = l.observe(mine(1, stamp), stamp + 4 * tick);
  EXPECT_EQ(v.state, LiveState::running);
  EXPECT_EQ(v.next_check_ns, stamp + tick + timeout);
}

TEST(Liveness, ANewBeatPostponesTheVerdict) {
  std::uint64_t stamp = t0 + 2 * tick;
  Liveness l = running_since(stamp);
  for (std::uint64_t k = 2; k < 50; ++k) {
    const std::uint64_t now = stamp + tick + timeout;  // the scheduled look
    stamp = now - 2 * tick;                            // it beat shortly before
    const auto v = l.observe(mine(k, stamp), now);
    ASSERT_EQ(v.state, LiveState::running) << k;
    ASSERT_EQ(v.next_check_ns, stamp + tick + timeout);
  }
}

TEST(Liveness, HungIsFinal) {
  const std::uint64_t stamp = t0 + 2 * tick;
  Liveness l = running_since(stamp);
  ASSERT_EQ(l.observe(mine(1, stamp), stamp + tick + timeout).state, LiveState::hung);
  const std::uint64_t alive_at = l.alive_at_ns();
  const std::uint64_t beats = l.beats();
  for (std::uint64_t k = 2; k < 10; ++k) {
    const std::uint64_t now = stamp + timeout + k * tick;
    const auto v = l.observe(mine(k, now, 1), now);
    EXPECT_EQ(v.state, LiveState::hung);
    EXPECT_FALSE(v.changed);
    EXPECT_EQ(v.next_check_ns, never);
  }
  EXPECT_EQ(l.alive_at_ns(), alive_at);
  EXPECT_EQ(l.beats(), beats);
}

// ---- other incarnations and garbage ------------------------------------------------------------

TEST(Liveness, BeatsOfAnotherIncarnationDoNotCount) {
  Liveness l = make(Readiness::on_heartbeat);
  std::uint64_t count = baseline.count;
  std::uint64_t now = t0;
  for (; now < t0 + start_timeout; now += tick) {
    const std::uint64_t other = (now / tick) % 2 == 0 ? inc - 1 : inc + 1;
    ASSERT_EQ(l.observe({++count, now, other, 1}, now).state, LiveState::starting);
  }
  EXPECT_EQ(l.beats(), 0u);
  EXPECT_EQ(l.observe({++count, now, inc - 1, 1}, now).state, LiveState::hung);
}

TEST(Liveness, StaleIncarnationBeatsDoNotKeepARunningProcessAlive) {
  const std::uint64_t stamp = t0 + 2 * tick;
  Liveness l = running_since(stamp);
  std::uint64_t count = baseline.count + 1;
  const std::uint64_t silence_at = stamp + tick + timeout;
  for (std::uint64_t now = stamp + 2 * tick; now < silence_at; now += tick / 2) {
    ASSERT_EQ(l.observe({++count, now, inc - 1, 1}, now).state, LiveState::running);
  }
  EXPECT_EQ(l.observe({++count, silence_at, inc - 1, 1}, silence_at).state, LiveState::hung);
}

TEST(Liveness, AStampInTheFutureCountsAsABeatAtTheLook) {
  const std::uint64_t now = t0 + 3 * tick;
  for (std::uint64_t stamp : {now + 1, now + 10 * timeout, never}) {
    Liveness fresh = make(Readiness::on_heartbeat);
    const auto v = fresh.observe(mine(1, stamp), now);
    EXPECT_EQ(v.state, LiveState::ready) << stamp;
    EXPECT_EQ(fresh.alive_at_ns(), now) << stamp;
    EXPECT_EQ(v.next_check_ns, now + tick);
  }
}

TEST(Liveness, AStampOfZeroCountsAsABeatAtTheLook) {
  Liveness l = make(Readiness::on_heartbeat);
  const std::uint64_t now = t0 + 3 * tick;
  EXPECT_EQ(l.observe(mine(1, 0), now).state, LiveState::ready);
  EXPECT_EQ(l.alive_at_ns(), now);
}

TEST(Liveness, AStampOlderThanThePreviousLookCountsAsABeatAtTheLook) {
  // The count changed since the last look, so the beat came after it whatever the stamp says.
  const std::uint64_t stamp = t0 + 2 * tick;
  Liveness l = running_since(stamp);
  const std::uint64_t last_look = stamp + 5 * tick;
  ASSERT_EQ(l.observe(mine(1, stamp), last_look).state, LiveState::running);
  const std::uint64_t now = last_look + 3 * tick;
  l.observe(mine(2, last_look - tick - 1), now);  // stamp + tick < last look
  EXPECT_EQ(l.alive_at_ns(), now);
  // A stamp just recent enough is believed.
  const std::uint64_t later = now + 2 * tick;
  l.observe(mine(3, now - tick), later);
  EXPECT_EQ(l.alive_at_ns(), now);
}

TEST(Liveness, ACountGoingBackwardsCountsAsABeat) {
  const std::uint64_t stamp = t0 + 2 * tick;
  Liveness l = running_since(stamp);
  const std::uint64_t now = stamp + timeout;
  const auto v = l.observe({baseline.count - 30, now - tick / 2, inc, 0}, now);
  EXPECT_EQ(v.state, LiveState::running);
  EXPECT_EQ(l.alive_at_ns(), now);
  EXPECT_EQ(l.beats(), 2u);
}

TEST(Liveness, AnUnchangedCountIsNoBeatWhateverTheStamp) {
  const std::uint64_t stamp = t0 + 2 * tick;
  Liveness l = running_since(stamp);
  const std::uint64_t silence_at = stamp + tick + timeout;
  for (std::uint64_t now = stamp + 2 * tick; now < silence_at; now += tick) {
    ASSERT_EQ(l.observe(mine(1, now), now).state, LiveState::running);
  }
  EXPECT_EQ(l.observe(mine(1, silence_at), silence_at).state, LiveState::hung);
}

TEST(Liveness, AMonitorBoundReplacesStampPlusTick) {
  const std::uint64_t now = t0 + 10 * tick;
  const std::uint64_t stamp = t0 + 2 * tick;
  {  // The monitor's next clock write after the stamp came late (it stalled): that is the bound.
    Liveness l = make(Readiness::on_heartbeat);
    BeatReading r = mine(1, stamp);
    r.bound_ns = stamp + 5 * tick;
    l.observe(r, now);
    EXPECT_EQ(l.alive_at_ns(), stamp + 5 * tick);
  }
  {  // No write since the stamp: the bound is the look itself.
    Liveness l = make(Readiness::on_heartbeat);
    BeatReading r = mine(1, stamp);
    r.bound_ns = now;
    l.observe(r, now);
    EXPECT_EQ(l.alive_at_ns(), now);
  }
  {  // Zero: stamp + tick.
    Liveness l = make(Readiness::on_heartbeat);
    l.observe(mine(1, stamp), now);
    EXPECT_EQ(l.alive_at_ns(), stamp + tick);
  }
}

TEST(Liveness, AStartingProcessIsLookedAtAtTheNewTickOnceItChanges) {
  Liveness l = make(Readiness::on_heartbeat);
  EXPECT_EQ(l.observe(attached(), t0 + 10 * us).next_check_ns, t0 + 10 * us + tick);
  l.set_tick(100 * us);
  EXPECT_EQ(l.observe(attached(), t0 + 20 * us).next_check_ns, t0 + 120 * us);
}

TEST(Liveness, TheTickIsHalfTheShortestIntervalWithinBounds) {
  EXPECT_EQ(tick_for(1 * ms), 500 * us);
  EXPECT_EQ(tick_for(50 * ms), 5 * ms) << "no coarser than 5 ms";
  EXPECT_EQ(tick_for(100 * us), 100 * us) << "no finer than 100 us";
  EXPECT_EQ(tick_for(never), 5 * ms) << "watching nothing";
}

TEST(Liveness, ToStringNamesEveryState) {
  EXPECT_EQ(std::string(to_string(LiveState::starting)), "starting");
  EXPECT_EQ(std::string(to_string(LiveState::ready)), "ready");
  EXPECT_EQ(std::string(to_string(LiveState::running)), "running");
  EXPECT_EQ(std::string(to_string(LiveState::hung)), "hung");
}

// ---- properties on random garbage --------------------------------------------------------------

int order(LiveState s) {
  switch (s) {
    case LiveState::starting: return 0;
    case LiveState::ready: return 1;
    case LiveState::running: return 2;
    case LiveState::hung: return 3;
  }
  return -1;
}

TEST(Liveness, RandomReadingsOfOtherIncarnationsNeverMakeItReady) {
  std::mt19937_64 rng(1);
  for (int run = 0; run < 300; ++run) {
    const Readiness mode = run % 2 == 0 ? Readiness::on_heartbeat : Readiness::on_ready_call;
    Liveness l(inc, t0, params(mode), {rng(), rng(), rng(), static_cast<std::uint32_t>(rng())});
    std::uint64_t now = t0;
    for (;;) {
      BeatReading r{rng(), rng(), rng(), static_cast<std::uint32_t>(rng() % 3)};
      if (r.incarnation == inc) r.incarnation = inc + 1;
      if (rng() % 4 == 0) r.stamp_ns = now - rng() % (2 * tick);
      const auto v = l.observe(r, now);
      ASSERT_NE(v.state, LiveState::ready);
      ASSERT_NE(v.state, LiveState::running);
      ASSERT_EQ(l.beats(), 0u);
      if (v.state == LiveState::hung) {
        // Exactly by the start timeout: the first look at or after it.
        ASSERT_GE(now, t0 + start_timeout);
        ASSERT_EQ(v.next_check_ns, never);
        break;
      }
      ASSERT_GT(v.next_check_ns, now);
      ASSERT_LE(v.next_check_ns, std::min(now + tick, t0 + start_timeout));
      now = v.next_check_ns + rng() % (tick / 4);
    }
  }
}

TEST(Liveness, RandomReadingsNeverDeclareHungBeforeTheCountsAllow) {
  // Whatever its stamps say, a change of count seen at a look means the process beat after the
  // previous look. So a hang is never declared before (look before the latest change) + timeout,
  // and a start timeout never before spawn + start_timeout. Readiness needs a reading of this
  // incarnation (with the flag, in explicit mode).
  std::mt19937_64 rng(2);
  const Readiness modes[] = {Readiness::on_spawn, Readiness::on_heartbeat,
                             Readiness::on_ready_call};
  int looks = 0, hung_by_silence = 0, hung_by_start = 0, survived = 0;
  for (int run = 0; run < 600; ++run) {
    const Readiness mode = modes[run % 3];
    const BeatReading base{rng(), rng(), rng(), static_cast<std::uint32_t>(rng())};
    Liveness l(inc, t0, params(mode), base);
    std::uint64_t last_mine_count = base.count;
    std::uint64_t count = base.count;
    std::uint64_t now = t0;
    std::uint64_t prev_look = t0;  // the constructor counts as a look, at spawn
    bool changed_seen = false;
    std::uint64_t look_before_change = 0;
    LiveState state = l.state();
    for (int look = 0; look < 400; ++look) {
      BeatReading r;
      // Mostly this incarnation, sometimes not attached yet or garbage.
      r.incarnation = run % 5 == 0 ? rng() : rng() % 4 == 0 ? rng() : inc;
      if (rng() % 2 == 0) count = rng() % 2 == 0 ? count + 1 : rng();
      r.count = count;
      switch (rng() % 4) {
        case 0: r.stamp_ns = rng(); break;
        case 1: r.stamp_ns = 0; break;
        case 2: r.stamp_ns = now + rng() % timeout; break;
        default: r.stamp_ns = now - rng() % (3 * tick); break;
      }
      r.ready = rng() % 5 == 0 ? static_cast<std::uint32_t>(rng())
                               : static_cast<std::uint32_t>(rng() % 2);
      const bool is_mine = r.incarnation == inc;
      if (is_mine && r.count != last_mine_count) {
        changed_seen = true;
        look_before_change = prev_look;
      }
      if (is_mine) last_mine_count = r.count;

      const auto v = l.observe(r, now);
      ++looks;
      ASSERT_GE(order(v.state), order(state)) << "went back from " << to_string(state);
      ASSERT_EQ(v.changed, v.state != state);
      ASSERT_LE(l.alive_at_ns(), now);
      ASSERT_EQ(l.beats() > 0, changed_seen);
      if (v.state != LiveState::starting && v.state != LiveState::hung &&
          state == LiveState::starting) {
        ASSERT_TRUE(is_mine) << "ready from a reading of incarnation " << r.incarnation;
        if (mode == Readiness::on_ready_call) {
          ASSERT_EQ(r.ready, 1u);
        }
        if (mode == Readiness::on_heartbeat) {
          ASSERT_TRUE(changed_seen);
        }
      }
      if (v.state == LiveState::hung) {
        ASSERT_EQ(v.next_check_ns, never);
        const bool by_start = state == LiveState::starting && now >= t0 + start_timeout;
        const bool by_silence = changed_seen && now >= look_before_change + timeout;
        ASSERT_TRUE(by_start || by_silence)
            << "hung at +" << now - t0 << ", last change seen after the look at +"
            << look_before_change - t0;
        ++(by_silence ? hung_by_silence : hung_by_start);
        break;
      }
      ASSERT_GT(v.next_check_ns, now);
      if (look == 399) ++survived;
      state = v.state;
      prev_look = now;
      // When asked; or sooner; or, now and then, much later.
      switch (rng() % 10) {
        case 0: now += rng() % (2 * timeout); break;
        case 1:
        case 2:
        case 3:
        case 4: now += rng() % tick; break;
        default: now = v.next_check_ns; break;
      }
    }
  }
  EXPECT_GT(looks, 600 * 30);
  EXPECT_GT(hung_by_silence, 100);
  EXPECT_GT(hung_by_start, 50);
  EXPECT_GT(survived, 20);
}

// ---- the timing model, on random schedules -----------------------------------------------------

// One incarnation's life, all times in ns: the monitor's clock writes, the process's beats,
// when it attached and called ready(). What a look at time t reads follows from these.
struct Life {
  bool stalls = false;                // the monitor's clock may stall: readings carry bound_ns
  std::vector<std::uint64_t> writes;  // increasing; the first is before spawn
  std::vector<std::uint64_t> beats;   // increasing, each after `attach`
  std::uint64_t attach = 0;
  std::uint64_t ready_at = never;  // explicit mode: ready() (a beat time), or never
  BeatReading base;

  // The stamp a beat at `t` copies: the latest clock write at or before it.
  std::uint64_t clock_at(std::uint64_t t) const {
    return *(std::upper_bound(writes.begin(), writes.end(), t) - 1);
  }
  // The first clock write after `stamp`, if it happened by `now`; else `now`.
  std::uint64_t next_write(std::uint64_t stamp, std::uint64_t now) const {
    const auto it = std::upper_bound(writes.begin(), writes.end(), stamp);
    return it != writes.end() && *it <= now ? *it : now;
  }
  std::size_t beats_by(std::uint64_t t) const {
    return static_cast<std::size_t>(std::upper_bound(beats.begin(), beats.end(), t) -
                                    beats.begin());
  }
  BeatReading read(std::uint64_t t) const {
    if (t < attach) return base;
    const std::size_t n = beats_by(t);
    BeatReading r{base.count + n, n > 0 ? clock_at(beats[n - 1]) : base.stamp_ns, inc,
                  t >= ready_at ? 1u : 0u};
    if (stalls && n > 0) r.bound_ns = next_write(r.stamp_ns, t);
    return r;
  }
  // The latest time the latest beat by `t` can have happened, as the monitor can know it.
  std::uint64_t latest_possible(std::uint64_t t) const {
    const std::uint64_t stamp = clock_at(beats[beats_by(t) - 1]);
    return std::min(t, stalls ? next_write(stamp, t) : stamp + tick_ns);
  }
  // The latest time a beat at `t` can have happened, as the monitor eventually knows it.
  std::uint64_t bound_of(std::uint64_t t) const {
    const std::uint64_t stamp = clock_at(t);
    return stalls ? *std::upper_bound(writes.begin(), writes.end(), stamp) : stamp + tick_ns;
  }
  std::uint64_t tick_ns = 0;
};

TEST(Liveness, RandomSchedulesAreNeverDeclaredHungEarlyAndAtMostATickLate) {
  std::mt19937_64 rng(3);
  const Readiness modes[] = {Readiness::on_spawn, Readiness::on_heartbeat,
                             Readiness::on_ready_call};
  int hung_by_silence = 0, hung_by_start = 0, survived = 0;
  for (int run = 0; run < 3000; ++run) {
    auto uniform = [&](std::uint64_t lo, std::uint64_t hi) {  // [lo, hi]
      return lo + rng() % (hi - lo + 1);
    };
    Life life;
    life.stalls = run % 2 == 1;
    const Readiness mode = modes[run % 3];
    const std::uint64_t tk = uniform(1 * us, 1 * ms);
    const std::uint64_t to = tk * uniform(2, 20) + uniform(0, tk);
    const std::uint64_t st = to * uniform(2, 8);
    const std::uint64_t latency = uniform(0, tk);  // the monitor wakes up at most this late
    const std::uint64_t spawn = t0 + uniform(0, 1'000'000'000);
    const std::uint64_t horizon = spawn + st + 30 * to;
    life.tick_ns = tk;
    life.base = {rng(), spawn - uniform(0, to), inc - 1, static_cast<std::uint32_t>(rng() % 2)};

    // The monitor's clock: a write at most one tick after the previous one, or, when it may
    // stall, sometimes much later.
    for (std::uint64_t w = spawn - uniform(0, tk); w <= horizon + 2 * to;) {
      life.writes.push_back(w);
      w += life.stalls && rng() % 20 == 0 ? uniform(tk, 3 * to) : uniform(1, tk);
    }
    // The process: attaches (sometimes after its start timeout), beats with gaps around the
    // timeout, and may stop beating for good.
    // A third of the lives are steady (never a gap near the timeout), a third have occasional
    // long gaps, a third stop beating at some point.
    const int kind = static_cast<int>(rng() % 3);
    life.attach = spawn + (rng() % 8 == 0 ? uniform(st, st + to) : uniform(0, st / 2));
    const std::uint64_t stop_at = kind == 2 ? uniform(life.attach, horizon) : horizon;
    for (std::uint64_t b = life.attach + uniform(0, to / 2); b < stop_at;) {
      life.beats.push_back(b);
      b += kind == 1 && rng() % 10 == 0 ? uniform(to / 2, 2 * to) : uniform(1, to * 3 / 4);
    }
    if (mode == Readiness::on_ready_call && !life.beats.empty() && rng() % 10 != 0) {
      life.ready_at = life.beats[std::min<std::size_t>(life.beats.size() - 1, rng() % 3)];
    }
    // When it first counts as ready by its mode.
    std::uint64_t eligible = never;
    if (mode == Readiness::on_spawn) eligible = spawn;
    if (mode == Readiness::on_heartbeat && !life.beats.empty()) eligible = life.beats[0];
    if (mode == Readiness::on_ready_call) eligible = life.ready_at;

    Liveness l(inc, spawn, {to, st, tk, mode}, life.base);
    LiveState state = l.state();
    std::uint64_t now = spawn;
    SCOPED_TRACE("run " + std::to_string(run));
    for (;;) {
      const std::size_t n = life.beats_by(now);
      const auto v = l.observe(life.read(now), now);
      ASSERT_EQ(v.changed, v.state != state);
      ASSERT_LE(l.alive_at_ns(), now);
      if (n > 0) {
        ASSERT_GE(l.alive_at_ns(), life.beats[n - 1]);
      }
      const bool is_eligible = now >= eligible;

      if (v.state == LiveState::hung) {
        ASSERT_EQ(v.next_check_ns, never);
        // Never early: a full timeout of silence after the latest beat, or not ready by the
        // start timeout.
        const bool by_silence = n > 0 && now >= life.beats[n - 1] + to;
        const bool by_start = state == LiveState::starting && !is_eligible && now >= spawn + st;
        ASSERT_TRUE(by_silence || by_start) << "hung at +" << now - spawn;
        // And at most a tick (or the stall) plus the wake-up latency late.
        if (by_start && !by_silence) {
          ASSERT_LE(now, spawn + st + latency);
          ++hung_by_start;
        } else {
          ASSERT_LE(now, life.bound_of(life.beats[n - 1]) + to + latency)
              << "silent since +" << life.beats[n - 1] - spawn;
          ++hung_by_silence;
        }
        break;
      }
      // Not hung: the silence since the latest possible beat is short of the timeout, and the
      // start timeout has not passed unready.
      if (n > 0) {
        ASSERT_LT(now, life.latest_possible(now) + to) << "missed a hang";
      }
      if (v.state == LiveState::starting) {
        ASSERT_FALSE(is_eligible) << "missed readiness at +" << now - spawn;
        ASSERT_LT(now, spawn + st);
        ASSERT_LE(v.next_check_ns, now + tk);
      } else {
        ASSERT_TRUE(is_eligible) << "ready too early at +" << now - spawn;
        if (state == LiveState::starting && mode != Readiness::on_spawn) {
          ASSERT_LE(now, std::max(eligible, spawn) + tk + latency) << "readiness seen late";
        }
      }
      if (v.state == LiveState::ready) {
        ASSERT_LE(v.next_check_ns, now + tk);
      }
      if (v.state == LiveState::running && n > 0) {
        ASSERT_LE(v.next_check_ns, life.latest_possible(now) + to);
      }
      ASSERT_GT(v.next_check_ns, now);
      state = v.state;

      // The monitor looks when asked, up to `latency` late; sometimes earlier (another slot's
      // deadline woke it).
      std::uint64_t next = v.next_check_ns + uniform(0, latency);
      if (rng() % 4 == 0) next = uniform(now, next);
      if (next > horizon) {
        ++survived;
        break;
      }
      now = next;
    }
  }
  // The schedules exercise every outcome.
  EXPECT_GT(hung_by_silence, 500);
  EXPECT_GT(hung_by_start, 100);
  EXPECT_GT(survived, 300);
}

}  // namespace
}  // namespace hamon::engine
