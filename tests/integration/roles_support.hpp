// What the role tests on two real nodes share: two tenants (acme preferred on the primary side,
// with a critical process that fails over at its first crash; globex preferred on the secondary),
// reading a tenant's role and epoch from a node's view, and bringing a node down hard.
#ifndef HAMON_TESTS_ROLES_SUPPORT_HPP
#define HAMON_TESTS_ROLES_SUPPORT_HPP

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "duplex.hpp"
#include "hamon/heartbeat_abi.h"
#include "hamon/shm/control_segment.hpp"
#include "test_node.hpp"

namespace hamon::test {

inline const char* const kTenants = R"(
[defaults]
interval = "10ms"
timeout = "200ms"

[[tenant]]
name = "acme"
preferred_side = "primary"

[[tenant.process]]
name = "acd"
command = ["@APP@", "--interval", "10ms"]
critical = true
failover = "immediate"

[[tenant]]
name = "globex"
preferred_side = "secondary"

[[tenant.process]]
name = "ivr"
command = ["@APP@", "--interval", "10ms"]
)";

inline std::string role(const node::NodeView& v, const std::string& tenant) {
  for (const auto& t : v.tenants) {
    if (t.name == tenant) return t.role;
  }
  return "?";
}

inline std::uint64_t epoch(const node::NodeView& v, const std::string& tenant) {
  for (const auto& t : v.tenants) {
    if (t.name == tenant) return t.epoch;
  }
  return 0;
}

inline bool roles_are(const TestNode& n, const std::string& acme, const std::string& globex,
                      std::chrono::milliseconds limit = std::chrono::seconds{20}) {
  return n.wait(
      [&](const node::NodeView& v) {
        return role(v, "acme") == acme && role(v, "globex") == globex;
      },
      limit);
}

inline std::string roles_of(const TestNode& n) {
  const auto v = n.view();
  return n.id() + ": acme " + role(v, "acme") + " (epoch " + std::to_string(epoch(v, "acme")) +
         "), globex " + role(v, "globex") + " (epoch " + std::to_string(epoch(v, "globex")) + ")";
}

// Whether `c`'s node publishes `tenant` as active in its group line (what the link and the views
// read): one seqlocked read, fast enough to sample a switchover from outside.
inline bool publishes_active(const shm::ControlSegment& c, const std::string& tenant) {
  for (std::uint32_t g = 0; g < c.max_groups(); ++g) {
    shm::GroupInfo info{};
    if (c.group(g).info.read(info) && std::string(info.name) == tenant) {
      return info.role == HAMON_ROLE_ACTIVE;
    }
  }
  return false;
}

inline bool both_up(Duplex& d) {
  const auto up_a = d.a().up();
  const auto up_b = d.b().up();
  EXPECT_EQ(up_a.code, 0) << up_a.out << up_a.err;
  EXPECT_EQ(up_b.code, 0) << up_b.out << up_b.err;
  return up_a.code == 0 && up_b.code == 0;
}

// Every hamon daemon and every process of the node, SIGKILL, by the pids it shows — again until
// none is left: a daemon restarted between the view and the kill is in the next view, whatever
// state it shows yet. The dead are reaped (this process is their subreaper): a zombie would
// still take the signal.
// And once more after a pause: a daemon started by one that was killed a moment later shows up
// only once it has registered.
inline void kill_everything(const TestNode& n) {
  for (int quiet = 0; quiet < 2;) {
    bool killed = false;
    n.wait([&](const node::NodeView& v) {
      reap_zombies();
      bool any = false;
      // All stopped first, then killed: a daemon still running while the others die could
      // restart them, or act on its processes' deaths (hand its tenants over) as a node that
      // dies at once never does.
      for (const auto& d : v.daemons) {
        if (d.pid > 0) (void)::kill(d.pid, SIGSTOP);
      }
      for (const auto& d : v.daemons) {
        if (d.pid > 0) any = ::kill(d.pid, SIGKILL) == 0 || any;
      }
      for (const auto& p : v.processes) {
        if (p.pid > 0) ::kill(p.pid, SIGKILL);
      }
      killed = killed || any;
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
      return !any;
    });
    quiet = killed ? 0 : quiet + 1;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

}  // namespace hamon::test

#endif  // HAMON_TESTS_ROLES_SUPPORT_HPP
