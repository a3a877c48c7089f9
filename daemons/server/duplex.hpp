// Duplex: hamon-server's side of the duplex (docs/roles.md). It feeds the role engine
// (engine/roles.hpp) with what the peer link wrote in the control segment's peer region — the
// peer's state and its tenants' roles, epochs, health and requests — and with this node's
// tenants' health, runs the fence or witness command the engine asks for, and publishes each
// decision through Groups (the heartbeat segment, for the applications; the group slot, for the
// link and the views).
//
// The peer counts as up for the engine only once its table has been read since it came up: a
// node never decides on a peer it has not heard the roles of.
#ifndef HAMON_SERVER_DUPLEX_HPP
#define HAMON_SERVER_DUPLEX_HPP

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "groups.hpp"
#include "hamon/engine/config.hpp"
#include "hamon/engine/roles.hpp"
#include "hamon/result.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::server {

class Duplex {
 public:
  // nullptr when the node has no peer (its tenants are then simply active).
  static std::unique_ptr<Duplex> make(const engine::Config& config, const std::string& node_id,
                                      const shm::ControlSegment& ctl, Groups& groups,
                                      std::uint64_t now);
  Duplex(const engine::Config& config, const engine::NodeConfig& self,
         const shm::ControlSegment& ctl, Groups& groups, std::uint64_t now);
  ~Duplex();
  Duplex(const Duplex&) = delete;
  Duplex& operator=(const Duplex&) = delete;

  // After a server restart: the roles and epochs its predecessor published.
  void restore();
  // Whether the peer link wrote something the roles depend on since the last turn.
  [[nodiscard]] bool changed() const;
  // One turn: `critical` is, per tenant of the configuration, its critical processes that cannot
  // be kept up here. Returns the role changes made (already published).
  std::vector<engine::RoleChange> turn(const std::vector<std::uint32_t>& critical,
                                       std::uint64_t now);
  [[nodiscard]] std::uint64_t next_deadline() const;

  // Cold standby: the tenant's processes are up (taking over) / down (stepping down).
  void ready(std::size_t tenant, std::uint64_t now) { roles_.ready(tenant, now); }
  void drained(std::size_t tenant, std::uint64_t now) { roles_.drained(tenant, now); }

  // Operator commands, by tenant name.
  base::Status switchover(const std::string& tenant, std::uint64_t now);
  base::Status activate(const std::string& tenant, std::uint64_t now);

  [[nodiscard]] const engine::Roles& roles() const { return roles_; }

 private:
  void read_peer(std::uint64_t now);
  void run_check(std::uint64_t now);
  void reap_check(std::uint64_t now);
  // The tenants' on_role_change hooks: one at a time, in the order of the changes, each given
  // hook_timeout; the role change itself never waits for one.
  void run_hooks(std::uint64_t now);
  // The tenant's group; none for a tenant without processes (it has no group, nor segment).
  [[nodiscard]] std::optional<std::uint32_t> group_of(std::size_t tenant) const;
  void say(shm::EventKind kind, const std::string& tenant, std::int64_t value,
           const std::string& detail) const;

  const engine::Config& config_;
  const shm::ControlSegment& ctl_;
  Groups& groups_;
  engine::Roles roles_;
  std::vector<std::string> check_command_;  // fence_command or witness_command
  std::string peer_id_;
  std::vector<std::pair<std::string, std::string>> check_env_;  // HAMON_NODE, HAMON_PEER…
  std::uint64_t check_timeout_ns_;
  pid_t check_pid_ = -1;
  std::uint64_t check_started_ns_ = 0;
  std::uint64_t last_turn_ns_ = 0;
  std::uint64_t seen_inputs_ = UINT64_MAX;
  struct Hook {
    std::string tenant;
    std::vector<std::string> argv;
  };
  std::deque<Hook> hooks_;
  pid_t hook_pid_ = -1;
  std::string hook_tenant_;
  std::uint64_t hook_started_ns_ = 0;
  engine::PeerLinkState link_ = engine::PeerLinkState::never_seen;
};

}  // namespace hamon::server

#endif  // HAMON_SERVER_DUPLEX_HPP
