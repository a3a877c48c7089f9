// hamon-scale: how long a node of N processes takes to come up, to answer a storm (every
// process SIGKILLed at once) and to go down, against the floor of this harness starting and
// killing the same N programs itself.
//
//   hamon-scale --processes 4096 [--runs 3]
//
// Each run is a fresh node of N `/bin/sleep` processes (ready when spawned) brought up with the
// real `hamon up`; the figures are the time `hamon up` and `hamon down` take to return (`up`
// includes its settle window: each process watched for twice its timeout, 10 s at most, here
// 10 s), and for the storm the time until every process runs again under a new pid. Prints the
// machine, each run, and the median with the range over the runs.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/node_view.hpp"
#include "hamon/shm/control_segment.hpp"

namespace {

namespace shm = hamon::shm;
namespace node = hamon::node;
using hamon::bench::bin;
using hamon::bench::run;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Figures {
  double up = -1, storm = -1, down = -1;
};

// One node of `n` processes: up, storm, down. Negative figures: that step failed.
Figures node_run(int n, int index) {
  Figures f;
  hamon::bench::TempDir dir;
  const std::string cluster = "scale" + std::to_string(::getpid()) + "x" + std::to_string(index);
  const std::string config = dir.path + "/node.toml";
  {
    std::ofstream out(config);
    out << "[cluster]\nname = \"" << cluster
        << "\"\n[[cluster.node]]\nid = \"a\"\nside = \"primary\"\naddress = \"127.0.0.1:7411\"\n"
        << "[defaults]\ninterval = \"1s\"\ntimeout = \"10s\"\nready = \"spawn\"\n"
        << "restart_delay = \"0s\"\nrestart_delay_max = \"0s\"\nrestart_budget = 1000\n";
    for (int i = 0; i < n; ++i) {
      out << "[[system.process]]\nname = \"p" << i
          << "\"\ncommand = [\"/bin/sleep\", \"1000000\"]\n";
    }
  }
  ::setenv("HAMON_RUNTIME_DIR", (dir.path + "/run").c_str(), 1);
  const std::vector<std::string> hamon_up{bin("hamon"), "up", "--config",  config,
                                          "--node",     "a",  "--timeout", "600s"};
  const std::vector<std::string> hamon_down{bin("hamon"), "down", "--config",  config,
                                            "--node",     "a",    "--timeout", "600s"};
  auto t0 = Clock::now();
  const int up = run(hamon_up, true);
  f.up = up == 0 ? since(t0) : -1;
  auto ctl =
      shm::ControlSegment::attach(node::control_segment_name(cluster, "a"), shm::Access::read_only);
  if (up == 0 && ctl) {
    std::set<pid_t> killed;
    for (const auto& p : node::read_view(*ctl).processes) killed.insert(p.pid);
    t0 = Clock::now();
    for (const pid_t pid : killed) ::kill(pid, SIGKILL);
    const auto deadline = t0 + std::chrono::seconds(600);
    while (Clock::now() < deadline) {
      const auto v = node::read_view(*ctl);
      const bool all = std::all_of(v.processes.begin(), v.processes.end(), [&](const auto& p) {
        return p.pid > 0 && p.state == "running" && killed.count(p.pid) == 0;
      });
      if (all) {
        f.storm = since(t0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  t0 = Clock::now();
  const int down = run(hamon_down, true);
  f.down = down == 0 ? since(t0) : -1;
  return f;
}

// The floor: this harness spawning the same programs and then killing and reaping them all.
Figures floor_run(int n) {
  Figures f;
  std::vector<pid_t> pids;
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    const std::vector<std::string> argv{"/bin/sleep", "1000000"};
    std::vector<char*> args{const_cast<char*>(argv[0].c_str()), const_cast<char*>(argv[1].c_str()),
                            nullptr};
    pid_t pid = -1;
    if (::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) == 0) {
      pids.push_back(pid);
    }
  }
  f.up = since(t0);
  t0 = Clock::now();
  for (const pid_t pid : pids) ::kill(pid, SIGKILL);
  for (const pid_t pid : pids) ::waitpid(pid, nullptr, 0);
  f.down = since(t0);
  return f;
}

void summary(const char* what, std::vector<double> s) {
  if (s.empty() || *std::min_element(s.begin(), s.end()) < 0) {
    std::printf("  %-8s failed in at least one run\n", what);
    return;
  }
  std::sort(s.begin(), s.end());
  std::printf("  %-8s median %7.2f s  (range %.2f–%.2f s over %zu runs)\n", what, s[s.size() / 2],
              s.front(), s.back(), s.size());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hamon-scale: up, storm and down times of a node of N processes"};
  int n = 1000, runs = 3;
  app.add_option("--processes", n, "processes in the node")->check(CLI::Range(1, 65536));
  app.add_option("--runs", runs, "fresh nodes to measure")->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);
  hamon::bench::print_machine();
  std::vector<double> up, storm, down, floor_up, floor_down;
  for (int r = 0; r < runs; ++r) {
    const Figures h = node_run(n, r);
    const Figures b = floor_run(n);
    std::printf(
        "run %d: hamon up %.2f s, storm %.2f s, down %.2f s; floor spawn %.2f s, "
        "kill+reap %.2f s\n",
        r + 1, h.up, h.storm, h.down, b.up, b.down);
    std::fflush(stdout);
    up.push_back(h.up);
    storm.push_back(h.storm);
    down.push_back(h.down);
    floor_up.push_back(b.up);
    floor_down.push_back(b.down);
  }
  std::printf("%d processes:\n", n);
  summary("up", up);
  summary("storm", storm);
  summary("down", down);
  summary("floor up", floor_up);
  summary("floor dn", floor_down);
  return 0;
}
