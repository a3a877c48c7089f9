// Specification of the event ring: every posted event can be read back whole, in order; a slow
// reader is told it was lapped; a writer that died mid-post leaves a hole readers can skip.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "hamon/shm/event_ring.hpp"

namespace hamon::shm {
namespace {

struct RingMemory {
  explicit RingMemory(std::uint32_t capacity)
      : bytes(EventRing::bytes_for(capacity)),
        mem(static_cast<std::byte*>(std::aligned_alloc(256, bytes))),
        ring(EventRing::init(mem, capacity)) {}
  ~RingMemory() { std::free(mem); }
  std::size_t bytes;
  std::byte* mem;
  EventRing* ring;
};

Event make(std::uint64_t i) {
  Event e;
  e.t_ns = i * 10;
  e.incarnation = i;
  e.value = -static_cast<std::int64_t>(i);
  e.pid = static_cast<std::int32_t>(i + 100);
  e.kind = EventKind::exited;
  e.set_group("acme");
  e.set_name("acd");
  e.set_detail("exited with status " + std::to_string(i % 256));
  return e;
}

TEST(EventRing, ReadsBackWhatWasPostedInOrder) {
  RingMemory m(16);
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(m.ring->post(make(i)), i);
  EXPECT_EQ(m.ring->head(), 10u);
  EXPECT_EQ(m.ring->oldest(), 0u);
  Event e;
  for (std::uint64_t i = 0; i < 10; ++i) {
    ASSERT_EQ(m.ring->read(i, e), EventRing::Read::ok);
    EXPECT_EQ(e.incarnation, i);
    EXPECT_EQ(e.kind, EventKind::exited);
    EXPECT_STREQ(e.group, "acme");
    EXPECT_EQ(std::string(e.detail), "exited with status " + std::to_string(i));
  }
  EXPECT_EQ(m.ring->read(10, e), EventRing::Read::empty);
}

TEST(EventRing, LongTextIsTruncatedAndTerminated) {
  Event e;
  e.set_detail(std::string(300, 'x'));
  EXPECT_EQ(std::string(e.detail), std::string(sizeof(e.detail) - 1, 'x'));
}

TEST(EventRing, AReaderThatFellBehindIsToldItWasLapped) {
  RingMemory m(8);
  for (std::uint64_t i = 0; i < 20; ++i) m.ring->post(make(i));
  Event e;
  EXPECT_EQ(m.ring->read(3, e), EventRing::Read::lapped);
  EXPECT_EQ(m.ring->oldest(), 12u);
  ASSERT_EQ(m.ring->read(12, e), EventRing::Read::ok);
  EXPECT_EQ(e.incarnation, 12u);
}

TEST(EventRing, AClaimedButUnpublishedEntryIsPendingAndLaterOnesStillRead) {
  RingMemory m(8);
  m.ring->post(make(0));
  // A writer that claimed position 1 and died before publishing: bump head, leave the entry.
  auto* head = reinterpret_cast<std::atomic<std::uint64_t>*>(m.mem);
  head->fetch_add(1);
  m.ring->post(make(2));
  Event e;
  EXPECT_EQ(m.ring->read(0, e), EventRing::Read::ok);
  EXPECT_EQ(m.ring->read(1, e), EventRing::Read::pending);
  ASSERT_EQ(m.ring->read(2, e), EventRing::Read::ok);
  EXPECT_EQ(e.incarnation, 2u);
}

TEST(EventRing, ConcurrentPostersAllLandExactlyOnce) {
  RingMemory m(1024);
  constexpr int kThreads = 4, kEach = 200;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) m.ring->post(make(static_cast<std::uint64_t>(t * 1000 + i)));
    });
  }
  // Read concurrently with the posters, then the rest.
  std::set<std::uint64_t> seen;
  std::uint64_t pos = 0;
  while (seen.size() < kThreads * kEach) {
    Event e;
    switch (m.ring->read(pos, e)) {
      case EventRing::Read::ok:
        EXPECT_TRUE(seen.insert(e.incarnation).second) << "duplicate " << e.incarnation;
        EXPECT_EQ(e.pid, static_cast<std::int32_t>(e.incarnation + 100)) << "torn event";
        ++pos;
        break;
      case EventRing::Read::lapped: FAIL() << "1024 entries cannot lap 800 posts";
      default: std::this_thread::yield();
    }
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(m.ring->head(), static_cast<std::uint64_t>(kThreads * kEach));
}

}  // namespace
}  // namespace hamon::shm
