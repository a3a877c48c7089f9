// TimerWheel, as specified in timer_wheel.hpp: an entry comes out at the first expire() at or
// after its deadline — never before, never later, never lost — whatever the distance of the
// deadline and whatever the granularity it was filed at.
#include "hamon/engine/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace hamon::engine {
namespace {

constexpr std::uint64_t us = 1'000;
constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t t0 = 1'000'000'000'000;

using Entries = std::vector<TimerWheel::Entry>;

Entries expire(TimerWheel& w, std::uint64_t now) {
  Entries out;
  w.expire(now, out);
  return out;
}

TEST(TimerWheel, ReturnsAnEntryAtItsDeadlineAndNotBefore) {
  TimerWheel w(100 * us, 64, t0);
  w.add(t0 + 250 * us, 3, 9);
  EXPECT_TRUE(expire(w, t0 + 249 * us).empty()) << "one nanosecond early is early";
  const Entries due = expire(w, t0 + 250 * us);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].at, t0 + 250 * us);
  EXPECT_EQ(due[0].slot, 3u);
  EXPECT_EQ(due[0].incarnation, 9u);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_TRUE(expire(w, t0 + 10 * ms).empty()) << "returned once only";
}

TEST(TimerWheel, ADeadlineAlreadyPastIsDueAtTheNextExpiry) {
  TimerWheel w(100 * us, 64, t0 + 5 * ms);
  w.add(t0, 1, 1);
  EXPECT_EQ(expire(w, t0 + 5 * ms).size(), 1u);
}

TEST(TimerWheel, KeepsAFarDeadlineBeyondTheSpanAndNeverReturnsItEarly) {
  TimerWheel w(100 * us, 16, t0);  // a span of 1.6 ms
  ASSERT_EQ(w.span(), 1600 * us);
  const std::uint64_t far = t0 + 10 * w.span() + 37 * us;
  w.add(far, 5, 2);
  // Walk the clock past many turns of the wheel in small steps: it stays, silent, until due.
  for (std::uint64_t now = t0; now < far; now += 70 * us) {
    ASSERT_TRUE(expire(w, now).empty()) << "returned " << far - now << " ns early";
    ASSERT_EQ(w.size(), 1u) << "lost";
  }
  EXPECT_EQ(expire(w, far).size(), 1u);
}

TEST(TimerWheel, KeepsAFarDeadlineAcrossAStallLongerThanTheSpan) {
  TimerWheel w(100 * us, 16, t0);
  w.add(t0 + 100 * ms, 1, 1);
  w.add(t0 + 5 * ms, 2, 1);
  w.add(t0 + 3 * ms, 3, 1);
  // One call after many spans: what is due comes out in deadline order, the rest stays.
  const Entries due = expire(w, t0 + 50 * ms);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].slot, 3u);
  EXPECT_EQ(due[1].slot, 2u);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.next(UINT64_MAX), t0 + 100 * ms);
  EXPECT_TRUE(expire(w, t0 + 100 * ms - 1).empty());
  EXPECT_EQ(expire(w, t0 + 100 * ms).size(), 1u);
}

TEST(TimerWheel, ManyEntriesInOneBucketAllComeOutAndOnlyWhenDue) {
  // Adding is a push onto its bucket, whatever the wheel already holds; expiring takes what is
  // due and leaves the rest of the bucket in place.
  TimerWheel w(1 * ms, 8, t0);
  for (std::uint32_t i = 0; i < 5000; ++i) w.add(t0 + 2 * ms + i % 100, i, 1);
  EXPECT_EQ(w.size(), 5000u);
  const Entries first = expire(w, t0 + 2 * ms + 49);
  EXPECT_EQ(first.size(), 2500u);
  for (const auto& e : first) EXPECT_LE(e.at, t0 + 2 * ms + 49);
  EXPECT_EQ(expire(w, t0 + 3 * ms).size(), 2500u);
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, NextIsTheEarliestDeadlineOrTheLimit) {
  TimerWheel w(100 * us, 64, t0);
  EXPECT_EQ(w.next(t0 + 7 * ms), t0 + 7 * ms) << "empty";
  w.add(t0 + 3 * ms + 1, 1, 1);
  w.add(t0 + 3 * ms + 50 * us, 2, 1);  // same bucket, later
  w.add(t0 + 1 * ms + 20 * us, 3, 1);
  EXPECT_EQ(w.next(UINT64_MAX), t0 + 1 * ms + 20 * us) << "the exact deadline, not a bucket start";
  EXPECT_EQ(w.next(t0 + 500 * us), t0 + 500 * us) << "the limit when it comes first";
  (void)expire(w, t0 + 2 * ms);
  EXPECT_EQ(w.next(UINT64_MAX), t0 + 3 * ms + 1);
}

TEST(TimerWheel, NextSeesANearDeadlineFiledAfterAFarOne) {
  // The far one is parked at the end of the span; once the cursor moves on, a nearer deadline
  // lands in a later bucket than the parked one.
  TimerWheel w(100 * us, 16, t0);
  w.add(t0 + 1'000 * ms, 1, 1);
  (void)expire(w, t0 + 1 * ms);
  w.add(t0 + 2 * ms, 2, 1);
  EXPECT_EQ(w.next(UINT64_MAX), t0 + 2 * ms);
}

TEST(TimerWheel, ChangingTheGranularityKeepsEveryDeadline) {
  TimerWheel w(2 * ms, 64, t0);
  w.add(t0 + 300 * us, 1, 1);
  w.add(t0 + 1 * ms, 2, 1);
  w.add(t0 + 5 * ms, 3, 1);
  w.set_granularity(25 * us, t0 + 100 * us);
  EXPECT_EQ(w.granularity(), 25 * us);
  EXPECT_EQ(w.size(), 3u);
  EXPECT_EQ(w.next(UINT64_MAX), t0 + 300 * us);
  EXPECT_TRUE(expire(w, t0 + 300 * us - 1).empty());
  EXPECT_EQ(expire(w, t0 + 300 * us).size(), 1u);
  EXPECT_TRUE(expire(w, t0 + 1 * ms - 1).empty());
  EXPECT_EQ(expire(w, t0 + 1 * ms).size(), 1u);
  // And back to coarse: nothing moves earlier.
  w.set_granularity(10 * ms, t0 + 1 * ms);
  EXPECT_TRUE(expire(w, t0 + 5 * ms - 1).empty());
  EXPECT_EQ(expire(w, t0 + 5 * ms).size(), 1u);
}

// Thousands of processes beating in step file their deadlines into the same bucket, a different
// one each turn. The memory held must follow the entries held, not the buckets times the largest
// crowd each ever saw (a monitor of 4096 processes at 1 ms grew by 20 MB a second).
TEST(TimerWheel, MemoryFollowsTheEntriesHeldNotEveryBucketsLargestCrowd) {
  constexpr std::uint32_t kSlots = 4096;
  TimerWheel w(125 * us, 8192, t0);
  Entries out;
  std::uint64_t now = t0;
  for (std::uint32_t s = 0; s < kSlots; ++s) w.add(now + 3 * ms, s, 1);
  for (int turn = 0; turn < 3000; ++turn) {  // every slot checked each millisecond
    now += 1 * ms;
    out.clear();
    w.expire(now, out);
    for (const auto& e : out) w.add(now + 3 * ms, e.slot, e.incarnation);
  }
  EXPECT_EQ(w.size(), kSlots);
  EXPECT_LE(w.reserved(), 4 * kSlots);
}

// The property behind all of the above, at random: deadlines near and far, additions between
// expiries, an occasional change of granularity; each entry comes out exactly once, at the first
// expire() at or after its deadline.
TEST(TimerWheel, RandomScheduleEachEntryOnceAtTheFirstExpiryAtOrAfterItsDeadline) {
  std::mt19937_64 rng(12345);
  TimerWheel w(50 * us, 32, t0);  // a span of 1.6 ms, so many deadlines are beyond it
  std::map<std::uint32_t, std::uint64_t> pending;  // id -> deadline
  std::uint32_t next_id = 0;
  std::uint64_t now = t0;
  for (int step = 0; step < 20000; ++step) {
    const int adds = static_cast<int>(rng() % 4);
    for (int k = 0; k < adds; ++k) {
      const std::uint64_t reach = rng() % 8 == 0 ? 50 * ms : 2 * ms;
      const std::uint64_t at = now - std::min<std::uint64_t>(now - t0, 100 * us) + rng() % reach;
      w.add(at, next_id, 1);
      pending[next_id++] = at;
    }
    if (rng() % 500 == 0) w.set_granularity((1 + rng() % 40) * 10 * us, now);
    now += rng() % (rng() % 50 == 0 ? 5 * ms : 120 * us);
    Entries out;
    w.expire(now, out);
    for (const auto& e : out) {
      const auto it = pending.find(e.slot);
      ASSERT_NE(it, pending.end()) << "returned twice or never added: " << e.slot;
      ASSERT_EQ(it->second, e.at);
      ASSERT_LE(e.at, now) << "early by " << e.at - now << " ns";
      pending.erase(it);
    }
    for (const auto& [id, at] : pending) ASSERT_GT(at, now) << "entry " << id << " is late";
    ASSERT_EQ(w.size(), pending.size());
    if (!pending.empty()) {
      std::uint64_t earliest = UINT64_MAX;
      for (const auto& [id, at] : pending) earliest = std::min(earliest, at);
      ASSERT_EQ(w.next(UINT64_MAX), earliest);
    }
  }
}

}  // namespace
}  // namespace hamon::engine
