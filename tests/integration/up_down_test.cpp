// Specification of `hamon up` and `hamon down` whatever state the node's daemons are in: `down`
// stops every process hamon started or fails saying what is left; `up` over a node whose processes
// still run adopts them or refuses, never starts them twice; `up` of a process that keeps failing
// gives the same answer every time.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "hamon/node/instance_lock.hpp"
#include "hamon/node/node.hpp"
#include "proc_file.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/shm/control_segment.hpp"
#include "test_node.hpp"
#include "test_support.hpp"

namespace hamon::test {
namespace {

const char* kUpDownConfig = R"(
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

constexpr std::size_t kProcesses = 3;

// /proc files of processes that may exit meanwhile: never a throw.
// Every process on this machine whose environment places it in one of this node's heartbeat
// segments: what hamon started for the node, whether or not any record of it is left. A zombie
// has no environment, so only live processes count.
std::vector<pid_t> node_processes(const std::string& cluster) {
  const std::string mark =
      "HAMON_HEARTBEAT_SEGMENT=/" + shm::heartbeat_segment_name(cluster, "a", "");
  std::vector<pid_t> out;
  if (DIR* d = ::opendir("/proc")) {
    while (const dirent* e = ::readdir(d)) {
      const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
      if (pid <= 0) continue;
      const std::string env = read_proc_file("/proc/" + std::to_string(pid) + "/environ");
      for (std::size_t at = 0; at < env.size();) {
        const std::size_t end = env.find('\0', at);
        if (env.compare(at, mark.size(), mark) == 0) {
          out.push_back(pid);
          break;
        }
        if (end == std::string::npos) break;
        at = end + 1;
      }
    }
    ::closedir(d);
  }
  return out;
}

// Daemons on this machine started for this node's configuration file: `binary` with `config` in
// its command line (a zombie has none).
std::vector<pid_t> node_daemons(const std::string& config, const std::string& binary) {
  std::vector<pid_t> out;
  if (DIR* d = ::opendir("/proc")) {
    while (const dirent* e = ::readdir(d)) {
      const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
      if (pid <= 0) continue;
      const std::string cmd = read_proc_file("/proc/" + std::to_string(pid) + "/cmdline");
      const std::string argv0 = cmd.substr(0, cmd.find('\0'));
      if (argv0.size() >= binary.size() &&
          argv0.compare(argv0.size() - binary.size(), binary.size(), binary) == 0 &&
          cmd.find(std::string(1, '\0') + config + '\0') != std::string::npos) {
        out.push_back(pid);
      }
    }
    ::closedir(d);
  }
  return out;
}

std::size_t all_daemons(const std::string& config) {
  std::size_t n = 0;
  for (const char* b :
       {"hamon-watcher", "hamon-master", "hamon-spawner", "hamon-monitor", "hamon-server"}) {
    n += node_daemons(config, b).size();
  }
  return n;
}

bool segment_exists(const std::string& cluster) {
  return static_cast<bool>(
      shm::ControlSegment::attach(shm::control_segment_name(cluster, "a"), shm::Access::read_only));
}

// When the test ends, the node is taken down, and whatever a failing `down` left of it, found by
// environment or command line, is killed: through a pidfd, opened first and then checked to
// still name the process that was found.
class Sweeper {
 public:
  explicit Sweeper(TestNode& node) : node_(node) {}
  ~Sweeper() {
    if (segment_exists(node_.cluster())) (void)node_.down();
    for (int pass = 0; pass < 3; ++pass) {
      std::vector<pid_t> left = node_processes(node_.cluster());
      for (const char* b :
           {"hamon-watcher", "hamon-master", "hamon-spawner", "hamon-monitor", "hamon-server"}) {
        for (pid_t pid : node_daemons(node_.config_path(), b)) left.push_back(pid);
      }
      if (left.empty()) return;
      for (pid_t pid : left) {
        const int fd = node::pidfd_open(pid);
        if (fd < 0) continue;
        const auto& p = node_processes(node_.cluster());
        const bool still_ours =
            std::find(p.begin(), p.end(), pid) != p.end() ||
            read_proc_file("/proc/" + std::to_string(pid) + "/cmdline").find(node_.config_path()) !=
                std::string::npos;
        if (still_ours) (void)node::pidfd_signal(fd, SIGKILL);
        ::close(fd);
      }
      wait_until([&] {
        reap_zombies();
        return node_processes(node_.cluster()).empty() && all_daemons(node_.config_path()) == 0;
      });
    }
  }
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

 private:
  TestNode& node_;
};

std::int32_t daemon_pid(const node::NodeView& v, const std::string& name) {
  for (const auto& d : v.daemons) {
    if (d.name == name && d.state == "running") return d.pid;
  }
  return 0;
}

// Nothing of the node is left on the machine: no process, no daemon, no segment.
void expect_gone(const TestNode& node, const std::string& when) {
  EXPECT_TRUE(wait_until(
      [&] {
        reap_zombies();
        return node_processes(node.cluster()).empty() && all_daemons(node.config_path()) == 0;
      },
      std::chrono::seconds(5)))
      << when << ": " << node_processes(node.cluster()).size() << " processes and "
      << all_daemons(node.config_path()) << " daemons of the node still run";
  EXPECT_FALSE(segment_exists(node.cluster())) << when << ": the control segment is left";
}

// Busy loops on every core, so that every start, exec and reply takes its time.
class CpuLoad {
 public:
  CpuLoad() {
    const unsigned n = 2 * std::max(1U, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) {
      hogs_.push_back(std::make_unique<Child>([] {
        volatile unsigned long spins = 0;
        for (;;) {
          spins = spins + 1;
        }
        return 0;
      }));
    }
  }

 private:
  std::vector<std::unique_ptr<Child>> hogs_;
};

TEST(UpDown, DownRightAfterTheServerWasKilledStopsEveryProcess) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  for (int round = 0; round < 3; ++round) {
    const auto up = node.up();
    ASSERT_EQ(up.code, 0) << "round " << round << ": " << up.err;
    ASSERT_EQ(node_processes(node.cluster()).size(), kProcesses);
    const std::int32_t server = daemon_pid(node.view(), "hamon-server");
    ASSERT_GT(server, 0);
    ASSERT_EQ(::kill(server, SIGKILL), 0);
    const auto down = node.down();
    EXPECT_EQ(down.code, 0) << "round " << round << ": " << down.err;
    expect_gone(node, "round " + std::to_string(round));
  }
}

TEST(UpDown, DownWithAGarbageConfigurationOnDiskStopsEveryProcess) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  std::ofstream(node.config_path(), std::ios::trunc) << "\x01\x02 this is [not toml\n";
  const auto down = node.down();
  EXPECT_EQ(down.code, 0) << down.err;
  expect_gone(node, "down with a garbage file");
}

TEST(UpDown, DownWithAGarbageConfigurationFindsANodeNotStartedByHamonUp) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  // As under systemd, which starts hamon-watcher itself: no record of the file; the daemons'
  // command lines name it.
  ASSERT_EQ(::unlink((node::runtime_dir(node.cluster(), "a") + "/config-path").c_str()), 0);
  std::ofstream(node.config_path(), std::ios::trunc) << "[cluster\nname = 3\n";
  const auto down = node.down();
  EXPECT_EQ(down.code, 0) << down.err;
  expect_gone(node, "down with a garbage file");
}

TEST(UpDown, DownWithAGarbageConfigurationAndTheServerKilledStopsEveryProcess) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  std::ofstream(node.config_path(), std::ios::trunc) << "[cluster\nname = 3\n";
  const std::int32_t server = daemon_pid(node.view(), "hamon-server");
  ASSERT_GT(server, 0);
  ASSERT_EQ(::kill(server, SIGKILL), 0);
  const auto down = node.down();
  EXPECT_EQ(down.code, 0) << down.err;
  expect_gone(node, "down with a garbage file and no server");
}

TEST(UpDown, DownWhenNoServerCanStartStopsEveryProcessItselfAndSaysWhich) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  // A directory where the server's socket goes: every new server fails to listen and exits.
  const std::string sock = node::server_socket(node.cluster(), "a");
  const std::int32_t server = daemon_pid(node.view(), "hamon-server");
  ASSERT_GT(server, 0);
  ASSERT_EQ(::kill(server, SIGKILL), 0);
  ::unlink(sock.c_str());
  ASSERT_EQ(::mkdir(sock.c_str(), 0700), 0);
  const auto down = node.down();
  ::rmdir(sock.c_str());
  EXPECT_EQ(down.code, 0) << down.err;
  for (const char* name : {"system/db", "system/sipd", "acme/acd"}) {
    EXPECT_NE(down.out.find(name), std::string::npos) << "stopped " << name << ":\n" << down.out;
  }
  expect_gone(node, "down without a server");
}

TEST(UpDown, DownOfANodeWhoseDaemonsAllDiedStopsItsProcesses) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  const auto v = node.view();
  for (const auto& d : v.daemons) {
    if (d.pid > 0 && d.state == "running") ::kill(d.pid, SIGSTOP);
  }
  for (const auto& d : v.daemons) {
    if (d.pid > 0 && d.state == "running") ::kill(d.pid, SIGKILL);
  }
  ASSERT_TRUE(wait_until(
      [&] {
        reap_zombies();
        return all_daemons(node.config_path()) == 0;
      },
      std::chrono::seconds(10)));
  ASSERT_EQ(node_processes(node.cluster()).size(), kProcesses);
  const auto down = node.down();
  EXPECT_EQ(down.code, 0) << down.err;
  expect_gone(node, "down without daemons");
}

TEST(UpDown, DownWhenNoSpawnerCanStartStopsEveryProcessItself) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  // The spawner's log is where its stdout goes: a directory there, and every new spawner fails
  // to start.
  const std::string log = node::log_dir(node.cluster(), "a") + "/hamon-spawner.log";
  const std::int32_t spawner = daemon_pid(node.view(), "hamon-spawner");
  ASSERT_GT(spawner, 0);
  ASSERT_EQ(::rename(log.c_str(), (log + ".old").c_str()), 0);
  ASSERT_EQ(::mkdir(log.c_str(), 0700), 0);
  ASSERT_EQ(::kill(spawner, SIGKILL), 0);
  const auto down = node.down();
  ::rmdir(log.c_str());
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_NE(down.out.find("hamon-spawner"), std::string::npos) << down.out;
  expect_gone(node, "down without a spawner");
}

// A process that ignores SIGTERM and is given long to stop.
const char* kStubborn = R"(
[[system.process]]
name = "stubborn"
command = ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"]
ready = "spawn"
stop_timeout = "4s"
)";

TEST(UpDown, DownThatCannotFinishInTimeFailsNamingWhatIsLeftAndASecondDownFinishes) {
  TestNode node(std::string(kUpDownConfig) + kStubborn);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  const auto down = node.hamon({"down", "--timeout", "500ms"});
  EXPECT_EQ(down.code, 6) << down.err;
  EXPECT_NE(down.err.find("system/stubborn"), std::string::npos) << down.err;
  EXPECT_TRUE(segment_exists(node.cluster())) << "what is left is still known to the node";
  const auto again = node.down();
  EXPECT_EQ(again.code, 0) << again.err;
  expect_gone(node, "the second down");
}

TEST(UpDown, DownWithoutAServerThatCannotFinishInTimeKeepsTheNodeKnown) {
  TestNode node(std::string(kUpDownConfig) + kStubborn);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  const std::string sock = node::server_socket(node.cluster(), "a");
  const std::int32_t server = daemon_pid(node.view(), "hamon-server");
  ASSERT_GT(server, 0);
  ASSERT_EQ(::kill(server, SIGKILL), 0);
  ::unlink(sock.c_str());
  ASSERT_EQ(::mkdir(sock.c_str(), 0700), 0);
  const auto down = node.hamon({"down", "--timeout", "1s"});
  EXPECT_EQ(down.code, 6) << down.err;
  EXPECT_NE(down.err.find("system/stubborn"), std::string::npos) << down.err;
  EXPECT_TRUE(segment_exists(node.cluster())) << "what is left is still known to the node";
  ::rmdir(sock.c_str());
  const auto again = node.down();
  EXPECT_EQ(again.code, 0) << again.err;
  expect_gone(node, "the second down");
}

TEST(UpDown, UpOverANodeWhoseDaemonsAllDiedAdoptsItsProcesses) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  ASSERT_EQ(node.up().code, 0);
  std::map<std::string, node::ProcessRow> before;
  for (const auto& p : node.view().processes) before[p.tenant + "/" + p.name] = p;
  // The daemons are frozen first, so none restarts another in between.
  const auto v = node.view();
  for (const auto& d : v.daemons) {
    if (d.pid > 0 && d.state == "running") ::kill(d.pid, SIGSTOP);
  }
  for (const auto& d : v.daemons) {
    if (d.pid > 0 && d.state == "running") ::kill(d.pid, SIGKILL);
  }
  ASSERT_TRUE(wait_until(
      [&] {
        reap_zombies();
        return all_daemons(node.config_path()) == 0;
      },
      std::chrono::seconds(10)));
  ASSERT_EQ(node_processes(node.cluster()).size(), kProcesses);
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  for (const auto& p : node.view().processes) {
    const auto& was = before[p.tenant + "/" + p.name];
    EXPECT_EQ(p.pid, was.pid) << p.name << " was started again";
    EXPECT_EQ(p.incarnation, was.incarnation) << p.name;
  }
  EXPECT_EQ(node_processes(node.cluster()).size(), kProcesses);
}

TEST(UpDown, TwoUpsAtOnceUnderLoadStartTheNodeOnceAndOneIsRefused) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  CpuLoad load;
  for (int round = 0; round < 3; ++round) {
    auto first = std::async(std::launch::async, [&] { return node.up(); });
    auto second = std::async(std::launch::async, [&] { return node.up(); });
    const RunResult a = first.get(), b = second.get();
    const int ok = (a.code == 0) + (b.code == 0);
    const int refused = (a.code == 4) + (b.code == 4);
    EXPECT_EQ(ok, 1) << "round " << round << ": " << a.code << " " << a.err << " / " << b.code
                     << " " << b.err;
    EXPECT_EQ(refused, 1) << "round " << round << ": " << a.code << " / " << b.code;
    EXPECT_EQ(node_processes(node.cluster()).size(), kProcesses) << "round " << round;
    EXPECT_EQ(node_daemons(node.config_path(), "hamon-watcher").size(), 1u) << "round " << round;
    EXPECT_EQ(node_daemons(node.config_path(), "hamon-master").size(), 1u) << "round " << round;
    const auto down = node.down();
    EXPECT_EQ(down.code, 0) << down.err;
    expect_gone(node, "round " + std::to_string(round));
  }
}

TEST(UpDown, UpOverADeadNodesSegmentsUnderLoadWaitsForItsOwnNodeAndASecondUpIsRefused) {
  TestNode node(kUpDownConfig);
  Sweeper sweep(node);
  CpuLoad load;
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(node.up().code, 0);
    // Everything dies at once, as in a crash of the whole node; the segments stay behind.
    const auto v = node.view();
    for (const auto& d : v.daemons) {
      if (d.pid > 0 && d.state == "running") ::kill(d.pid, SIGSTOP);
    }
    for (const auto& d : v.daemons) {
      if (d.pid > 0 && d.state == "running") ::kill(d.pid, SIGKILL);
    }
    for (const auto& p : v.processes) ::kill(p.pid, SIGKILL);
    ASSERT_TRUE(wait_until(
        [&] {
          reap_zombies();
          return all_daemons(node.config_path()) == 0 && node_processes(node.cluster()).empty();
        },
        std::chrono::seconds(10)));
    const auto up = node.up();
    ASSERT_EQ(up.code, 0) << up.err;
    // Returned once its own node is up: the daemons it started run, and so does every process.
    EXPECT_EQ(node_daemons(node.config_path(), "hamon-watcher").size(), 1u) << "round " << round;
    EXPECT_EQ(node_daemons(node.config_path(), "hamon-master").size(), 1u) << "round " << round;
    EXPECT_EQ(node_processes(node.cluster()).size(), kProcesses) << "round " << round;
    const auto again = node.up();
    EXPECT_EQ(again.code, 4) << "round " << round << ": " << again.err;
    EXPECT_EQ(node_daemons(node.config_path(), "hamon-master").size(), 1u) << "round " << round;
    const auto down = node.down();
    EXPECT_EQ(down.code, 0) << down.err;
    expect_gone(node, "round " + std::to_string(round));
  }
}

// Crashes after three beats (30 ms), every time; a small budget runs out within a second.
const char* kCrashLoop = R"(
[[system.process]]
name = "loop"
command = ["@APP@", "--crash-after", "3"]
restart_budget = 2
restart_delay = "0s"
)";

TEST(UpDown, UpOfAProcessThatKeepsCrashingExitsFiveNamingItEveryTime) {
  TestNode node(std::string(kUpDownConfig) + kCrashLoop);
  Sweeper sweep(node);
  for (int round = 0; round < 5; ++round) {
    const auto up = node.up();
    EXPECT_EQ(up.code, 5) << "round " << round << ": " << up.err;
    EXPECT_NE(up.err.find("system/loop"), std::string::npos) << up.err;
    const auto down = node.down();
    EXPECT_EQ(down.code, 0) << down.err;
  }
}

TEST(UpDown, UpOfAProcessStillCrashingAtTheDeadlineExitsFiveNamingIt) {
  TestNode node(std::string(kUpDownConfig) +
                "\n[[system.process]]\nname = \"storm\"\n"
                "command = [\"@APP@\", \"--crash-after\", \"3\"]\n"
                "restart_budget = 100000\nrestart_delay = \"0s\"\n");
  for (int round = 0; round < 3; ++round) {
    // Long enough for the daemons to come up under a sanitizer on a loaded machine; the storm
    // never stops crashing, so the deadline always finds it failing.
    const auto up = node.hamon({"up", "--timeout", "5s"});
    EXPECT_EQ(up.code, 5) << "round " << round << ": " << up.err;
    EXPECT_NE(up.err.find("system/storm"), std::string::npos) << up.err;
    const auto down = node.down();
    EXPECT_EQ(down.code, 0) << down.err;
  }
}

TEST(UpDown, DownWhileUpStillWaitsStopsTheNodeAndUpSaysSo) {
  TestNode node(std::string(kUpDownConfig) +
                "\n[[system.process]]\nname = \"storm\"\n"
                "command = [\"@APP@\", \"--crash-after\", \"3\"]\n"
                "restart_budget = 100000\nrestart_delay = \"0s\"\n");
  Sweeper sweep(node);
  auto up = std::async(std::launch::async, [&] { return node.hamon({"up", "--timeout", "20s"}); });
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto s = node.process("system", "storm");
    return s && s->restarts >= 2;
  })) << "no storm";
  const auto down = node.down();
  EXPECT_EQ(down.code, 0) << down.err;
  const RunResult u = up.get();
  // Had `down` waited for `up` to give up, `up` would have said the storm keeps failing (5).
  // Instead `up` saw its node stop (4), or, looking between the stop request and the end, every
  // process still wanted up (0): the storm is wanted no more.
  EXPECT_TRUE(u.code == 4 || u.code == 0) << u.code << ": " << u.err;
  expect_gone(node, "down during up");
}

}  // namespace
}  // namespace hamon::test
