// CpuSentinels, as cpu_sentinels.hpp says: a CPU that runs nothing at the sentinels' priority
// shows as a stall in progress while it lasts and as a stall in that CPU's log once it ended,
// about as long as it was; a CPU that runs on shows none of it.
#include "cpu_sentinels.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "hamon/node/clock.hpp"

namespace hamon::monitor {
namespace {

constexpr std::uint64_t ms = 1'000'000;

// Pins the calling thread to `cpu`; at real-time priority `rt` if non-zero.
bool pin(int cpu, int rt) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<unsigned>(cpu), &set);
  if (::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) != 0) return false;
  if (rt == 0) return true;
  sched_param p{};
  p.sched_priority = rt;
  return ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &p) == 0;
}

// Back to the ordinary policy and every CPU the thread had when the test ends, whichever way.
struct OrdinaryAtEnd {
  OrdinaryAtEnd() { ::pthread_getaffinity_np(::pthread_self(), sizeof cpus, &cpus); }
  ~OrdinaryAtEnd() {
    sched_param p{};
    ::pthread_setschedparam(::pthread_self(), SCHED_OTHER, &p);
    ::pthread_setaffinity_np(::pthread_self(), sizeof cpus, &cpus);
  }
  OrdinaryAtEnd(const OrdinaryAtEnd&) = delete;
  OrdinaryAtEnd& operator=(const OrdinaryAtEnd&) = delete;
  cpu_set_t cpus{};
};

TEST(CpuSentinels, ACpuHeldByAHogIsAStallWhileItLastsAndInItsLogAfter) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a real-time hog";
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs a second CPU";
  // The watcher and (by inheritance) the sentinels run real-time, as the monitor does where it
  // matters: at the ordinary policy the other tests running beside this one can delay either of
  // them by milliseconds, and the test would measure that load instead of the hog.
  OrdinaryAtEnd ordinary;
  ASSERT_TRUE(pin(0, 50));
  CpuSentinels sentinels(1 * ms);
  ASSERT_TRUE(sentinels.watches(0) && sentinels.watches(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // each has run once

  constexpr std::uint64_t kHog = 40 * ms;
  std::atomic<std::uint64_t> hog_start{0}, hog_end{0};
  std::atomic<bool> hog_done{false};
  std::thread hog([&] {
    struct Done {
      std::atomic<bool>& done;
      ~Done() { done = true; }
    } done{hog_done};
    if (!pin(1, 99)) return;
    const std::uint64_t start = node::now_ns();
    hog_start = start;
    while (node::now_ns() < start + kHog) {
    }
    hog_end = node::now_ns();
  });
  // While it holds CPU 1, CPU 1's sentinel is overdue: a stall in progress, begun after the hog.
  bool seen_in_progress = false;
  while (!hog_done && !seen_in_progress) {
    const std::uint64_t now = node::now_ns();
    const std::uint64_t since = sentinels.stalled_since(1, now);
    seen_in_progress = since != 0 && hog_start != 0 && since + 2 * ms >= hog_start;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  hog.join();
  ASSERT_NE(hog_end.load(), 0u) << "could not hog CPU 1 at SCHED_FIFO 99";
  EXPECT_TRUE(seen_in_progress);

  // Once it ended, the sentinel reports it: CPU 1's log holds about the hog's length.
  std::vector<engine::StallLog> logs;
  const std::uint64_t deadline = node::now_ns() + 5'000 * ms;
  std::uint64_t covered = 0;
  while (node::now_ns() < deadline && covered < kHog - 2 * ms) {
    sentinels.collect(logs);
    ASSERT_GE(logs.size(), 2u);
    covered = logs[1].measure(hog_start - 10 * ms, hog_end + 10 * ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(covered, kHog - 2 * ms);
  // Generous by a period and the allowance on each side — and by whatever kept the sentinel
  // from running right after the hog on a loaded machine (other tests run beside this one; a
  // virtual CPU stalls for up to ~16 ms here): it is a measure of the CPU, not of the hog.
  EXPECT_LE(covered, kHog + 25 * ms);
}

// A CPU without a sentinel never shows a stall; destroying them joins every thread (a sentinel
// that did not stop would hang the test).
TEST(CpuSentinels, ACpuWithoutASentinelShowsNoStallAndTheyStopWhenDestroyed) {
  std::vector<engine::StallLog> logs;
  {
    CpuSentinels sentinels(1 * ms);
    sentinels.collect(logs);
    EXPECT_EQ(logs.size(), sentinels.cpu_limit());
    EXPECT_EQ(sentinels.stalled_since(sentinels.cpu_limit() + 5, node::now_ns()), 0u);
  }
}

}  // namespace
}  // namespace hamon::monitor
