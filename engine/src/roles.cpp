#include "hamon/engine/roles.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "hamon/engine/duration.hpp"

namespace hamon::engine {

namespace {

bool claims(Role r) { return r == Role::active || r == Role::taking_over; }

// A span for people: whole seconds from 10 s on, whole milliseconds below ("10m", "599s", "300ms").
std::string span(std::uint64_t ns) {
  const std::uint64_t unit = ns >= 10'000'000'000ULL ? 1'000'000'000ULL : 1'000'000ULL;
  return format_duration(std::chrono::nanoseconds((ns + unit / 2) / unit * unit));
}

}  // namespace

const char* to_string(Role r) noexcept {
  switch (r) {
    case Role::none: return "none";
    case Role::active: return "active";
    case Role::standby: return "standby";
    case Role::taking_over: return "taking-over";
    case Role::stepping_down: return "stepping-down";
  }
  return "?";
}

Roles::Roles(std::vector<TenantRoleSpec> tenants, RoleSettings settings, std::uint64_t now)
    : s_(settings), started_ns_(now) {
  tenants_.reserve(tenants.size());
  for (auto& t : tenants) {
    Tenant x;
    x.spec = std::move(t);
    tenants_.push_back(std::move(x));
  }
}

void Roles::restore(std::size_t tenant, Role role, std::uint64_t epoch) {
  Tenant& x = tenants_[tenant];
  // A transition in progress is finished the safe way: a step-down completes without handing
  // over (the peer was not told it may take over), a takeover completes on the next decision.
  x.role = role == Role::stepping_down ? Role::standby : role == Role::none ? Role::standby : role;
  x.epoch = epoch;
}

void Roles::peer_link(PeerLinkState state, std::uint64_t now) {
  if (state == link_) return;
  link_ = state;
  // A new loss needs its own check: a peer fenced once may have come back since.
  if (state == PeerLinkState::up) check_ = Check::idle;
  decide(now);
}

void Roles::peer_tenant(std::size_t tenant, const std::optional<PeerTenantView>& view,
                        std::uint64_t now) {
  tenants_[tenant].peer = view;
  decide(tenant, now);
}

void Roles::local_health(std::size_t tenant, std::uint32_t critical_failures, std::uint64_t now) {
  tenants_[tenant].critical = critical_failures;
  decide(tenant, now);
}

void Roles::check_done(bool peer_gone, std::uint64_t now) {
  if (check_ != Check::running) return;  // the link came back meanwhile: not needed any more
  check_ = peer_gone ? Check::passed : Check::failed;
  check_at_ns_ = now;
  notes_.push_back({peer_gone ? RoleNote::Kind::check_passed : RoleNote::Kind::check_failed, 0,
                    peer_gone ? "the peer is gone: its tenants are taken over"
                              : "the peer may still run: nothing is taken over (retried in " +
                                    span(s_.check_timeout_ns) + ")"});
  decide(now);
}

void Roles::drained(std::size_t tenant, std::uint64_t now) {
  if (tenants_[tenant].role == Role::stepping_down) tenants_[tenant].drained = true;
  decide(tenant, now);
}

void Roles::ready(std::size_t tenant, std::uint64_t now) {
  if (tenants_[tenant].role == Role::taking_over) tenants_[tenant].ready = true;
  decide(tenant, now);
}

void Roles::tick(std::uint64_t now) { decide(now); }

base::Status Roles::switchover(std::size_t tenant, std::uint64_t now) {
  Tenant& x = tenants_[tenant];
  const std::string& name = x.spec.name;
  if (link_ != PeerLinkState::up) {
    return base::Error{base::Errc::refused,
                       "switchover of " + name + ": the peer is not up, so nothing can take it"};
  }
  const PeerTenantView p = x.peer.value_or(PeerTenantView{Role::standby, 0, 0, false});
  if (x.role == Role::active) {
    if (p.role != Role::standby) {
      return base::Error{base::Errc::refused, "switchover of " + name + ": the peer's side is " +
                                                  to_string(p.role) + ", not standby"};
    }
    if (p.critical_failures > 0) {
      return base::Error{
          base::Errc::refused,
          "switchover of " + name + ": the peer's side cannot keep its critical processes up"};
    }
  } else if (x.role == Role::standby) {
    if (p.role != Role::active) {
      return base::Error{base::Errc::refused, "switchover of " + name + ": the peer's side is " +
                                                  to_string(p.role) + ", not active"};
    }
    if (x.critical > 0) {
      return base::Error{
          base::Errc::refused,
          "switchover of " + name + ": this side cannot keep its critical processes up"};
    }
  } else {
    return base::Error{base::Errc::refused,
                       "switchover of " + name + ": it is " + to_string(x.role) + " here"};
  }
  x.operator_wants = true;
  x.held_until_ns = 0;  // the operator moves a held tenant
  x.automatic.clear();
  decide(tenant, now);
  return base::ok();
}

base::Status Roles::activate(std::size_t tenant, std::uint64_t now) {
  Tenant& x = tenants_[tenant];
  if (claims(x.role)) {
    return base::Error{base::Errc::refused,
                       x.spec.name + " is already " + to_string(x.role) + " here"};
  }
  if (x.role == Role::stepping_down) {
    return base::Error{base::Errc::refused, x.spec.name + " is stepping down here"};
  }
  x.held_until_ns = 0;
  x.automatic.clear();
  const std::uint64_t seen = x.peer ? x.peer->epoch : 0;
  take_over(tenant, std::max(x.epoch, seen) + 1, "activated by the operator");
  decide(tenant, now);
  return base::ok();
}

std::vector<RoleChange> Roles::take_changes() { return std::exchange(changes_, {}); }
std::vector<RoleNote> Roles::take_notes() { return std::exchange(notes_, {}); }

bool Roles::take_check() {
  if (check_ != Check::wanted) return false;
  check_ = Check::running;
  return true;
}

std::uint64_t Roles::next_deadline() const {
  std::uint64_t next = std::numeric_limits<std::uint64_t>::max();
  if (link_ == PeerLinkState::never_seen) next = std::min(next, started_ns_ + s_.wait_for_peer_ns);
  if (check_ == Check::running || check_ == Check::failed) {
    next = std::min(next, check_at_ns_ + s_.check_timeout_ns);
  }
  for (const Tenant& x : tenants_) {
    if (x.role == Role::stepping_down) next = std::min(next, x.drain_deadline_ns);
    if (x.held_until_ns != 0) next = std::min(next, x.held_until_ns);
  }
  return next;
}

void Roles::decide(std::uint64_t now) {
  for (std::size_t t = 0; t < tenants_.size(); ++t) decide(t, now);
}

void Roles::decide(std::size_t t, std::uint64_t now) {
  Tenant& x = tenants_[t];
  // Transitions chain within one decision (a hot takeover is active at once, a step-down with
  // no drain time is standby at once), each change reported.
  for (int step = 0; step < 4; ++step) {
    const Role before = x.role;
    const std::uint64_t epoch_before = x.epoch;
    if (x.role == Role::stepping_down) {
      if (!x.drained && now < x.drain_deadline_ns) return;
      const bool release = std::exchange(x.release, false);
      x.drained = false;
      set(t, Role::standby, release ? x.epoch + 1 : x.epoch,
          release ? "handed over to the peer" : "stepped down");
    } else if (x.role == Role::taking_over) {
      if (x.spec.standby == Standby::hot || x.ready) {
        x.ready = false;
        set(t, Role::active, x.epoch, "took over");
      }
    }
    if (link_ == PeerLinkState::up) {
      const PeerTenantView p = x.peer.value_or(PeerTenantView{Role::standby, 0, 0, false});
      if (claims(x.role)) {
        x.asks = false;
        if (claims(p.role)) {
          // Both sides claim it (a partition healed, or a forced activation): one rule, the same
          // on both sides, so exactly one steps down.
          const bool stays = x.epoch > p.epoch || (x.epoch == p.epoch && preferred_here(t));
          if (!stays) {
            step_down(t, false, now,
                      "the peer is " + std::string(to_string(p.role)) + " too, with epoch " +
                          std::to_string(p.epoch) +
                          (p.epoch == x.epoch ? " (a tie) on the preferred side" : "") +
                          ": it keeps the tenant");
          }
        } else if (p.epoch > x.epoch) {
          // The peer handed over a term while this side already had the tenant (it took it
          // over without the peer for a while): it is active in that term now.
          set(t, x.role, p.epoch, "handed over by the peer");
        } else if (p.role == Role::standby && x.role == Role::active) {
          if (x.operator_wants || p.asks) {
            x.operator_wants = false;
            step_down(t, true, now,
                      p.asks ? "switchover asked on the peer" : "switchover asked here");
          } else if (x.critical > 0 && p.critical_failures == 0 && may_change(t, now)) {
            step_down(t, true, now,
                      "critical processes cannot be kept up here (" + std::to_string(x.critical) +
                          " failed); the peer's side can");
          }
        }
      } else if (x.role == Role::standby) {
        if (claims(p.role) || p.role == Role::stepping_down) {
          // A standby follows the active's term (reported, so that it is published).
          if (p.epoch > x.epoch) set(t, x.role, p.epoch, "following the peer's epoch");
          x.asks = x.operator_wants;
        } else if (p.epoch > x.epoch) {
          take_over(t, p.epoch, "handed over by the peer");
        } else if (p.epoch == x.epoch && preferred_here(t)) {
          take_over(t, x.epoch + 1, "nobody is active: the preferred side takes it");
        } else {
          x.asks = x.operator_wants;  // handed over by us: the peer takes it next
        }
      }
    } else {
      // Without the peer, there is nothing to switch over to.
      x.operator_wants = false;
      x.asks = false;
      const bool waiting =
          link_ == PeerLinkState::never_seen && now < started_ns_ + s_.wait_for_peer_ns;
      if (x.role == Role::standby && !waiting && policy_allows(now) && may_change(t, now)) {
        const std::uint64_t seen = x.peer ? x.peer->epoch : 0;
        take_over(t, std::max(x.epoch, seen) + 1,
                  link_ == PeerLinkState::lost
                      ? "the peer is lost (" + std::string(to_string(s_.on_peer_lost)) + ")"
                      : "the peer was not seen within wait_for_peer");
      }
    }
    if (x.role == before && x.epoch == epoch_before) return;
  }
}

void Roles::set(std::size_t t, Role to, std::uint64_t epoch, std::string why) {
  Tenant& x = tenants_[t];
  if (x.role == to && x.epoch == epoch) return;
  changes_.push_back(RoleChange{t, x.role, to, epoch, std::move(why)});
  x.role = to;
  x.epoch = epoch;
}

bool Roles::may_change(std::size_t t, std::uint64_t now) {
  Tenant& x = tenants_[t];
  if (x.held_until_ns != 0) {
    if (now < x.held_until_ns) return false;
    x.held_until_ns = 0;
    x.automatic.clear();
  }
  while (!x.automatic.empty() && x.automatic.front() + s_.role_change_window_ns <= now) {
    x.automatic.pop_front();
  }
  if (x.automatic.size() >= s_.max_role_changes) {
    x.held_until_ns =
        std::max<std::uint64_t>(now + 1, x.automatic.front() + s_.role_change_window_ns);
    notes_.push_back({RoleNote::Kind::held, t,
                      std::to_string(x.automatic.size()) + " automatic role changes within " +
                          span(s_.role_change_window_ns) + ": " + x.spec.name +
                          " holds where it is (" + to_string(x.role) + ") until " +
                          span(x.held_until_ns - now) + " from now, or an operator moves it"});
    return false;
  }
  x.automatic.push_back(now);
  return true;
}

bool Roles::preferred_here(std::size_t t) const { return tenants_[t].spec.preferred == s_.side; }

bool Roles::policy_allows(std::uint64_t now) {
  if (s_.on_peer_lost == PeerLostPolicy::takeover) return true;
  switch (check_) {
    case Check::passed: return true;
    case Check::idle:
      check_ = Check::wanted;
      check_at_ns_ = now;
      return false;
    case Check::wanted: return false;
    case Check::running:
      if (now >= check_at_ns_ + s_.check_timeout_ns) {
        check_ = Check::failed;
        check_at_ns_ = now;
        notes_.push_back({RoleNote::Kind::check_failed, 0,
                          "the " + std::string(to_string(s_.on_peer_lost)) +
                              " check did not answer within " + span(s_.check_timeout_ns) +
                              ": nothing is taken over"});
      }
      return false;
    case Check::failed:
      if (now >= check_at_ns_ + s_.check_timeout_ns) {
        check_ = Check::wanted;
        check_at_ns_ = now;
      }
      return false;
  }
  return false;
}

void Roles::step_down(std::size_t t, bool release, std::uint64_t now, std::string why) {
  Tenant& x = tenants_[t];
  x.release = release;
  x.drained = false;
  x.drain_deadline_ns = now + s_.drain_timeout_ns;
  set(t, Role::stepping_down, x.epoch, std::move(why));
}

void Roles::take_over(std::size_t t, std::uint64_t epoch, std::string why) {
  Tenant& x = tenants_[t];
  x.ready = false;
  x.operator_wants = false;
  x.asks = false;
  set(t, Role::taking_over, epoch, std::move(why));
}

}  // namespace hamon::engine
