// The watch loop's handover to the peer link: every changed slot reaches the link, in order,
// or the link is told to compare everything; a sleeping link is woken, a busy one costs the
// watch loop no system call.
#include "change_feed.hpp"

#include <poll.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace hamon::link {
namespace {

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST(ChangeFeed, ASlotChangedWhileTheLinkSleepsWakesItAndArrives) {
  ChangeFeed feed;
  ASSERT_TRUE(feed.arm());
  EXPECT_FALSE(readable(feed.fd(), 0));
  feed.changed(7);
  ASSERT_TRUE(readable(feed.fd(), 1000));
  feed.clear();
  std::vector<std::uint32_t> got;
  EXPECT_FALSE(feed.drain([&](std::uint32_t s) { got.push_back(s); }));
  EXPECT_EQ(got, std::vector<std::uint32_t>{7});
}

TEST(ChangeFeed, ALinkThatHasNotArmedIsNotWoken) {
  ChangeFeed feed;
  feed.changed(1);
  feed.changed(2);
  EXPECT_FALSE(readable(feed.fd(), 0)) << "a busy link costs the watch loop no write";
  EXPECT_FALSE(feed.arm()) << "arming with changes queued must say: drain first";
}

TEST(ChangeFeed, AFullQueueDropsNothingSilently) {
  ChangeFeed feed;
  for (std::uint32_t i = 0; i < ChangeFeed::kCapacity + 10; ++i) feed.changed(i);
  std::size_t n = 0;
  EXPECT_TRUE(feed.drain([&](std::uint32_t) { ++n; })) << "the overflow is reported";
  EXPECT_EQ(n, ChangeFeed::kCapacity);
  EXPECT_FALSE(feed.drain([&](std::uint32_t) { ++n; })) << "and reported once";
}

// Two threads as in hamon-monitor: a producer that never waits, a consumer that sleeps on the
// eventfd whenever arm() allows. Every slot arrives once, in order, and the consumer never
// sleeps through a change (the test would hang, and the poll timeout below fails it).
TEST(ChangeFeed, AProducerAndASleepingConsumerLoseNothing) {
  ChangeFeed feed;
  constexpr std::uint32_t kCount = 200'000;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> consumed{0};
  std::vector<std::uint32_t> got;
  got.reserve(kCount);
  bool overflowed = false, stalled = false;
  std::thread consumer([&] {
    while (got.size() < kCount || !done.load()) {
      if (feed.drain([&](std::uint32_t s) { got.push_back(s); })) overflowed = true;
      consumed.store(got.size());
      if (overflowed || (done.load() && got.size() >= kCount)) break;
      if (!feed.arm()) continue;
      if (!readable(feed.fd(), 5000)) {
        stalled = done.load() ? got.size() < kCount : true;
        if (stalled) break;
      }
      feed.clear();
    }
  });
  for (std::uint32_t i = 0; i < kCount; ++i) {
    // Never more than half the queue in flight: this test is about wake-ups, not overflow.
    while (i - consumed.load() > ChangeFeed::kCapacity / 2) std::this_thread::yield();
    feed.changed(i);
    if (i % 1024 == 0) std::this_thread::yield();  // let the consumer fall asleep sometimes
  }
  done = true;
  consumer.join();
  ASSERT_FALSE(stalled) << "the consumer slept through a change";
  ASSERT_FALSE(overflowed);
  ASSERT_EQ(got.size(), kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) ASSERT_EQ(got[i], i);
}

}  // namespace
}  // namespace hamon::link
