// Specification of a node whose runtime state is removed under it: the runtime directory (logs,
// sockets, locks, the running configuration), the control segment, a heartbeat segment. What
// can be made again is made again, supervision goes on, no process is orphaned, and the next
// `hamon up` starts nothing twice.
#include <dirent.h>
#include <gtest/gtest.h>
#include <hamon/heartbeat_abi.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "hamon/node/node.hpp"
#include "hamon/shm/control_segment.hpp"
#include "test_node.hpp"
#include "proc_file.hpp"

namespace hamon::test {
namespace {

namespace fs = std::filesystem;

const char* kRuntimeFaultsConfig = R"(
[defaults]
interval = "20ms"
timeout = "400ms"

[[system.process]]
name = "db"
command = ["@APP@"]

[[tenant]]
name = "acme"

[[tenant.process]]
name = "acd"
command = ["@APP@"]
depends_on = ["system/db"]
)";

const char* const kDaemons[] = {"hamon-watcher", "hamon-master", "hamon-spawner", "hamon-monitor",
                                "hamon-server"};

bool all_daemons_and_processes_running(const node::NodeView& v) {
  for (const auto& d : v.daemons) {
    if (d.state != "running" || d.pid <= 0) return false;
  }
  for (const auto& p : v.processes) {
    if (p.state != "running" || p.pid <= 0) return false;
  }
  return !v.daemons.empty() && !v.processes.empty();
}

::testing::AssertionResult crash_is_repaired(const TestNode& node, const std::string& group,
                                             const std::string& name) {
  const auto p = node.process(group, name);
  if (!p || p->pid <= 0) return ::testing::AssertionFailure() << name << " not running";
  if (::kill(p->pid, SIGKILL) != 0) return ::testing::AssertionFailure() << "kill " << name;
  const bool back = node.wait([&](const node::NodeView&) {
    const auto now = node.process(group, name);
    return now && now->pid > 0 && now->pid != p->pid && now->state == "running" &&
           now->heartbeat_age_us.has_value();
  });
  if (back) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << group << "/" << name << " was not restarted:\n"
                                       << node::render_table(node.view());
}

std::string env_of(pid_t pid, const std::string& key) {
  std::istringstream in(read_proc_file("/proc/" + std::to_string(pid) + "/environ"));
  for (std::string kv; std::getline(in, kv, '\0');) {
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
  }
  return "";
}

bool zombie(pid_t pid) {
  const std::string s = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = s.rfind(')');
  return close == std::string::npos || (close + 2 < s.size() && s[close + 2] == 'Z');
}

std::vector<pid_t> live_pids() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  while (const dirent* e = ::readdir(d)) {
    const auto pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid > 0 && !zombie(pid)) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

// Every live process of this node by the heartbeat slot it claims: none may run twice.
::testing::AssertionResult nothing_runs_twice_by_slot(const TestNode&) {
  const std::string runtime = std::getenv("HAMON_RUNTIME_DIR");
  std::map<std::string, int> claims;
  for (pid_t pid : live_pids()) {
    if (env_of(pid, "HAMON_RUNTIME_DIR") == runtime && !env_of(pid, HAMON_ENV_SLOT).empty()) {
      ++claims[env_of(pid, HAMON_ENV_SEGMENT) + "#" + env_of(pid, HAMON_ENV_SLOT)];
    }
  }
  for (const auto& [slot, n] : claims) {
    if (n != 1) return ::testing::AssertionFailure() << n << " processes run in " << slot;
  }
  return ::testing::AssertionSuccess();
}

// Every live instance of each daemon of this node, and every live process of this node by the
// heartbeat slot it claims: nothing may run twice.
::testing::AssertionResult nothing_runs_twice(const TestNode& node) {
  const std::string runtime = std::getenv("HAMON_RUNTIME_DIR");
  std::map<std::string, int> instances;
  std::map<std::string, int> claims;
  for (pid_t pid : live_pids()) {
    const std::string cmd = read_proc_file("/proc/" + std::to_string(pid) + "/cmdline");
    if (cmd.find(node.config_path()) != std::string::npos) {
      for (const char* d : kDaemons) {
        if (cmd.find(std::string("/") + d + '\0') != std::string::npos) ++instances[d];
      }
    }
    if (env_of(pid, "HAMON_RUNTIME_DIR") == runtime && !env_of(pid, HAMON_ENV_SLOT).empty()) {
      ++claims[env_of(pid, HAMON_ENV_SEGMENT) + "#" + env_of(pid, HAMON_ENV_SLOT)];
    }
  }
  for (const char* d : kDaemons) {
    if (instances[d] != 1) {
      return ::testing::AssertionFailure() << instances[d] << " instances of " << d;
    }
  }
  for (const auto& [slot, n] : claims) {
    if (n != 1) return ::testing::AssertionFailure() << n << " processes run in " << slot;
  }
  return ::testing::AssertionSuccess();
}

// `hamon down` works and leaves none of the processes `before` running.
::testing::AssertionResult down_stops_everything(TestNode& node, const node::NodeView& before) {
  const auto r = node.down();
  if (r.code != 0) return ::testing::AssertionFailure() << "hamon down: " << r.err;
  for (const auto& p : before.processes) {
    const bool gone = node.wait([&](const node::NodeView&) {
      reap_zombies();
      return ::kill(p.pid, 0) != 0 || zombie(p.pid);
    });
    if (!gone) return ::testing::AssertionFailure() << p.name << " still runs after down";
  }
  return ::testing::AssertionSuccess();
}

// Removes the node's runtime directory at once, as `rm -rf` would have by its end: out of its
// path in one step, then deleted (the daemons may make a new one meanwhile).
void remove_runtime_dir(const TestNode& node) {
  const std::string runtime = node::runtime_dir(node.cluster(), "a");
  const std::string gone = runtime + ".removed";
  ASSERT_EQ(::rename(runtime.c_str(), gone.c_str()), 0) << std::strerror(errno);
  fs::remove_all(gone);
}

std::string ctl_name(const TestNode& node) {
  return shm::control_segment_name(node.cluster(), "a");
}

TEST(RuntimeFaults, ARemovedRuntimeDirectoryIsMadeAgainAndSupervisionGoesOn) {
  TestNode node(kRuntimeFaultsConfig);
  ASSERT_EQ(node.up().code, 0);
  remove_runtime_dir(node);
  // A process crashes: its restart needs its log file.
  ASSERT_TRUE(crash_is_repaired(node, "system", "db"));
  // The operator's commands need the server's socket: the server listens again.
  ASSERT_TRUE(node.wait(
      [&](const node::NodeView&) { return fs::exists(node::server_socket(node.cluster(), "a")); }));
  const auto restart = node.hamon({"restart", "system/db"});
  EXPECT_EQ(restart.code, 0) << restart.err;
  // Every daemon dies in turn: each restart needs its log, its lock and the running copy; a
  // restarted master must find the daemons that still run, not start second ones.
  for (const char* d : {"hamon-master", "hamon-spawner", "hamon-monitor", "hamon-server",
                        "hamon-watcher", "hamon-master"}) {
    ASSERT_TRUE(kill_daemon_and_wait_back(node, d));
  }
  ASSERT_TRUE(crash_is_repaired(node, "acme", "acd"));
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    return fs::exists(node::running_config(node.cluster(), "a")) &&
           fs::exists(node::server_socket(node.cluster(), "a"));
  })) << "the running configuration and the server's socket are not back";
  const auto again = node.hamon({"restart", "acme/acd"});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(nothing_runs_twice(node));
  const auto up = node.up();
  EXPECT_EQ(up.code, 4) << "a second up: " << up.err;
  EXPECT_TRUE(nothing_runs_twice(node));
  EXPECT_TRUE(down_stops_everything(node, node.view()));
}

TEST(RuntimeFaults, ADaemonRestartedAtOnceAfterTheRuntimeDirectoryWentIsNotStartedTwice) {
  TestNode node(kRuntimeFaultsConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto master = daemon_row(node.view(), "hamon-master");
  ASSERT_TRUE(master.has_value());
  // The master dies with the directory that held every daemon's instance lock: its successor
  // must find the spawner, monitor and server that run, before any of them says so again.
  remove_runtime_dir(node);
  ASSERT_EQ(::kill(master->pid, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    const auto m = daemon_row(v, "hamon-master");
    return m && m->pid != master->pid && all_daemons_and_processes_running(v);
  })) << node::render_table(node.view());
  EXPECT_TRUE(nothing_runs_twice(node));
}

TEST(RuntimeFaults, ARemovedControlSegmentIsNamedAgainAndNothingIsOrphanedOrStartedTwice) {
  TestNode node(kRuntimeFaultsConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto before = node.view();
  ASSERT_TRUE(shm::Segment::remove(ctl_name(node)));
  ASSERT_TRUE(node.wait(
      [&](const node::NodeView& v) {
        return all_daemons_and_processes_running(v) && v.processes.size() == 2;
      },
      std::chrono::seconds(10)))
      << "the node's segment did not come back";
  for (const auto& p : before.processes) {
    const auto now = node.process(p.tenant, p.name);
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->pid, p.pid) << p.name << " was restarted";
    EXPECT_EQ(now->incarnation, p.incarnation) << p.name;
  }
  for (const auto& d : before.daemons) {
    EXPECT_EQ(daemon_row(node.view(), d.name)->pid, d.pid) << d.name << " was restarted";
  }
  ASSERT_TRUE(crash_is_repaired(node, "acme", "acd"));
  const auto up = node.up();
  EXPECT_EQ(up.code, 4) << "a second up: " << up.err;
  EXPECT_TRUE(nothing_runs_twice(node));
  EXPECT_TRUE(down_stops_everything(node, node.view()));
}

// Both names of the control segment go at once (the top of the watch tree frozen meanwhile, so
// that neither is given back from the other): the segment is made again from a mapping of it.
// With `master_dies`, the master is killed too, and the watcher is left to do it.
void both_names_removed(bool master_dies) {
  TestNode node(kRuntimeFaultsConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto before = node.view();
  const auto watcher = daemon_row(before, "hamon-watcher");
  const auto master = daemon_row(before, "hamon-master");
  ASSERT_TRUE(watcher && master);
  ASSERT_EQ(::kill(watcher->pid, SIGSTOP), 0);
  ASSERT_EQ(::kill(master->pid, master_dies ? SIGKILL : SIGSTOP), 0);
  ASSERT_TRUE(shm::Segment::remove(ctl_name(node)));
  ASSERT_EQ(::unlink(("/dev/shm/." + ctl_name(node)).c_str()), 0) << "no hidden name";
  if (!master_dies) {
    ASSERT_EQ(::kill(master->pid, SIGCONT), 0);
  }
  ASSERT_EQ(::kill(watcher->pid, SIGCONT), 0);
  ASSERT_TRUE(node.wait(
      [&](const node::NodeView& v) {
        const auto s = daemon_row(v, "hamon-spawner");
        // By pid: the watcher's rescue kills the spawner and the master restarts it in the
        // segment made again, whose restart count is not this one's.
        return all_daemons_and_processes_running(v) && s &&
               s->pid != daemon_row(before, "hamon-spawner")->pid;
      },
      std::chrono::seconds(10)))
      << "the node's segment was not made again:\n"
      << node::render_table(node.view());
  for (const auto& p : before.processes) {
    const auto now = node.process(p.tenant, p.name);
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->pid, p.pid) << p.name << " was restarted";
    EXPECT_EQ(now->incarnation, p.incarnation) << p.name;
  }
  EXPECT_EQ(daemon_row(node.view(), "hamon-watcher")->pid, watcher->pid);
  ASSERT_TRUE(crash_is_repaired(node, "acme", "acd"));
  const auto up = node.up();
  EXPECT_EQ(up.code, 4) << "a second up: " << up.err;
  EXPECT_TRUE(nothing_runs_twice(node));
  EXPECT_TRUE(down_stops_everything(node, node.view()));
}

TEST(RuntimeFaults, AControlSegmentThatLostBothNamesIsMadeAgainFromTheMastersMapping) {
  both_names_removed(false);
}

TEST(RuntimeFaults, AControlSegmentThatLostBothNamesWithItsMasterIsMadeAgainByTheWatcher) {
  both_names_removed(true);
}

TEST(RuntimeFaults, UpAfterTheTopDiedAndTheSegmentsNameWentTakesTheNodeOverInsteadOfDoublingIt) {
  TestNode node(kRuntimeFaultsConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto before = node.view();
  const auto watcher = daemon_row(before, "hamon-watcher");
  const auto master = daemon_row(before, "hamon-master");
  ASSERT_TRUE(watcher && master);
  ASSERT_EQ(::kill(watcher->pid, SIGSTOP), 0);
  ASSERT_EQ(::kill(master->pid, SIGKILL), 0);
  ASSERT_EQ(::kill(watcher->pid, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    reap_zombies();
    return ::kill(watcher->pid, 0) != 0 && ::kill(master->pid, 0) != 0;
  }));
  ASSERT_TRUE(shm::Segment::remove(ctl_name(node)));
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  for (const auto& p : before.processes) {
    const auto now = node.process(p.tenant, p.name);
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->pid, p.pid) << p.name << " was started again";
  }
  EXPECT_TRUE(nothing_runs_twice(node));
  EXPECT_TRUE(down_stops_everything(node, node.view()));
}

TEST(RuntimeFaults, UpRefusesANodeWhoseSegmentIsLostWhileItsProcessesRun) {
  TestNode node(kRuntimeFaultsConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto before = node.view();
  // Every daemon dies (frozen first), then both names of the control segment go: nothing holds
  // the node's state any more, only the processes' environments say they are its.
  for (const auto& d : before.daemons) ASSERT_EQ(::kill(d.pid, SIGSTOP), 0);
  for (const auto& d : before.daemons) ASSERT_EQ(::kill(d.pid, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    reap_zombies();
    for (const auto& d : before.daemons) {
      if (::kill(d.pid, 0) == 0 && !zombie(d.pid)) return false;
    }
    return true;
  }));
  ASSERT_TRUE(shm::Segment::remove(ctl_name(node)));
  ASSERT_EQ(::unlink(("/dev/shm/." + ctl_name(node)).c_str()), 0);
  const auto up = node.up();
  EXPECT_EQ(up.code, 4) << up.out;
  EXPECT_NE(up.err.find("still run but its control segment is gone"), std::string::npos) << up.err;
  for (const auto& p : before.processes) {
    EXPECT_EQ(::kill(p.pid, 0), 0) << p.name << " was stopped";
  }
  EXPECT_TRUE(nothing_runs_twice_by_slot(node));
}

TEST(RuntimeFaults, ARemovedHeartbeatSegmentIsNamedAgainForTheNextStart) {
  TestNode node(kRuntimeFaultsConfig);
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(shm::Segment::remove(shm::heartbeat_segment_name(node.cluster(), "a", "acme")));
  // At once, before any daemon has looked: the restart itself must not fail for it.
  ASSERT_TRUE(crash_is_repaired(node, "acme", "acd"));
  EXPECT_EQ(node.process("acme", "acd")->restarts, 1u) << "its restart failed at first";
  ASSERT_TRUE(kill_daemon_and_wait_back(node, "hamon-monitor"));
  ASSERT_TRUE(crash_is_repaired(node, "acme", "acd"));
  EXPECT_TRUE(nothing_runs_twice(node));
}

}  // namespace
}  // namespace hamon::test
