// The chaos run: many random SIGKILLs across the daemons and the monitored processes, then the
// node must have converged with every invariant intact. Not part of the test suite (it takes a
// few minutes); run it with scripts/chaos [KILLS].
//
// Among the kills, other faults an operator or the machine inflicts:
//  - the configuration file is edited badly on disk (and `hamon reload` of it is refused), or
//    put right again and reloaded;
//  - the runtime directory is removed (logs, socket, locks, the running configuration);
//  - the control segment's name is removed from /dev/shm;
//  - all along, a hostile tenant ("rogue", tests/support/hostile_tenant.c) scribbles over its own
//    heartbeat segment, header included, and truncates it, every incarnation again: hamon makes
//    the segment anew each time, and nothing of the other tenants or hamon may notice.
// When the watcher and the master die together, the test plays init as the systemd unit does:
// hamon-watcher on the operator's file, however it is, again until it stays.
//
// Invariants checked at every checkpoint:
//  - every daemon and every process runs again;
//  - a process that was never killed still has its first pid and incarnation (the rogue's are
//    restarted by their own damage, and are not counted);
//  - no process runs twice (two live processes of this node claiming one heartbeat slot);
//  - `hamon status --json` names exactly the processes that run (compared with /proc; the
//    rogue's, which restart all the time, aside);
//  - no daemon has a zombie child.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hamon/heartbeat_abi.h>
#include <signal.h>
#include <spawn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "hamon/node/node.hpp"
#include "hamon/shm/control_segment.hpp"
#include "test_node.hpp"

extern char** environ;

namespace hamon::test {
namespace {

const char* kConfig = R"(
[defaults]
interval = "20ms"
timeout = "300ms"
restart_delay = "1ms"
restart_budget = 1000000
restart_window = "1s"
restart_with_dependencies = false

[[system.process]]
name = "db"
command = ["@APP@"]

[[system.process]]
name = "sipd"
command = ["@APP@"]
depends_on = ["db"]

[[system.process]]
name = "steady"
command = ["@APP@"]

[[tenant]]
name = "acme"

[[tenant.process]]
name = "acd"
command = ["@APP@"]
depends_on = ["system/sipd"]

[[tenant.process]]
name = "reports"
command = ["@APP@"]
)";

// Added by a reload once the node is up (it never stays up, so `hamon up` would not succeed).
const char* kRogueTenant = R"(
[[tenant]]
name = "rogue"

[[tenant.process]]
name = "scribbler"
command = ["@HOSTILE@", "scribble"]

[[tenant.process]]
name = "truncator"
command = ["@HOSTILE@", "truncate"]
)";

const std::string kRogue = "rogue";

std::string rogue_tenant() {
  return std::regex_replace(std::string(kRogueTenant), std::regex("@HOSTILE@"),
                            std::string(HAMON_BIN_DIR) + "/hamon-hostile-tenant");
}

std::string env_of(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/environ");
  std::string all((std::istreambuf_iterator<char>(f)), {});
  std::istringstream in(all);
  for (std::string kv; std::getline(in, kv, '\0');) {
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
  }
  return "";
}

struct ProcInfo {
  pid_t pid;
  pid_t ppid;
  char state;
};

// Starts hamon-watcher on the operator's file, as the systemd unit's ExecStart does, in its own
// session. The test, as subreaper, reaps it.
pid_t start_as_init(const TestNode& node) {
  const std::string bin = std::string(HAMON_BIN_DIR) + "/hamon-watcher";
  std::vector<std::string> args{bin, "--config", node.config_path(), "--node", "a"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, bin.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

std::vector<ProcInfo> all_processes() {
  std::vector<ProcInfo> out;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), {});
    const auto close = s.rfind(')');
    if (close == std::string::npos || close + 4 > s.size()) continue;
    std::istringstream rest(s.substr(close + 2));
    char state = '?';
    pid_t ppid = 0;
    rest >> state >> ppid;
    out.push_back({pid, ppid, state});
  }
  closedir(d);
  return out;
}

TEST(Chaos, RandomKillsAcrossDaemonsAndProcessesBreakNoInvariant) {
  const int kills =
      std::getenv("HAMON_CHAOS_KILLS") ? std::atoi(std::getenv("HAMON_CHAOS_KILLS")) : 200;
  TestNode node(kConfig);
  ASSERT_EQ(node.up().code, 0);
  std::ofstream(node.config_path(), std::ios::app) << rogue_tenant();
  const auto added = node.hamon({"reload"});
  ASSERT_EQ(added.code, 0) << added.err;
  const std::string runtime = std::getenv("HAMON_RUNTIME_DIR");
  std::map<std::string, std::pair<std::int32_t, std::uint64_t>> first;
  for (const auto& p : node.view().processes)
    first[p.tenant + "/" + p.name] = {p.pid, p.incarnation};
  std::map<std::string, int> killed;
  std::mt19937 rng(12345);
  int daemon_kills = 0, process_kills = 0, init_restarts = 0;
  int bad_edits = 0, runtime_removals = 0, segment_removals = 0;
  const std::string good_file = [&] {
    std::ifstream f(node.config_path());
    return std::string((std::istreambuf_iterator<char>(f)), {});
  }();
  bool file_is_bad = false;

  auto converged = [&](const node::NodeView& v) {
    for (const auto& d : v.daemons) {
      if (d.state != "running" || d.pid <= 0) return false;
    }
    for (const auto& p : v.processes) {
      if (p.tenant != kRogue && (p.state != "running" || p.pid <= 0)) return false;
    }
    return !v.processes.empty();
  };
  const std::string rogue_segment = node::heartbeat_segment_name(node.cluster(), "a", kRogue);
  auto checkpoint = [&](int at) {
    ASSERT_TRUE(node.wait(converged, std::chrono::seconds(30)))
        << "no convergence after kill " << at << ":\n"
        << node::render_table(node.view());
    const auto v = node.view();
    std::set<pid_t> daemons;
    for (const auto& d : v.daemons) daemons.insert(d.pid);
    std::map<std::string, pid_t> claimed;  // heartbeat slot → live process claiming it
    std::set<pid_t> live;
    for (const auto& pr : all_processes()) {
      if (pr.state == 'Z') {
        EXPECT_EQ(daemons.count(pr.ppid), 0u) << "zombie " << pr.pid << " of daemon " << pr.ppid;
        continue;
      }
      if (env_of(pr.pid, "HAMON_RUNTIME_DIR") != runtime || env_of(pr.pid, HAMON_ENV_SLOT).empty())
        continue;
      const std::string key =
          env_of(pr.pid, HAMON_ENV_SEGMENT) + "#" + env_of(pr.pid, HAMON_ENV_SLOT);
      EXPECT_EQ(claimed.count(key), 0u)
          << "two processes run in " << key << ": " << claimed[key] << " and " << pr.pid;
      claimed[key] = pr.pid;
      if (env_of(pr.pid, HAMON_ENV_SEGMENT).find(rogue_segment) == std::string::npos)
        live.insert(pr.pid);
    }
    // Exactly one instance of each daemon runs for this node.
    std::map<std::string, int> instances;
    for (const auto& pr : all_processes()) {
      if (pr.state == 'Z') continue;
      std::ifstream f("/proc/" + std::to_string(pr.pid) + "/cmdline");
      std::string cmd((std::istreambuf_iterator<char>(f)), {});
      if (cmd.find(node.config_path()) == std::string::npos) continue;
      for (const char* d :
           {"hamon-watcher", "hamon-master", "hamon-spawner", "hamon-monitor", "hamon-server"}) {
        if (cmd.find(std::string("/") + d + '\0') != std::string::npos) ++instances[d];
      }
    }
    for (const char* d :
         {"hamon-watcher", "hamon-master", "hamon-spawner", "hamon-monitor", "hamon-server"}) {
      EXPECT_EQ(instances[d], 1) << d << " instances after kill " << at;
    }
    std::set<pid_t> reported;
    for (const auto& p : v.processes) {
      if (p.tenant == kRogue) continue;
      reported.insert(p.pid);
      const std::string name = p.tenant + "/" + p.name;
      if (killed[name] == 0) {
        EXPECT_EQ(p.pid, first[name].first) << name << " was never killed but its pid changed";
        EXPECT_EQ(p.incarnation, first[name].second) << name;
      }
      EXPECT_LE(p.restarts, static_cast<std::uint32_t>(killed[name]))
          << name << " restarted more than killed";
    }
    EXPECT_EQ(reported, live) << "status disagrees with /proc after kill " << at;
  };

  for (int k = 1; k <= kills; ++k) {
    if (rng() % 20 == 0) {
      // The operator's file changes on disk: a bad edit, refused by reload, or put right and
      // reloaded (the same configuration: nothing is touched).
      file_is_bad = !file_is_bad;
      std::ofstream(node.config_path())
          << (file_is_bad ? "[cluster\nname = \"half-saved" : good_file);
      bad_edits += file_is_bad ? 1 : 0;
      if (rng() % 2 == 0) {
        const auto r = node.hamon({"reload"});
        if (file_is_bad) {
          EXPECT_EQ(r.code, 1) << "a reload of a bad file: " << r.err;
        } else {
          EXPECT_TRUE(r.code == 0 || r.code == 4) << "a reload of the good file: " << r.err;
        }
      }
    }
    if (rng() % 40 == 0) {
      // The runtime directory goes, at once.
      const std::string dir = node::runtime_dir(node.cluster(), "a");
      const std::string gone = dir + ".removed";
      if (::rename(dir.c_str(), gone.c_str()) == 0) {
        std::error_code ec;
        std::filesystem::remove_all(gone, ec);
        ++runtime_removals;
      }
    }
    if (rng() % 60 == 0 && shm::Segment::remove(shm::control_segment_name(node.cluster(), "a"))) {
      ++segment_removals;
    }
    const auto v = node.view();
    if (v.daemons.empty() || v.processes.empty()) {
      // The segment's name is on its way back: nothing to aim at this time.
    } else if (rng() % 10 < 7) {
      const auto& d = v.daemons[rng() % v.daemons.size()];
      if (d.pid > 0 && kill(d.pid, SIGKILL) == 0) ++daemon_kills;
    } else {
      // Only `steady` is never killed: it proves the rest leave it alone. The rogue's are
      // restarted by their own doing.
      const auto& p = v.processes[rng() % v.processes.size()];
      if (p.name != "steady" && p.tenant != kRogue && p.pid > 0 && kill(p.pid, SIGKILL) == 0) {
        ++killed[p.tenant + "/" + p.name];
        ++process_kills;
      }
    }
    reap_zombies();
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
    // The watch tree has a top: when the watcher and the master die together, what restarts
    // them is init — systemd's Restart=always runs the watcher again. Play that part.
    const auto after = node.view();
    bool top_alive = false;
    for (const auto& d : after.daemons) {
      if ((d.name == "hamon-watcher" || d.name == "hamon-master") && d.state == "running")
        top_alive = true;
    }
    if (!top_alive) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(50));  // a replacement may be on its way
      auto top_runs = [&] {
        for (const auto& d : node.view().daemons) {
          if ((d.name == "hamon-watcher" || d.name == "hamon-master") && d.state == "running")
            return true;
        }
        return false;
      };
      if (!top_runs()) {
        // Init (Restart=always) starts the watcher again until one stays.
        ++init_restarts;
        bool up = false;
        for (int attempt = 0; attempt < 50 && !up; ++attempt) {
          const pid_t w = start_as_init(node);
          ASSERT_GT(w, 0);
          up = node.wait([&](const node::NodeView&) { return top_runs(); },
                         std::chrono::milliseconds(200));
          reap_zombies();
        }
        ASSERT_TRUE(up) << "init could not restart the watch tree:\n"
                        << node::render_table(node.view());
      }
    }
    if (k % 50 == 0 || k == kills) {
      checkpoint(k);
      if (HasFatalFailure()) return;
    }
  }
  // The rogue did its damage all along, and hamon answered it: its segment was made anew.
  std::uint32_t rogue_restarts = 0;
  for (const auto& p : node.view().processes) {
    if (p.tenant == kRogue) rogue_restarts += p.restarts;
  }
  int remade = 0;
  for (const auto& e : node.events()) {
    remade += e.detail.find("segment made anew") != std::string::npos ? 1 : 0;
  }
  EXPECT_GT(rogue_restarts, 0u) << "the hostile tenant did nothing:\n"
                                << node::render_table(node.view());
  EXPECT_GT(remade, 0) << "no event says the rogue's segment was made anew";
  std::printf(
      "chaos: %d kills (%d daemons, %d processes), %d restarts of the whole watch tree by "
      "init, %d bad edits of the file, %d removals of the runtime directory, %d of the control "
      "segment's name, %u restarts of the hostile tenant's processes after their own damage (%d "
      "remakes of its segment still in the event ring); invariants held at every checkpoint\n",
      daemon_kills + process_kills, daemon_kills, process_kills, init_restarts, bad_edits,
      runtime_removals, segment_removals, rogue_restarts, remade);
  std::ofstream(node.config_path()) << good_file;
  const auto steady = node.process("system", "steady");
  EXPECT_EQ(steady->pid, first["system/steady"].first);
}

}  // namespace
}  // namespace hamon::test
