// Specification of single-node supervision, on real daemons and real processes: start order,
// restarts, hangs, the restart budget, dependents, stop order, a hostile slot, and the CLI.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "test_node.hpp"

namespace hamon::test {
namespace {

using shm::EventKind;

// Generous timings: these tests are about order and policy on a shared machine, not speed.
const char* kSupervisionDefaults = R"(
[defaults]
interval = "20ms"
timeout = "400ms"
restart_delay = "1ms"
)";

std::string proc(const std::string& section, const std::string& name, const std::string& extra,
                 const std::string& args = "") {
  return "\n[[" + section + "]]\nname = \"" + name + "\"\ncommand = [\"@APP@\"" + args + "]\n" +
         extra + "\n";
}

std::string sys(const std::string& name, const std::string& extra = "",
                const std::string& args = "") {
  return proc("system.process", name, extra, args);
}

bool running(const node::ProcessRow& p) { return p.state == "running" || p.state == "ready"; }

bool all_running(const node::NodeView& v) {
  if (v.processes.empty()) return false;
  for (const auto& p : v.processes) {
    if (!running(p)) return false;
  }
  return true;
}

// Each process is spawned only after everything it depends on was ready.
void expect_started_after_ready(const std::vector<EventRow>& ev, const std::string& who,
                                const std::vector<std::string>& deps) {
  const int spawned = find_event(ev, EventKind::spawned, "system", who);
  ASSERT_GE(spawned, 0) << who << " was never spawned";
  for (const auto& d : deps) {
    const int ready = find_event(ev, EventKind::ready, "system", d);
    ASSERT_GE(ready, 0) << d << " never became ready";
    EXPECT_LT(ready, spawned) << who << " was spawned before its dependency " << d << " was ready";
  }
}

TEST(Supervision, StartsAChainInDependencyOrder) {
  TestNode node(std::string(kSupervisionDefaults) +
                sys("c", "depends_on = [\"b\"]\npriority = 90") +
                sys("b", "depends_on = [\"a\"]\npriority = 80") + sys("a", "priority = 10"));
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  const auto ev = node.events();
  expect_started_after_ready(ev, "b", {"a"});
  expect_started_after_ready(ev, "c", {"b"});
}

TEST(Supervision, StartsADiamondInDependencyOrder) {
  TestNode node(std::string(kSupervisionDefaults) +
                sys("top", "depends_on = [\"left\", \"right\"]") +
                sys("left", "depends_on = [\"base\"]", ", \"--ready-delay\", \"300ms\"") +
                sys("right", "depends_on = [\"base\"]") + sys("base"));
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  const auto ev = node.events();
  expect_started_after_ready(ev, "left", {"base"});
  expect_started_after_ready(ev, "right", {"base"});
  expect_started_after_ready(ev, "top", {"left", "right"});
  // Independent siblings start together: right does not wait for left to be ready.
  EXPECT_LT(find_event(ev, EventKind::spawned, "system", "right"),
            find_event(ev, EventKind::ready, "system", "left"));
}

TEST(Supervision, StartsIndependentProcessesHighestPriorityFirst) {
  TestNode node(std::string(kSupervisionDefaults) + sys("low", "priority = 10") +
                sys("high", "priority = 90") + sys("mid", "priority = 50"));
  ASSERT_EQ(node.up().code, 0);
  const auto ev = node.events();
  const int high = find_event(ev, EventKind::spawned, "system", "high");
  const int mid = find_event(ev, EventKind::spawned, "system", "mid");
  const int low = find_event(ev, EventKind::spawned, "system", "low");
  ASSERT_GE(high, 0);
  EXPECT_LT(high, mid);
  EXPECT_LT(mid, low);
}

TEST(Supervision, RestartsACrashedProcessWithANewPidAndIncarnation) {
  TestNode node(std::string(kSupervisionDefaults) + sys("victim"));
  ASSERT_EQ(node.up().code, 0);
  const auto before = node.process("system", "victim");
  ASSERT_TRUE(before && before->pid > 0);
  ASSERT_EQ(kill(before->pid, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "victim");
    return p && running(*p) && p->pid != before->pid && p->incarnation > before->incarnation;
  })) << "not restarted";
  const auto after = node.process("system", "victim");
  EXPECT_EQ(after->restarts, 1u);
  const auto ev = node.events();
  const int exited = find_event(ev, EventKind::exited, "system", "victim");
  ASSERT_GE(exited, 0);
  EXPECT_EQ(ev[static_cast<std::size_t>(exited)].detail, "killed by SIGKILL");
  EXPECT_GT(find_event(ev, EventKind::spawned, "system", "victim", after->incarnation), exited);
}

TEST(Supervision, KillsAndRestartsAHungProcess) {
  TestNode node(std::string(kSupervisionDefaults) +
                sys("sleeper", "timeout = \"100ms\"", ", \"--hang-after\", \"40\""));
  // It hangs about 400 ms after its start: after `up` (which watches it for twice its timeout)
  // has seen it up.
  ASSERT_EQ(node.up().code, 0);
  const auto first = node.process("system", "sleeper");
  ASSERT_TRUE(first);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "sleeper");
    return p && p->incarnation > first->incarnation && p->pid != first->pid;
  })) << "a hung process was not replaced";
  const auto ev = node.events();
  const int hung = find_event(ev, EventKind::hung, "system", "sleeper");
  ASSERT_GE(hung, 0) << "no hung event";
  EXPECT_EQ(ev[static_cast<std::size_t>(hung)].incarnation, first->incarnation);
  const int killed = find_event(ev, EventKind::exited, "system", "sleeper");
  EXPECT_GT(killed, hung);
  EXPECT_EQ(ev[static_cast<std::size_t>(killed)].detail, "killed by SIGKILL");
}

TEST(Supervision, GivesUpAfterTheRestartBudgetAndStaysDown) {
  TestNode node(std::string(kSupervisionDefaults) + sys("steady") +
                sys("crasher", "restart_budget = 3\nrestart_window = \"60s\"\ncritical = true",
                    ", \"--crash-after\", \"3\""));
  const auto up = node.up();  // waits for it: it runs out of restarts, every time
  EXPECT_EQ(up.code, 5) << up.err;
  EXPECT_NE(up.err.find("system/crasher"), std::string::npos) << up.err;
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "crasher");
    return p && p->state == "failed";
  }));
  auto count_spawns = [&] {
    int n = 0;
    for (const auto& e : node.events()) n += e.kind == EventKind::spawned && e.name == "crasher";
    return n;
  };
  EXPECT_EQ(count_spawns(), 4) << "the first start and three restarts";
  const auto ev = node.events();
  const int failed = find_event(ev, EventKind::failed, "system", "crasher");
  ASSERT_GE(failed, 0);
  EXPECT_NE(ev[static_cast<std::size_t>(failed)].detail.find("restart_window"), std::string::npos);
  EXPECT_EQ(ev[static_cast<std::size_t>(failed)].detail.rfind("critical: ", 0), 0u)
      << "a critical process that cannot be kept up is recorded as such for the duplex";
  // No more restarts: watch a while longer.
  EXPECT_FALSE(node.wait([&](const node::NodeView&) { return count_spawns() > 4; },
                         std::chrono::milliseconds(500)));
  const auto steady = node.process("system", "steady");
  ASSERT_TRUE(steady);
  EXPECT_TRUE(running(*steady)) << "a failed process does not take others down";
  EXPECT_EQ(steady->restarts, 0u);
}

TEST(Supervision, RestartsDependentsAfterTheirDependency) {
  TestNode node(std::string(kSupervisionDefaults) + sys("base") +
                sys("user", "depends_on = [\"base\"]") +
                sys("loner", "depends_on = [\"base\"]\nrestart_with_dependencies = false"));
  ASSERT_EQ(node.up().code, 0);
  const auto base = node.process("system", "base");
  const auto user = node.process("system", "user");
  const auto loner = node.process("system", "loner");
  ASSERT_TRUE(base && user && loner);
  ASSERT_EQ(kill(base->pid, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto b = node.process("system", "base");
    const auto u = node.process("system", "user");
    return b && u && running(*b) && running(*u) && b->incarnation > base->incarnation &&
           u->incarnation > user->incarnation;
  }));
  const auto ev = node.events();
  const int base_ready = find_event(ev, EventKind::ready, "system", "base", base->incarnation + 1);
  const int user_spawned =
      find_event(ev, EventKind::spawned, "system", "user", user->incarnation + 1);
  ASSERT_GE(base_ready, 0);
  EXPECT_GT(user_spawned, base_ready) << "the dependent starts again only after its dependency";
  const auto l = node.process("system", "loner");
  EXPECT_EQ(l->pid, loner->pid) << "restart_with_dependencies = false opts out";
  EXPECT_EQ(l->incarnation, loner->incarnation);
}

TEST(Supervision, StopsInReverseDependencyOrder) {
  TestNode node(std::string(kSupervisionDefaults) + sys("a") + sys("b", "depends_on = [\"a\"]") +
                sys("c", "depends_on = [\"b\"]") + sys("other"));
  ASSERT_EQ(node.up().code, 0);
  const auto other = node.process("system", "other");
  const auto r = node.hamon({"stop", "system/a"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    for (const auto& p : v.processes) {
      if (p.name != "other" && p.pid != 0) return false;
    }
    return true;
  }));
  const auto ev = node.events();
  const int c = find_event(ev, EventKind::exited, "system", "c");
  const int b = find_event(ev, EventKind::exited, "system", "b");
  const int a = find_event(ev, EventKind::exited, "system", "a");
  ASSERT_GE(c, 0);
  EXPECT_LT(c, b);
  EXPECT_LT(b, a);
  EXPECT_EQ(ev[static_cast<std::size_t>(a)].detail, "killed by SIGTERM");
  EXPECT_EQ(node.process("system", "other")->pid, other->pid) << "an unrelated process stays";
  EXPECT_EQ(node.process("system", "a")->state, "exited");
  // And back: starting c starts what it depends on.
  ASSERT_EQ(node.hamon({"start", "c"}).code, 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView& v) { return all_running(v); }));
}

TEST(Supervision, GarbageInOneHeartbeatSlotAffectsOnlyThatProcess) {
  TestNode node(std::string(kSupervisionDefaults) + sys("good1") + sys("good2") +
                sys("vandal", "timeout = \"100ms\"", ", \"--garbage-after\", \"20\""));
  // Ready once it beat, then garbage: it reads as silence (its incarnation is wrong), so the
  // vandal is replaced, again and again, until its restart budget runs out. `up` says so when
  // that happens before everything was running (on a busy machine it may not: `up` is done then).
  const auto up = node.up();
  ASSERT_TRUE(up.code == 0 || up.code == 5) << up.code << up.err;
  if (up.code == 5) {
    EXPECT_NE(up.err.find("system/vandal"), std::string::npos) << up.err;
  }
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto v = node.process("system", "vandal");
    return v && v->state == "failed";
  })) << "the vandal was not given up on";
  const auto vandal = node.process("system", "vandal");
  ASSERT_TRUE(vandal.has_value());
  EXPECT_GT(vandal->restarts, 0u);
  const auto a = node.process("system", "good1");
  const auto b = node.process("system", "good2");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->restarts + b->restarts, 0u);
  EXPECT_TRUE(running(*a) && running(*b));
  const auto ev = node.events();
  EXPECT_LT(find_event(ev, EventKind::exited, "system", "good1"), 0);
  EXPECT_LT(find_event(ev, EventKind::exited, "system", "good2"), 0);
  for (const auto& d : node.view().daemons) {
    if (d.name != "hamon-watcher") {
      EXPECT_EQ(d.restarts, 0u) << d.name << " must not crash";
    }
  }
}

TEST(Supervision, TenantCommandsActOnlyOnThatTenant) {
  TestNode node(std::string(kSupervisionDefaults) + sys("db") + "\n[[tenant]]\nname = \"acme\"\n" +
                proc("tenant.process", "acd", "depends_on = [\"system/db\"]") +
                "\n[[tenant]]\nname = \"globex\"\n" + proc("tenant.process", "acd", ""));
  ASSERT_EQ(node.up().code, 0);
  const auto db = node.process("system", "db");
  const auto globex = node.process("globex", "acd");
  ASSERT_EQ(node.hamon({"tenant", "stop", "acme"}).code, 0);
  ASSERT_TRUE(
      node.wait([&](const node::NodeView&) { return node.process("acme", "acd")->pid == 0; }));
  EXPECT_EQ(node.process("system", "db")->pid, db->pid);
  EXPECT_EQ(node.process("globex", "acd")->pid, globex->pid);
  EXPECT_EQ(node.process("acme", "acd")->role, "active");
  ASSERT_EQ(node.hamon({"tenant", "start", "acme"}).code, 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView& v) { return all_running(v); }));
}

TEST(Supervision, ReloadTouchesOnlyWhatChanged) {
  TestNode node(std::string(kSupervisionDefaults) + sys("same") + sys("changed") + sys("removed") +
                sys("dependent", "depends_on = [\"same\"]"));
  ASSERT_EQ(node.up().code, 0);
  const auto same = node.process("system", "same");
  const auto changed = node.process("system", "changed");
  const auto dependent = node.process("system", "dependent");
  const auto removed = node.process("system", "removed");
  ASSERT_TRUE(same && changed && dependent && removed);
  // Same file, edited: one process changes its interval, one goes, one comes, in a new tenant.
  node.rewrite(std::string(kSupervisionDefaults) + sys("same") +
               sys("changed", "interval = \"30ms\"") + sys("dependent", "depends_on = [\"same\"]") +
               "\n[[tenant]]\nname = \"newco\"\n" + proc("tenant.process", "added", ""));
  const auto r = node.hamon({"reload"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    const auto c = node.process("system", "changed");
    const auto a = node.process("newco", "added");
    return c && a && running(*c) && running(*a) && c->incarnation > changed->incarnation &&
           !node.process("system", "removed") && v.processes.size() == 4;
  })) << "reload did not converge";
  const auto s = node.process("system", "same");
  const auto d = node.process("system", "dependent");
  EXPECT_EQ(s->pid, same->pid) << "an unchanged process is not touched";
  EXPECT_EQ(s->incarnation, same->incarnation);
  EXPECT_EQ(d->pid, dependent->pid);
  EXPECT_EQ(node.process("system", "changed")->restarts, changed->restarts)
      << "a change is not a failure";
  EXPECT_TRUE(kill(removed->pid, 0) != 0 && errno == ESRCH) << "the removed process was stopped";
  // A broken file is refused, with where and why, and nothing changes.
  node.rewrite("[cluster]\nbogus = 1\n");
  const auto bad = node.hamon({"reload"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("node.toml:9:1: error: "), std::string::npos) << bad.err;
  EXPECT_EQ(node.process("system", "same")->pid, same->pid);
}

TEST(Supervision, DownStopsEverythingAndRemovesTheSegments) {
  TestNode node(std::string(kSupervisionDefaults) + sys("a") + sys("b", "depends_on = [\"a\"]"));
  ASSERT_EQ(node.up().code, 0);
  std::vector<pid_t> pids;
  for (const auto& p : node.view().processes) pids.push_back(p.pid);
  for (const auto& d : node.view().daemons)
    if (d.pid > 0) pids.push_back(d.pid);
  const auto r = node.down();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(node.view().processes.empty()) << "the control segment is gone";
  for (pid_t pid : pids) {
    // hamon-master was detached: as the test is its subreaper, reaping it is the test's job.
    EXPECT_TRUE(node.wait([&](const node::NodeView&) {
      reap_zombies();
      return kill(pid, 0) != 0 && errno == ESRCH;
    })) << "pid "
        << pid << " still exists after down";
  }
  EXPECT_EQ(node.hamon({"status"}).code, 4) << "status of a node that is down";
}

}  // namespace
}  // namespace hamon::test
