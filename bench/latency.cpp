// hamon-latency: the cross-process figures, as distributions (p50, p99, p99.9, max).
//
//   hamon-latency crash [--trials 1000]     SIGKILL → `exited` in the segment, and → the
//                                           replacement's first heartbeat (a real node)
//   hamon-latency hang --slots N [--trials 1000]
//                                           beats stop → `hung` in the segment, past the
//                                           timeout (1 ms interval, 3 ms timeout; the real
//                                           hamon-monitor, N simulated beaters)
//   hamon-latency daemon [--trials 100]    SIGKILL of each daemon in turn → replacement at work
//   hamon-latency floor [--trials 1000]     the same restart with this harness as the parent:
//                                           the floor a supervisor cannot beat, and its parts
//   hamon-latency exit [--trials 1000] [--rss-mb N]
//                                           SIGKILL → the kernel's two notices of the end: a
//                                           robust futex released, waitpid (= pidfd) returning
//   hamon-latency spare [--trials 1000] [--init-delay 500ms --slow-trials 20]
//                                           warm spares: SIGKILL of the serving instance → the
//                                           promoted spare's first beat; then an application
//                                           that initializes for --init-delay, restarted
//                                           without a spare and promoted with one
//   hamon-latency external --label NAME [--trials 30] -- SUPERVISOR ARGS...
//                                           another supervisor restarting the same program
//   (any of them with --samples FILE: the samples, one per line, for bench/peers' plot; hang
//   and cpu with --cluster-keys 'daemon_sched = "fifo:50"' and the like: the monitor's own
//   scheduling settings)
//   hamon-latency cpu --slots 4096 [--seconds 5]
//                                           hamon-monitor's CPU with N slots beating at 1 ms
// Prints the machine with every result.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <cerrno>
#include <cmath>
#include <limits>
#include <map>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hamon/node/clock.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/heartbeat_table.hpp"
#include "harness.hpp"
#include "hamon/node/proc.hpp"

extern char** environ;

namespace {

using hamon::bench::bin;
using hamon::bench::free_port;
using hamon::bench::print_machine;
using hamon::bench::run;
using hamon::bench::TempDir;
using hamon::node::now_ns;
namespace shm = hamon::shm;
namespace fs = std::filesystem;

// Interrupted (Ctrl-C, timeout), the harness still removes its segments and ends the monitor it
// started: the names are kept here, ready for the signal handler (shm_unlink and kill are
// async-signal-safe).
char g_segments[4][256];
volatile pid_t g_child = -1;

void remember_segment(const std::string& name) {
  for (auto& s : g_segments) {
    if (s[0] == '\0') {
      std::snprintf(s, sizeof s, "/%s", name.c_str());
      return;
    }
  }
}

void on_interrupt(int sig) {
  if (g_child > 0 || g_child < -1) kill(g_child, SIGKILL);  // negative: a process group
  for (auto& s : g_segments) {
    if (s[0] != '\0') shm_unlink(s);
  }
  _exit(128 + sig);
}

// --cluster-keys: more [cluster] keys for the simulated node's monitor (daemon_sched, ...).
std::string g_cluster_keys;
// cpu: the slots beat in this many groups, spread evenly over each beat period. 1: all at once,
// which gathers the monitor's deadlines in a few instants; real processes are spread.
std::uint32_t g_phases = 1;

// The time from `from` to `to` (nanoseconds of now_ns()), in µs: what every figure reports.
double us_between(std::uint64_t from, std::uint64_t to) {
  return static_cast<double>(to - from) / 1000.0;
}

// --samples FILE: the figure's samples, one per line in µs, for plots (bench/peers).
std::string g_samples;

void save_samples(const std::vector<double>& us) {
  if (g_samples.empty()) return;
  std::ofstream out(g_samples);
  for (const double v : us) out << v << '\n';
}

void report(const char* what, std::vector<double> us) {
  if (us.empty()) {
    std::printf("%-44s no samples\n", what);
    return;
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(p * static_cast<double>(us.size())))];
  };
  std::printf("%-44s n=%-5zu p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  max %8.1f us\n", what,
              us.size(), pct(0.5), pct(0.99), pct(0.999), us.back());
  std::fflush(stdout);
}

// (a) and (c) on a real node: hamon up, then SIGKILL the process again and again.
// A real node with one process that beats every millisecond, brought up with `hamon up` and
// always taken down again.
// --with-peer: node a has a duplex peer b on this machine (same process, its own runtime
// directory, loopback ports, a shared key), so a's monitor runs its peer-link thread while it is
// measured. Only a's process is measured.
bool g_with_peer = false;

struct RealNode {
  TempDir dir;
  std::string cluster = "lat" + std::to_string(getpid());
  std::string config = dir.path + "/node.toml";
  std::string peer_config = dir.path + "/peer.toml";
  bool up = false;
  // `restart_delay`: "0s" restarts at once (the restart figure); a delay keeps the `exited` state
  // in view long enough that no crash-detection sample is lost to a fast restart.
  // `victim`: more keys for the measured process, and more arguments for it.
  explicit RealNode(const char* restart_delay = "0s", const std::string& victim = "",
                    const std::string& args = "") {
    std::string head = "[cluster]\nname = \"" + cluster + "\"\n";
    if (g_with_peer) {
      const std::string key = dir.path + "/peer.key";
      run({bin("hamon"), "keygen", key});
      head += "auth_key_file = \"" + key + "\"\n[[cluster.node]]\nid = \"a\"\nside = " +
              "\"primary\"\naddress = \"127.0.0.1:" + std::to_string(free_port()) +
              "\"\n[[cluster.node]]\nid = \"b\"\nside = \"secondary\"\naddress = \"127.0.0.1:" +
              std::to_string(free_port()) + "\"\n";
      // The peer runs one idle process: what competes with a for the machine is b's daemons
      // and its link, not a second workload.
      std::ofstream(peer_config) << head
                                 << "[[system.process]]\nname = \"idle\"\ncommand = "
                                    "[\"/bin/sleep\", \"1000000\"]\nready = \"spawn\"\n"
                                    "interval = \"1s\"\ntimeout = \"10s\"\n";
    } else {
      head += "[[cluster.node]]\nid = \"a\"\nside = \"primary\"\naddress = \"127.0.0.1:7401\"\n";
    }
    std::ofstream(config) << head << "[[system.process]]\nname = \"victim\"\ncommand = [\""
                          << bin("hamon-demo-app") << "\"" << args
                          << "]\ninterval = \"1ms\"\ntimeout = "
                          << "\"50ms\"\nrestart_delay = \"" << restart_delay
                          << "\"\nrestart_delay_max = \"" << restart_delay
                          << "\"\nrestart_budget = 1000000\nrestart_window = \"1s\"\n"
                          << victim;
    setenv("HAMON_RUNTIME_DIR", (dir.path + "/run").c_str(), 1);
    for (const char* id : {"a", "b"}) {
      if (!g_with_peer && id[0] == 'b') break;
      remember_segment(shm::control_segment_name(cluster, id));
      remember_segment(shm::heartbeat_segment_name(cluster, id, "system"));
    }
    up = run({bin("hamon"), "up", "--config", config, "--node", "a"}) == 0;
    if (up && g_with_peer) {
      up = run({bin("hamon"), "up", "--config", peer_config, "--node", "b"}) == 0;
    }
    if (!up) std::fprintf(stderr, "hamon-latency: hamon up failed\n");
  }
  ~RealNode() {
    if (g_with_peer) run({bin("hamon"), "down", "--config", peer_config, "--node", "b"});
    run({bin("hamon"), "down", "--config", config, "--node", "a"});
  }
};

// Daemon restart: SIGKILL of a daemon → its replacement registered and at work.
int daemon_restart(int trials) {
  RealNode node;
  if (!node.up) return 1;
  auto ctl = shm::ControlSegment::attach(shm::control_segment_name(node.cluster, "a"),
                                         shm::Access::read_only);
  if (!ctl) return 1;
  const shm::DaemonId ids[] = {shm::DaemonId::spawner, shm::DaemonId::monitor,
                               shm::DaemonId::server, shm::DaemonId::master,
                               shm::DaemonId::watcher};
  std::map<shm::DaemonId, std::vector<double>> us;
  std::vector<double> all;
  for (int t = 0; t < trials; ++t) {
    const shm::DaemonId id = ids[t % 5];
    const shm::DaemonSlot& d = ctl->daemon(id);
    const auto pid = static_cast<pid_t>(d.pid.load());
    const std::uint64_t t0 = now_ns();
    kill(pid, SIGKILL);
    while (now_ns() < t0 + 5'000'000'000ULL) {
      if (d.pid.load() != static_cast<std::uint32_t>(pid) &&
          d.state.load() == static_cast<std::uint32_t>(shm::DaemonState::running)) {
        const double v = us_between(t0, now_ns());
        us[id].push_back(v);
        all.push_back(v);
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(20));  // let it settle before the next kill
  }
  print_machine();
  for (const auto& [id, v] : us) {
    report((std::string("daemon restart: ") + shm::to_string(id)).c_str(), v);
  }
  report("daemon restart: all daemons", all);
  return 0;
}

// One SIGKILL of the running process, on `node`: µs from the kill to each step of the path —
// the monitor publishing `exited`, the spawner reaping it, the spawner taking the server's start
// of the replacement, the replacement launched (its pid recorded), its first beat. A step not
// seen within 2 s is negative (the harness polls the records: a step it did not catch is too).
struct KillPath {
  double detected = -1, reaped = -1, start_taken = -1, launched = -1, restarted = -1;
};
KillPath kill_once(const shm::ControlSegment& ctl, const shm::HeartbeatTable& hb) {
  shm::SpawnRecord sp{};
  shm::WatchRecord w{};
  const std::uint64_t wait_until = now_ns() + 5'000'000'000ULL;
  // Wait for a running incarnation that has beaten.
  while (now_ns() < wait_until) {
    (void)ctl.process(0).spawn.read(sp);
    (void)ctl.process(0).watch.read(w);
    const auto b = hb.snapshot(0);
    if (sp.pid > 0 && sp.exited_ns == 0 && w.incarnation == sp.incarnation &&
        w.state == shm::ProcessState::running && b.incarnation == sp.incarnation) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const std::uint64_t old_inc = sp.incarnation;
  const std::uint64_t t0 = now_ns();
  kill(sp.pid, SIGKILL);
  KillPath k;
  auto since = [t0](std::uint64_t t) { return us_between(t0, t); };
  while (now_ns() < t0 + 2'000'000'000ULL) {
    if (k.detected < 0 && ctl.process(0).watch.read(w) && w.incarnation == old_inc &&
        w.state == shm::ProcessState::exited) {
      // The monitor's own time of publishing, without this harness's delay in noticing it.
      k.detected = since(w.since_ns);
    }
    if (ctl.process(0).spawn.read(sp)) {
      if (k.reaped < 0 && sp.incarnation == old_inc && sp.exited_ns != 0) {
        k.reaped = since(sp.exited_ns);
      }
      if (k.start_taken < 0 && sp.incarnation > old_inc) k.start_taken = since(sp.spawned_ns);
      if (k.launched < 0 && sp.incarnation > old_inc && sp.pid > 0) k.launched = since(now_ns());
    }
    // Its ready(), which beats: the count alone is the previous incarnation's until then (an
    // application that initializes for a while attaches long before it beats).
    const auto b = hb.snapshot(0);
    if (b.incarnation > old_inc && b.ready != 0 && b.beat_count > 0) {
      k.restarted = since(now_ns());
      break;
    }
    // Until the replacement is launched, the steps carry the daemons' own times: look without
    // taking a CPU the dying process and the daemons need (on 2 cores a spinning harness made the
    // exit look 0.8 ms slower than the floor's, whose harness sleeps in waitpid); then spin, as
    // the floor does, for the first beat.
    if (k.launched < 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return k;
}

int crash(int trials) {
  std::vector<double> detect, restart, reaped, taken, launched;
  for (const char* delay : {"20ms", "0s"}) {  // first detection, then restart
    RealNode node(delay);
    if (!node.up) return 1;
    auto ctl = shm::ControlSegment::attach(shm::control_segment_name(node.cluster, "a"),
                                           shm::Access::read_only);
    auto hb = shm::HeartbeatTable::attach(shm::heartbeat_segment_name(node.cluster, "a", "system"),
                                          shm::Access::read_only);
    if (!ctl || !hb) return 1;
    const bool restarting = std::string(delay) == "0s";
    for (int t = 0; t < trials; ++t) {
      const KillPath k = kill_once(*ctl, *hb);
      if (!restarting && k.detected >= 0) detect.push_back(k.detected);
      if (restarting && k.restarted >= 0) {
        restart.push_back(k.restarted);
        if (k.reaped >= 0) reaped.push_back(k.reaped);
        if (k.start_taken >= 0) taken.push_back(k.start_taken);
        if (k.launched >= 0) launched.push_back(k.launched);
      }
    }
  }
  print_machine();
  report("crash detected (SIGKILL -> exited)", detect);
  std::printf("the restart's path, from the SIGKILL:\n");
  report("  spawner reaped it", reaped);
  report("  spawner took the server's start", taken);
  report("  replacement launched (pid recorded)", launched);
  report("restart (SIGKILL -> replacement's first beat)", restart);
  save_samples(restart);
  return 0;
}

// The floor any supervisor stands on: this harness as the parent, SIGKILL → waitpid →
// posix_spawn → exec → main → first beat, with the same program and nothing else in between
// (what daemontools or runit do, minus their own hops).
int floor_restart(int trials) {
  const std::string name = "hamon-latency-floor." + std::to_string(getpid());
  auto t = shm::HeartbeatTable::create(name, "floor", 4);
  if (!t) return 1;
  remember_segment(name);
  setenv(HAMON_ENV_SEGMENT, t->client_name().c_str(), 1);
  setenv(HAMON_ENV_SLOT, "0", 1);
  setenv(HAMON_ENV_INTERVAL_NS, "1000000", 1);
  const std::string app = bin("hamon-demo-app");
  // The whole restart, and its two parts: the kernel ending the process (SIGKILL -> waitpid
  // returns: the same moment its pidfd becomes readable, hamon's "crash detected") and the
  // replacement's spawn to its first beat.
  std::vector<double> us, ended_us, started_us;
  pid_t pid = -1;
  for (int i = 0; i <= trials; ++i) {
    setenv(HAMON_ENV_INCARNATION, std::to_string(i + 1).c_str(), 1);
    std::uint64_t t0 = now_ns();
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    const std::uint64_t ended = now_ns();
    char* argv[] = {const_cast<char*>(app.c_str()), nullptr};
    posix_spawn(&pid, app.c_str(), nullptr, nullptr, argv, environ);
    g_child = pid;
    while (now_ns() < t0 + 2'000'000'000ULL) {
      const auto b = t->snapshot(0);
      if (b.incarnation == static_cast<std::uint64_t>(i + 1) && b.beat_count > 0) break;
    }
    if (i > 0) {
      const std::uint64_t beat = now_ns();
      us.push_back(us_between(t0, beat));
      ended_us.push_back(us_between(t0, ended));
      started_us.push_back(us_between(ended, beat));
    }
    // Let it run a little, as the supervised process does between kills.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    t0 = now_ns();
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  shm::Segment::remove(name);
  print_machine();
  report("floor: SIGKILL -> waitpid returns", ended_us);
  report("floor: spawn -> first beat", started_us);
  report("floor (SIGKILL -> waitpid -> spawn -> first beat)", us);
  save_samples(us);
  return 0;
}

// Where a crash's notice goes: a child of `rss_mb` resident megabytes holds a robust mutex in
// shared memory and waits; SIGKILL, then the time to the mutex's owner-died wake (the kernel
// releases robust futexes as the process starts to exit, before it tears its memory down) and to
// waitpid's return (the moment a pidfd becomes readable too, after the teardown). hamon's
// `crash detected` stands on the second.
int exit_paths(int trials, std::size_t rss_mb) {
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  auto* m = static_cast<pthread_mutex_t*>(page);
  auto* ready = new (static_cast<char*>(page) + 2048) std::atomic<int>(0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  std::vector<double> futex_us, wait_us;
  int failed = 0;
  for (int i = 0; i < trials && failed == 0; ++i) {
    pthread_mutex_init(m, &a);
    ready->store(0);
    // No interrupt between the fork and g_child naming the child; the child ends with this
    // harness, whatever ends it.
    sigset_t all, before;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &before);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      sigprocmask(SIG_SETMASK, &before, nullptr);
      if (getppid() != parent) _exit(1);
      std::vector<char> resident(rss_mb << 20);
      for (std::size_t k = 0; k < resident.size(); k += 4096) resident[k] = 1;
      pthread_mutex_lock(m);
      ready->store(1);
      for (;;) pause();
    }
    g_child = pid;
    sigprocmask(SIG_SETMASK, &before, nullptr);
    if (pid < 0) {
      std::fprintf(stderr, "hamon-latency: fork: %s\n", std::strerror(errno));
      failed = 1;
      break;
    }
    // Until it holds the mutex — or is gone (its memory refused, say).
    bool gone = false;
    while (ready->load() == 0 && !gone) {
      gone = waitpid(pid, nullptr, WNOHANG) == pid;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (gone) {
      std::fprintf(stderr, "hamon-latency: the child of %zu MB ended before it was ready\n",
                   rss_mb);
      failed = 1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // asleep in pause()
    const std::uint64_t t0 = now_ns();
    kill(pid, SIGKILL);
    const int r = pthread_mutex_lock(m);
    const std::uint64_t t1 = now_ns();
    waitpid(pid, nullptr, 0);
    const std::uint64_t t2 = now_ns();
    g_child = -1;
    if (r == EOWNERDEAD) {
      pthread_mutex_consistent(m);
      futex_us.push_back(us_between(t0, t1));
    } else {
      std::fprintf(stderr, "hamon-latency: the mutex was not released as its owner's death: %s\n",
                   std::strerror(r));
      failed = 1;
    }
    if (r == 0 || r == EOWNERDEAD) pthread_mutex_unlock(m);
    pthread_mutex_destroy(m);
    wait_us.push_back(us_between(t0, t2));
  }
  pthread_mutexattr_destroy(&a);
  munmap(page, 4096);
  if (failed != 0) return 1;
  print_machine();
  std::printf("a child of %zu MB resident, SIGKILLed:\n", rss_mb);
  report("robust futex: owner-died wake", futex_us);
  report("waitpid returns (= pidfd readable)", wait_us);
  save_samples(wait_us);
  return 0;
}

// Another supervisor, started as `command` (in a process group of its own) with the client's
// environment pointing at a heartbeat segment this harness made: the program it supervises
// (hamon-demo-app, as for every row) attaches there. Each trial lets the running instance live
// `settle_s` (runsv, supervise and s6-supervise hold back a restart of a service that ran less
// than a second), SIGKILLs it, and times its replacement's first beat (its ready(), by its pid).
int external(int trials, const std::string& label, double settle_s,
             const std::vector<std::string>& command) {
  const std::string name = "hamon-latency-ext." + std::to_string(getpid());
  auto t = shm::HeartbeatTable::create(name, "ext", 4);
  if (!t) return 1;
  remember_segment(name);
  setenv(HAMON_ENV_SEGMENT, t->client_name().c_str(), 1);
  setenv(HAMON_ENV_SLOT, "0", 1);
  setenv(HAMON_ENV_INCARNATION, "1", 1);
  setenv(HAMON_ENV_INTERVAL_NS, "1000000", 1);
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t sup = -1;
  const int rc = posix_spawnp(&sup, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    std::fprintf(stderr, "hamon-latency: cannot start %s: %s\n", argv[0], std::strerror(rc));
    shm::Segment::remove(name);
    return 1;
  }
  g_child = -sup;  // the whole group, on an interrupt
  const shm::HeartbeatSlot& slot = t->slot(0);
  const auto instance = [&]() -> pid_t {
    if (slot.ready.load(std::memory_order_acquire) == 0 ||
        slot.beat_count.load(std::memory_order_acquire) == 0)
      return 0;
    return static_cast<pid_t>(slot.pid.load(std::memory_order_acquire));
  };
  std::vector<double> us;
  pid_t last = 0;
  for (int i = 0; i < trials; ++i) {
    const std::uint64_t wait_until = now_ns() + 10'000'000'000ULL;
    pid_t p = 0;
    while ((p = instance()) == 0 || p == last) {
      if (now_ns() > wait_until) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (p == 0 || p == last) {
      std::fprintf(stderr, "hamon-latency: %s started no instance within 10 s\n", label.c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(settle_s));
    const std::uint64_t t0 = now_ns();
    kill(p, SIGKILL);
    last = p;
    while (now_ns() < t0 + 10'000'000'000ULL) {
      const pid_t q = instance();
      if (q != 0 && q != p) {
        us.push_back(us_between(t0, now_ns()));
        break;
      }
    }
  }
  // The supervisor first (so nothing restarts), then the instance it left.
  kill(-sup, SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(-sup, SIGKILL);
  waitpid(sup, nullptr, 0);
  if (const pid_t left = static_cast<pid_t>(slot.pid.load()); left > 0) kill(left, SIGKILL);
  g_child = -1;
  shm::Segment::remove(name);
  print_machine();
  report((label + " (SIGKILL -> the replacement's first beat)").c_str(), us);
  save_samples(us);
  return us.empty() ? 1 : 0;
}

// A monitor-only node: this harness plays the server and the spawner, and N beaters.
class SimulatedNode {
 public:
  SimulatedNode(std::uint32_t slots, std::uint64_t interval_ns, std::uint64_t timeout_ns)
      : slots_(slots), interval_(interval_ns) {
    cluster_ = "sim" + std::to_string(getpid());
    config_ = dir_.path + "/node.toml";
    std::ofstream f(config_);
    f << "[cluster]\nname = \"" << cluster_ << "\"\n"
      << g_cluster_keys
      << "\n[[cluster.node]]\nid = \"a\"\nside = \"primary\"\naddress = \"127.0.0.1:7401\"\n";
    for (std::uint32_t i = 0; i < slots; ++i) {
      f << "[[system.process]]\nname = \"p" << i << "\"\ncommand = [\"x\"]\ninterval = \""
        << interval_ns / 1000 << "us\"\ntimeout = \"" << timeout_ns / 1000 << "us\"\n";
    }
    f.close();
    shm::ControlGeometry g;
    g.max_processes = std::max<std::uint32_t>(4096, slots);
    auto c =
        shm::ControlSegment::create(shm::control_segment_name(cluster_, "a"), g, cluster_, "a");
    auto t = shm::HeartbeatTable::create(shm::heartbeat_segment_name(cluster_, "a", "system"),
                                         "system", slots);
    if (!c || !t) throw std::runtime_error("cannot create segments");
    ctl_.emplace(std::move(c).value());
    hb_.emplace(std::move(t).value());
    remember_segment(ctl_->name());
    remember_segment(hb_->name());
    shm::GroupInfo gi{};
    std::strcpy(gi.name, "system");
    std::strncpy(gi.heartbeat_segment, hb_->name().c_str(), sizeof gi.heartbeat_segment - 1);
    gi.kind = shm::GroupKind::system;
    gi.slot_count = slots;
    ctl_->group(0).info.write(gi);
    for (std::uint32_t i = 0; i < slots; ++i) {
      shm::ProcessIdentity id{};
      id.incarnation = 1;
      id.interval_ns = interval_ns;
      id.timeout_ns = timeout_ns;
      id.group = 0;
      id.hb_slot = i;
      id.ready_mode = shm::ReadyMode::heartbeat;
      std::snprintf(id.name, sizeof id.name, "p%u", i);
      ctl_->process(i).identity.write(id);
      inc_.push_back(1);
    }
    beating_ = std::vector<std::atomic<bool>>(slots);
    last_beat_ = std::vector<std::atomic<std::uint64_t>>(slots);
    for (auto& b : beating_) b = true;
    beater_ = std::thread([this] { beat_loop(); });
    const std::string m = bin("hamon-monitor");
    std::vector<std::string> args{m, "--config", config_, "--node", "a"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn(&monitor_, m.c_str(), nullptr, nullptr, argv.data(), environ);
    g_child = monitor_;
    // Announce every slot as started by "the spawner", with this harness's pid to watch.
    const auto ticks = hamon::node::start_ticks(getpid()).value_or(0);
    for (std::uint32_t i = 0; i < slots; ++i) announce(i, ticks);
  }
  ~SimulatedNode() {
    stop_ = true;
    beater_.join();
    if (monitor_ > 0) {
      kill(monitor_, SIGTERM);
      waitpid(monitor_, nullptr, 0);
    }
    shm::Segment::remove(shm::control_segment_name(cluster_, "a"));
    shm::Segment::remove(shm::heartbeat_segment_name(cluster_, "a", "system"));
  }

  void announce(std::uint32_t i, std::uint64_t ticks) {
    // As the server does before each start: the identity line names this incarnation (the
    // monitor does not watch a start its identity line is older than).
    shm::ProcessIdentity id{};
    if (ctl_->process(i).identity.read(id) && id.incarnation != inc_[i]) {
      id.incarnation = inc_[i];
      ctl_->process(i).identity.write(id);
    }
    shm::Message m;
    m.kind = shm::MessageKind::started;
    m.slot = i;
    m.incarnation = inc_[i];
    m.pid = getpid();
    m.arg = ticks;
    ctl_->process(i).spawn.write({inc_[i], ticks, now_ns(), 0, getpid(), 0});
    while (!ctl_->send(shm::ChannelId::spawner_to_monitor, m)) std::this_thread::yield();
  }

  // One hang: stop beating slot i, time until the monitor says hung, past the timeout.
  double hang_once(std::uint32_t i, std::uint64_t timeout_ns) {
    const auto ticks = hamon::node::start_ticks(getpid()).value_or(0);
    beating_[i] = false;
    // The last beat's real time: once it stops changing, the beater has passed the slot by.
    std::uint64_t last = 0;
    do {
      last = last_beat_[i].load();
      std::this_thread::sleep_for(std::chrono::nanoseconds(interval_));
    } while (last != last_beat_[i].load());
    shm::WatchRecord w{};
    const std::uint64_t limit = last + timeout_ns + 1'000'000'000ULL;
    double past = std::numeric_limits<double>::quiet_NaN();
    while (now_ns() < limit) {
      if (ctl_->process(i).watch.read(w) && w.incarnation == inc_[i] &&
          w.state == shm::ProcessState::hung) {
        // The monitor's own time of publishing: what the segment shows, without this
        // harness's scheduling delay in noticing it.
        past =
            static_cast<double>(static_cast<std::int64_t>(w.since_ns - last - timeout_ns)) / 1000.0;
        if (past < 0 && debug_shown_++ < 3) {
          std::fprintf(stderr,
                       "early: slot %u inc %lu since %lu last %lu beats %lu last_beat_ns %lu\n", i,
                       inc_[i], w.since_ns, last, w.beat_count, w.last_beat_ns);
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // leave the cores to the node
    }
    // A new incarnation takes the slot, as after a restart.
    ++inc_[i];
    hb_->slot(i).incarnation.store(inc_[i]);
    beating_[i] = true;
    announce(i, ticks);
    // The replacement must be running before it can hang again.
    const std::uint64_t ready_limit = now_ns() + 1'000'000'000ULL;
    while (now_ns() < ready_limit) {
      if (ctl_->process(i).watch.read(w) && w.incarnation == inc_[i] &&
          w.state == shm::ProcessState::running)
        break;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return past;
  }

  void wait_all_running() {
    const std::uint64_t limit = now_ns() + 20'000'000'000ULL;
    while (now_ns() < limit) {
      std::uint32_t n = 0;
      for (std::uint32_t i = 0; i < slots_; ++i) {
        shm::WatchRecord w{};
        n += ctl_->process(i).watch.read(w) && w.state == shm::ProcessState::running;
      }
      if (n == slots_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::map<int, int> states;
    for (std::uint32_t i = 0; i < slots_; ++i) {
      shm::WatchRecord w{};
      (void)ctl_->process(i).watch.read(w);
      ++states[static_cast<int>(w.state)];
    }
    std::fprintf(stderr, "hamon-latency: not all slots became running:");
    for (auto [s, n] : states)
      std::fprintf(stderr, " %s=%d", shm::to_string(static_cast<shm::ProcessState>(s)), n);
    std::fprintf(stderr, " (beater max gap %llu us)\n",
                 static_cast<unsigned long long>(max_gap_ / 1000));
    const auto ring = ctl_->events();
    int shown = 0;
    for (std::uint64_t pos = ring.oldest(); pos < ring.head() && shown < 5; ++pos) {
      shm::Event e;
      if (ring.read(pos, e) == shm::EventRing::Read::ok && e.kind == shm::EventKind::hung) {
        std::fprintf(stderr, "  %s: %s at %llu\n", e.name, e.detail,
                     static_cast<unsigned long long>(e.t_ns));
        ++shown;
      }
    }
  }

  [[nodiscard]] pid_t monitor_pid() const { return monitor_; }
  [[nodiscard]] shm::ProcessState state(std::uint32_t i) const {
    shm::WatchRecord w{};
    (void)ctl_->process(i).watch.read(w);
    return w.state;
  }

 private:
  void beat_loop() {
    // Simulated processes must not stall for milliseconds when the machine is busy, or the
    // figures would measure the harness: run the beater as a real-time thread when allowed.
    sched_param sp{};
    sp.sched_priority = 1;
    if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0) {
      std::fprintf(stderr, "hamon-latency: beater runs without SCHED_FIFO (not permitted)\n");
    }
    for (std::uint32_t i = 0; i < slots_; ++i) hb_->slot(i).incarnation.store(inc_[i]);
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    const std::uint64_t half = interval_ / 2;  // beat twice per interval, as the client guide says
    const std::uint32_t phases = std::max<std::uint32_t>(1, g_phases);
    // Each group's own gap between its beats.
    std::vector<std::uint64_t> prev(phases, now_ns());
    for (std::uint64_t round = 0; !stop_; ++round) {
      const std::uint64_t now = now_ns();
      std::uint64_t& last = prev[round % phases];
      if (round >= phases) max_gap_ = std::max(max_gap_, now - last);
      last = now;
      for (auto i = static_cast<std::uint32_t>(round % phases); i < slots_; i += phases) {
        if (!beating_[i].load(std::memory_order_relaxed)) continue;
        auto& s = hb_->slot(i);
        s.beat_stamp.store(clock_word(), std::memory_order_relaxed);
        s.beat_count.store(s.beat_count.load(std::memory_order_relaxed) + 1,
                           std::memory_order_release);
        last_beat_[i].store(now, std::memory_order_relaxed);
      }
      t.tv_nsec += static_cast<long>(half / phases);
      while (t.tv_nsec >= 1'000'000'000) {
        t.tv_nsec -= 1'000'000'000;
        ++t.tv_sec;
      }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr);
    }
  }
  std::uint64_t clock_word() {
    return reinterpret_cast<std::atomic<std::uint64_t>*>(reinterpret_cast<char*>(&hb_->slot(0)) -
                                                         HAMON_HB_HEADER_SIZE + HAMON_HB_OFF_CLOCK)
        ->load(std::memory_order_relaxed);
  }

  TempDir dir_;
  std::uint32_t slots_;
  std::uint64_t interval_;
  std::string cluster_, config_;
  std::optional<shm::ControlSegment> ctl_;
  std::optional<shm::HeartbeatTable> hb_;
  std::vector<std::uint64_t> inc_;
  std::vector<std::atomic<bool>> beating_;
  std::vector<std::atomic<std::uint64_t>> last_beat_;
  std::atomic<bool> stop_{false};
  std::uint64_t max_gap_ = 0;
  std::thread beater_;
  pid_t monitor_ = -1;
  int debug_shown_ = 0;
};

int hang(std::uint32_t slots, int trials) {
  constexpr std::uint64_t kInterval = 1'000'000, kTimeout = 3'000'000;
  SimulatedNode node(slots, kInterval, kTimeout);
  node.wait_all_running();
  std::mt19937 rng(42);
  std::vector<double> past;
  int missed = 0;
  for (int t = 0; t < trials; ++t) {
    const double us = node.hang_once(static_cast<std::uint32_t>(rng() % slots), kTimeout);
    if (std::isnan(us)) {
      ++missed;
    } else {
      past.push_back(us);
    }
  }
  print_machine();
  const std::string what = "hang detected past timeout, " + std::to_string(slots) + " slots";
  report(what.c_str(), past);
  const auto early = std::count_if(past.begin(), past.end(), [](double v) { return v < 0; });
  std::printf("%-44s %ld of %zu before the timeout; %d not detected within 1 s\n", "",
              static_cast<long>(early), past.size(), missed);
  return 0;
}

std::uint64_t cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  const auto p = s.rfind(')');
  std::istringstream in(s.substr(p + 2));
  std::string field;
  std::uint64_t ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::stoull(field);
    if (i == 15) st = std::stoull(field);
  }
  return ut + st;
}

// Warm spares: one SIGKILL of the serving instance (slots 0 and 1: victim and victim~1) → the
// parked one's return from park(), which clears its parked word and beats at once: µs to that,
// or negative when it was not seen within `limit`.
double kill_serving_once(const shm::ControlSegment& ctl, const shm::HeartbeatTable& hb,
                         std::uint64_t limit) {
  struct Seen {
    shm::SpawnRecord sp{};
    shm::WatchRecord w{};
    shm::ProcessIdentity id{};
    [[nodiscard]] bool running() const {
      return sp.pid > 0 && sp.exited_ns == 0 && w.incarnation == sp.incarnation &&
             w.state == shm::ProcessState::running;
    }
  };
  Seen serving, parked;
  const std::uint64_t wait_until = now_ns() + limit;
  bool settled = false;
  // The records lag the slots by a monitor turn: the instance killed last may still read as
  // serving, the one promoted then as parked. What is chosen must be so in its slot, too.
  static pid_t last_killed = 0;
  while (!settled && now_ns() < wait_until) {
    Seen s[2];
    for (std::uint32_t k = 0; k < 2; ++k) {
      (void)ctl.process(k).spawn.read(s[k].sp);
      (void)ctl.process(k).watch.read(s[k].w);
      (void)ctl.process(k).identity.read(s[k].id);
    }
    for (int k = 0; k < 2 && !settled; ++k) {
      const Seen& p = s[1 - k];
      if (s[k].running() && p.running() && s[k].w.spare == shm::SpareState::serving &&
          p.w.spare == shm::SpareState::parked && s[k].sp.pid != last_killed &&
          p.id.hb_slot < hb.slot_count() &&
          hb.slot(p.id.hb_slot).parked.load() == static_cast<std::uint32_t>(p.sp.incarnation)) {
        serving = s[k];
        parked = s[1 - k];
        settled = true;
      }
    }
    if (!settled) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (!settled) return -1;
  const shm::HeartbeatSlot& slot = hb.slot(parked.id.hb_slot);
  const auto me = static_cast<std::uint32_t>(parked.sp.incarnation);
  const std::uint64_t t0 = now_ns();
  kill(serving.sp.pid, SIGKILL);
  last_killed = serving.sp.pid;
  while (now_ns() < t0 + 2'000'000'000ULL) {
    if (slot.promoted.load(std::memory_order_acquire) == me &&
        slot.parked.load(std::memory_order_acquire) == 0) {
      return us_between(t0, now_ns());
    }
  }
  return -1;
}

int spare(int trials, const std::string& init_delay, int slow_trials) {
  std::vector<double> promoted, slow_restart, slow_promoted;
  const std::string spares = "ready = \"explicit\"\nspares = 1\n";
  const std::string init = ", \"--init-delay\", \"" + init_delay + "\"";
  {
    RealNode node("0s", spares);
    if (!node.up) return 1;
    auto ctl = shm::ControlSegment::attach(shm::control_segment_name(node.cluster, "a"),
                                           shm::Access::read_only);
    auto hb = shm::HeartbeatTable::attach(shm::heartbeat_segment_name(node.cluster, "a", "system"),
                                          shm::Access::read_only);
    if (!ctl || !hb) return 1;
    for (int t = 0; t < trials; ++t) {
      const double us = kill_serving_once(*ctl, *hb, 5'000'000'000ULL);
      if (us >= 0) promoted.push_back(us);
    }
  }
  if (slow_trials > 0) {
    {
      RealNode node("0s", "ready = \"explicit\"\n", init);
      if (!node.up) return 1;
      auto ctl = shm::ControlSegment::attach(shm::control_segment_name(node.cluster, "a"),
                                             shm::Access::read_only);
      auto hb = shm::HeartbeatTable::attach(
          shm::heartbeat_segment_name(node.cluster, "a", "system"), shm::Access::read_only);
      if (!ctl || !hb) return 1;
      for (int t = 0; t < slow_trials; ++t) {
        const double r = kill_once(*ctl, *hb).restarted;
        if (r >= 0) slow_restart.push_back(r);
      }
    }
    RealNode node("0s", spares, init);
    if (!node.up) return 1;
    auto ctl = shm::ControlSegment::attach(shm::control_segment_name(node.cluster, "a"),
                                           shm::Access::read_only);
    auto hb = shm::HeartbeatTable::attach(shm::heartbeat_segment_name(node.cluster, "a", "system"),
                                          shm::Access::read_only);
    if (!ctl || !hb) return 1;
    for (int t = 0; t < slow_trials; ++t) {
      // The killed instance initializes again before it parks: wait for it.
      const double us = kill_serving_once(*ctl, *hb, 30'000'000'000ULL);
      if (us >= 0) slow_promoted.push_back(us);
    }
  }
  print_machine();
  report("spare promoted (SIGKILL of the serving instance -> the spare's first beat)", promoted);
  save_samples(promoted);
  if (slow_trials > 0) {
    report(("restart, " + init_delay + " initialization, no spare (SIGKILL -> first beat)").c_str(),
           slow_restart);
    report(("restart, " + init_delay + " initialization, a spare (SIGKILL -> first beat)").c_str(),
           slow_promoted);
  }
  return promoted.empty() ? 1 : 0;
}

int cpu(std::uint32_t slots, int seconds) {
  SimulatedNode node(slots, 1'000'000, 3'000'000);
  node.wait_all_running();
  const std::uint64_t c0 = cpu_ticks(node.monitor_pid());
  const std::uint64_t t0 = now_ns();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const std::uint64_t c1 = cpu_ticks(node.monitor_pid());
  const double wall = static_cast<double>(now_ns() - t0) / 1e9;
  const double busy = static_cast<double>(c1 - c0) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::uint32_t false_hangs = 0;
  for (std::uint32_t i = 0; i < slots; ++i) false_hangs += node.state(i) == shm::ProcessState::hung;
  print_machine();
  std::printf("%u of %u beating slots were declared hung (must be 0)\n", false_hangs, slots);
  std::printf("hamon-monitor CPU, %u slots at 1 ms: %.1f %% of one core (%.2f s over %.1f s)\n",
              slots, 100.0 * busy / wall, busy, wall);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hamon-latency: crash, hang and restart latency distributions"};
  app.require_subcommand(1);
  app.add_flag("--with-peer", g_with_peer,
               "give node a a duplex peer b on this machine: a's monitor runs its peer link");
  int trials = 1000, seconds = 5;
  std::uint32_t slots = 1;
  auto* c = app.add_subcommand("crash", "SIGKILL -> exited, and -> the replacement's first beat");
  c->add_option("--trials", trials);
  auto* h = app.add_subcommand("hang", "beats stop -> hung, past the timeout");
  h->add_option("--slots", slots)->check(CLI::Range(1u, 65536u));
  h->add_option("--trials", trials);
  auto* dm =
      app.add_subcommand("daemon", "SIGKILL of each daemon in turn -> its replacement at work");
  dm->add_option("--trials", trials);
  std::size_t rss_mb = 0;
  auto* xp = app.add_subcommand(
      "exit", "SIGKILL -> a robust futex's owner-died wake, and -> waitpid, by resident size");
  xp->add_option("--trials", trials);
  xp->add_option("--rss-mb", rss_mb, "the child's resident memory")->check(CLI::Range(0, 4096));
  auto* f =
      app.add_subcommand("floor", "the bare restart floor: this harness as a minimal supervisor");
  f->add_option("--trials", trials);
  std::string init_delay = "500ms";
  int slow_trials = 20;
  auto* sp =
      app.add_subcommand("spare", "SIGKILL of the serving instance -> promoted spare's beat");
  sp->add_option("--trials", trials);
  sp->add_option("--init-delay", init_delay, "the initialization of the slow application");
  sp->add_option("--slow-trials", slow_trials, "kills of the slow application (0: none)");
  std::string label = "external";
  double settle_s = 1.2;
  std::vector<std::string> command;
  auto* ex = app.add_subcommand(
      "external", "another supervisor (-- COMMAND...) restarting hamon-demo-app: SIGKILL -> beat");
  ex->add_option("--trials", trials);
  ex->add_option("--label", label, "its name in the report");
  ex->add_option("--settle", settle_s, "seconds each instance runs before it is killed");
  ex->add_option("command", command, "the supervisor, run in a process group of its own")
      ->required();
  app.add_option("--samples", g_samples, "write the figure's samples (µs, one per line) here");
  app.add_option("--cluster-keys", g_cluster_keys,
                 "hang, cpu: [cluster] lines for the monitor, e.g. 'daemon_sched = \"fifo:50\"'");
  auto* u = app.add_subcommand("cpu", "hamon-monitor CPU with N slots at 1 ms");
  u->add_option("--slots", slots)->check(CLI::Range(1u, 65536u));
  u->add_option("--seconds", seconds);
  u->add_option("--phases", g_phases,
                "beat the slots in N groups spread over each beat period (1: all at once)")
      ->check(CLI::Range(1u, 64u));
  CLI11_PARSE(app, argc, argv);
  signal(SIGINT, on_interrupt);
  signal(SIGTERM, on_interrupt);
  if (c->parsed()) return crash(trials);
  if (h->parsed()) return hang(slots, trials);
  if (f->parsed()) return floor_restart(trials);
  if (xp->parsed()) return exit_paths(trials, rss_mb);
  if (dm->parsed()) return daemon_restart(trials);
  if (sp->parsed()) return spare(trials, init_delay, slow_trials);
  if (ex->parsed()) return external(trials, label, settle_s, command);
  return cpu(slots, seconds);
}
