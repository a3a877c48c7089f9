// hamon-peer-bench: the peer link's figures, with two real nodes on this machine.
//
//   hamon-peer-bench [--trials 1000] [--processes 4096] [--kills 10] [--cost-seconds 10]
//
// 1. Broadcast lag: a state change written at node a (its control segment's watch record,
//    `since_ns`) → the same state in node b's peer view (the row's `updated_ns`), both on this
//    machine's CLOCK_MONOTONIC. Each trial kills a's process (restart = "never": exited, stays)
//    or starts it again (`hamon start`: running, stays). Beside it, the floor: one 64-byte
//    message over a loopback TCP connection with TCP_NODELAY (half a ping-pong round trip).
// 2. With a of --processes sleeping processes and peer_interval = 1 ms: kill -9 of a's
//    hamon-monitor (the link's process) → b's link up again, and → b's view holding a fresh
//    snapshot; the resync alone (handshake done → table complete); kill -9 of every other daemon
//    of a; and how many times b declared a lost (target 0).
// 3. Link cost at steady state (--processes, 1 ms): bytes/s each way and the CPU of each node's
//    link thread ("hamon-link"), over --cost-seconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hamon/node/clock.hpp"
#include "hamon/node/node.hpp"
#include "hamon/shm/control_segment.hpp"
#include "harness.hpp"

namespace {

namespace shm = hamon::shm;
namespace node = hamon::node;
using hamon::bench::bin;
using hamon::bench::free_port;
using hamon::bench::run;
using Clock = std::chrono::steady_clock;

void report(const char* what, std::vector<double> us) {
  if (us.empty()) {
    std::printf("  %-34s no samples\n", what);
    return;
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  std::printf("  %-34s n=%-5zu p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  max %8.1f us\n", what,
              us.size(), at(0.5), at(0.99), at(0.999), us.back());
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Two nodes of one cluster, a and b, in a temporary directory, taken down at the end.
class Pair {
 public:
  Pair(const std::string& a_processes, const std::string& b_processes, const std::string& interval,
       int index)
      : cluster_("pb" + std::to_string(::getpid()) + "x" + std::to_string(index)) {
    const std::string key = dir_.path + "/peer.key";
    run({bin("hamon"), "keygen", key}, true);
    const std::uint16_t pa = free_port(), pb = free_port();
    const std::string head = "[cluster]\nname = \"" + cluster_ + "\"\npeer_interval = \"" +
                             interval + "\"\npeer_timeout = \"250ms\"\nauth_key_file = \"" + key +
                             "\"\n[[cluster.node]]\nid = \"a\"\nside = \"primary\"\naddress = "
                             "\"127.0.0.1:" +
                             std::to_string(pa) +
                             "\"\n[[cluster.node]]\nid = \"b\"\nside = \"secondary\"\naddress = "
                             "\"127.0.0.1:" +
                             std::to_string(pb) + "\"\n";
    std::ofstream(dir_.path + "/a.toml") << head << a_processes;
    std::ofstream(dir_.path + "/b.toml") << head << b_processes;
    ::setenv("HAMON_RUNTIME_DIR", (dir_.path + "/run").c_str(), 1);
  }
  ~Pair() {
    for (const char* n : {"a", "b"}) down(n);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  bool up(const char* id) {
    return run({bin("hamon"), "up", "--config", config(id), "--node", id, "--timeout", "600s"},
               true) == 0;
  }
  void down(const char* id) {
    run({bin("hamon"), "down", "--config", config(id), "--node", id, "--timeout", "600s"}, true);
  }
  int hamon(const char* id, std::vector<std::string> args) {
    args.insert(args.begin(), bin("hamon"));
    const std::string file = config(id);
    for (const std::string& a :
         {std::string("--config"), file, std::string("--node"), std::string(id)}) {
      args.push_back(a);
    }
    return run(args, true);
  }
  std::optional<shm::ControlSegment> control(const char* id) const {
    auto c = shm::ControlSegment::attach(node::control_segment_name(cluster_, id),
                                         shm::Access::read_only);
    if (!c) return std::nullopt;
    return std::move(c).value();
  }
  [[nodiscard]] std::string config(const char* id) const { return dir_.path + "/" + id + ".toml"; }

 private:
  hamon::bench::TempDir dir_;
  std::string cluster_;
};

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return pred();
}

std::optional<std::uint32_t> slot_of(const shm::ControlSegment& c, const char* name) {
  for (std::uint32_t s = 0; s < c.max_processes(); ++s) {
    shm::ProcessIdentity id{};
    if (c.process(s).identity.read(id) && std::strcmp(id.name, name) == 0) return s;
  }
  return std::nullopt;
}

std::optional<shm::PeerProcess> peer_row(const shm::ControlSegment& c, const char* name) {
  const shm::PeerSlot p = c.peer(0);
  shm::PeerHeader h{};
  if (!p.header().read(h)) return std::nullopt;
  for (std::uint32_t i = 0; i < h.process_rows && i < p.max_processes(); ++i) {
    shm::PeerProcess r{};
    if (p.process(i).read(r) && std::strcmp(r.name, name) == 0) return r;
  }
  return std::nullopt;
}

shm::PeerHeader peer_header(const shm::ControlSegment& c) {
  shm::PeerHeader h{};
  (void)c.peer(0).header().read(h);
  return h;
}

// a's watch record of the process, once it is in `state`.
std::optional<shm::WatchRecord> watch_in(const shm::ControlSegment& a, std::uint32_t slot,
                                         shm::ProcessState state) {
  shm::WatchRecord w{};
  if (!a.process(slot).watch.read(w) || w.state != state) return std::nullopt;
  return w;
}

void lag(int trials) {
  std::printf("\n1. broadcast lag: a state written at a -> the same state in b's peer view\n");
  const std::string process =
      "[[system.process]]\nname = \"x\"\ncommand = [\"" + bin("hamon-demo-app") +
      "\", \"--interval\", \"10ms\"]\ninterval = \"10ms\"\ntimeout = \"100ms\"\n"
      "restart = \"never\"\n";
  Pair pair(process, process, "2ms", 0);
  if (!pair.up("a") || !pair.up("b")) {
    std::printf("  the nodes did not come up\n");
    return;
  }
  auto a = pair.control("a");
  auto b = pair.control("b");
  const auto slot = a ? slot_of(*a, "x") : std::nullopt;
  if (!a || !b || !slot) return;
  std::vector<double> exited, running;
  for (int t = 0; t < trials; t += 2) {
    shm::SpawnRecord sp{};
    (void)a->process(*slot).spawn.read(sp);
    if (sp.pid <= 0 || !watch_in(*a, *slot, shm::ProcessState::running)) break;
    ::kill(sp.pid, SIGKILL);
    std::optional<shm::WatchRecord> w;
    if (!wait_for([&] { return (w = watch_in(*a, *slot, shm::ProcessState::exited)).has_value(); },
                  std::chrono::seconds(5))) {
      break;
    }
    std::optional<shm::PeerProcess> r;
    if (wait_for(
            [&] {
              r = peer_row(*b, "x");
              return r && r->incarnation == w->incarnation &&
                     r->state == static_cast<std::uint32_t>(shm::ProcessState::exited);
            },
            std::chrono::seconds(5))) {
      exited.push_back(static_cast<double>(r->updated_ns - w->since_ns) / 1000.0);
    }
    pair.hamon("a", {"start", "system/x"});
    if (!wait_for(
            [&] {
              w = watch_in(*a, *slot, shm::ProcessState::running);
              return w.has_value();
            },
            std::chrono::seconds(5))) {
      break;
    }
    if (wait_for(
            [&] {
              r = peer_row(*b, "x");
              return r && r->incarnation == w->incarnation &&
                     r->state == static_cast<std::uint32_t>(shm::ProcessState::running);
            },
            std::chrono::seconds(5))) {
      running.push_back(static_cast<double>(r->updated_ns - w->since_ns) / 1000.0);
    }
  }
  std::vector<double> all = exited;
  all.insert(all.end(), running.begin(), running.end());
  report("exited (kill -9 at a)", exited);
  report("running (hamon start at a)", running);
  report("all transitions", all);

  // The floor: one-way latency of a small TCP message on loopback.
  std::vector<double> floor;
  const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(ls, 1);
  socklen_t len = sizeof addr;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
  std::thread echo([ls] {
    const int c = ::accept(ls, nullptr, nullptr);
    const int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[64];
    while (::recv(c, buf, sizeof buf, MSG_WAITALL) == sizeof buf) ::send(c, buf, sizeof buf, 0);
    ::close(c);
  });
  const int cs = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::connect(cs, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int one = 1;
  ::setsockopt(cs, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buf[64] = {};
  for (int i = 0; i < std::max(trials, 1000); ++i) {
    const std::uint64_t t0 = node::now_ns();
    ::send(cs, buf, sizeof buf, 0);
    if (::recv(cs, buf, sizeof buf, MSG_WAITALL) != sizeof buf) break;
    floor.push_back(static_cast<double>(node::now_ns() - t0) / 2000.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a cold path, like a change
  }
  ::close(cs);
  echo.join();
  ::close(ls);
  report("floor: 64 B over loopback TCP", floor);
  if (!all.empty() && !floor.empty()) {
    std::printf("  ratio hamon/floor at p50: %.1fx\n", median(all) / median(floor));
  }
}

std::optional<std::uint64_t> thread_ticks(pid_t pid, const char* name) {
  std::error_code ec;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream comm(t.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c != name) continue;
    std::ifstream stat(t.path() / "stat");
    std::string s((std::istreambuf_iterator<char>(stat)), {});
    const auto close = s.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::vector<std::string> f;
    std::string cur;
    for (char ch : s.substr(close + 2)) {
      if (ch == ' ') {
        f.push_back(cur);
        cur.clear();
      } else {
        cur += ch;
      }
    }
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the state.
    if (f.size() < 13) return std::nullopt;
    return std::stoull(f[11]) + std::stoull(f[12]);
  }
  return std::nullopt;
}

void big(int processes, int kills, int cost_seconds) {
  std::printf("\n2./3. a node of %d processes, peer_interval 1 ms\n", processes);
  std::string many = "[defaults]\ninterval = \"1s\"\ntimeout = \"10s\"\nready = \"spawn\"\n";
  for (int i = 0; i < processes; ++i) {
    many += "[[system.process]]\nname = \"p" + std::to_string(i) +
            "\"\ncommand = [\"/bin/sleep\", \"1000000\"]\n";
  }
  const std::string one =
      "[[system.process]]\nname = \"q\"\ncommand = [\"/bin/sleep\", "
      "\"1000000\"]\nready = \"spawn\"\ninterval = \"1s\"\ntimeout = \"10s\"\n";
  Pair pair(many, one, "1ms", 1);
  if (!pair.up("a") || !pair.up("b")) {
    std::printf("  the nodes did not come up\n");
    return;
  }
  auto a = pair.control("a");
  auto b = pair.control("b");
  if (!a || !b) return;
  auto complete = [&] {
    const auto h = peer_header(*b);
    return h.state == shm::PeerState::up && h.process_rows >= static_cast<std::uint32_t>(processes);
  };
  if (!wait_for(complete, std::chrono::seconds(60))) {
    std::printf("  b never held a's whole table\n");
    return;
  }
  std::vector<double> back, fresh, resync;
  for (int k = 0; k < kills; ++k) {
    const pid_t pid = static_cast<pid_t>(a->daemon(shm::DaemonId::monitor).pid.load());
    const std::uint64_t t0 = node::now_ns();
    ::kill(pid, SIGKILL);
    shm::PeerHeader h{};
    if (!wait_for(
            [&] {
              h = peer_header(*b);
              return h.links[0].up_since_ns > t0 && h.snapshot_ns > t0;
            },
            std::chrono::seconds(10))) {
      std::printf("  kill %d: the link did not come back with a snapshot\n", k);
      continue;
    }
    back.push_back(static_cast<double>(h.links[0].up_since_ns - t0) / 1000.0);
    fresh.push_back(static_cast<double>(h.snapshot_ns - t0) / 1000.0);
    resync.push_back(static_cast<double>(h.snapshot_ns - h.links[0].up_since_ns) / 1000.0);
    // A daemon that ends within a second of its start is restarted after a growing pause (its
    // watcher's restart pacing): each kill here is of a monitor that has run for over a second.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  }
  report("kill -9 hamon-monitor -> link up", back);
  report("kill -9 hamon-monitor -> fresh table", fresh);
  report("resync (handshake -> table whole)", resync);
  for (auto d : {shm::DaemonId::spawner, shm::DaemonId::server, shm::DaemonId::master,
                 shm::DaemonId::watcher}) {
    for (int k = 0; k < kills; ++k) {
      const auto restarts = a->daemon(d).restarts.load();
      ::kill(static_cast<pid_t>(a->daemon(d).pid.load()), SIGKILL);
      wait_for([&] { return a->daemon(d).restarts.load() > restarts; }, std::chrono::seconds(10));
      std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // as above
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::printf("  b declared a lost %llu times over %d kills of each of a's five daemons\n",
              static_cast<unsigned long long>(peer_header(*b).peer_losses), kills);

  // 3. cost at steady state.
  const auto a_pid = static_cast<pid_t>(a->daemon(shm::DaemonId::monitor).pid.load());
  const auto b_pid = static_cast<pid_t>(b->daemon(shm::DaemonId::monitor).pid.load());
  const auto h0 = peer_header(*b);
  const auto ta0 = thread_ticks(a_pid, "hamon-link");
  const auto tb0 = thread_ticks(b_pid, "hamon-link");
  std::this_thread::sleep_for(std::chrono::seconds(cost_seconds));
  const auto h1 = peer_header(*b);
  const auto ta1 = thread_ticks(a_pid, "hamon-link");
  const auto tb1 = thread_ticks(b_pid, "hamon-link");
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::printf("  steady state over %d s: a->b %.0f B/s, b->a %.0f B/s\n", cost_seconds,
              static_cast<double>(h1.links[0].bytes_in - h0.links[0].bytes_in) / cost_seconds,
              static_cast<double>(h1.links[0].bytes_out - h0.links[0].bytes_out) / cost_seconds);
  if (ta0 && ta1 && tb0 && tb1) {
    std::printf("  link thread CPU: a (sends 4096-row table) %.1f %% of a core, b %.1f %%\n",
                100.0 * static_cast<double>(*ta1 - *ta0) / hz / cost_seconds,
                100.0 * static_cast<double>(*tb1 - *tb0) / hz / cost_seconds);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hamon-peer-bench: the peer link's lag, resync, recovery and cost"};
  int trials = 1000, processes = 4096, kills = 10, cost = 10;
  app.add_option("--trials", trials, "state changes measured for the lag")
      ->check(CLI::Range(2, 100000));
  app.add_option("--processes", processes, "processes of node a for resync and cost")
      ->check(CLI::Range(1, 65536));
  app.add_option("--kills", kills, "kills of each daemon of a")->check(CLI::Range(1, 1000));
  app.add_option("--cost-seconds", cost, "steady-state window")->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);
  hamon::bench::print_machine();
  lag(trials);
  big(processes, kills, cost);
  return 0;
}
