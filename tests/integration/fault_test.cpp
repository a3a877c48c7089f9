// Fault injection: any daemon may be SIGKILLed at any moment, and no monitored process is
// stopped, restarted or forgotten because of it.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>

#include "test_node.hpp"

namespace hamon::test {
namespace {

const char* kFaultConfig = R"(
[defaults]
interval = "20ms"
timeout = "400ms"

[[system.process]]
name = "db"
command = ["@APP@"]

[[system.process]]
name = "sipd"
command = ["@APP@"]
depends_on = ["db"]

[[tenant]]
name = "acme"

[[tenant.process]]
name = "acd"
command = ["@APP@"]
depends_on = ["system/sipd"]
)";

struct Seen {
  std::int32_t pid;
  std::uint64_t incarnation;
  friend bool operator==(const Seen&, const Seen&) = default;
};

std::map<std::string, Seen> processes(const node::NodeView& v) {
  std::map<std::string, Seen> out;
  for (const auto& p : v.processes) out[p.tenant + "/" + p.name] = {p.pid, p.incarnation};
  return out;
}

std::int32_t daemon_pid(const node::NodeView& v, const std::string& name) {
  for (const auto& d : v.daemons) {
    if (d.name == name) return d.pid;
  }
  return 0;
}

bool back(const node::NodeView& v, const std::string& name, std::int32_t old_pid) {
  for (const auto& d : v.daemons) {
    if (d.name == name) return d.pid != old_pid && d.pid > 0 && d.state == "running";
  }
  return false;
}

class DaemonKill : public ::testing::TestWithParam<const char*> {};

TEST_P(DaemonKill, RepeatedSigkillOfADaemonTouchesNoProcess) {
  const std::string daemon = GetParam();
  TestNode node(kFaultConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto before = processes(node.view());
  ASSERT_EQ(before.size(), 3u);
  for (int round = 0; round < 5; ++round) {
    const std::int32_t pid = daemon_pid(node.view(), daemon);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    ASSERT_TRUE(node.wait([&](const node::NodeView& v) { return back(v, daemon, pid); }))
        << daemon << " was not restarted (round " << round << ")";
  }
  // The replacement has settled: give it a few monitor periods to disagree, if it would.
  ASSERT_FALSE(node.wait([&](const node::NodeView& v) { return processes(v) != before; },
                         std::chrono::milliseconds(300)))
      << "a process was restarted or lost because a daemon died";
  for (const auto& [name, seen] : before) {
    EXPECT_EQ(kill(seen.pid, 0), 0) << name << " (pid " << seen.pid << ") is gone";
  }
  for (const auto& p : node.view().processes) {
    EXPECT_EQ(p.restarts, 0u) << p.name;
    EXPECT_TRUE(p.state == "running" || p.state == "ready") << p.name << " is " << p.state;
  }
  // And the node still works: a crash is still noticed and repaired.
  const auto victim = before.at("acme/acd");
  ASSERT_EQ(kill(victim.pid, SIGKILL), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("acme", "acd");
    return p && p->pid != victim.pid && p->pid > 0 && p->state == "running";
  })) << "after "
      << daemon << " restarts, a crashed process is still restarted";
}

INSTANTIATE_TEST_SUITE_P(EachDaemon, DaemonKill,
                         ::testing::Values("hamon-spawner", "hamon-monitor", "hamon-server",
                                           "hamon-master", "hamon-watcher"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           return n.substr(6);
                         });

TEST(FaultInjection, AProcessThatDiesWhileTheSpawnerIsDownIsStillRestarted) {
  TestNode node(kFaultConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto acd = node.process("acme", "acd");
  const std::int32_t spawner = daemon_pid(node.view(), "hamon-spawner");
  // Stop the spawner, kill the process while no spawner runs, then let the master see the
  // spawner's death (SIGKILL of a stopped process is delivered at once).
  ASSERT_EQ(kill(spawner, SIGSTOP), 0);
  ASSERT_EQ(kill(acd->pid, SIGKILL), 0);
  ASSERT_EQ(kill(spawner, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("acme", "acd");
    return p && p->pid > 0 && p->pid != acd->pid && p->state == "running";
  })) << "the process that died during the spawner's absence was not restarted";
  const auto ev = node.events();
  const int exited = find_event(ev, shm::EventKind::exited, "acme", "acd");
  ASSERT_GE(exited, 0);
  EXPECT_EQ(ev[static_cast<std::size_t>(exited)].detail, "killed by SIGKILL")
      << "the master, as subreaper, reaped it and passed its status on";
  EXPECT_EQ(node.process("system", "db")->restarts, 0u);
}

}  // namespace
}  // namespace hamon::test

namespace hamon::test {
namespace {

TEST(FaultInjection, UpAfterEverythingWasKilledStartsCleanlyAndASecondUpIsRefused) {
  TestNode node(kFaultConfig);
  ASSERT_EQ(node.up().code, 0);
  // Everything dies at once, as in a crash of the whole node; the segments stay behind. The
  // daemons are frozen first, so none can restart another in between.
  const auto v = node.view();
  for (const auto& d : v.daemons) {
    if (d.pid > 0) kill(d.pid, SIGSTOP);
  }
  for (const auto& d : v.daemons) {
    if (d.pid > 0) kill(d.pid, SIGKILL);
  }
  for (const auto& p : v.processes) kill(p.pid, SIGKILL);
  ASSERT_TRUE(node.wait([&](const node::NodeView& now) {
    reap_zombies();
    for (const auto& d : now.daemons) {
      if (d.state == "running") return false;
    }
    return true;
  })) << "the daemons did not all die";
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << "up over a dead node's segments: " << up.err;
  for (const auto& p : node.view().processes) {
    EXPECT_TRUE(p.state == "running" || p.state == "ready") << p.name << " is " << p.state;
    EXPECT_GT(p.pid, 0);
  }
  const auto again = node.up();
  EXPECT_EQ(again.code, 4);
  EXPECT_NE(again.err.find("already running"), std::string::npos) << again.err;
}

TEST(FaultInjection, DaemonsKilledDuringARestartStormKeepTheStormConfinedToItsProcess) {
  TestNode node(
      std::string(kFaultConfig) +
      "\n[[system.process]]\nname = \"storm\"\ncommand = [\"@APP@\", \"--crash-after\", \"4\"]\n"
      "restart_budget = 100000\nrestart_window = \"1s\"\nrestart_delay = \"0s\"\n");
  // `up` of a node whose process keeps crashing exits 5 at its deadline; the storm goes on.
  (void)node.hamon({"up", "--timeout", "1s"});
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto s = node.process("system", "storm");
    return s && s->restarts >= 3;
  })) << "no storm";
  std::map<std::string, Seen> calm;
  for (const auto& p : node.view().processes) {
    if (p.name != "storm") calm[p.tenant + "/" + p.name] = {p.pid, p.incarnation};
  }
  for (const char* daemon : {"hamon-spawner", "hamon-server", "hamon-monitor", "hamon-master"}) {
    const std::int32_t pid = daemon_pid(node.view(), daemon);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    ASSERT_TRUE(node.wait([&](const node::NodeView& v) { return back(v, daemon, pid); })) << daemon;
  }
  const auto storm_before = node.process("system", "storm")->restarts;
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    return node.process("system", "storm")->restarts > storm_before + 2;
  })) << "the storm's process is still restarted by the new daemons";
  for (const auto& p : node.view().processes) {
    if (p.name == "storm") continue;
    const auto& seen = calm[p.tenant + "/" + p.name];
    EXPECT_EQ(p.pid, seen.pid) << p.name;
    EXPECT_EQ(p.incarnation, seen.incarnation) << p.name;
  }
}

}  // namespace
}  // namespace hamon::test
