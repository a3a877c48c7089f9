// Specification of Seqlocked<T>: readers see whole values, never a mix of two writes; a writer
// that died mid-write is reported, not waited on forever, and the next writer repairs the lock.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "hamon/shm/seqlock.hpp"

namespace hamon::shm {
namespace {

struct Triple {
  std::uint64_t a, b, c;
};

TEST(Seqlock, ReadsWhatWasWritten) {
  Seqlocked<Triple> s;
  s.write({1, 2, 3});
  Triple t{};
  ASSERT_TRUE(s.read(t));
  EXPECT_EQ(t.a, 1u);
  EXPECT_EQ(t.b, 2u);
  EXPECT_EQ(t.c, 3u);
}

TEST(Seqlock, ConcurrentReadersNeverSeeAMixOfTwoWrites) {
  auto s = std::make_unique<Seqlocked<Triple>>();
  s->write({0, 0, 0});
  // The writer keeps writing until the reader has checked enough snapshots (or a deadline
  // passes), so the reader always overlaps with writes, however the threads are scheduled.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (std::uint64_t i = 1; !stop.load(std::memory_order_relaxed); ++i)
      s->write({i, i * 2, i * 3});
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::uint64_t reads = 0, last = 0;
  while ((reads < 100'000 || last == 0) && std::chrono::steady_clock::now() < deadline) {
    Triple t{};
    if (!s->read(t)) continue;
    if (t.b != t.a * 2 || t.c != t.a * 3 || t.a < last) {
      stop = true;
      writer.join();
      FAIL() << "torn or backwards snapshot: " << t.a << " " << t.b << " " << t.c << " after "
             << last;
    }
    last = t.a;
    ++reads;
  }
  stop = true;
  writer.join();
  EXPECT_GE(reads, 100'000u) << "the reader could not get enough consistent snapshots in 20 s";
  EXPECT_GT(last, 0u) << "the reader saw the writer's writes";
}

TEST(Seqlock, AWriterThatDiedMidWriteIsReportedThenRepairedByTheNextWrite) {
  Seqlocked<Triple> s;
  s.write({1, 2, 3});
  // Simulate a writer killed between its two sequence stores: the sequence is left odd.
  auto* seq = reinterpret_cast<std::atomic<std::uint64_t>*>(&s);
  seq->store(seq->load() + 1);
  Triple t{9, 9, 9};
  EXPECT_FALSE(s.read(t, 100));
  EXPECT_EQ(t.a, 9u) << "output untouched on failure";
  s.write({4, 5, 6});
  ASSERT_TRUE(s.read(t));
  EXPECT_EQ(t.a, 4u);
  EXPECT_EQ(s.version() % 2, 0u);
}

// A writer preempted between its two sequence stores (a busy machine: milliseconds) makes read()
// give up; a view waits for it with read_until() and gets the value it then finished.
TEST(Seqlock, AViewWaitsOutAWriterPreemptedMidWrite) {
  Seqlocked<Triple> s;
  s.write({1, 2, 3});
  auto* seq = reinterpret_cast<std::atomic<std::uint64_t>*>(&s);
  const std::uint64_t even = seq->load();
  seq->store(even + 1);  // the writer is mid-write...
  Triple t{9, 9, 9};
  EXPECT_FALSE(s.read(t)) << "spins are over in microseconds";
  std::thread resumes([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // ...and runs again 5 ms later
    seq->store(even + 2, std::memory_order_release);
  });
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  const auto deadline = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() +
                        std::int64_t{10'000'000'000};  // generous: waiting out, not timing
  EXPECT_TRUE(s.read_until(t, static_cast<std::uint64_t>(deadline)));
  EXPECT_EQ(t.a, 1u);
  resumes.join();
  // One that never finishes (it died mid-write) is given up on at the deadline.
  seq->store(even + 3);
  EXPECT_FALSE(s.read_until(t, static_cast<std::uint64_t>(deadline) - 9'990'000'000ULL));
}

}  // namespace
}  // namespace hamon::shm
