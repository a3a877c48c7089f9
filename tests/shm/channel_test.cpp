// Specification of the shared-memory channels: FIFO, bounded, and safe when the producer is
// killed at any moment — the consumer loses nothing that was published and never sees a torn
// message. Wake-ups cross processes.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <new>
#include <thread>

#include "hamon/shm/channel.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/message.hpp"
#include "test_support.hpp"

namespace hamon::shm {
namespace {

using test::ScopedName;

std::uint64_t checksum(const Message& m) {
  return (m.seq * 0x9e3779b97f4a7c15ULL) ^ (m.arg + 0x12345) ^ (m.incarnation << 7) ^
         static_cast<std::uint64_t>(m.pid);
}

Message numbered(std::uint64_t i) {
  Message m;
  m.kind = MessageKind::ping;
  m.seq = i;
  m.slot = static_cast<std::uint32_t>(i % 4096);
  m.incarnation = i * 3 + 1;
  m.pid = static_cast<std::int32_t>(i % 100000);
  m.arg = ~i;
  m.check = checksum(m);
  return m;
}

TEST(Channel, DeliversInOrderAndReportsFullWithoutLosingAnything) {
  auto mem = std::make_unique<Channel<Message, 8>>();
  auto& ch = *mem;
  for (std::uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(ch.push(numbered(i)));
  EXPECT_FALSE(ch.push(numbered(8))) << "capacity is 8";
  EXPECT_EQ(ch.size(), 8u);
  Message m;
  for (std::uint64_t i = 0; i < 8; ++i) {
    ASSERT_TRUE(ch.pop(m));
    EXPECT_EQ(m.seq, i);
    EXPECT_EQ(m.check, checksum(m));
  }
  EXPECT_FALSE(ch.pop(m));
}

TEST(Channel, WaitPopTimesOutOnAnEmptyChannel) {
  auto ch = std::make_unique<Channel<Message, 8>>();
  Message m;
  EXPECT_FALSE(ch->wait_pop(m, std::chrono::milliseconds(2)));
}

TEST(Channel, ControlSegmentChannelsAreDistinctAndEmpty) {
  ScopedName n("ctl");
  auto c = ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a");
  ASSERT_TRUE(c);
  for (std::size_t i = 0; i < kChannelCount; ++i) {
    EXPECT_EQ(c->channel(static_cast<ChannelId>(i)).size(), 0u);
  }
  ASSERT_TRUE(c->channel(ChannelId::server_to_spawner).push(numbered(1)));
  EXPECT_EQ(c->channel(ChannelId::server_to_spawner).size(), 1u);
  EXPECT_EQ(c->channel(ChannelId::monitor_to_spawner).size(), 0u);
}

// The producer is a forked child, pushing as fast as it can, SIGKILLed mid-stream. It counts what
// push() reported as published in a shared counter *after* each push, so at any moment
// published <= what the consumer can see.
TEST(Channel, ProducerKilledMidStreamLosesNothingPublishedAndTearsNothing) {
  ScopedName n("ctl");
  auto c = ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a");
  ASSERT_TRUE(c);
  auto* published = static_cast<std::atomic<std::uint64_t>*>(
      mmap(nullptr, sizeof(std::atomic<std::uint64_t>), PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(published, MAP_FAILED);
  new (published) std::atomic<std::uint64_t>(0);
  const std::string name = n.str();

  test::Child producer([&] {
    auto seg = ControlSegment::attach(name, Access::read_write);
    if (!seg) return 2;
    auto& ch = seg->channel(ChannelId::monitor_to_server);
    for (std::uint64_t i = 0;; ++i) {
      while (!ch.push(numbered(i))) {
      }
      published->store(i + 1, std::memory_order_release);
    }
  });

  auto& ch = c->channel(ChannelId::monitor_to_server);
  std::uint64_t received = 0;
  Message m;
  bool killed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!killed && received >= 200'000) {
      producer.kill_now();
      producer.wait();
      killed = true;
    }
    if (!ch.wait_pop(m, std::chrono::milliseconds(killed ? 50 : 1000))) {
      if (killed) break;  // drained
      continue;
    }
    ASSERT_EQ(m.seq, received) << "messages arrive in order, none skipped";
    ASSERT_EQ(m.check, checksum(m)) << "torn message at " << received;
    ++received;
  }
  ASSERT_TRUE(killed) << "the producer never got going";
  const std::uint64_t pub = published->load(std::memory_order_acquire);
  EXPECT_GE(received, pub) << "every message push() reported published was delivered";
  EXPECT_LE(received, pub + 1) << "at most the one push in flight at the kill also arrived";
  munmap(published, sizeof(std::atomic<std::uint64_t>));
}

// A consumer asleep on the futex is woken by a producer in another process.
TEST(Channel, SleepingConsumerIsWokenByAProducerInAnotherProcess) {
  ScopedName n("ctl");
  auto c = ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a");
  ASSERT_TRUE(c);
  const std::string name = n.str();
  auto& ch = c->channel(ChannelId::spawner_to_server);
  test::Child producer([&] {
    auto seg = ControlSegment::attach(name, Access::read_write);
    if (!seg) return 2;
    auto& out = seg->channel(ChannelId::spawner_to_server);
    // Push only once the consumer is asleep, so the wake-up path is the one exercised.
    while (seg->channel(ChannelId::spawner_to_server).bell.sleepers.load() == 0) {
    }
    return out.push(numbered(42)) ? 0 : 3;
  });
  Message m;
  ASSERT_TRUE(ch.wait_pop(m, std::chrono::seconds(20))) << "lost wake-up";
  EXPECT_EQ(m.seq, 42u);
  const int status = producer.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Threads stand in for processes so ThreadSanitizer can check the memory ordering.
TEST(Channel, ThreadedProducerAndConsumerAgreeOnEveryMessage) {
  auto ch = std::make_unique<Channel<Message, 64>>();
  constexpr std::uint64_t kCount = 100'000;
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kCount; ++i) {
      while (!ch->push(numbered(i))) std::this_thread::yield();
    }
  });
  Message m;
  for (std::uint64_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(ch->wait_pop(m, std::chrono::seconds(20)));
    ASSERT_EQ(m.seq, i);
    ASSERT_EQ(m.check, checksum(m));
  }
  producer.join();
}

}  // namespace
}  // namespace hamon::shm
