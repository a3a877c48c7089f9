// Specification of the duplex's roles on two real nodes of one machine (docs/roles.md): each
// tenant active on its preferred side, the peer's tenants taken over when it dies, a switchover
// that never leaves two actives, a critical failure that moves one tenant, wait-for-all at start,
// hooks, and flap damping. Partitions: partition_test.cpp.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "duplex.hpp"
#include "hamon/heartbeat_abi.h"
#include "roles_support.hpp"
#include "test_node.hpp"

namespace hamon::test {
namespace {

using namespace std::chrono_literals;

TEST(Roles, EachTenantIsActiveOnItsPreferredSideAndStandbyOnTheOther) {
  Duplex d(kTenants);
  ASSERT_TRUE(both_up(d));
  EXPECT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  EXPECT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  // One term per tenant, the same on both sides.
  EXPECT_TRUE(d.b().wait([&](const node::NodeView& v) {
    const auto a = d.a().view();
    return epoch(v, "acme") == epoch(a, "acme") && epoch(v, "globex") == epoch(a, "globex") &&
           epoch(v, "acme") > 0;
  })) << roles_of(d.a())
      << "; " << roles_of(d.b());
}

TEST(Roles, WhenANodeDiesItsPeerTakesItsTenantsOverAndKeepsThemWhenItReturns) {
  Duplex d(kTenants, {.peer_interval = "2ms", .peer_timeout = "100ms"});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  const auto before = epoch(d.b().view(), "acme");
  kill_everything(d.a());
  EXPECT_TRUE(roles_are(d.b(), "active", "active", 5s)) << roles_of(d.b());
  EXPECT_GT(epoch(d.b().view(), "acme"), before);
  const auto events = d.b().events();
  EXPECT_GE(find_event(events, shm::EventKind::role_changed, "acme", "acme"), 0);
  // status says why b has it.
  const auto status = d.b().hamon({"status"});
  EXPECT_NE(status.out.find("acme is active: the peer is lost (takeover)"), std::string::npos)
      << status.out;
  // a comes back: it sees b active and stays standby (no automatic failback).
  const auto up = d.a().up();
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  EXPECT_TRUE(roles_are(d.a(), "standby", "standby")) << roles_of(d.a());
  std::this_thread::sleep_for(300ms);  // a would have taken acme back by now if it did
  EXPECT_EQ(role(d.a().view(), "acme"), "standby") << roles_of(d.a());
  EXPECT_EQ(role(d.b().view(), "acme"), "active") << roles_of(d.b());
}

TEST(Roles, ASwitchoverMovesOneTenantAndNeverLeavesTwoActives) {
  Duplex d(kTenants);
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  // Watch both sides for the whole switchover: never active on both.
  std::atomic<bool> stop{false};
  std::atomic<int> both{0};
  std::thread watcher([&] {
    auto ca = shm::ControlSegment::attach(d.a().control_segment(), shm::Access::read_only);
    auto cb = shm::ControlSegment::attach(d.b().control_segment(), shm::Access::read_only);
    if (!ca || !cb) return;
    // Two reads are two moments: a counts as active at b's read only if it was before and after.
    auto active = [](const shm::ControlSegment& c) { return publishes_active(c, "acme"); };
    while (!stop.load()) {
      if (active(*ca) && active(*cb) && active(*ca)) ++both;
    }
  });
  const auto r = d.a().hamon({"switchover", "acme", "--no-wait"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(roles_are(d.b(), "active", "active")) << roles_of(d.b());
  EXPECT_TRUE(roles_are(d.a(), "standby", "standby")) << roles_of(d.a());
  // And back, asked on the side that does not have it.
  const auto back = d.a().hamon({"switchover", "acme"});
  EXPECT_EQ(back.code, 0) << back.out << back.err;
  EXPECT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  stop.store(true);
  watcher.join();
  EXPECT_EQ(both.load(), 0);
  EXPECT_EQ(epoch(d.a().view(), "acme"), epoch(d.b().view(), "acme"));
  // --all: every tenant active on b (globex) goes to a, in one request.
  const auto all = d.b().hamon({"switchover", "--all"});
  EXPECT_EQ(all.code, 0) << all.out << all.err;
  EXPECT_TRUE(roles_are(d.a(), "active", "active")) << roles_of(d.a());
  EXPECT_TRUE(roles_are(d.b(), "standby", "standby")) << roles_of(d.b());
}

TEST(Roles, AReloadKeepsTheRolesAndTheirRules) {
  Duplex d(kTenants);
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  const auto before = epoch(d.a().view(), "acme");
  // A process added to globex, and a tenant with no processes at all (it has no group).
  d.a().rewrite(std::string(kTenants) +
                "\n[[tenant.process]]\nname = \"fax\"\ncommand = [\"@APP@\", \"--interval\", "
                "\"10ms\"]\n\n[[tenant]]\nname = \"empty\"\n");
  const auto r = d.a().hamon({"reload"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(d.a().wait([](const node::NodeView& v) {
    for (const auto& p : v.processes) {
      if (p.tenant == "globex" && p.name == "fax") return true;
    }
    return false;
  }));
  EXPECT_EQ(role(d.a().view(), "acme"), "active");
  EXPECT_EQ(epoch(d.a().view(), "acme"), before);
  // The rules still run on the reloaded configuration.
  const auto s = d.a().hamon({"switchover", "acme"});
  EXPECT_EQ(s.code, 0) << s.out << s.err;
  EXPECT_TRUE(roles_are(d.b(), "active", "active")) << roles_of(d.b());
}

TEST(Roles, ARestartedServerPublishesTheRolesAndEpochsItHadAtOnce) {
  Duplex d(kTenants);
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  // A switchover first: epochs above their first value.
  const auto s = d.a().hamon({"switchover", "acme"});
  ASSERT_EQ(s.code, 0) << s.out << s.err;
  ASSERT_TRUE(roles_are(d.b(), "active", "active")) << roles_of(d.b());
  const auto before = d.b().view();
  ASSERT_GT(epoch(before, "acme"), 1u);
  ASSERT_TRUE(kill_daemon_and_wait_back(d.b(), "hamon-server"));
  // Watched from a restart of the server until it has settled: never anything but what it had.
  const auto until = std::chrono::steady_clock::now() + 500ms;
  while (std::chrono::steady_clock::now() < until) {
    const auto v = d.b().view();
    for (const char* t : {"acme", "globex"}) {
      ASSERT_EQ(role(v, t), role(before, t)) << t << ": " << roles_of(d.b());
      ASSERT_EQ(epoch(v, t), epoch(before, t)) << t << ": " << roles_of(d.b());
    }
    std::this_thread::sleep_for(2ms);
  }
}

TEST(Roles, ASwitchoverWithNowhereToGoIsRefusedWithWhy) {
  Duplex d(kTenants, {.cluster_keys = "wait_for_peer = \"100ms\""});
  const auto up = d.a().up();
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  ASSERT_TRUE(roles_are(d.a(), "active", "active")) << roles_of(d.a());
  const auto r = d.a().hamon({"switchover", "acme", "--no-wait"});
  EXPECT_EQ(r.code, 7) << r.out << r.err;
  EXPECT_NE(r.err.find("the peer is not up"), std::string::npos) << r.err;
  EXPECT_EQ(role(d.a().view(), "acme"), "active");
}

TEST(Roles, ACriticalProcessThatCrashesMovesOnlyItsTenant) {
  Duplex d(kTenants);
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  const auto acd = d.a().process("acme", "acd");
  ASSERT_TRUE(acd && acd->pid > 0);
  ::kill(acd->pid, SIGKILL);  // failover = "immediate"
  EXPECT_TRUE(roles_are(d.b(), "active", "active")) << roles_of(d.b());
  EXPECT_TRUE(roles_are(d.a(), "standby", "standby")) << roles_of(d.a());
}

TEST(Roles, ANodeAloneWaitsForItsPeerBeforeMakingAnythingActive) {
  Duplex d(kTenants, {.cluster_keys = "wait_for_peer = \"1s\""});
  const auto started = std::chrono::steady_clock::now();
  const auto up = d.a().up();
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  EXPECT_EQ(role(d.a().view(), "acme"), "standby");
  ASSERT_TRUE(roles_are(d.a(), "active", "active")) << roles_of(d.a());
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
}

TEST(Roles, TheRoleChangeHookRunsInOrderWithTenantRolesAndEpoch) {
  std::string tenants = kTenants;
  const std::string hook = std::string("on_role_change = [\"/bin/sh\", \"-c\", ")
                               .append("\"echo \\\"$0 $1 $2 $3\\\" >> ${HOOK_LOG}\"]\n");
  tenants.replace(tenants.find("preferred_side = \"primary\"\n"),
                  std::string("preferred_side = \"primary\"\n").size(),
                  "preferred_side = \"primary\"\n" + hook);
  Duplex d(tenants);
  // Each node's hook appends its arguments to a file of its own, in its directory (removed
  // with it).
  const std::string log_a = d.a().dir() + "/hook.log";
  const std::string log_b = d.b().dir() + "/hook.log";
  ::setenv("HOOK_LOG", log_a.c_str(), 1);  // the daemons inherit `hamon up`'s environment
  const auto up_a = d.a().up();
  ASSERT_EQ(up_a.code, 0) << up_a.out << up_a.err;
  ::setenv("HOOK_LOG", log_b.c_str(), 1);
  const auto up_b = d.b().up();
  ASSERT_EQ(up_b.code, 0) << up_b.out << up_b.err;
  ::unsetenv("HOOK_LOG");
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  auto lines = [](const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  };
  ASSERT_TRUE(d.a().wait([&](const node::NodeView&) { return lines(log_a).size() >= 2; }))
      << lines(log_a).size();
  EXPECT_EQ(lines(log_a),
            (std::vector<std::string>{"acme standby taking-over 1", "acme taking-over active 1"}));
  const auto r = d.a().hamon({"switchover", "acme", "--no-wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_TRUE(d.a().wait([&](const node::NodeView&) { return lines(log_a).size() >= 4; }));
  EXPECT_EQ(lines(log_a)[2], "acme active stepping-down 1");
  EXPECT_EQ(lines(log_a)[3], "acme stepping-down standby 2");
  ASSERT_TRUE(d.b().wait([&](const node::NodeView&) { return lines(log_b).size() >= 2; }));
  EXPECT_EQ(lines(log_b).back(), "acme taking-over active 2");
  std::filesystem::remove(log_a);
  std::filesystem::remove(log_b);
}

TEST(Roles, ASwitchoverWaitsForTheApplicationsToDrainAndNoLonger) {
  // drain_timeout is long; acme's process says it drained 1 s into the step-down, globex's
  // never does.
  std::string tenants = kTenants;
  const std::string acd = R"(command = ["@APP@", "--interval", "10ms"]
critical = true)";
  tenants.replace(tenants.find(acd), acd.size(),
                  R"(command = ["@APP@", "--interval", "10ms", "--drain-delay", "1s"]
critical = true)");
  Duplex d(tenants, {.cluster_keys = "drain_timeout = \"1m\""});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());

  // acme: stepping down (its process still serving what it had), then standby once drained —
  // long before the minute — and b takes it.
  auto r = d.a().hamon({"switchover", "acme", "--no-wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(roles_are(d.a(), "stepping-down", "standby")) << roles_of(d.a());
  EXPECT_EQ(role(d.b().view(), "acme"), "standby");
  EXPECT_TRUE(roles_are(d.b(), "active", "active")) << roles_of(d.b());
  EXPECT_TRUE(roles_are(d.a(), "standby", "standby")) << roles_of(d.a());

  // globex: its process never says so; the step-down lasts (here: a second and more).
  r = d.b().hamon({"switchover", "globex", "--no-wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(roles_are(d.b(), "active", "stepping-down")) << roles_of(d.b());
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(role(d.b().view(), "globex"), "stepping-down") << roles_of(d.b());
  EXPECT_EQ(role(d.a().view(), "globex"), "standby") << roles_of(d.a());
}

TEST(Roles, AParkedSpareDoesNotHoldAStepDownBack) {
  // acme's acd has a warm spare: the parked instance is asleep in park() and cannot say it
  // drained; the serving one says so 1 s into the step-down, and that is enough.
  std::string tenants = kTenants;
  const std::string acd = R"(command = ["@APP@", "--interval", "10ms"]
critical = true)";
  tenants.replace(tenants.find(acd), acd.size(),
                  R"(command = ["@APP@", "--interval", "10ms", "--drain-delay", "1s"]
critical = true
ready = "explicit"
spares = 1)");
  Duplex d(tenants, {.cluster_keys = "drain_timeout = \"1m\""});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(d.a().wait([](const node::NodeView& v) {
    int parked = 0;
    for (const auto& p : v.processes) parked += p.tenant == "acme" && p.spare == "parked";
    return parked == 1;
  })) << "acme's spare did not park";
  const auto r = d.a().hamon({"switchover", "acme", "--no-wait"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(roles_are(d.b(), "active", "active")) << roles_of(d.b());
  EXPECT_TRUE(roles_are(d.a(), "standby", "standby")) << roles_of(d.a());
}

TEST(Roles, ATenantThatFailsOverTooOftenHoldsWhereItIsAndSaysSo) {
  // One automatic move per side in the window (each side counts the moves it makes): a hands
  // acme to b, b hands it back, and a's second failure holds it at a.
  Duplex d(kTenants, {.cluster_keys = "max_role_changes = 1\nrole_change_window = \"10m\""});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  // Kills acme's critical process on the side that has acme, once it runs there again.
  auto crash_at = [](TestNode& n) {
    std::optional<node::ProcessRow> acd;
    EXPECT_TRUE(n.wait([&](const node::NodeView&) {
      acd = n.process("acme", "acd");
      return acd && acd->pid > 0 && acd->state == "running";
    }));
    if (acd && acd->pid > 0) ::kill(acd->pid, SIGKILL);
  };
  crash_at(d.a());
  ASSERT_TRUE(roles_are(d.b(), "active", "active")) << roles_of(d.b());
  ASSERT_TRUE(roles_are(d.a(), "standby", "standby")) << roles_of(d.a());
  crash_at(d.b());
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  const auto epoch_held = epoch(d.a().view(), "acme");
  crash_at(d.a());
  // Held: an alarm names the tenant, acme stays at a in its epoch, and its process is restarted
  // there.
  std::vector<EventRow> events;
  EXPECT_TRUE(d.a().wait([&](const node::NodeView&) {
    events = d.a().events();
    return find_event(events, shm::EventKind::alarm, "acme", "acme") >= 0;
  }));
  const int alarm = find_event(events, shm::EventKind::alarm, "acme", "acme");
  ASSERT_GE(alarm, 0);
  EXPECT_NE(events[static_cast<std::size_t>(alarm)].detail.find("acme holds where it is (active)"),
            std::string::npos)
      << events[static_cast<std::size_t>(alarm)].detail;
  EXPECT_TRUE(d.a().wait([&](const node::NodeView&) {
    const auto acd = d.a().process("acme", "acd");
    return acd && acd->state == "running";
  }));
  std::this_thread::sleep_for(300ms);  // b would have taken acme by now if it moved
  EXPECT_EQ(role(d.a().view(), "acme"), "active") << roles_of(d.a());
  EXPECT_EQ(role(d.b().view(), "acme"), "standby") << roles_of(d.b());
  EXPECT_EQ(epoch(d.a().view(), "acme"), epoch_held);
  // An operator may still move it.
  const auto s = d.a().hamon({"switchover", "acme"});
  EXPECT_EQ(s.code, 0) << s.out << s.err;
  EXPECT_TRUE(roles_are(d.b(), "active", "active")) << roles_of(d.b());
}

}  // namespace
}  // namespace hamon::test
