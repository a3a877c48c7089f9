// hamon-roles-bench: the duplex's role changes on two real nodes of this machine (docs/roles.md).
//
//   hamon-roles-bench [--switchovers 200] [--failures 200] [--deaths 20] [--tenants 64]
//
// Every time is CLOCK_MONOTONIC, which both nodes share here: the moment a role changed is the
// t_ns of the server's role-changed event (stamped when it decided), on each node.
// 1. switchover of one hot tenant (peer_interval 1 ms): the request sent on the control socket of
//    its active node → the other node's "taking-over -> active"; the gap with no active (the old
//    side's "active -> stepping-down" → the new side's "-> active"); overlaps (the new side active
//    before the old one left): must be 0. Then 64 tenants at once (`switchover --all` as the CLI
//    sends it: one request naming them all) → the last one active on the other side.
// 2. critical failure (failover = "immediate"): kill -9 of the tenant's critical process at its
//    active side → the other side's "-> active".
// 3. node death (peer_interval 1 ms, peer_timeout 10 ms, on_peer_lost = takeover): SIGKILL of
//    every daemon and process of node a → b's "-> active" for a's tenant; a is brought back and
//    the tenant moved back before the next trial.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hamon/node/clock.hpp"
#include "hamon/node/control_socket.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/node_view.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/event_cursor.hpp"
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
    std::printf("  %-40s no samples\n", what);
    return;
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  std::printf("  %-40s n=%-4zu p50 %9.1f us  p99 %9.1f us  max %9.1f us\n", what, us.size(),
              at(0.5), at(0.99), us.back());
}

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return pred();
}

class Pair {
 public:
  Pair(const std::string& processes, const std::string& timing) {
    cluster_ = std::string("rb").append(std::to_string(::getpid()));
    const std::string key = dir_.path + "/peer.key";
    run({bin("hamon"), "keygen", key}, true);
    const std::uint16_t pa = free_port(), pb = free_port();
    std::string head = "[cluster]\nname = \"";
    head.append(cluster_).append("\"\n").append(timing).append("\nauth_key_file = \"");
    head.append(key).append("\"\n[[cluster.node]]\nid = \"a\"\nside = \"primary\"\naddress = ");
    head.append("\"127.0.0.1:").append(std::to_string(pa)).append("\"\n[[cluster.node]]\n");
    head.append("id = \"b\"\nside = \"secondary\"\naddress = \"127.0.0.1:");
    head.append(std::to_string(pb)).append("\"\n");
    std::ofstream(dir_.path + "/c.toml") << head << processes;
    ::setenv("HAMON_RUNTIME_DIR", (dir_.path + "/run").c_str(), 1);
  }
  ~Pair() {
    for (const char* n : {"a", "b"}) down(n);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  bool up(const char* id) {
    return run({bin("hamon"), "up", "--config", dir_.path + "/c.toml", "--node", id, "--timeout",
                "120s"},
               true) == 0;
  }
  void down(const char* id) {
    run({bin("hamon"), "down", "--config", dir_.path + "/c.toml", "--node", id, "--timeout", "60s"},
        true);
  }
  std::optional<shm::ControlSegment> control(const char* id) const {
    auto c = shm::ControlSegment::attach(node::control_segment_name(cluster_, id),
                                         shm::Access::read_only);
    if (!c) return std::nullopt;
    return std::move(c).value();
  }
  [[nodiscard]] std::string socket(const char* id) const {
    return node::server_socket(cluster_, id);
  }

 private:
  hamon::bench::TempDir dir_;
  std::string cluster_;
};

std::string role_of(const shm::ControlSegment& c, const std::string& tenant) {
  for (const auto& t : node::read_view(c).tenants) {
    if (t.name == tenant) return t.role;
  }
  return "";
}

// The t_ns of the first role-changed event of `tenant` after `since` whose detail starts with
// `from`, reading the ring from `cursor` on.
std::optional<std::uint64_t> changed(const shm::ControlSegment& c, const std::string& tenant,
                                     const std::string& prefix, std::uint64_t since) {
  shm::EventCursor cursor(c.events(), c.events().oldest());
  shm::Event e;
  std::optional<std::uint64_t> found;
  for (;;) {
    const auto step = cursor.next(e, hamon::node::now_ns());
    if (step.kind == shm::EventCursor::Kind::caught_up ||
        step.kind == shm::EventCursor::Kind::pending) {
      break;
    }
    if (step.kind != shm::EventCursor::Kind::event) continue;
    if (e.kind != shm::EventKind::role_changed || e.t_ns < since) continue;
    const std::string detail(e.detail, strnlen(e.detail, sizeof e.detail));
    const std::string group(e.group, strnlen(e.group, sizeof e.group));
    if (group == tenant && detail.rfind(prefix, 0) == 0 && !found) found = e.t_ns;
  }
  return found;
}

// t0 has a critical process (failover = "immediate"); with `cold`, t1 is a cold-standby tenant
// (its process runs only on its active side).
std::string tenants_toml(int n, bool cold = false) {
  std::string t = "[defaults]\ninterval = \"100ms\"\ntimeout = \"1s\"\nready = \"spawn\"\n";
  for (int i = 0; i < n; ++i) {
    t.append("[[tenant]]\nname = \"t").append(std::to_string(i)).append("\"\n");
    if (i == 1 && cold) t.append("standby = \"cold\"\n");
    t.append("[[tenant.process]]\nname = \"p\"\ncommand = [\"/bin/sleep\", \"1000000\"]\n");
    if (i == 0) t.append("critical = true\nfailover = \"immediate\"\nrestart_budget = 1000\n");
  }
  return t;
}

void switchovers(int trials, int tenants) {
  std::printf("\n1. switchover (peer_interval 1 ms, %d hot tenants)\n", tenants);
  Pair pair(tenants_toml(tenants), "peer_interval = \"1ms\"\npeer_timeout = \"250ms\"");
  if (!pair.up("a") || !pair.up("b")) {
    std::printf("  the nodes did not come up\n");
    return;
  }
  auto a = pair.control("a");
  auto b = pair.control("b");
  if (!a || !b) return;
  if (!wait_for([&] { return role_of(*a, "t0") == "active" && role_of(*b, "t0") == "standby"; },
                std::chrono::seconds(30))) {
    std::printf("  t0 never active at a\n");
    return;
  }
  std::vector<double> latency, gap;
  int overlaps = 0;
  for (int k = 0; k < trials; ++k) {
    const bool from_a = role_of(*a, "t0") == "active";
    const shm::ControlSegment& old_side = from_a ? *a : *b;
    const shm::ControlSegment& new_side = from_a ? *b : *a;
    const std::uint64_t t0 = hamon::node::now_ns();
    (void)node::control_request(pair.socket(from_a ? "a" : "b"), "switchover t0", 2000);
    std::optional<std::uint64_t> left, active;
    wait_for(
        [&] {
          left = changed(old_side, "t0", "active -> stepping-down", t0);
          active = changed(new_side, "t0", "taking-over -> active", t0);
          return left && active && role_of(old_side, "t0") == "standby";
        },
        std::chrono::seconds(5));
    if (!left || !active) {
      std::printf("  trial %d: not done\n", k);
      continue;
    }
    latency.push_back(static_cast<double>(*active - t0) / 1000.0);
    if (*active < *left) ++overlaps;
    gap.push_back(static_cast<double>(*active - std::min(*active, *left)) / 1000.0);
  }
  report("request -> active on the other side", latency);
  report("gap with no active", gap);
  std::printf("  overlaps (two actives): %d in %zu trials\n", overlaps, latency.size());

  // All tenants at once, from whichever side has t0.
  std::vector<double> all;
  for (int k = 0; k < 5; ++k) {
    const bool from_a = role_of(*a, "t0") == "active";
    const shm::ControlSegment& new_side = from_a ? *b : *a;
    std::vector<std::string> mine;
    for (const auto& t : node::read_view(from_a ? *a : *b).tenants) {
      if (t.role == "active") mine.push_back(t.name);
    }
    std::string list;
    for (const auto& t : mine) list.append(list.empty() ? "" : ",").append(t);
    const std::uint64_t t0 = hamon::node::now_ns();
    // As `hamon switchover --all` sends it: one request naming them all.
    (void)node::control_request(pair.socket(from_a ? "a" : "b"), "switchover " + list, 2000);
    std::uint64_t last = 0;
    const bool done = wait_for(
        [&] {
          last = 0;
          for (const auto& t : mine) {
            const auto at = changed(new_side, t, "taking-over -> active", t0);
            if (!at) return false;
            last = std::max(last, *at);
          }
          return true;
        },
        std::chrono::seconds(10));
    if (done) all.push_back(static_cast<double>(last - t0) / 1000.0);
  }
  report("all active tenants -> the last one active", all);
}

void failures(int trials) {
  std::printf("\n2. critical failure (failover = \"immediate\", peer_interval 1 ms)\n");
  // Damping off: every trial is an automatic change of the same tenant.
  Pair pair(tenants_toml(2),
            "peer_interval = \"1ms\"\npeer_timeout = \"250ms\"\nmax_role_changes = 1000");
  if (!pair.up("a") || !pair.up("b")) {
    std::printf("  the nodes did not come up\n");
    return;
  }
  auto a = pair.control("a");
  auto b = pair.control("b");
  if (!a || !b) return;
  std::vector<double> moved;
  for (int k = 0; k < trials; ++k) {
    if (!wait_for([&] { return role_of(*a, "t0") == "active" || role_of(*b, "t0") == "active"; },
                  std::chrono::seconds(5))) {
      break;
    }
    const bool at_a = role_of(*a, "t0") == "active";
    const shm::ControlSegment& side = at_a ? *a : *b;
    const shm::ControlSegment& other = at_a ? *b : *a;
    std::int32_t pid = 0;
    // Its process must be back up (restarted after the previous trial) before it is killed.
    wait_for(
        [&] {
          for (const auto& p : node::read_view(side).processes) {
            if (p.tenant == "t0" && p.state == "running") pid = p.pid;
          }
          return pid > 0 && role_of(other, "t0") == "standby";
        },
        std::chrono::seconds(5));
    if (pid <= 0) continue;
    const std::uint64_t t0 = hamon::node::now_ns();
    ::kill(pid, SIGKILL);
    std::optional<std::uint64_t> active;
    wait_for(
        [&] { return (active = changed(other, "t0", "taking-over -> active", t0)).has_value(); },
        std::chrono::seconds(5));
    if (active) moved.push_back(static_cast<double>(*active - t0) / 1000.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  report("kill -9 -> active on the other side", moved);
}

void deaths(int trials) {
  std::printf("\n3. node death (peer_interval 1 ms, peer_timeout 10 ms, takeover)\n");
  Pair pair(tenants_toml(2, true),
            "peer_interval = \"1ms\"\npeer_timeout = \"10ms\"\nwait_for_peer = \"30s\"\n"
            "max_role_changes = 1000");
  if (!pair.up("a") || !pair.up("b")) {
    std::printf("  the nodes did not come up\n");
    return;
  }
  std::vector<double> taken, taken_cold;
  int false_losses = 0;
  for (int k = 0; k < trials; ++k) {
    auto a = pair.control("a");
    auto b = pair.control("b");
    if (!a || !b) {
      std::printf("  trial %d: a node's control segment is gone\n", k);
      break;
    }
    if (!wait_for(
            [&] {
              return role_of(*a, "t0") == "active" && role_of(*b, "t0") == "standby" &&
                     role_of(*a, "t1") == "active" && role_of(*b, "t1") == "standby";
            },
            std::chrono::seconds(20))) {
      std::printf("  trial %d: t0 and t1 not active at a\n", k);
      break;
    }
    const auto v = node::read_view(*a);
    const std::uint64_t t0 = hamon::node::now_ns();
    for (const auto& d : v.daemons) {
      if (d.pid > 0) ::kill(d.pid, SIGKILL);
    }
    for (const auto& p : v.processes) {
      if (p.pid > 0) ::kill(p.pid, SIGKILL);
    }
    std::optional<std::uint64_t> active, cold;
    wait_for(
        [&] {
          active = changed(*b, "t0", "taking-over -> active", t0);
          cold = changed(*b, "t1", "taking-over -> active", t0);
          return active && cold;
        },
        std::chrono::seconds(5));
    if (active) taken.push_back(static_cast<double>(*active - t0) / 1000.0);
    if (cold) taken_cold.push_back(static_cast<double>(*cold - t0) / 1000.0);
    // a back, and t0 moved back to it for the next trial.
    a.reset();
    if (!pair.up("a")) {
      std::printf("  trial %d: node a did not come back up\n", k);
      break;
    }
    auto a2 = pair.control("a");
    if (!a2) break;
    wait_for([&] { return role_of(*a2, "t0") == "standby"; }, std::chrono::seconds(20));
    // Asked again until it is done: a switchover is refused while a does not hear b yet.
    wait_for(
        [&] {
          std::string back;  // only those not at a yet: a switchover of one there moves it away
          for (const char* t : {"t0", "t1"}) {
            if (role_of(*a2, t) == "standby") back.append(back.empty() ? "" : ",").append(t);
          }
          if (back.empty()) return role_of(*a2, "t0") == "active" && role_of(*a2, "t1") == "active";
          (void)node::control_request(pair.socket("a"), "switchover " + back, 2000);
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          return role_of(*a2, "t0") == "active" && role_of(*a2, "t1") == "active";
        },
        std::chrono::seconds(20));
    (void)false_losses;
  }
  report("SIGKILL of node a -> t0 active at b", taken);
  report("... cold t1 active at b (process up)", taken_cold);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hamon-roles-bench: switchover, critical failure and node death on two nodes"};
  int switches = 200, fails = 200, dies = 20, tenants = 64;
  app.add_option("--switchovers", switches)->check(CLI::Range(1, 100000));
  app.add_option("--failures", fails)->check(CLI::Range(0, 100000));
  app.add_option("--deaths", dies)->check(CLI::Range(0, 10000));
  app.add_option("--tenants", tenants)->check(CLI::Range(1, 500));
  CLI11_PARSE(app, argc, argv);
  hamon::bench::print_machine();
  switchovers(switches, tenants);
  if (fails > 0) failures(fails);
  if (dies > 0) deaths(dies);
  return 0;
}
