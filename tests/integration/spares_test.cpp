// Specification of warm spares (docs/spares.md), on real daemons and real processes: a process
// with `spares = N` runs N+1 initialized instances; one serves, the others wait parked in
// Heartbeat::park(). The serving one's crash or hang promotes a parked one — the same process,
// already running: no start — and the ended instance comes back as a spare. Its dependents never
// notice.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "test_node.hpp"

namespace hamon::test {
namespace {

using shm::EventKind;

const char* kSparesDefaults = R"(
[defaults]
interval = "20ms"
timeout = "400ms"
restart_delay = "1ms"
)";

std::string svc(int spares, const std::string& args = "") {
  return "\n[[system.process]]\nname = \"svc\"\ncommand = [\"@APP@\"" + args +
         "]\nready = \"explicit\"\nspares = " + std::to_string(spares) + "\n";
}

const char* kDependent = R"(
[[system.process]]
name = "dep"
command = ["@APP@"]
depends_on = ["svc"]
)";

std::vector<node::ProcessRow> instances(const node::NodeView& v) {
  std::vector<node::ProcessRow> out;
  for (const auto& p : v.processes) {
    if (p.tenant == "system" && (p.name == "svc" || p.name.rfind("svc~", 0) == 0)) {
      out.push_back(p);
    }
  }
  return out;
}

// `n` instances, each running: exactly one serving, the others parked.
bool settled(const node::NodeView& v, std::size_t n) {
  const auto all = instances(v);
  if (all.size() != n) return false;
  std::size_t serving = 0;
  for (const auto& p : all) {
    if (p.state != "running" || p.pid <= 0) return false;
    if (p.spare == "serving") {
      ++serving;
    } else if (p.spare != "parked") {
      return false;
    }
  }
  return serving == 1;
}

std::optional<node::ProcessRow> with_spare(const node::NodeView& v, const std::string& state) {
  for (const auto& p : instances(v)) {
    if (p.spare == state) return p;
  }
  return std::nullopt;
}

std::optional<node::ProcessRow> named(const node::NodeView& v, const std::string& name) {
  for (const auto& p : instances(v)) {
    if (p.name == name) return p;
  }
  return std::nullopt;
}

int promotions_of(const std::vector<EventRow>& ev, std::int32_t pid) {
  int n = 0;
  for (const auto& e : ev) n += e.kind == EventKind::promoted && e.pid == pid ? 1 : 0;
  return n;
}

TEST(Spares, ACrashOfTheServingInstancePromotesTheParkedOneAndTheCrashedOneComesBackParked) {
  TestNode node(std::string(kSparesDefaults) + svc(1) + kDependent);
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(node.wait([](const node::NodeView& v) { return settled(v, 2); }));
  const auto v = node.view();
  const auto serving = with_spare(v, "serving"), parked = with_spare(v, "parked");
  const auto dep = node.process("system", "dep");
  ASSERT_TRUE(serving && parked && dep);

  ASSERT_EQ(::kill(serving->pid, SIGKILL), 0);
  // The parked instance serves — the same process, not a new start — and the crashed one is
  // started again, and parks.
  ASSERT_TRUE(node.wait([&](const node::NodeView& w) {
    const auto now = named(w, parked->name), again = named(w, serving->name);
    return now && now->pid == parked->pid && now->spare == "serving" && again && again->pid > 0 &&
           again->pid != serving->pid && again->spare == "parked" && again->state == "running";
  })) << "the parked instance was not promoted, or the crashed one did not come back parked";
  const auto ev = node.events();
  EXPECT_EQ(promotions_of(ev, parked->pid), 1);
  // Promoted by the crash itself (the monitor promotes before the exit is even reported).
  const int promoted = find_event(ev, EventKind::promoted, "system", parked->name);
  ASSERT_GE(promoted, 0);
  EXPECT_EQ(ev[static_cast<std::size_t>(promoted)].detail, "serves: the one serving exited");
  // Its dependent saw the same process all along: it was not restarted with it.
  const auto dep_after = node.process("system", "dep");
  ASSERT_TRUE(dep_after);
  EXPECT_EQ(dep_after->pid, dep->pid);
  EXPECT_EQ(dep_after->restarts, dep->restarts);
}

TEST(Spares, AHangOfTheServingInstancePromotesTheParkedOne) {
  TestNode node(std::string(kSparesDefaults) + svc(1));
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(node.wait([](const node::NodeView& v) { return settled(v, 2); }));
  const auto v = node.view();
  const auto serving = with_spare(v, "serving"), parked = with_spare(v, "parked");
  ASSERT_TRUE(serving && parked);

  ASSERT_EQ(::kill(serving->pid, SIGSTOP), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView& w) {
    const auto now = named(w, parked->name), again = named(w, serving->name);
    return now && now->pid == parked->pid && now->spare == "serving" && again && again->pid > 0 &&
           again->pid != serving->pid && again->spare == "parked";
  })) << "the hung instance was not replaced by its spare";
  const auto ev = node.events();
  const int hung = find_event(ev, EventKind::hung, "system", serving->name);
  const int promoted = find_event(ev, EventKind::promoted, "system", parked->name);
  ASSERT_GE(hung, 0);
  ASSERT_GE(promoted, 0);
  EXPECT_LT(hung, promoted);
  EXPECT_EQ(ev[static_cast<std::size_t>(promoted)].detail, "serves: the one serving hung");
}

TEST(Spares, AParkedInstanceThatHangsIsReplacedAndTheServingOneGoesOn) {
  TestNode node(std::string(kSparesDefaults) + svc(1));
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(node.wait([](const node::NodeView& v) { return settled(v, 2); }));
  const auto v = node.view();
  const auto serving = with_spare(v, "serving"), parked = with_spare(v, "parked");
  ASSERT_TRUE(serving && parked);

  // A parked instance beats from inside park(): one that stops is hung like any process.
  ASSERT_EQ(::kill(parked->pid, SIGSTOP), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView& w) {
    const auto again = named(w, parked->name);
    return again && again->pid > 0 && again->pid != parked->pid && again->spare == "parked";
  })) << "the hung spare was not replaced";
  const auto still = named(node.view(), serving->name);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->pid, serving->pid);
  EXPECT_EQ(still->spare, "serving");
  EXPECT_GE(find_event(node.events(), EventKind::hung, "system", parked->name), 0);
}

TEST(Spares, AReloadAddsAndRemovesSparesWithoutRestartingWhatServes) {
  TestNode node(std::string(kSparesDefaults) + svc(1));
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(node.wait([](const node::NodeView& v) { return settled(v, 2); }));
  const auto before = instances(node.view());

  node.rewrite(std::string(kSparesDefaults) + svc(2));
  const auto more = node.hamon({"reload"});
  ASSERT_EQ(more.code, 0) << more.out << more.err;
  ASSERT_TRUE(node.wait([](const node::NodeView& v) { return settled(v, 3); }))
      << "a third instance did not park";
  for (const auto& p : before) {
    const auto same = named(node.view(), p.name);
    ASSERT_TRUE(same);
    EXPECT_EQ(same->pid, p.pid) << p.name << " was restarted by a reload that added a spare";
  }

  // Down to none: svc alone, started again as a process that does not park (a spare left
  // parked with no family would never serve).
  node.rewrite(std::string(kSparesDefaults) + svc(0));
  const auto fewer = node.hamon({"reload"});
  ASSERT_EQ(fewer.code, 0) << fewer.out << fewer.err;
  EXPECT_TRUE(node.wait([&](const node::NodeView& v) {
    const auto all = instances(v);
    return all.size() == 1 && all[0].name == "svc" && all[0].pid > 0 && all[0].spare.empty() &&
           all[0].state == "running";
  })) << "svc did not run alone after its spares were removed";

  // And back to one: never two serving (svc, started without spares, is started again to park).
  node.rewrite(std::string(kSparesDefaults) + svc(1));
  const auto again = node.hamon({"reload"});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_TRUE(node.wait([](const node::NodeView& v) { return settled(v, 2); }))
      << "one of two instances did not serve";
}

TEST(Spares, StopEndsEveryInstanceAndStartBringsThemBack) {
  TestNode node(std::string(kSparesDefaults) + svc(2));
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(node.wait([](const node::NodeView& v) { return settled(v, 3); }));
  std::set<std::int32_t> pids;
  for (const auto& p : instances(node.view())) pids.insert(p.pid);

  const auto stop = node.hamon({"stop", "system/svc"});
  ASSERT_EQ(stop.code, 0) << stop.out << stop.err;
  ASSERT_TRUE(node.wait([](const node::NodeView& v) {
    const auto all = instances(v);
    return all.size() == 3 && std::all_of(all.begin(), all.end(), [](const auto& p) {
             return p.pid == 0 && (p.state == "down" || p.state == "exited");
           });
  })) << "an instance survived the stop";
  for (const std::int32_t pid : pids) EXPECT_NE(::kill(pid, 0), 0) << pid << " still runs";

  const auto start = node.hamon({"start", "system/svc"});
  ASSERT_EQ(start.code, 0) << start.out << start.err;
  EXPECT_TRUE(node.wait([](const node::NodeView& v) { return settled(v, 3); }));
}

TEST(Spares, ASpareNeedsExplicitReadinessAndCheckConfigSaysWhere) {
  TestNode node(std::string(kSparesDefaults) +
                "\n[[system.process]]\nname = \"svc\"\ncommand = [\"@APP@\"]\nspares = 1\n");
  const auto r = run({std::string(HAMON_BIN_DIR) + "/hamon", "check-config", node.config_path()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE((r.out + r.err).find("spares need ready = \"explicit\""), std::string::npos)
      << r.out << r.err;
}

}  // namespace
}  // namespace hamon::test
