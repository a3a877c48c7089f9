// Specification of tenant caps ([[tenant]] caps, node/tenant_caps.hpp) on real daemons and the
// kernel's cgroup v1 controllers: a tenant's processes together stay within its caps — the one
// that takes more memory than its tenant's cap is killed by the kernel and restarted while the
// same program of another tenant keeps running; forks beyond its tenant's process cap are
// refused while another tenant's are not; a reload changes the caps of processes already
// running, and lifts a cap it removes; where no controller can hold a cap, the processes run and
// an alarm says so. Needs root and the cgroup v1 controllers (a hybrid or legacy machine).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "hamon/node/node.hpp"
#include "hamon/node/process_cgroup.hpp"
#include "hamon/node/tenant_caps.hpp"
#include "test_node.hpp"
#include "proc_file.hpp"

namespace hamon::test {
namespace {

std::string tree_app() { return std::string(HAMON_BIN_DIR) + "/hamon-tree-app"; }

// The tenant's cgroup for `controller`; "" when no hierarchy here offers it.
std::string caps_dir(const TestNode& node, const std::string& controller,
                     const std::string& tenant) {
  return node::tenant_caps_cgroup(controller, node.cluster(), node.id(), tenant);
}

bool on_v2(const std::string& controller) {
  return node::caps_hierarchy(controller) == node::CapsHierarchy::v2;
}

// The processes in `dir` and the cgroups below it (v2: the tenant's processes are in their own
// cgroups below the tenant's).
std::vector<int> members(const std::string& dir) {
  std::vector<int> out;
  std::istringstream procs(read_proc_file(dir + "/cgroup.procs"));
  for (int p = 0; procs >> p;) out.push_back(p);
  for (const auto& child : node::cgroup_children(dir)) {
    const auto below = members(dir + "/" + child);
    out.insert(out.end(), below.begin(), below.end());
  }
  return out;
}

bool member(const std::string& dir, int pid) {
  const auto all = members(dir);
  return std::find(all.begin(), all.end(), pid) != all.end();
}

// Two tenants running the same program, "capped" with `caps` and "free" without. (Built by
// appending: GCC 12 warns falsely of overlap on "literal" + std::string&&.)
std::string two_tenants(const TestNode& node, const std::string& caps, const std::string& flags) {
  std::string args;
  std::istringstream words(flags);
  for (std::string w; words >> w;) {
    args += ", \"";
    args += w;
    args += '"';
  }
  std::string out = R"(
[defaults]
interval = "50ms"
timeout = "2s"
restart_delay = "100ms"
restart_delay_max = "200ms"
restart_budget = 1000
)";
  for (const std::string name : {"capped", "free"}) {
    out += "[[tenant]]\nname = \"";
    out += name;
    out += "\"\n";
    if (name == "capped") out += caps;
    out += "\n[[tenant.process]]\nname = \"app\"\ncommand = [\"";
    out += tree_app();
    out += "\", \"--pids\", \"";
    out += node.dir();
    out += "/";
    out += name;
    out += ".pids\"";
    out += args;
    out += "]\n";
  }
  return out;
}

#define SKIP_WITHOUT(controller)                                      \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make cgroups"; \
  if (node::caps_hierarchy(controller) == node::CapsHierarchy::none)  \
  GTEST_SKIP() << "no cgroup hierarchy offers the " controller " controller here"

TEST(TenantCaps, ATenantOverItsMemoryCapIsKilledByTheKernelAndTheSameProgramElsewhereIsNot) {
  SKIP_WITHOUT("memory");
  TestNode node("");
  node.rewrite(two_tenants(node, "caps = { memory = \"48MiB\" }", "--hold 96"));
  // Up gives up waiting on the capped one, which never stays up; the rest runs.
  (void)node.hamon({"up", "--timeout", "3s"});
  const auto free_first = node.process("free", "app");
  ASSERT_TRUE(free_first.has_value());
  const std::string dir = caps_dir(node, "memory", "capped");
  EXPECT_EQ(read_proc_file(dir + (on_v2("memory") ? "/memory.max" : "/memory.limit_in_bytes")),
            std::to_string(48 << 20) + "\n");
  // Killed by the kernel for its tenant's cap, and restarted: again and again.
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("capped", "app");
    return p && p->restarts >= 2;
  })) << "the capped process was never killed for its memory";
  // The kernel's own count of the processes its OOM killer ended in the tenant's cgroup.
  const std::string oom =
      read_proc_file(dir + (on_v2("memory") ? "/memory.events" : "/memory.oom_control"));
  const auto at = oom.find("oom_kill ");
  ASSERT_NE(at, std::string::npos) << oom;
  EXPECT_GE(std::strtoull(oom.c_str() + at + 9, nullptr, 10), 2u) << oom;
  const auto events = node.events();
  EXPECT_NE(find_event(events, shm::EventKind::exited, "capped", "app"), -1);
  // hamon status says it: the tenant's memory against its cap, and how many the cap ended.
  const auto status = node.hamon({"status"});
  EXPECT_NE(status.out.find("capped caps: memory "), std::string::npos) << status.out;
  EXPECT_NE(status.out.find(" of 48.0 MiB ("), std::string::npos) << status.out;
  EXPECT_NE(status.out.find(" ended at the cap)"), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("free caps:"), std::string::npos) << status.out;
  // And so do the metrics, for the capped tenant only.
  const auto metrics = node.hamon({"metrics"});
  EXPECT_NE(metrics.out.find("hamon_tenant_memory_cap_bytes{tenant=\"capped\"} 50331648\n"),
            std::string::npos)
      << metrics.out;
  const std::string kills_key = "hamon_tenant_memory_cap_kills_total{tenant=\"capped\"} ";
  const auto kills = metrics.out.find(kills_key);
  ASSERT_NE(kills, std::string::npos) << metrics.out;
  EXPECT_GE(std::stod(metrics.out.substr(kills + kills_key.size())), 2.0)
      << metrics.out.substr(kills);
  EXPECT_NE(metrics.out.find("hamon_tenant_memory_bytes{tenant=\"capped\"} "), std::string::npos);
  EXPECT_EQ(metrics.out.find("{tenant=\"free\"} ", metrics.out.find("hamon_tenant_memory")),
            std::string::npos)
      << metrics.out;
  // The same program, in a tenant without the cap, holds its 96 MiB and keeps its pid.
  const auto free_now = node.process("free", "app");
  ASSERT_TRUE(free_now.has_value());
  EXPECT_EQ(free_now->pid, free_first->pid);
  EXPECT_EQ(free_now->restarts, 0u);
  EXPECT_EQ(node.down().code, 0);
}

TEST(TenantCaps, ForksBeyondATenantsProcessCapAreRefusedAndAnotherTenantsAreNot) {
  SKIP_WITHOUT("pids");
  TestNode node("");
  node.rewrite(two_tenants(node, "caps = { pids = 4 }", "--workers 10"));
  ASSERT_EQ(node.up().code, 0);
  const auto capped = node.process("capped", "app");
  const auto free = node.process("free", "app");
  ASSERT_TRUE(capped && free);
  const std::string dir = caps_dir(node, "pids", "capped");
  EXPECT_TRUE(member(dir, capped->pid)) << "not in its tenant's cgroup " << dir;
  EXPECT_FALSE(member(dir, free->pid));
  // The leader and three workers: the other seven forks were refused, and said so.
  EXPECT_EQ(members(dir).size(), 4u);
  const std::string logs = node::log_dir(node.cluster(), node.id());
  const std::string capped_log = read_proc_file(logs + "/capped.app.log");
  EXPECT_NE(capped_log.find("refused 7"), std::string::npos) << capped_log;
  const std::string free_log = read_proc_file(logs + "/free.app.log");
  EXPECT_NE(free_log.find("refused 0"), std::string::npos) << free_log;
  EXPECT_EQ(node.down().code, 0);
}

TEST(TenantCaps, AReloadChangesTheCapsOfRunningProcessesAndLiftsOnesItRemoves) {
  SKIP_WITHOUT("pids");
  TestNode node("");
  node.rewrite(two_tenants(node, "caps = { pids = 50, cpu_weight = 50 }", ""));
  ASSERT_EQ(node.up().code, 0);
  const auto before = node.process("capped", "app");
  ASSERT_TRUE(before.has_value());
  const std::string pids = caps_dir(node, "pids", "capped");
  EXPECT_EQ(read_proc_file(pids + "/pids.max"), "50\n");
  const std::string cpu = caps_dir(node, "cpu", "capped");
  const std::string weight_file = on_v2("cpu") ? "/cpu.weight" : "/cpu.shares";
  if (!cpu.empty()) {
    EXPECT_EQ(read_proc_file(cpu + weight_file), on_v2("cpu") ? "50\n" : "512\n")
        << "weight 50 of 100";
  }

  node.rewrite(two_tenants(node, "caps = { pids = 20 }", ""));
  ASSERT_EQ(node.hamon({"reload"}).code, 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    return read_proc_file(pids + "/pids.max") == "20\n";
  })) << read_proc_file(pids + "/pids.max");
  if (!cpu.empty()) {
    EXPECT_EQ(read_proc_file(cpu + weight_file), on_v2("cpu") ? "100\n" : "1024\n") << "lifted";
  }
  const auto after = node.process("capped", "app");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->pid, before->pid) << "caps change without a restart";
  const auto json = node.hamon({"status", "--json"});
  EXPECT_NE(json.out.find("\"pids_cap\":20,"), std::string::npos) << json.out;
  if (!cpu.empty()) {
    EXPECT_NE(json.out.find("\"cpu_weight\":null"), std::string::npos) << "lifted: " << json.out;
  }
  EXPECT_TRUE(member(pids, after->pid));
  EXPECT_EQ(node.down().code, 0);
}

// Without the controllers (here: no cgroups at all), the caps cannot be held: its processes run
// all the same, and an alarm says which cap was not applied and why.
struct WithoutCgroups {
  WithoutCgroups() { ::setenv("HAMON_CGROUP_ROOT", "none", 1); }
  ~WithoutCgroups() { ::unsetenv("HAMON_CGROUP_ROOT"); }
  WithoutCgroups(const WithoutCgroups&) = delete;
  WithoutCgroups& operator=(const WithoutCgroups&) = delete;
};

TEST(TenantCaps, ACapNoControllerCanHoldIsAnAlarmAndTheProcessesRun) {
  const WithoutCgroups none;
  TestNode node("");
  node.rewrite(two_tenants(node, "caps = { memory = \"1GiB\" }", ""));
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  const auto p = node.process("capped", "app");
  ASSERT_TRUE(p && (p->state == "running" || p->state == "ready"));
  const auto events = node.events();
  const int at = find_event(events, shm::EventKind::alarm, "capped", "");
  ASSERT_NE(at, -1);
  EXPECT_NE(events[static_cast<std::size_t>(at)].detail.find("memory"), std::string::npos)
      << events[static_cast<std::size_t>(at)].detail;
  EXPECT_EQ(node.down().code, 0);
}

}  // namespace
}  // namespace hamon::test
