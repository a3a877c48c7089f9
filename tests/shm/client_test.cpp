// Specification of the client header as an application sees it: attach from the environment,
// beat, ready, role — and a clear error value, never a crash, when something is wrong.
#include <gtest/gtest.h>
#include <hamon/heartbeat.hpp>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>
#include <functional>
#include <climits>
#include <cstring>

#include "hamon/shm/futex.hpp"
#include "hamon/shm/heartbeat_table.hpp"
#include "test_support.hpp"

namespace hamon {
namespace {

using shm::HeartbeatTable;
using test::ScopedName;

class Env {  // sets the spawner's environment for one test, restores it after
 public:
  Env(const std::string& segment, const std::string& slot, const std::string& incarnation,
      const char* interval = nullptr) {
    setenv(HAMON_ENV_SEGMENT, segment.c_str(), 1);
    setenv(HAMON_ENV_SLOT, slot.c_str(), 1);
    setenv(HAMON_ENV_INCARNATION, incarnation.c_str(), 1);
    if (interval) setenv(HAMON_ENV_INTERVAL_NS, interval, 1);
  }
  ~Env() { clear(); }
  static void clear() {
    unsetenv(HAMON_ENV_SEGMENT);
    unsetenv(HAMON_ENV_SLOT);
    unsetenv(HAMON_ENV_INCARNATION);
    unsetenv(HAMON_ENV_INTERVAL_NS);
  }
};

TEST(Client, AttachOutsideHamonSaysNotManaged) {
  Env::clear();
  auto hb = Heartbeat::attach();
  EXPECT_FALSE(hb);
  EXPECT_EQ(hb.error(), Error::not_managed);
  EXPECT_STREQ(hb.error_message(),
               "hamon: HAMON_HEARTBEAT_SEGMENT is not set: this process was not started by hamon");
  hb.beat();  // harmless when not attached
  EXPECT_FALSE(hb.ready());
  EXPECT_EQ(hb.role(), Role::none);
}

TEST(Client, AttachWithAMalformedSlotSaysWhichVariable) {
  Env env("/x", "12abc", "1");
  auto hb = Heartbeat::attach();
  EXPECT_EQ(hb.error(), Error::bad_environment);
  EXPECT_STREQ(hb.error_message(),
               "hamon: HAMON_SLOT='12abc' is not a non-negative decimal number");
}

TEST(Client, AttachWithANegativeIncarnationIsRejected) {
  Env env("/x", "1", "-5");
  auto hb = Heartbeat::attach();
  EXPECT_EQ(hb.error(), Error::bad_environment);
  EXPECT_NE(std::strstr(hb.error_message(), "HAMON_INCARNATION='-5'"), nullptr);
}

TEST(Client, AttachToAMissingSegmentSaysSo) {
  ScopedName n("missing");
  Env env(n.slashed(), "0", "1");
  auto hb = Heartbeat::attach();
  EXPECT_EQ(hb.error(), Error::no_segment);
  EXPECT_EQ(std::string(hb.error_message()),
            "hamon: heartbeat segment " + n.slashed() + " does not exist (is the node up?)");
}

TEST(Client, AttachToASlotOutOfRangeSaysSo) {
  ScopedName n("hb");
  ASSERT_TRUE(HeartbeatTable::create(n.str(), "acme", 4));
  auto hb = Heartbeat::attach(n.slashed().c_str(), 4, 1);
  EXPECT_EQ(hb.error(), Error::bad_slot);
  EXPECT_EQ(std::string(hb.error_message()),
            "hamon: slot 4 is out of range in heartbeat segment " + n.slashed());
}

TEST(Client, AttachToAnUnknownLayoutVersionIsRefused) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto* version = reinterpret_cast<std::uint32_t*>(reinterpret_cast<char*>(&t->slot(0)) -
                                                   HAMON_HB_HEADER_SIZE + HAMON_HB_OFF_VERSION);
  *version = 2;
  auto hb = Heartbeat::attach(n.slashed().c_str(), 0, 1);
  EXPECT_EQ(hb.error(), Error::bad_version);
  EXPECT_NE(std::strstr(hb.error_message(), "has layout version 2; this client knows version 1"),
            nullptr)
      << hb.error_message();
}

TEST(Client, AttachToAForeignSegmentSaysWrongMagic) {
  ScopedName n("foreign");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto* magic =
      reinterpret_cast<std::uint64_t*>(reinterpret_cast<char*>(&t->slot(0)) - HAMON_HB_HEADER_SIZE);
  *magic = 0x1234;
  auto hb = Heartbeat::attach(n.slashed().c_str(), 0, 1);
  EXPECT_EQ(hb.error(), Error::bad_magic);
  EXPECT_NE(std::strstr(hb.error_message(), "is not a hamon heartbeat segment"), nullptr);
}

TEST(Client, AttachPublishesIncarnationAndPidAndClearsAStaleReadyFlag) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  t->slot(2).ready.store(1);  // left by a previous incarnation
  Env env(n.slashed(), "2", "17", "1000000");
  auto hb = Heartbeat::attach();
  ASSERT_TRUE(hb) << hb.error_message();
  EXPECT_EQ(hb.slot(), 2u);
  EXPECT_EQ(hb.incarnation(), 17u);
  EXPECT_EQ(hb.interval(), std::chrono::milliseconds(1));
  const auto s = t->snapshot(2);
  EXPECT_EQ(s.incarnation, 17u);
  EXPECT_EQ(s.pid, static_cast<std::uint32_t>(getpid()));
  EXPECT_EQ(s.ready, 0u);
}

TEST(Client, BeatCountsAndStampsWithTheMonitorsClock) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto hb = Heartbeat::attach(n.slashed().c_str(), 1, 5);
  ASSERT_TRUE(hb);
  t->tick(1000);
  hb.beat();
  hb.beat();
  EXPECT_EQ(t->snapshot(1).beat_count, 2u);
  EXPECT_EQ(t->snapshot(1).beat_stamp, 1000u);
  t->tick(2000);
  hb.beat();
  EXPECT_EQ(t->snapshot(1).beat_count, 3u);
  EXPECT_EQ(t->snapshot(1).beat_stamp, 2000u);
  EXPECT_EQ(t->snapshot(0).beat_count, 0u) << "other slots untouched";
  EXPECT_EQ(t->snapshot(2).beat_count, 0u) << "other slots untouched";
}

TEST(Client, ReadySetsTheFlagAndBeats) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto hb = Heartbeat::attach(n.slashed().c_str(), 3, 5);
  ASSERT_TRUE(hb);
  EXPECT_TRUE(hb.ready());
  EXPECT_EQ(t->snapshot(3).ready, 1u);
  EXPECT_EQ(t->snapshot(3).beat_count, 1u);
}

TEST(Client, RoleFollowsTheServersWrites) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto hb = Heartbeat::attach(n.slashed().c_str(), 0, 1);
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb.role(), Role::none);
  t->set_role(HAMON_ROLE_STANDBY, 1);
  EXPECT_EQ(hb.role(), Role::standby);
  t->set_role(99, 2);  // garbage role value reads as none, not as a crash
  EXPECT_EQ(hb.role(), Role::none);
}

TEST(Client, TheEpochIsTheTermTheServerPublishedWithTheRole) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto hb = Heartbeat::attach(n.slashed().c_str(), 0, 1);
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb.epoch(), 0u);
  t->set_role(HAMON_ROLE_ACTIVE, 7);
  EXPECT_EQ(hb.epoch(), 7u);
  t->set_role(HAMON_ROLE_STANDBY, 8);  // deposed: the peer serves in epoch 8
  EXPECT_EQ(hb.role(), Role::standby);
  EXPECT_EQ(hb.epoch(), 8u);
  hamon_client detached{};
  EXPECT_EQ(hamon_get_epoch(&detached), 0u);
}

TEST(Client, DrainedAcknowledgesTheStepDownOfTheCurrentEpochInItsOwnSlot) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto hb = Heartbeat::attach(n.slashed().c_str(), 2, 1);
  ASSERT_TRUE(hb);
  t->set_role(HAMON_ROLE_STEPPING_DOWN, 5);
  EXPECT_EQ(hb.drained(), 0);
  EXPECT_EQ(t->slot(2).drained.load(), 5u);
  EXPECT_EQ(t->slot(1).drained.load(), 0u);  // no one else's
  hamon_client detached{};
  EXPECT_EQ(hamon_drained(&detached), -HAMON_E_NOT_ATTACHED);
}

TEST(Client, WaitRoleChangeTimesOutWhenNothingChanges) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto hb = Heartbeat::attach(n.slashed().c_str(), 0, 1);
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb.wait_role_change(Role::none, std::chrono::milliseconds(5)), Role::none);
}

TEST(Client, WaitRoleChangeWakesWhenAnotherProcessChangesTheRole) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  t->set_role(HAMON_ROLE_STANDBY, 1);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  test::Child waiter([&] {
    auto hb = Heartbeat::attach(n.slashed().c_str(), 0, 1);
    if (!hb) return 2;
    char go = 1;
    if (write(fds[1], &go, 1) != 1) return 3;  // about to wait
    const Role r = hb.wait_role_change(Role::standby, std::chrono::seconds(20));
    return r == Role::active ? 0 : 1;
  });
  char go = 0;
  ASSERT_EQ(read(fds[0], &go, 1), 1);
  t->set_role(HAMON_ROLE_ACTIVE, 2);
  const int status = waiter.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  close(fds[0]);
  close(fds[1]);
}

TEST(Client, ParkWithoutSparesMarksTheProcessReadyAndReturnsAtOnce) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  unsetenv(HAMON_ENV_PARK);
  auto hb = Heartbeat::attach(n.slashed().c_str(), 1, 3);
  ASSERT_TRUE(hb);
  EXPECT_TRUE(hb.park());
  EXPECT_EQ(t->snapshot(1).ready, 1u);
  EXPECT_EQ(t->snapshot(1).beat_count, 1u);
  EXPECT_EQ(t->slot(1).parked.load(), 0u);
  hamon_client detached{};
  EXPECT_EQ(hamon_park(&detached), -HAMON_E_NOT_ATTACHED);
}

// Waits (up to 10 s) for `pred`; false if it never held.
bool eventually(const std::function<bool()>& pred) {
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(Client, AParkedInstanceBeatsWhileItWaitsAndReturnsOnlyWhenItsOwnIncarnationIsPromoted) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  test::Child spare([&] {
    setenv(HAMON_ENV_PARK, "1", 1);
    auto hb = Heartbeat::attach(n.slashed().c_str(), 2, 7);
    if (!hb) return 2;
    return hb.park() ? 0 : 1;
  });
  auto& slot = t->slot(2);
  ASSERT_TRUE(eventually([&] { return slot.parked.load() == 7u; })) << "it never parked";
  EXPECT_EQ(slot.ready.load(), 1u) << "a parked instance is ready";
  // Its beats go on while it sleeps: a parked instance is watched like any process.
  const std::uint64_t before = slot.beat_count.load();
  ASSERT_TRUE(eventually([&] { return slot.beat_count.load() >= before + 2; }));
  // A promotion of another incarnation (an earlier one in this slot) does not wake it for good.
  slot.promoted.store(6);
  ASSERT_GE(shm::futex_wake(slot.promoted, INT_MAX), 0);
  const std::uint64_t after_wrong = slot.beat_count.load();
  ASSERT_TRUE(eventually([&] { return slot.beat_count.load() >= after_wrong + 2; }));
  EXPECT_EQ(slot.parked.load(), 7u);
  EXPECT_EQ(waitpid(spare.pid(), nullptr, WNOHANG), 0) << "it returned from park()";
  // Its own: it returns, no longer parked.
  slot.promoted.store(7);
  ASSERT_GE(shm::futex_wake(slot.promoted, INT_MAX), 0);
  const int status = spare.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(slot.parked.load(), 0u);
}

// A child process beats through the environment hamon would set; the parent reads its slot.
TEST(Client, AChildBeatingThroughItsEnvironmentIsSeenByTheParent) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 8);
  ASSERT_TRUE(t);
  t->tick(777);
  test::Child child([&] {
    Env env(n.slashed(), "5", "3");
    auto hb = Heartbeat::attach();
    if (!hb) return 2;
    for (int i = 0; i < 1000; ++i) hb.beat();
    hb.ready();
    return 0;
  });
  const int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  const auto s = t->snapshot(5);
  EXPECT_EQ(s.beat_count, 1001u);
  EXPECT_EQ(s.beat_stamp, 777u);
  EXPECT_EQ(s.incarnation, 3u);
  EXPECT_EQ(s.ready, 1u);
  EXPECT_EQ(s.pid, static_cast<std::uint32_t>(child.pid()));
}

TEST(Client, MovingAHeartbeatKeepsOneOwner) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto a = Heartbeat::attach(n.slashed().c_str(), 0, 1);
  ASSERT_TRUE(a);
  Heartbeat b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  ASSERT_TRUE(b);
  b.beat();
  EXPECT_EQ(t->snapshot(0).beat_count, 1u);
}

}  // namespace
}  // namespace hamon

namespace hamon {
namespace {

// The C header, compiled as C, used by a real C program on a real segment.
TEST(Client, TheCClientWorksFromAProgramWrittenInC) {
  test::ScopedName n("hb");
  auto t = shm::HeartbeatTable::create(n.str(), "acme", 2);
  ASSERT_TRUE(t);
  const std::string seg = n.slashed();
  test::Child c([&] {
    execl(HAMON_C_CLIENT_TEST, HAMON_C_CLIENT_TEST, seg.c_str(), static_cast<char*>(nullptr));
    return 127;
  });
  const int status = c.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(t->snapshot(0).incarnation, 9u);
  EXPECT_EQ(t->snapshot(0).ready, 1u);
  EXPECT_EQ(t->snapshot(0).beat_count, 2u);  // one beat, and ready() beats too
}

TEST(Client, TheCClientWorksFromAStrictIsoCProgram) {
  test::ScopedName n("hb");
  auto t = shm::HeartbeatTable::create(n.str(), "acme", 1);
  ASSERT_TRUE(t);
  const std::string seg = n.slashed();
  test::Child c([&] {
    execl(HAMON_C_STRICT_TEST, HAMON_C_STRICT_TEST, seg.c_str(), static_cast<char*>(nullptr));
    return 127;
  });
  const int status = c.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(t->snapshot(0).incarnation, 7u);
  EXPECT_EQ(t->snapshot(0).beat_count, 1u);
}

}  // namespace
}  // namespace hamon
