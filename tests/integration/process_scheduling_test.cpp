// Specification of a process's scheduling settings on a real node (engine/scheduling.hpp): the
// kernel runs each process with the policy, real-time priority, nice value, CPUs and OOM
// adjustment its configuration gives it — from its first start and after every restart — and a
// setting the kernel refuses keeps the process from starting, with the kernel's reason.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <fstream>
#include <thread>
#include <chrono>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_node.hpp"
#include "proc_file.hpp"

namespace hamon::test {
namespace {

const char* kTwoKinds = R"(
[defaults]
interval = "20ms"
timeout = "300ms"
restart_delay = "1ms"

[[system.process]]
name = "beater"
command = ["@APP@"]
sched = "fifo:10"
cpus = "0"
oom_score_adjust = 200

[[system.process]]
name = "bulk"
command = ["@APP@"]
sched = "batch"
nice = 7
oom_score_adjust = 300

[[system.process]]
name = "plain"
command = ["@APP@"]
)";

struct Seen {
  int nice = 0, rt_priority = 0, policy = -1, oom_score_adj = 0;
  std::string cpus;
};

// What the kernel says of `pid`: /proc/PID/stat (fields 19, 40, 41), Cpus_allowed_list,
// oom_score_adj.
Seen seen(int pid) {
  Seen s;
  std::string dir = "/proc/";  // appended: GCC 12's false -Wrestrict on "literal" + string&&
  dir += std::to_string(pid);
  const std::string stat = read_proc_file(dir + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // from field 3
  std::vector<std::string> f{"", "", ""};
  for (std::string x; fields >> x;) f.push_back(x);
  if (f.size() > 41) {
    s.nice = std::stoi(f[19]);
    s.rt_priority = std::stoi(f[40]);
    s.policy = std::stoi(f[41]);
  }
  const std::string status = read_proc_file(dir + "/status");
  const auto at = status.find("Cpus_allowed_list:");
  if (at != std::string::npos) {
    std::istringstream line(status.substr(at + 18));
    line >> s.cpus;
  }
  const std::string oom = read_proc_file(dir + "/oom_score_adj");
  s.oom_score_adj = oom.empty() ? 0 : std::stoi(oom);
  return s;
}

void expect_beater(int pid) {
  const Seen s = seen(pid);
  EXPECT_EQ(s.policy, 1) << "SCHED_FIFO";
  EXPECT_EQ(s.rt_priority, 10);
  EXPECT_EQ(s.cpus, "0");
  // Raised, not lowered: lowering needs CAP_SYS_RESOURCE, which a container's root may lack.
  EXPECT_EQ(s.oom_score_adj, 200);
}

TEST(ProcessScheduling, EachProcessRunsAsItsSettingsSayFromItsFirstStartAndAfterARestart) {
  TestNode node(kTwoKinds);
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  const auto beater = node.process("system", "beater");
  const auto bulk = node.process("system", "bulk");
  const auto plain = node.process("system", "plain");
  ASSERT_TRUE(beater && bulk && plain && beater->pid > 0 && bulk->pid > 0 && plain->pid > 0);
  expect_beater(beater->pid);
  const Seen b = seen(bulk->pid);
  EXPECT_EQ(b.policy, 3) << "SCHED_BATCH";
  EXPECT_EQ(b.nice, 7);
  EXPECT_EQ(b.oom_score_adj, 300);
  // Without settings: as the spawner runs.
  const Seen p = seen(plain->pid);
  EXPECT_EQ(p.policy, 0) << "SCHED_OTHER";
  EXPECT_EQ(p.nice, 0);
  EXPECT_EQ(p.oom_score_adj, 0);
  // Restarted: the same settings.
  ASSERT_EQ(::kill(beater->pid, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto now = node.process("system", "beater");
    return now && now->pid > 0 && now->pid != beater->pid && now->state == "running";
  }));
  expect_beater(node.process("system", "beater")->pid);
}

TEST(ProcessScheduling, ASettingTheKernelRefusesKeepsTheProcessFromStartingAndSaysWhy) {
  TestNode node(std::string(kTwoKinds) +
                "\n[[system.process]]\nname = \"nowhere\"\ncommand = [\"@APP@\"]\n"
                "cpus = \"1000\"\nrestart_budget = 1\n");
  const auto r = node.up();
  EXPECT_EQ(r.code, 5);
  EXPECT_NE(r.err.find("system/nowhere failed to start"), std::string::npos) << r.err;
  const auto ev = node.events();
  const int i = find_event(ev, shm::EventKind::exited, "system", "nowhere");
  ASSERT_GE(i, 0);
  EXPECT_EQ(ev[static_cast<std::size_t>(i)].detail, "cannot start: cpus: Invalid argument");
  // The others run as configured. `up` gave up at the failure, maybe before the beater was
  // ready: its real-time policy is given at its ready, before the monitor publishes it.
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "beater");
    return p && p->pid > 0 && (p->state == "ready" || p->state == "running");
  })) << "the beater never became ready";
  expect_beater(node.process("system", "beater")->pid);
}

// Every thread of `pid`, by /proc/PID/task.
std::vector<int> threads_of(int pid) {
  std::vector<int> out;
  std::string dir = "/proc/";
  dir += std::to_string(pid);
  dir += "/task";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(std::stoi(e.path().filename().string()));
  }
  return out;
}

const char* kSlowStarter = R"(
[defaults]
interval = "20ms"
timeout = "300ms"

[[system.process]]
name = "slow"
command = ["@APP@", "--init-delay", "600ms"]
ready = "explicit"
sched = "fifo:10"
)";

// A real-time policy waits for the process's ready: until then it runs as it would without one;
// from then on, every thread of it runs with it — and after a restart, the same again.
TEST(ProcessScheduling, ARealTimePolicyIsAppliedAtTheProcesssReadyNotAtItsStart) {
  TestNode node(kSlowStarter);
  auto up = std::async(std::launch::async, [&] { return node.up(); });
  int pid = 0;
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "slow");
    pid = p && p->state == "starting" ? p->pid : 0;
    return pid > 0;
  }));
  EXPECT_EQ(seen(pid).policy, 0) << "SCHED_OTHER while it initializes";
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "slow");
    return p && p->pid == pid && p->state == "running";
  }));
  EXPECT_EQ(up.get().code, 0);
  for (const int tid : threads_of(pid)) {
    const Seen s = seen(tid);
    EXPECT_EQ(s.policy, 1) << "SCHED_FIFO, thread " << tid;
    EXPECT_EQ(s.rt_priority, 10) << "thread " << tid;
  }
}

const char* kSpinningStarter = R"(
[defaults]
interval = "5ms"
timeout = "40ms"
restart_delay = "1ms"
sched = "fifo:10"
cpus = "0"

[[system.process]]
name = "beater"
command = ["@APP@"]

[[system.process]]
name = "spinner"
command = ["@APP@", "--init-spin", "400ms"]
ready = "explicit"
depends_on = ["beater"]
)";

// Real-time processes of one priority are not time-sliced: one that initialized at that
// priority would hold the CPU from a running beater beside it until its initialization ended
// (here 400 ms, ten times the beater's timeout) — a hang verdict for a healthy process, and a
// restart storm when each restart starts another such initialization. It initializes as an
// ordinary process instead, and the beater is never silent.
TEST(ProcessScheduling, AProcessInitializingDoesNotStarveARunningBeaterOfItsPriority) {
  TestNode node(kSpinningStarter);
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  const auto spinner = node.process("system", "spinner");
  ASSERT_TRUE(spinner && spinner->state == "running");
  const auto events = node.events();
  const int hung = find_event(events, shm::EventKind::hung, "system", "beater");
  EXPECT_EQ(hung, -1) << events[static_cast<std::size_t>(std::max(hung, 0))].detail;
  const auto beater = node.process("system", "beater");
  ASSERT_TRUE(beater);
  EXPECT_EQ(beater->restarts, 0u);
}

// A one-node cluster of its own whose [cluster] table ends with `extra`.
TestNode node_with_cluster_keys(const std::string& processes, const std::string& extra) {
  static int counter = 0;
  std::string name = "ds";
  name += std::to_string(::getpid());
  name += "x";
  name += std::to_string(counter++);
  std::string toml = "[cluster]\nname = \"";
  toml += name;
  toml += "\"\n";
  toml += extra;
  toml += "\n[[cluster.node]]\nid = \"a\"\nside = \"primary\"\naddress = \"127.0.0.1:7401\"\n";
  return TestNode(processes, ClusterSpec{name, "a", toml});
}

const char* kOwnAndInherited = R"(
[defaults]
interval = "20ms"
timeout = "300ms"

[[system.process]]
name = "plain"
command = ["@APP@"]

[[system.process]]
name = "niced"
command = ["@APP@"]
nice = 5
)";

// hamon's own daemons run as [cluster] says; the processes they start get their own settings,
// or what they would have had without the daemons' (not the daemons' CPU or OOM protection).
TEST(ProcessScheduling, TheDaemonsRunAsTheClusterSaysAndTheirProcessesDoNotInheritIt) {
  TestNode node = node_with_cluster_keys(
      kOwnAndInherited, "daemon_nice = 3\ndaemon_cpus = \"0\"\ndaemon_oom_score_adjust = 100");
  const Seen before = seen(::getpid());
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  const auto v = node.view();
  ASSERT_EQ(v.daemons.size(), 5u);
  for (const auto& d : v.daemons) {
    ASSERT_GT(d.pid, 0) << d.name;
    const Seen s = seen(d.pid);
    EXPECT_EQ(s.nice, 3) << d.name;
    EXPECT_EQ(s.cpus, "0") << d.name;
    EXPECT_EQ(s.oom_score_adj, 100) << d.name;
  }
  const auto plain = node.process("system", "plain");
  const auto niced = node.process("system", "niced");
  ASSERT_TRUE(plain && niced && plain->pid > 0 && niced->pid > 0);
  const Seen p = seen(plain->pid);
  EXPECT_EQ(p.nice, before.nice);
  EXPECT_EQ(p.cpus, before.cpus);
  EXPECT_EQ(p.oom_score_adj, before.oom_score_adj);
  const Seen n = seen(niced->pid);
  EXPECT_EQ(n.nice, 5);
  EXPECT_EQ(n.cpus, before.cpus);
}

// A daemon setting the kernel refuses costs the node nothing but the setting, and says so.
TEST(ProcessScheduling, ADaemonSettingTheKernelRefusesIsAnAlarmNotAnOutage) {
  TestNode node = node_with_cluster_keys(kOwnAndInherited, "daemon_cpus = \"1000\"");
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  std::set<std::string> said;
  for (const auto& e : node.events()) {
    if (e.kind != shm::EventKind::alarm) continue;
    said.insert(e.name);
    EXPECT_EQ(e.detail, "cannot apply [cluster] daemon_cpus: Invalid argument; running without it");
  }
  // Each daemon that attaches the node's segment at its start says it there (the others, in
  // their logs) — the monitor among them.
  EXPECT_EQ(said.count("hamon-monitor"), 1u);
  EXPECT_EQ(said.count("hamon-spawner"), 1u);
  for (const auto& d : node.view().daemons) EXPECT_EQ(d.state, "running") << d.name;
  const auto plain = node.process("system", "plain");
  ASSERT_TRUE(plain && plain->state == "running");
}

const char* kOnTheSecondCpu = R"(
[defaults]
interval = "1ms"
timeout = "5ms"
restart_delay = "1ms"
cpus = "1"
sched = "fifo:10"

[[system.process]]
name = "beater"
command = ["@APP@"]

[[system.process]]
name = "mute"
command = ["@APP@", "--hang-after", "300"]
restart_budget = 1
)";

// Holds CPU `cpu` for `ns` at the highest real-time priority: nothing else queued there runs.
void hog_cpu(int cpu, std::uint64_t ns) {
  std::thread hog([&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<unsigned>(cpu), &set);
    sched_param p{};
    p.sched_priority = 99;
    ASSERT_EQ(::pthread_setaffinity_np(::pthread_self(), sizeof set, &set), 0);
    ASSERT_EQ(::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &p), 0);
    const auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
    while (std::chrono::steady_clock::now() < end) {
    }
  });
  hog.join();
}

// A CPU that runs nothing for six timeouts (a vCPU the host did not schedule; here a real-time
// hog) silences every process queued on it, while the monitor on another CPU runs on time: the
// sentinel hamon-monitor keeps on that CPU saw the stall, and the silence it explains is no hang.
// A process truly hung there is still found, later by no more than the stall.
TEST(ProcessScheduling, ASilenceItsCpuCausedIsNoHangAndATrueHangThereIsStillFound) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs a second CPU";
  // Real-time beaters and daemons: only the hog stops them, not what else the machine runs.
  TestNode node =
      node_with_cluster_keys(kOnTheSecondCpu, "daemon_cpus = \"0\"\ndaemon_sched = \"fifo:20\"");
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto b = node.process("system", "beater");
    return b && b->state == "running";
  }));
  const auto before = node.process("system", "beater");
  ASSERT_TRUE(before);
  for (int round = 0; round < 3; ++round) {
    hog_cpu(1, 30'000'000);  // thirty 1 ms intervals
    // It beats again.
    ASSERT_TRUE(node.wait([&](const node::NodeView&) {
      const auto b = node.process("system", "beater");
      return b && b->heartbeat_age_us && *b->heartbeat_age_us < 3'000;
    }));
  }
  const auto after = node.process("system", "beater");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->pid, before->pid);
  EXPECT_EQ(after->restarts, 0u);
  const auto events = node.events();
  const int hung = find_event(events, shm::EventKind::hung, "system", "beater");
  EXPECT_EQ(hung, -1) << events[static_cast<std::size_t>(std::max(hung, 0))].detail;
  // The one that stopped beating after 300 beats is found hung all the same.
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    return find_event(node.events(), shm::EventKind::hung, "system", "mute") >= 0;
  }));
}

}  // namespace
}  // namespace hamon::test
