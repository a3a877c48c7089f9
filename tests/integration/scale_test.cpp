// 4096 processes on one node: they all come up, every one of them SIGKILLed at once is
// restarted exactly once, and `down` stops them all. Checked against /proc, not only against
// hamon's own view: nothing lost, nothing doubled, nothing left.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "node_processes.hpp"
#include "test_node.hpp"

namespace hamon::test {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Scale, FourThousandProcessesComeUpSurviveAStormAndGoDownWithNothingLost) {
  constexpr int kProcesses = 4096;
  // Restarts at once and without limit: the storm must be answered by exactly one restart each.
  std::string config =
      "[defaults]\ninterval = \"1s\"\ntimeout = \"10s\"\nready = \"spawn\"\n"
      "restart_delay = \"0s\"\nrestart_delay_max = \"0s\"\nrestart_budget = 1000\n";
  for (int i = 0; i < kProcesses; ++i) {
    config += "\n[[system.process]]\nname = \"p" + std::to_string(i) +
              "\"\ncommand = [\"/bin/sleep\", \"1000000\"]\n";
  }
  TestNode node(config);
  const std::string runtime = std::getenv("HAMON_RUNTIME_DIR");

  auto t0 = std::chrono::steady_clock::now();
  const auto up = node.hamon({"up", "--timeout", "300s"});
  std::printf("up: %d processes in %.2f s\n", kProcesses, seconds_since(t0));
  ASSERT_EQ(up.code, 0) << up.err;
  auto all_running = [&](const node::NodeView& v, std::uint64_t incarnation) {
    int n = 0;
    for (const auto& p : v.processes) {
      n += p.pid > 0 && p.state == "running" && p.incarnation >= incarnation;
    }
    return n == kProcesses;
  };
  ASSERT_TRUE(node.wait([&](const auto& v) { return all_running(v, 1); }));
  const auto first = node.view();
  auto procs = node_processes(runtime);
  ASSERT_EQ(procs.size(), static_cast<std::size_t>(kProcesses));
  for (const auto& [slot, pids] : procs) EXPECT_EQ(pids.size(), 1u) << slot << " runs twice";

  // The storm: every process SIGKILLed at once (by the pids hamon reports and /proc confirms).
  std::map<std::string, std::uint64_t> incarnation;
  std::set<pid_t> killed;
  for (const auto& p : first.processes) {
    incarnation[p.name] = p.incarnation;
    killed.insert(p.pid);
  }
  t0 = std::chrono::steady_clock::now();
  for (const pid_t pid : killed) ::kill(pid, SIGKILL);
  ASSERT_TRUE(node.wait(
      [&](const auto& v) {
        for (const auto& p : v.processes) {
          if (p.pid <= 0 || p.state != "running" || killed.count(p.pid) != 0) return false;
        }
        return v.processes.size() == static_cast<std::size_t>(kProcesses);
      },
      std::chrono::seconds(120)))
      << "not every killed process was restarted";
  std::printf("storm: %d processes killed and restarted in %.2f s\n", kProcesses,
              seconds_since(t0));
  const auto after = node.view();
  for (const auto& p : after.processes) {
    EXPECT_GT(p.incarnation, incarnation[p.name]) << p.name;
    EXPECT_EQ(p.restarts, 1u) << p.name << " restarted other than once";
  }
  procs = node_processes(runtime);
  EXPECT_EQ(procs.size(), static_cast<std::size_t>(kProcesses));
  std::set<pid_t> live;
  for (const auto& [slot, pids] : procs) {
    EXPECT_EQ(pids.size(), 1u) << slot << " runs twice";
    live.insert(pids.begin(), pids.end());
  }
  std::set<pid_t> reported;
  for (const auto& p : after.processes) reported.insert(p.pid);
  EXPECT_EQ(live, reported) << "hamon's view and /proc disagree after the storm";
  for (const auto& d : after.daemons) {
    EXPECT_EQ(d.restarts, 0u) << d.name << " was restarted during the storm";
  }

  t0 = std::chrono::steady_clock::now();
  const auto down = node.hamon({"down", "--timeout", "300s"});
  std::printf("down: %d processes in %.2f s\n", kProcesses, seconds_since(t0));
  EXPECT_EQ(down.code, 0) << down.err;
  const auto left = node_processes(runtime);
  EXPECT_TRUE(left.empty()) << left.size() << " processes still run after down";
}

}  // namespace
}  // namespace hamon::test
