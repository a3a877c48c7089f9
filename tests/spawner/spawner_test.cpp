// The spawner agent on a control segment of its own: the processes it adopts are the test's
// forks, and a reused pid is made on purpose (the pid namespace's last pid is set just below it).
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hamon/node/clock.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/shm/control_segment.hpp"
#include "spawner.hpp"
#include "pid_reuse.hpp"
#include "test_support.hpp"

namespace hamon::test {
namespace {

using shm::ChannelId;
using shm::Message;
using shm::MessageKind;

class SpawnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = shm::ControlSegment::create(name_.str(), shm::ControlGeometry{16, 4}, "c", "a");
    ASSERT_TRUE(c) << "cannot create the control segment";
    ctl_.emplace(std::move(*c));
    node_.id = "a";
    node_.config.cluster.name = "c";
  }

  // A spawn record saying `pid` (started at `ticks`) runs as incarnation `inc` of `slot`, as a
  // spawner that has since died left it.
  void record(std::uint32_t slot, std::uint64_t inc, pid_t pid, std::uint64_t ticks) {
    ctl_->process(slot).spawn.write({inc, ticks, node::now_ns(), 0, pid, 0});
  }

  void request(MessageKind kind, std::uint32_t slot, std::uint64_t inc, std::uint64_t arg = 0) {
    Message m;
    m.kind = kind;
    m.slot = slot;
    m.incarnation = inc;
    m.arg = arg;
    ASSERT_TRUE(ctl_->send(ChannelId::server_to_spawner, m));
  }

  std::vector<Message> reports() {
    std::vector<Message> out;
    Message m;
    while (ctl_->channel(ChannelId::spawner_to_server).pop(m)) out.push_back(m);
    return out;
  }

  ScopedName name_{"spawner"};
  std::optional<shm::ControlSegment> ctl_;
  node::Node node_;
};

constexpr std::uint64_t kLongGrace = 60'000'000'000;  // no SIGKILL escalation during a test

TEST_F(SpawnerTest, StopReachesAnAdoptedProcessAndItsWholeGroup) {
  auto target = Listener::start(/*with_member=*/true);
  ASSERT_NE(target, nullptr);
  record(0, 1, target->pid(), node::start_ticks(target->pid()).value_or(0));
  spawner::Spawner sp(node_, *ctl_);
  sp.adopt();
  request(MessageKind::stop, 0, 1, kLongGrace);
  (void)sp.do_work(node::now_ns());
  EXPECT_EQ(target->signals_within(std::chrono::seconds(5), 2), std::string(2, SIGTERM))
      << "the leader and the other member of its group each get SIGTERM";
}

TEST_F(SpawnerTest, NeverSignalsAProcessThatReusedTheAdoptedProcesssPid) {
  auto adopted = Listener::start(/*with_member=*/false);
  ASSERT_NE(adopted, nullptr);
  const pid_t pid = adopted->pid();
  record(0, 1, pid, node::start_ticks(pid).value_or(0));
  spawner::Spawner sp(node_, *ctl_);
  sp.adopt();
  // It ends (its parent, here the test, reaps it) and an unrelated process gets its pid before
  // the spawner hears of the end; then a stop for it arrives.
  adopted->end();
  if (!aim_next_pid(pid)) GTEST_SKIP() << "cannot set ns_last_pid (not root)";
  auto stranger = Listener::start(/*with_member=*/false, pid);
  ASSERT_NE(stranger, nullptr) << "could not make a process with pid " << pid;
  ASSERT_NE(node::start_ticks(pid), std::nullopt);
  request(MessageKind::stop, 0, 1, kLongGrace);
  (void)sp.do_work(node::now_ns());
  EXPECT_EQ(stranger->signals_within(std::chrono::milliseconds(300), 1), "")
      << "the stop meant for the adopted process reached the process that reused its pid";
  EXPECT_TRUE(stranger->alive());
}

TEST_F(SpawnerTest, HandlesABoundedBatchOfRequestsPerTurn) {
  spawner::Spawner sp(node_, *ctl_);
  sp.adopt();
  // Requests for a slot with no process: each costs the spawner almost nothing, so only the
  // bound stops the turn.
  constexpr std::size_t kPosted = 600;
  for (std::size_t i = 0; i < kPosted; ++i) request(MessageKind::kill, 3, 1);
  (void)sp.do_work(node::now_ns());
  const std::size_t left = ctl_->channel(ChannelId::server_to_spawner).size();
  EXPECT_EQ(left, kPosted - spawner::Spawner::kRequestsPerTurn)
      << "one turn handles a bounded batch, then returns so the loop beats";
  int turns = 1;
  while (ctl_->channel(ChannelId::server_to_spawner).size() > 0 && turns < 1000) {
    (void)sp.do_work(node::now_ns());
    ++turns;
  }
  EXPECT_EQ(ctl_->channel(ChannelId::server_to_spawner).size(), 0u) << "every request is handled";
}

TEST_F(SpawnerTest, ReportsThatFindTheirChannelFullAreSentLaterInOrder) {
  // The server is slow: its channel is full.
  std::size_t filler = 0;
  Message ping;
  ping.kind = MessageKind::ping;
  while (ctl_->channel(ChannelId::spawner_to_server).push(ping)) ++filler;
  ASSERT_EQ(filler, shm::kChannelCapacity);
  // Ten recorded processes that ended while no spawner ran (the start time does not match):
  // adopting them reports ten exits.
  const auto self_ticks = node::start_ticks(::getpid()).value_or(0);
  for (std::uint32_t s = 0; s < 10; ++s) record(s, 100 + s, ::getpid(), self_ticks + 1);
  spawner::Spawner sp(node_, *ctl_);
  sp.adopt();
  EXPECT_EQ(ctl_->daemon(shm::DaemonId::spawner).channel_full.load(), 10u)
      << "each report that found the channel full is counted";
  // The server catches up; the spawner's next turns send what waited, in order.
  auto got = reports();
  ASSERT_EQ(got.size(), filler);
  ASSERT_TRUE(wait_until(
      [&] {
        (void)sp.do_work(node::now_ns());
        for (const auto& m : reports()) got.push_back(m);
        return got.size() >= filler + 10;
      },
      std::chrono::seconds(5)))
      << "only " << got.size() - filler << " of 10 exit reports arrived";
  for (std::uint32_t s = 0; s < 10; ++s) {
    const Message& m = got[filler + s];
    EXPECT_EQ(m.kind, MessageKind::exited);
    EXPECT_EQ(m.slot, s) << "reports keep their order";
    EXPECT_EQ(m.incarnation, 100 + s);
  }
  EXPECT_EQ(got.size(), filler + 10) << "nothing is sent twice";
}

}  // namespace
}  // namespace hamon::test
