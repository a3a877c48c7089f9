// A process the spawner adopted (after its own restart) ends, and an unrelated process gets its
// pid before the spawner hears of the end: a stop for it must not reach the stranger.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "hamon/shm/control_segment.hpp"
#include "pid_reuse.hpp"
#include "node_processes.hpp"
#include "test_node.hpp"

namespace hamon::test {
namespace {

std::int32_t daemon_pid(const node::NodeView& v, const std::string& name) {
  for (const auto& d : v.daemons) {
    if (d.name == name && d.state == "running") return d.pid;
  }
  return 0;
}

// Resumes a stopped daemon whatever happens to the test, so the node can be taken down.
struct Resume {
  pid_t pid;
  ~Resume() { ::kill(pid, SIGCONT); }
};

TEST(PidReuse, AStopForAnAdoptedProcessNeverReachesTheProcessThatReusedItsPid) {
  TestNode node(R"(
[defaults]
interval = "20ms"
timeout = "400ms"

[[system.process]]
name = "victim"
command = ["@APP@"]
)");
  ASSERT_EQ(node.up().code, 0);
  const auto victim = node.process("system", "victim");
  ASSERT_TRUE(victim && victim->pid > 0);
  auto ctl = shm::ControlSegment::attach(shm::control_segment_name(node.cluster(), "a"),
                                         shm::Access::read_only);
  ASSERT_TRUE(ctl);
  // The spawner restarts and adopts the victim (it is no longer the victim's parent).
  const std::int32_t first = daemon_pid(node.view(), "hamon-spawner");
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  std::int32_t spawner = 0;
  const shm::DaemonSlot& slot = ctl->daemon(shm::DaemonId::spawner);
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    spawner = daemon_pid(v, "hamon-spawner");
    // Its loop has turned, so adoption is over.
    return spawner > 0 && spawner != first && slot.heartbeat_ns.load() > slot.started_ns.load();
  })) << "the spawner was not restarted";
  // Frozen, it cannot hear of the victim's end; the master (its parent now) reaps it. The
  // master kills a daemon silent for 2 s: all of what follows takes a fraction of that.
  ASSERT_EQ(::kill(spawner, SIGSTOP), 0);
  Resume resume{spawner};
  ASSERT_TRUE(node.wait([&](const node::NodeView&) { return proc_state(spawner) == 'T'; }));
  ASSERT_EQ(::kill(victim->pid, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) { return proc_state(victim->pid) == 0; }))
      << "the victim was not reaped";
  if (!aim_next_pid(victim->pid)) GTEST_SKIP() << "cannot set ns_last_pid (not root)";
  auto stranger = Listener::start(/*with_member=*/false, victim->pid);
  ASSERT_NE(stranger, nullptr) << "could not make a process with pid " << victim->pid;
  // The server posts the stop at once and answers; it waits in the channel for the spawner.
  const auto stop = node.hamon({"stop", "system/victim", "--no-wait"});
  ASSERT_EQ(stop.code, 0) << stop.err;
  ASSERT_GT(ctl->channel(shm::ChannelId::server_to_spawner).size(), 0u);
  ASSERT_EQ(::kill(spawner, SIGCONT), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    shm::SpawnRecord r{};
    return ctl->process(0).spawn.read(r) && r.pid == victim->pid && r.exited_ns != 0;
  })) << "the spawner did not report the victim's end";
  ASSERT_EQ(daemon_pid(node.view(), "hamon-spawner"), spawner)
      << "the spawner was restarted meanwhile: the test did not exercise the adopted process";
  EXPECT_EQ(stranger->signals_within(std::chrono::milliseconds(300), 1), "")
      << "the stop for the adopted victim reached the process that reused its pid";
  EXPECT_TRUE(stranger->alive());
}

}  // namespace
}  // namespace hamon::test
