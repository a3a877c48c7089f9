// Specification of containment, on real daemons and real process trees (hamon-tree-app): what a
// process forks ends with it — at its crash, its stop, its restart and `hamon down` — whether
// its children stay in its process group, ignore SIGTERM, double-fork into a session of their
// own or are what a classic forking daemon leaves when it exits.
//
// Each pid is checked against the kernel through a pidfd (a reused pid is never mistaken for a
// survivor), and whatever hamon leaves running is SIGKILLed through that pidfd when the test ends.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hamon/node/proc.hpp"
#include "hamon/node/process_cgroup.hpp"
#include "test_node.hpp"

namespace hamon::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kGone{10'000};  // how long hamon may take to end a process, at most

struct TreeProcess {
  pid_t pid = 0;
  std::string role;  // leader, worker, stubborn, middle, grandchild, daemon
  int pidfd = -1;    // -1: it had ended already when the test read its line
};

bool ended(const TreeProcess& p) {
  if (p.pidfd < 0) return true;
  pollfd fd{p.pidfd, POLLIN, 0};
  return ::poll(&fd, 1, 0) > 0;
}

// The processes hamon-tree-app recorded in its --pids file, each held by a pidfd checked against
// the start time it recorded.
class TreePids {
 public:
  explicit TreePids(std::string path) : path_(std::move(path)) {}
  ~TreePids() {
    for (const auto& p : all_) {
      if (!ended(p)) (void)node::pidfd_signal(p.pidfd, SIGKILL);
      if (p.pidfd >= 0) ::close(p.pidfd);
    }
  }
  TreePids(const TreePids&) = delete;
  TreePids& operator=(const TreePids&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }

  // The processes recorded since the last call.
  std::vector<TreeProcess> read_new() {
    std::ifstream in(path_);
    std::vector<TreeProcess> out;
    std::size_t line_no = 0;
    for (std::string line; std::getline(in, line); ++line_no) {
      if (line_no < lines_read_) continue;
      std::istringstream fields(line);
      TreeProcess p;
      std::uint64_t ticks = 0;
      if (!(fields >> p.pid >> ticks >> p.role)) break;  // a line still being written
      const int fd = node::pidfd_open_checked(p.pid, ticks);
      p.pidfd = fd >= 0 ? fd : -1;
      all_.push_back(p);
      out.push_back(p);
      ++lines_read_;
    }
    return out;
  }

  // Reads until a line not read before records a process of `role`, or `limit` passes.
  std::vector<TreeProcess> read_until(const std::string& role, milliseconds limit = kGone) {
    std::vector<TreeProcess> out;
    for (const auto until = Clock::now() + limit; Clock::now() < until;) {
      for (auto& p : read_new()) out.push_back(p);
      for (const auto& p : out) {
        if (p.role == role) return out;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
    return out;
  }

 private:
  std::string path_;
  std::size_t lines_read_ = 0;
  std::vector<TreeProcess> all_;
};

std::vector<TreeProcess> with_role(const std::vector<TreeProcess>& ps, const std::string& role) {
  std::vector<TreeProcess> out;
  for (const auto& p : ps) {
    if (p.role == role) out.push_back(p);
  }
  return out;
}

// Waits until every process of `ps` has ended; names those that have not by `limit`.
::testing::AssertionResult all_end(const std::vector<TreeProcess>& ps, milliseconds limit = kGone) {
  if (ps.empty()) return ::testing::AssertionFailure() << "no process to watch was recorded";
  const auto until = Clock::now() + limit;
  for (;;) {
    std::string running;
    for (const auto& p : ps) {
      if (!ended(p)) running += " " + p.role + " (pid " + std::to_string(p.pid) + ")";
    }
    if (running.empty()) return ::testing::AssertionSuccess();
    if (Clock::now() >= until) {
      return ::testing::AssertionFailure()
             << "still running after " << limit.count() << " ms:" << running;
    }
    std::this_thread::sleep_for(milliseconds(2));
  }
}

std::string tree_app() { return std::string(HAMON_BIN_DIR) + "/hamon-tree-app"; }

// A node with one system process "tree": hamon-tree-app with `flags`, and the process keys
// `extra`; its pids recorded in the node's directory.
struct TreeNode {
  explicit TreeNode(const std::string& flags, const std::string& extra = "")
      : node(""), pids(node.dir() + "/pids") {
    std::string args;
    std::istringstream words(flags);
    for (std::string w; words >> w;) args += ", \"" + w + "\"";
    node.rewrite(R"(
[defaults]
interval = "20ms"
timeout = "400ms"
restart_delay = "1ms"

[[system.process]]
name = "tree"
command = [")" + tree_app() +
                 R"(", "--pids", ")" + pids.path() + "\"" + args + "]\n" + extra + "\n");
  }
  [[nodiscard]] std::optional<node::ProcessRow> tree() const {
    return node.process("system", "tree");
  }
  TestNode node;
  TreePids pids;  // after the node: its survivors are killed before the node goes down
};

bool is_running(const std::optional<node::ProcessRow>& p) {
  return p && (p->state == "running" || p->state == "ready");
}

// Runs the test without a cgroup v2 hierarchy, as on a machine where none is writable: the
// daemons that `hamon up` starts inherit the setting.
struct WithoutCgroups {
  WithoutCgroups() { ::setenv("HAMON_CGROUP_ROOT", "none", 1); }
  ~WithoutCgroups() { ::unsetenv("HAMON_CGROUP_ROOT"); }
  WithoutCgroups(const WithoutCgroups&) = delete;
  WithoutCgroups& operator=(const WithoutCgroups&) = delete;
};

void crash_leader_and_expect_worker_ends(TreeNode& t) {
  ASSERT_EQ(t.node.up().code, 0);
  const auto first = t.pids.read_until("worker");
  ASSERT_EQ(with_role(first, "worker").size(), 1u);
  const auto leader = with_role(first, "leader");
  ASSERT_EQ(leader.size(), 1u);
  const auto before = t.tree();
  ASSERT_TRUE(before);
  ASSERT_EQ(node::pidfd_signal(leader[0].pidfd, SIGKILL), 0);
  ASSERT_TRUE(t.node.wait([&](const node::NodeView&) {
    const auto p = t.tree();
    return is_running(p) && p->incarnation > before->incarnation;
  })) << "not restarted";
  EXPECT_TRUE(all_end(with_role(first, "worker"))) << "the old incarnation's worker survived";
  // The new incarnation has a worker of its own, and it runs.
  const auto second = with_role(t.pids.read_until("worker"), "worker");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(ended(second[0]));
}

TEST(ProcessTree, ACrashedLeadersWorkerDoesNotRunBesideTheRestartedOne) {
  TreeNode t("--worker");
  crash_leader_and_expect_worker_ends(t);
}

TEST(ProcessTree, WithoutCgroupsACrashedLeadersWorkerStillEnds) {
  const WithoutCgroups no_cgroups;
  TreeNode t("--worker");
  crash_leader_and_expect_worker_ends(t);
}

void stop_and_expect_stubborn_child_ends_after_stop_timeout(TreeNode& t) {
  ASSERT_EQ(t.node.up().code, 0);
  const auto stubborn = with_role(t.pids.read_until("stubborn"), "stubborn");
  ASSERT_EQ(stubborn.size(), 1u);
  const auto stop_sent = Clock::now();
  const auto r = t.node.hamon({"stop", "system/tree"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(all_end(stubborn)) << "a child that ignores SIGTERM survived the stop";
  // It was given its grace: the SIGKILL came at the stop timeout, not before.
  EXPECT_GE(Clock::now() - stop_sent, milliseconds(500));
}

TEST(ProcessTree, AChildThatIgnoresSigtermEndsAtTheStopTimeoutAfterItsLeaderExited) {
  TreeNode t("--stubborn-child", "stop_timeout = \"500ms\"");
  stop_and_expect_stubborn_child_ends_after_stop_timeout(t);
}

TEST(ProcessTree, WithoutCgroupsAChildThatIgnoresSigtermStillEndsAtTheStopTimeout) {
  const WithoutCgroups no_cgroups;
  TreeNode t("--stubborn-child", "stop_timeout = \"500ms\"");
  stop_and_expect_stubborn_child_ends_after_stop_timeout(t);
}

TEST(ProcessTree, ADoubleForkedGrandchildDoesNotSurviveAStop) {
  TreeNode t("--double-fork");
  ASSERT_EQ(t.node.up().code, 0);
  const auto grandchild = with_role(t.pids.read_until("grandchild"), "grandchild");
  ASSERT_EQ(grandchild.size(), 1u);
  const auto r = t.node.hamon({"stop", "system/tree"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(all_end(grandchild));
}

TEST(ProcessTree, ADoubleForkedGrandchildDoesNotSurviveARestart) {
  TreeNode t("--double-fork");
  ASSERT_EQ(t.node.up().code, 0);
  const auto grandchild = with_role(t.pids.read_until("grandchild"), "grandchild");
  ASSERT_EQ(grandchild.size(), 1u);
  const auto r = t.node.hamon({"restart", "system/tree"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(all_end(grandchild)) << "the old incarnation's grandchild survived the restart";
  const auto next = with_role(t.pids.read_until("grandchild"), "grandchild");
  ASSERT_EQ(next.size(), 1u);
  EXPECT_FALSE(ended(next[0])) << "the new incarnation's grandchild was killed";
}

TEST(ProcessTree, ADoubleForkedGrandchildDoesNotSurviveDown) {
  TreeNode t("--double-fork");
  ASSERT_EQ(t.node.up().code, 0);
  const auto grandchild = with_role(t.pids.read_until("grandchild"), "grandchild");
  ASSERT_EQ(grandchild.size(), 1u);
  const auto r = t.node.down();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(all_end(grandchild));
}

// `hamon down` stops what is left itself when no daemon can (docs/operations.md, "Taking a node
// down"): it too ends a process with everything it forked.
TEST(ProcessTree, DownWithoutDaemonsEndsWhatTheProcessesForked) {
  TreeNode t("--double-fork --stubborn-child", "stop_timeout = \"300ms\"");
  ASSERT_EQ(t.node.up().code, 0);
  // All are recorded before the leader is ready, which `up` waited for.
  const auto tree = t.pids.read_until("grandchild");
  ASSERT_EQ(with_role(tree, "grandchild").size(), 1u);
  ASSERT_EQ(with_role(tree, "stubborn").size(), 1u);
  const auto v = t.node.view();
  // Stopped first, killed second: no daemon is restarted by another in between.
  for (const auto& d : v.daemons) {
    if (d.pid > 0 && d.state == "running") ::kill(d.pid, SIGSTOP);
  }
  std::vector<pid_t> daemons;
  for (const auto& d : v.daemons) {
    if (d.pid > 0 && d.state == "running" && ::kill(d.pid, SIGKILL) == 0) daemons.push_back(d.pid);
  }
  // Reaped (the test is their subreaper), so that `down` finds them gone, not zombies.
  for (const auto until = Clock::now() + kGone; Clock::now() < until;) {
    reap_zombies();
    bool any = false;
    for (const pid_t pid : daemons) any = any || ::kill(pid, 0) == 0;
    if (!any) break;
    std::this_thread::sleep_for(milliseconds(2));
  }
  const auto r = t.node.down();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(all_end(with_role(tree, "grandchild")));
  EXPECT_TRUE(all_end(with_role(tree, "stubborn")));
  const std::string node_dir = node::node_cgroup_dir(t.node.cluster(), t.node.id());
  if (!node_dir.empty()) {
    EXPECT_NE(::access(node_dir.c_str(), F_OK), 0) << node_dir << " is left after down";
  }
}

TEST(ProcessTree, AProcessTreeStaysContainedAfterTheSpawnerRestarts) {
  TreeNode t("--double-fork");
  ASSERT_EQ(t.node.up().code, 0);
  const auto grandchild = with_role(t.pids.read_until("grandchild"), "grandchild");
  ASSERT_EQ(grandchild.size(), 1u);
  ASSERT_TRUE(kill_daemon_and_wait_back(t.node, "hamon-spawner"));
  EXPECT_FALSE(ended(grandchild[0])) << "a spawner restart must not stop anything";
  const auto r = t.node.hamon({"stop", "system/tree"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(all_end(grandchild));
}

// hamon follows the process it started, not a pid file: a program that forks into the
// background and exits has exited, and what it left is ended with it, never left untracked.
TEST(ProcessTree, AForkingDaemonIsEndedWithItsExitAndSaysSo) {
  TreeNode t("--daemonize", "restart = \"never\"");
  (void)t.node.up();  // it cannot come up: its leader exits at once
  const auto daemon = with_role(t.pids.read_until("daemon"), "daemon");
  ASSERT_EQ(daemon.size(), 1u);
  EXPECT_TRUE(all_end(daemon)) << "a forking daemon was left running";
  ASSERT_TRUE(t.node.wait([&](const node::NodeView&) {
    for (const auto& e : t.node.events()) {
      if (e.name == "tree" && e.detail.find("left behind") != std::string::npos) return true;
    }
    return false;
  })) << "no event says what the exit left behind";
}

TEST(ProcessTree, EachProcessHasACgroupOfItsOwnUntilDown) {
  TreeNode t("--worker");
  const std::string node_dir = node::node_cgroup_dir(t.node.cluster(), t.node.id());
  if (node_dir.empty() || ::access(node::cgroup2_root().c_str(), W_OK) != 0) {
    GTEST_SKIP() << "no writable cgroup v2 hierarchy here";
  }
  ASSERT_EQ(t.node.up().code, 0);
  const auto first = t.pids.read_until("worker");
  const std::string dir = node::process_cgroup(node_dir, "system/tree");
  auto members = node::cgroup_members(dir);
  std::sort(members.begin(), members.end());
  for (const auto& p : first) {
    EXPECT_TRUE(std::binary_search(members.begin(), members.end(), p.pid))
        << p.role << " (pid " << p.pid << ") is not in " << dir;
  }
  const auto r = t.node.down();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(all_end(first));
  EXPECT_NE(::access(node_dir.c_str(), F_OK), 0) << node_dir << " is left after down";
}

// A node started by a version before the group level has its processes' cgroups directly in the
// node's: a spawner of this version still ends what such a cgroup holds when no process of its
// own claims it, and `hamon down` removes it.
TEST(ProcessTree, ACgroupInTheLayoutBeforeTheGroupLevelIsEndedWhenUnclaimed) {
  TreeNode t("");
  const std::string node_dir = node::node_cgroup_dir(t.node.cluster(), t.node.id());
  if (node_dir.empty() || ::access(node::cgroup2_root().c_str(), W_OK) != 0) {
    GTEST_SKIP() << "no writable cgroup v2 hierarchy here";
  }
  ASSERT_EQ(t.node.up().code, 0);
  // What such a node left: a cgroup named GROUP:NAME in the node's, a process in it.
  const std::string old = node_dir + "/system:old";
  ASSERT_EQ(node::cgroup_make(old), 0);
  const pid_t stray = ::fork();
  ASSERT_GE(stray, 0);
  if (stray == 0) {
    ::execl("/bin/sleep", "sleep", "1000", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  TreeProcess p{stray, "stray", node::pidfd_open(stray)};
  std::ofstream(old + "/cgroup.procs") << stray << std::flush;
  const auto in_old = node::cgroup_members(old);
  EXPECT_EQ(in_old, std::vector<pid_t>{stray}) << "the stray is not in " << old;

  ASSERT_TRUE(kill_daemon_and_wait_back(t.node, "hamon-spawner"));
  EXPECT_TRUE(all_end({p})) << "a process in an unclaimed cgroup of the old layout survived";
  if (!ended(p)) (void)node::pidfd_signal(p.pidfd, SIGKILL);
  (void)::waitpid(stray, nullptr, 0);
  ::close(p.pidfd);
  EXPECT_TRUE(is_running(t.tree())) << "the node's own process was ended too";
  ASSERT_EQ(t.node.down().code, 0);
  EXPECT_NE(::access(node_dir.c_str(), F_OK), 0) << node_dir << " is left after down";
}

// A running process whose cgroup is in that older layout (as a node started by an earlier version
// has them) is adopted with its cgroup: a stop still ends what it double-forked, which only the
// cgroup reaches, and the tree count still shows.
TEST(ProcessTree, AProcessInTheLayoutBeforeTheGroupLevelKeepsItsWholeTreeContained) {
  TreeNode t("--double-fork");
  const std::string node_dir = node::node_cgroup_dir(t.node.cluster(), t.node.id());
  if (node_dir.empty() || ::access(node::cgroup2_root().c_str(), W_OK) != 0) {
    GTEST_SKIP() << "no writable cgroup v2 hierarchy here";
  }
  ASSERT_EQ(t.node.up().code, 0);
  const auto grandchild = with_role(t.pids.read_until("grandchild"), "grandchild");
  ASSERT_EQ(grandchild.size(), 1u);
  // Moved where an earlier version had put them, the spawner that started them gone.
  const std::string dir = node::process_cgroup(node_dir, "system/tree");
  const std::string flat = node::flat_process_cgroup(node_dir, "system/tree");
  ASSERT_EQ(node::cgroup_make(flat), 0);
  const auto members = node::cgroup_members(dir);
  ASSERT_GE(members.size(), 2u) << "leader and grandchild";
  for (const pid_t pid : members) std::ofstream(flat + "/cgroup.procs") << pid << std::flush;
  ASSERT_EQ(node::cgroup_remove(dir), 0) << "still in " << dir;
  ASSERT_TRUE(kill_daemon_and_wait_back(t.node, "hamon-spawner"));
  EXPECT_FALSE(ended(grandchild[0])) << "a spawner restart must not stop anything";
  const auto json = t.node.hamon({"status", "--json"});
  EXPECT_NE(json.out.find("\"tree\":" + std::to_string(members.size())), std::string::npos)
      << json.out;
  const auto r = t.node.hamon({"stop", "system/tree"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(all_end(grandchild)) << "the old layout's cgroup was not used to end the tree";
}

// `hamon status` counts what each process's cgroup holds: the process and all it forked.
TEST(ProcessTree, StatusShowsHowManyProcessesEachTreeHolds) {
  TreeNode t("--worker");
  const std::string node_dir = node::node_cgroup_dir(t.node.cluster(), t.node.id());
  if (node_dir.empty() || ::access(node::cgroup2_root().c_str(), W_OK) != 0) {
    GTEST_SKIP() << "no writable cgroup v2 hierarchy here";
  }
  ASSERT_EQ(t.node.up().code, 0);
  ASSERT_EQ(with_role(t.pids.read_until("worker"), "worker").size(), 1u);
  const auto json = t.node.hamon({"status", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto at = json.out.find("\"name\":\"tree\"");
  ASSERT_NE(at, std::string::npos) << json.out;
  const auto end = json.out.find('}', at);
  EXPECT_NE(json.out.substr(at, end - at).find("\"tree\":2"), std::string::npos)
      << "leader and worker are two: " << json.out.substr(at, end - at);
  const auto text = t.node.hamon({"status"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("TREE"), std::string::npos) << text.out;
}

TEST(ProcessTree, WithoutCgroupsStatusSaysTheTreeSizeIsUnknown) {
  WithoutCgroups none;
  TreeNode t("--worker");
  ASSERT_EQ(t.node.up().code, 0);
  const auto json = t.node.hamon({"status", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto at = json.out.find("\"name\":\"tree\"");
  ASSERT_NE(at, std::string::npos) << json.out;
  const auto end = json.out.find('}', at);
  EXPECT_NE(json.out.substr(at, end - at).find("\"tree\":null"), std::string::npos)
      << json.out.substr(at, end - at);
}

}  // namespace
}  // namespace hamon::test
