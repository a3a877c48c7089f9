// Specification of the event ring: every posted event can be read back whole, in order; a slow
// reader is told it was lapped; a writer that died mid-post leaves a hole readers can skip. And of
// the cursor that follows it: each entry once, in order, losses counted, holes skipped in time.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "hamon/shm/event_cursor.hpp"
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
  EventRing ring;
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
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(m.ring.post(make(i)), i);
  EXPECT_EQ(m.ring.head(), 10u);
  EXPECT_EQ(m.ring.oldest(), 0u);
  Event e;
  for (std::uint64_t i = 0; i < 10; ++i) {
    ASSERT_EQ(m.ring.read(i, e), EventRing::Read::ok);
    EXPECT_EQ(e.incarnation, i);
    EXPECT_EQ(e.kind, EventKind::exited);
    EXPECT_STREQ(e.group, "acme");
    EXPECT_EQ(std::string(e.detail), "exited with status " + std::to_string(i));
  }
  EXPECT_EQ(m.ring.read(10, e), EventRing::Read::empty);
}

TEST(EventRing, LongTextIsTruncatedAndTerminated) {
  Event e;
  e.set_detail(std::string(300, 'x'));
  EXPECT_EQ(std::string(e.detail), std::string(sizeof(e.detail) - 1, 'x'));
}

TEST(EventRing, AReaderThatFellBehindIsToldItWasLapped) {
  RingMemory m(8);
  for (std::uint64_t i = 0; i < 20; ++i) m.ring.post(make(i));
  Event e;
  EXPECT_EQ(m.ring.read(3, e), EventRing::Read::lapped);
  EXPECT_EQ(m.ring.oldest(), 12u);
  ASSERT_EQ(m.ring.read(12, e), EventRing::Read::ok);
  EXPECT_EQ(e.incarnation, 12u);
}

TEST(EventRing, AClaimedButUnpublishedEntryIsPendingAndLaterOnesStillRead) {
  RingMemory m(8);
  m.ring.post(make(0));
  // A writer that claimed position 1 and died before publishing: bump head, leave the entry.
  auto* head = reinterpret_cast<std::atomic<std::uint64_t>*>(m.mem);
  head->fetch_add(1);
  m.ring.post(make(2));
  Event e;
  EXPECT_EQ(m.ring.read(0, e), EventRing::Read::ok);
  EXPECT_EQ(m.ring.read(1, e), EventRing::Read::pending);
  ASSERT_EQ(m.ring.read(2, e), EventRing::Read::ok);
  EXPECT_EQ(e.incarnation, 2u);
}

TEST(EventRing, GarbageInTheSharedHeadIsNeverUsedAndTheNextPostRepairsIt) {
  // Whoever may write the segment may write the head line: its position, capacity and mask.
  RingMemory m(8);
  for (std::uint64_t i = 0; i < 3; ++i) m.ring.post(make(i));
  EventCursor ahead(m.ring, m.ring.head());
  auto* head = reinterpret_cast<EventRing::Head*>(m.mem);
  head->next.store(0xA5A5A5A5A5A5A5A5ULL);
  head->capacity = 0xFFFFFFFFu;
  head->mask = 0xFFFFFFFFu;
  Event e;
  EXPECT_TRUE(m.ring.corrupt());
  EXPECT_EQ(m.ring.read(0xA5A5A5A5A5A5A5A4ULL, e), EventRing::Read::empty);
  EventCursor lost(m.ring, m.ring.oldest());  // a reader that started during the garbage
  EXPECT_EQ(lost.next(e, 0).kind, EventCursor::Kind::caught_up);
  // The next post lands after the newest entry, inside the ring (ASan would say otherwise).
  EXPECT_EQ(m.ring.post(make(3)), 3u);
  EXPECT_FALSE(m.ring.corrupt());
  EXPECT_EQ(m.ring.capacity(), 8u);
  for (std::uint64_t p = 0; p < 4; ++p) {
    ASSERT_EQ(m.ring.read(p, e), EventRing::Read::ok);
    EXPECT_EQ(e.incarnation, p);
  }
  // Both readers go on from where the ring is.
  ASSERT_EQ(ahead.next(e, 0).kind, EventCursor::Kind::event);
  EXPECT_EQ(e.incarnation, 3u);
  EXPECT_EQ(lost.next(e, 0).kind, EventCursor::Kind::caught_up);
  m.ring.post(make(4));
  ASSERT_EQ(lost.next(e, 0).kind, EventCursor::Kind::event);
  EXPECT_EQ(e.incarnation, 4u);
}

TEST(EventRing, ConcurrentPostersAllLandExactlyOnce) {
  RingMemory m(1024);
  constexpr int kThreads = 4, kEach = 200;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) m.ring.post(make(static_cast<std::uint64_t>(t * 1000 + i)));
    });
  }
  // Read concurrently with the posters, then the rest.
  std::set<std::uint64_t> seen;
  std::uint64_t pos = 0;
  while (seen.size() < kThreads * kEach) {
    Event e;
    switch (m.ring.read(pos, e)) {
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
  EXPECT_EQ(m.ring.head(), static_cast<std::uint64_t>(kThreads * kEach));
}

// ---- EventCursor
// ---------------------------------------------------------------------------------

constexpr std::uint64_t kPatience = 1'000;

// A writer that claimed the next position and has not published it (yet, or ever).
std::uint64_t claim_without_publishing(RingMemory& m) {
  return reinterpret_cast<std::atomic<std::uint64_t>*>(m.mem)->fetch_add(1);
}

// That writer finishing late, as post() would have.
void publish_late(RingMemory& m, std::uint64_t pos, const Event& ev) {
  auto* entry = reinterpret_cast<EventRing::Entry*>(m.mem + sizeof(EventRing::Head)) +
                (pos & (m.ring.capacity() - 1));
  std::uint64_t buf[EventRing::kEntryWords] = {};
  std::memcpy(buf, &ev, sizeof ev);
  for (std::size_t i = 0; i < EventRing::kEntryWords; ++i) entry->words[i].store(buf[i]);
  entry->seq.store(2 * pos + 2, std::memory_order_release);
}

TEST(EventCursor, YieldsEachEntryOnceInOrderThenSaysItCaughtUp) {
  RingMemory m(16);
  for (std::uint64_t i = 0; i < 5; ++i) m.ring.post(make(i));
  EventCursor c(m.ring, m.ring.oldest());
  Event e;
  for (std::uint64_t i = 0; i < 5; ++i) {
    ASSERT_EQ(c.next(e, 0).kind, EventCursor::Kind::event);
    EXPECT_EQ(e.incarnation, i);
  }
  EXPECT_EQ(c.next(e, 0).kind, EventCursor::Kind::caught_up);
  m.ring.post(make(5));
  ASSERT_EQ(c.next(e, 0).kind, EventCursor::Kind::event);
  EXPECT_EQ(e.incarnation, 5u);
  EXPECT_EQ(c.position(), 6u);
}

TEST(EventCursor, FromTheHeadYieldsOnlyWhatComesNext) {
  RingMemory m(16);
  for (std::uint64_t i = 0; i < 5; ++i) m.ring.post(make(i));
  EventCursor c(m.ring, m.ring.head());
  Event e;
  EXPECT_EQ(c.next(e, 0).kind, EventCursor::Kind::caught_up);
  m.ring.post(make(9));
  ASSERT_EQ(c.next(e, 0).kind, EventCursor::Kind::event);
  EXPECT_EQ(e.incarnation, 9u);
}

TEST(EventCursor, ALappedReaderIsToldHowManyItLostAndResumesAtTheOldest) {
  RingMemory m(8);
  EventCursor c(m.ring, 0);
  for (std::uint64_t i = 0; i < 20; ++i) m.ring.post(make(i));
  Event e;
  const auto step = c.next(e, 0);
  ASSERT_EQ(step.kind, EventCursor::Kind::lost);
  EXPECT_EQ(step.lost, 12u);
  for (std::uint64_t i = 12; i < 20; ++i) {
    ASSERT_EQ(c.next(e, 0).kind, EventCursor::Kind::event);
    EXPECT_EQ(e.incarnation, i);
  }
  EXPECT_EQ(c.next(e, 0).kind, EventCursor::Kind::caught_up);
}

TEST(EventCursor, SkipsAHoleLeftByADeadWriterOnlyAfterItsPatience) {
  RingMemory m(16);
  m.ring.post(make(0));
  claim_without_publishing(m);
  m.ring.post(make(2));
  EventCursor c(m.ring, 0, kPatience);
  Event e;
  ASSERT_EQ(c.next(e, 100).kind, EventCursor::Kind::event);
  EXPECT_EQ(c.next(e, 100).kind, EventCursor::Kind::pending);
  EXPECT_EQ(c.next(e, 100 + kPatience - 1).kind, EventCursor::Kind::pending) << "skipped too soon";
  const auto step = c.next(e, 100 + kPatience);
  ASSERT_EQ(step.kind, EventCursor::Kind::lost);
  EXPECT_EQ(step.lost, 1u);
  ASSERT_EQ(c.next(e, 100 + kPatience).kind, EventCursor::Kind::event);
  EXPECT_EQ(e.incarnation, 2u);
}

TEST(EventCursor, WaitsForASlowWriterWithinItsPatience) {
  RingMemory m(16);
  const std::uint64_t pos = claim_without_publishing(m);
  EventCursor c(m.ring, 0, kPatience);
  Event e;
  EXPECT_EQ(c.next(e, 0).kind, EventCursor::Kind::pending);
  publish_late(m, pos, make(7));
  ASSERT_EQ(c.next(e, kPatience - 1).kind, EventCursor::Kind::event);
  EXPECT_EQ(e.incarnation, 7u);
  // The patience starts again for the next hole, not from the first one.
  claim_without_publishing(m);
  EXPECT_EQ(c.next(e, 5 * kPatience).kind, EventCursor::Kind::pending);
  EXPECT_EQ(c.next(e, 6 * kPatience - 1).kind, EventCursor::Kind::pending);
}

// Following posters that lap it: every position is accounted for exactly once (read or lost),
// and what it reads is whole and, per poster, in order.
TEST(EventCursor, FollowsConcurrentPostersAccountingForEveryPosition) {
  RingMemory m(16);
  constexpr int kThreads = 3, kEach = 3000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) m.ring.post(make(static_cast<std::uint64_t>(t * 100000 + i)));
    });
  }
  EventCursor c(m.ring, 0, UINT64_MAX);  // no writer dies here: never skip
  std::uint64_t read = 0, lost = 0;
  std::vector<std::int64_t> last(kThreads, -1);
  Event e;
  while (read + lost < kThreads * kEach) {
    const auto step = c.next(e, 0);
    if (step.kind == EventCursor::Kind::event) {
      ++read;
      ASSERT_EQ(e.pid, static_cast<std::int32_t>(e.incarnation + 100)) << "torn event";
      const auto t = static_cast<std::size_t>(e.incarnation / 100000);
      const auto i = static_cast<std::int64_t>(e.incarnation % 100000);
      ASSERT_GT(i, last[t]) << "out of order or twice";
      last[t] = i;
    } else if (step.kind == EventCursor::Kind::lost) {
      lost += step.lost;
    } else {
      std::this_thread::yield();
    }
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(read + lost, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(c.position(), m.ring.head());
  EXPECT_EQ(c.next(e, 0).kind, EventCursor::Kind::caught_up);
}

}  // namespace
}  // namespace hamon::shm
