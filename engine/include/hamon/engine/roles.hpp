// Roles: one node's duplex role decisions for its tenants, as pure logic (docs/roles.md). It is
// told what it sees — the peer link's state, the peer's record of each tenant (role, epoch,
// health, whether it asks for the tenant), its own tenants' health, operator commands, the
// outcome of a fence or witness check, time — and answers with role changes to publish and a
// check to run. No I/O and an injected clock, so two simulated nodes can run it in one test.
//
// The rules (each decision is level-triggered: it depends only on what is seen now, so a lost,
// late or repeated view of the peer does no harm):
//  - Epoch: a tenant's term. Whoever becomes active starts a higher term than any it has seen;
//    a standby follows the active's; an active that hands the tenant over publishes the next term
//    as standby, and only that hand-over lets the peer's side become active while the link is up.
//  - Link up, nobody active, same epoch on both sides: the tenant's preferred side takes it.
//  - Both active (a partition healed): the higher epoch stays, on a tie the preferred side; the
//    other steps down without handing over.
//  - The active side hands over (steps down, publishing the next term) when the operator asks
//    here or on the peer, or when its critical processes cannot be kept up and the peer's can.
//  - Peer lost, or never seen within wait_for_peer: a side that is not active takes the tenant
//    over as the policy says: at once (takeover), or after a fence or witness check that passed
//    for this loss (fence, witness) — never two actives under those two.
//  - Flap damping: after max_role_changes automatic changes of one tenant within
//    role_change_window it holds where it is (an alarm says so) until the window has passed or
//    the operator moves it; a step-down that resolves two actives is never held back.
//
// Not thread-safe; hamon-server calls it from its one loop.
#ifndef HAMON_ENGINE_ROLES_HPP
#define HAMON_ENGINE_ROLES_HPP

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "hamon/engine/config.hpp"
#include "hamon/result.hpp"

namespace hamon::engine {

// The numbers are enum hamon_role's (heartbeat_abi.h) and the peer protocol's.
enum class Role : std::uint8_t { none = 0, active, standby, taking_over, stepping_down };
[[nodiscard]] const char* to_string(Role r) noexcept;

enum class PeerLinkState : std::uint8_t { never_seen, up, lost };

// The peer's record of one tenant, as its node last reported it.
struct PeerTenantView {
  Role role = Role::none;
  std::uint64_t epoch = 0;
  std::uint32_t critical_failures = 0;
  bool asks = false;  // an operator asked on the peer's side for the tenant to move there
};

struct RoleSettings {
  Side side = Side::primary;
  PeerLostPolicy on_peer_lost = PeerLostPolicy::takeover;
  std::uint64_t wait_for_peer_ns = 0;
  std::uint64_t check_timeout_ns =
      5'000'000'000;  // a fence or witness check that takes longer failed
  std::uint32_t max_role_changes = 4;
  std::uint64_t role_change_window_ns = 60'000'000'000;
  std::uint64_t drain_timeout_ns = 0;  // stepping_down at most this long
};

struct TenantRoleSpec {
  std::string name;
  Side preferred = Side::primary;
  Standby standby = Standby::hot;
};

struct RoleChange {
  std::size_t tenant;
  Role from;
  Role to;
  std::uint64_t epoch;
  std::string why;
};

struct RoleNote {
  enum class Kind : std::uint8_t {
    held,          // flap damping: the tenant holds where it is
    check_passed,  // the fence or witness check says the peer is gone
    check_failed,  // it did not (or timed out): nothing is taken over
  };
  Kind kind;
  std::size_t tenant;  // held only
  std::string detail;
};

class Roles {
 public:
  Roles(std::vector<TenantRoleSpec> tenants, RoleSettings settings, std::uint64_t now);

  // A restarted server takes the roles and epochs it finds published (no change is reported).
  void restore(std::size_t tenant, Role role, std::uint64_t epoch);

  // What is seen.
  void peer_link(PeerLinkState state, std::uint64_t now);
  // std::nullopt: the peer has no record of the tenant (it is treated as standby at epoch 0).
  void peer_tenant(std::size_t tenant, const std::optional<PeerTenantView>& view,
                   std::uint64_t now);
  void local_health(std::size_t tenant, std::uint32_t critical_failures, std::uint64_t now);
  // The fence or witness command asked for by take_check() ended: whether the peer is gone.
  void check_done(bool peer_gone, std::uint64_t now);
  // stepping_down may end now (the applications acknowledged, or the cold processes stopped).
  void drained(std::size_t tenant, std::uint64_t now);
  // Cold standby: taking_over may end now (the tenant's processes are started and ready).
  void ready(std::size_t tenant, std::uint64_t now);
  void tick(std::uint64_t now);

  // Operator commands; an error says why nothing was done.
  base::Status switchover(std::size_t tenant, std::uint64_t now);
  // Takes the tenant whatever the peer and the policy say: for the operator who knows the peer
  // is dead.
  base::Status activate(std::size_t tenant, std::uint64_t now);

  // What to do.
  std::vector<RoleChange> take_changes();
  std::vector<RoleNote> take_notes();
  // Whether to start the fence or witness command now (once per ask).
  bool take_check();
  [[nodiscard]] std::uint64_t next_deadline() const;

  [[nodiscard]] std::size_t size() const { return tenants_.size(); }
  [[nodiscard]] Role role(std::size_t t) const { return tenants_[t].role; }
  [[nodiscard]] std::uint64_t epoch(std::uint64_t t) const { return tenants_[t].epoch; }
  // What this side publishes beside its role: it asks the peer for the tenant.
  [[nodiscard]] bool asks(std::size_t t) const { return tenants_[t].asks; }
  [[nodiscard]] bool held(std::size_t t) const { return tenants_[t].held_until_ns != 0; }
  [[nodiscard]] const std::string& name(std::size_t t) const { return tenants_[t].spec.name; }

 private:
  enum class Check : std::uint8_t { idle, wanted, running, passed, failed };
  struct Tenant {
    TenantRoleSpec spec;
    Role role = Role::standby;
    std::uint64_t epoch = 0;
    std::optional<PeerTenantView> peer;  // last known, kept when the link is lost
    std::uint32_t critical = 0;
    bool operator_wants = false;  // a switchover asked here, not done yet
    bool asks = false;
    bool release = false;  // stepping_down hands the tenant over
    bool drained = false;
    bool ready = false;
    std::uint64_t drain_deadline_ns = 0;
    std::deque<std::uint64_t> automatic;  // times of automatic changes within the window
    std::uint64_t held_until_ns = 0;
  };

  void decide(std::uint64_t now);
  void decide(std::size_t t, std::uint64_t now);
  void set(std::size_t t, Role to, std::uint64_t epoch, std::string why);
  // Whether an automatic change may happen now (counts it if so; holds the tenant if not).
  bool may_change(std::size_t t, std::uint64_t now);
  [[nodiscard]] bool preferred_here(std::size_t t) const;
  [[nodiscard]] bool policy_allows(std::uint64_t now);
  void step_down(std::size_t t, bool release, std::uint64_t now, std::string why);
  void take_over(std::size_t t, std::uint64_t epoch, std::string why);

  std::vector<Tenant> tenants_;
  RoleSettings s_;
  std::uint64_t started_ns_;
  PeerLinkState link_ = PeerLinkState::never_seen;
  Check check_ = Check::idle;
  std::uint64_t check_at_ns_ = 0;  // started, or failed (retried check_timeout later)
  std::vector<RoleChange> changes_;
  std::vector<RoleNote> notes_;
};

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_ROLES_HPP
