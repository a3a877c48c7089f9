#include "duplex.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "hamon/heartbeat_abi.h"
#include "hamon/node/command_spawn.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::server {

namespace {

engine::RoleSettings settings_of(const engine::Config& config, const engine::NodeConfig& self) {
  const engine::ClusterConfig& c = config.cluster;
  engine::RoleSettings s;
  s.side = self.side;
  s.on_peer_lost = c.on_peer_lost;
  s.wait_for_peer_ns = static_cast<std::uint64_t>(c.wait_for_peer.count());
  s.check_timeout_ns = static_cast<std::uint64_t>(
      (c.on_peer_lost == engine::PeerLostPolicy::witness ? c.witness_timeout : c.fence_timeout)
          .count());
  s.max_role_changes = c.max_role_changes;
  s.role_change_window_ns = static_cast<std::uint64_t>(c.role_change_window.count());
  s.drain_timeout_ns = static_cast<std::uint64_t>(c.drain_timeout.count());
  return s;
}

std::vector<engine::TenantRoleSpec> specs_of(const engine::Config& config) {
  std::vector<engine::TenantRoleSpec> out;
  for (const auto& t : config.tenants) out.push_back({t.name, t.preferred_side, t.standby});
  return out;
}

}  // namespace

std::unique_ptr<Duplex> Duplex::make(const engine::Config& config, const std::string& node_id,
                                     const shm::ControlSegment& ctl, Groups& groups,
                                     std::uint64_t now) {
  const engine::NodeConfig* self = config.find_node(node_id);
  if (self == nullptr || config.peers_of(node_id).empty()) return nullptr;
  return std::make_unique<Duplex>(config, *self, ctl, groups, now);
}

Duplex::Duplex(const engine::Config& config, const engine::NodeConfig& self,
               const shm::ControlSegment& ctl, Groups& groups, std::uint64_t now)
    : config_(config),
      ctl_(ctl),
      groups_(groups),
      roles_(specs_of(config), settings_of(config, self), now),
      check_command_(config.cluster.on_peer_lost == engine::PeerLostPolicy::witness
                         ? config.cluster.witness_command
                         : config.cluster.fence_command),
      check_timeout_ns_(settings_of(config, self).check_timeout_ns) {
  // The one peer (a duplex): named to the fence and witness commands and the hooks.
  if (const auto peers = config.peers_of(self.id); !peers.empty()) {
    peer_id_ = peers.front()->id;
    check_env_ = {{"HAMON_NODE", self.id}, {"HAMON_PEER", peer_id_}};
    if (!peers.front()->addresses.empty()) {
      check_env_.emplace_back("HAMON_PEER_ADDRESS", peers.front()->addresses.front().host);
    }
  }
}

Duplex::~Duplex() {
  for (pid_t pid : {check_pid_, hook_pid_}) {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
}

void Duplex::run_hooks(std::uint64_t now) {
  if (hook_pid_ > 0) {
    int status = 0;
    if (::waitpid(hook_pid_, &status, WNOHANG) == hook_pid_) {
      hook_pid_ = -1;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        say(shm::EventKind::alarm, hook_tenant_, status,
            "on_role_change failed (" +
                (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                   : "killed by signal " + std::to_string(WTERMSIG(status))) +
                ")");
      }
    } else if (now >= hook_started_ns_ +
                          static_cast<std::uint64_t>(config_.cluster.hook_timeout.count())) {
      ::kill(hook_pid_, SIGKILL);
      ::waitpid(hook_pid_, nullptr, 0);
      hook_pid_ = -1;
      say(shm::EventKind::alarm, hook_tenant_, 0,
          "on_role_change did not end within hook_timeout: killed");
    }
  }
  while (hook_pid_ <= 0 && !hooks_.empty()) {
    Hook h = std::move(hooks_.front());
    hooks_.pop_front();
    const pid_t pid = node::spawn_command({.argv = h.argv, .env = check_env_});
    if (pid < 0) {
      say(shm::EventKind::alarm, h.tenant, 0,
          "on_role_change " + h.argv.front() + " cannot be run: " + std::strerror(-pid));
      continue;
    }
    hook_pid_ = pid;
    hook_tenant_ = h.tenant;
    hook_started_ns_ = now;
  }
}

std::optional<std::uint32_t> Duplex::group_of(std::size_t tenant) const {
  return groups_.index(config_.tenants[tenant].name);
}

void Duplex::restore() {
  for (std::size_t t = 0; t < roles_.size(); ++t) {
    const auto g = group_of(t);
    if (!g) continue;
    const auto role = groups_.role(*g);
    roles_.restore(
        t,
        role <= HAMON_ROLE_STEPPING_DOWN ? static_cast<engine::Role>(role) : engine::Role::standby,
        groups_.epoch(*g));
  }
}

bool Duplex::changed() const {
  return ctl_.peer(0).role_inputs().load(std::memory_order_acquire) != seen_inputs_;
}

void Duplex::read_peer(std::uint64_t now) {
  seen_inputs_ = ctl_.peer(0).role_inputs().load(std::memory_order_acquire);
  shm::PeerHeader h{};
  if (!ctl_.peer(0).header().read(h)) return;  // mid-write for too long: the next turn reads it
  engine::PeerLinkState state = link_;
  switch (h.state) {
    case shm::PeerState::never_seen: state = engine::PeerLinkState::never_seen; break;
    case shm::PeerState::lost: state = engine::PeerLinkState::lost; break;
    case shm::PeerState::up:
      // Up for the roles once the peer's table has been read since it came up; until then what
      // the engine believed stands.
      if (h.snapshot_ns != 0 && h.snapshot_ns >= h.state_since_ns) {
        state = engine::PeerLinkState::up;
      }
      break;
  }
  std::vector<std::optional<engine::PeerTenantView>> views(roles_.size());
  const std::uint32_t rows = std::min(h.tenant_rows, ctl_.max_groups());
  for (std::uint32_t r = 0; r < rows; ++r) {
    shm::PeerTenant row{};
    if (!ctl_.peer(0).tenant(r).read(row) || row.name[0] == '\0') continue;
    const std::string name = shm::read_fixed(row.name);
    for (std::size_t t = 0; t < roles_.size(); ++t) {
      if (config_.tenants[t].name != name) continue;
      views[t] = engine::PeerTenantView{
          row.role <= HAMON_ROLE_STEPPING_DOWN ? static_cast<engine::Role>(row.role)
                                               : engine::Role::none,
          row.epoch, row.critical_failures, (row.flags & shm::kPeerAsks) != 0};
    }
  }
  for (std::size_t t = 0; t < roles_.size(); ++t) roles_.peer_tenant(t, views[t], now);
  link_ = state;
  roles_.peer_link(state, now);
}

std::vector<engine::RoleChange> Duplex::turn(const std::vector<std::uint32_t>& critical,
                                             std::uint64_t now) {
  last_turn_ns_ = now;
  if (changed() || seen_inputs_ == UINT64_MAX) read_peer(now);
  for (std::size_t t = 0; t < roles_.size() && t < critical.size(); ++t) {
    roles_.local_health(t, critical[t], now);
  }
  reap_check(now);
  roles_.tick(now);
  if (roles_.take_check()) run_check(now);
  auto changes = roles_.take_changes();
  for (const auto& c : changes) {
    if (const auto g = group_of(c.tenant)) {
      groups_.set_role(*g, static_cast<std::uint32_t>(c.to), c.epoch);
    }
    const engine::TenantConfig& tenant = config_.tenants[c.tenant];
    if (c.from != c.to && !tenant.on_role_change.empty()) {
      Hook h{tenant.name, tenant.on_role_change};
      h.argv.insert(h.argv.end(), {tenant.name, engine::to_string(c.from), engine::to_string(c.to),
                                   std::to_string(c.epoch)});
      hooks_.push_back(std::move(h));
    }
    if (c.from != c.to) {
      say(shm::EventKind::role_changed, config_.tenants[c.tenant].name,
          static_cast<std::int64_t>(c.to),
          std::string(engine::to_string(c.from)) + " -> " + engine::to_string(c.to) + " (epoch " +
              std::to_string(c.epoch) + "): " + c.why);
    }
  }
  for (const auto& n : roles_.take_notes()) {
    const bool held = n.kind == engine::RoleNote::Kind::held;
    say(held || n.kind == engine::RoleNote::Kind::check_failed ? shm::EventKind::alarm
                                                               : shm::EventKind::note,
        held ? config_.tenants[n.tenant].name : std::string(), 0, n.detail);
  }
  for (std::size_t t = 0; t < roles_.size(); ++t) {
    if (const auto g = group_of(t)) {
      groups_.set_duplex(*g, t < critical.size() ? critical[t] : 0, roles_.asks(t));
    }
  }
  run_hooks(now);
  return changes;
}

std::uint64_t Duplex::next_deadline() const {
  std::uint64_t next = roles_.next_deadline();
  // A check under way is looked at every 10 ms; a drain's acknowledgements (in the processes'
  // slots, which wake nobody) every millisecond.
  if (check_pid_ > 0 || hook_pid_ > 0) next = std::min(next, last_turn_ns_ + 10'000'000);
  for (std::size_t t = 0; t < roles_.size(); ++t) {
    if (roles_.role(t) == engine::Role::stepping_down) {
      next = std::min(next, last_turn_ns_ + 1'000'000);
    }
  }
  return next;
}

base::Status Duplex::switchover(const std::string& tenant, std::uint64_t now) {
  for (std::size_t t = 0; t < roles_.size(); ++t) {
    if (config_.tenants[t].name == tenant) {
      read_peer(now);
      return roles_.switchover(t, now);
    }
  }
  return base::Error{base::Errc::missing, "no tenant " + tenant};
}

base::Status Duplex::activate(const std::string& tenant, std::uint64_t now) {
  for (std::size_t t = 0; t < roles_.size(); ++t) {
    if (config_.tenants[t].name == tenant) return roles_.activate(t, now);
  }
  return base::Error{base::Errc::missing, "no tenant " + tenant};
}

void Duplex::run_check(std::uint64_t now) {
  if (check_pid_ > 0 || check_command_.empty()) {
    if (check_command_.empty()) roles_.check_done(false, now);
    return;
  }
  // A fence agent reads its options on standard input (the ClusterLabs contract): what to do,
  // to whom, then the operator's fence_options. A witness gets the peer in its environment.
  std::string input;
  if (config_.cluster.on_peer_lost == engine::PeerLostPolicy::fence) {
    input = "action=off\nnodename=" + peer_id_ + "\n";
    for (const auto& [k, v] : config_.cluster.fence_options) input += k + "=" + v + "\n";
  }
  const pid_t pid =
      node::spawn_command({.argv = check_command_, .input = input, .env = check_env_});
  if (pid < 0) {
    say(shm::EventKind::alarm, {}, 0,
        check_command_.front() + " cannot be run: " + std::strerror(-pid));
    roles_.check_done(false, now);
    return;
  }
  check_pid_ = pid;
  check_started_ns_ = now;
  say(shm::EventKind::note, {}, pid,
      "the peer is lost: running " + std::string(engine::to_string(config_.cluster.on_peer_lost)) +
          " check " + check_command_.front());
}

void Duplex::reap_check(std::uint64_t now) {
  if (check_pid_ <= 0) return;
  int status = 0;
  const pid_t r = ::waitpid(check_pid_, &status, WNOHANG);
  if (r == check_pid_) {
    check_pid_ = -1;
    roles_.check_done(WIFEXITED(status) && WEXITSTATUS(status) == 0, now);
    return;
  }
  if (now >= check_started_ns_ + check_timeout_ns_) {
    // The engine has given it up by now; so does the process.
    ::kill(check_pid_, SIGKILL);
    ::waitpid(check_pid_, nullptr, 0);
    check_pid_ = -1;
    roles_.tick(now);
  }
}

void Duplex::say(shm::EventKind kind, const std::string& tenant, std::int64_t value,
                 const std::string& detail) const {
  node::post_event(
      ctl_, shm::DaemonId::server,
      {.kind = kind, .group = tenant, .name = tenant, .value = value, .detail = detail});
  std::fprintf(stderr, "hamon-server: %s%s%s\n", tenant.empty() ? "" : tenant.c_str(),
               tenant.empty() ? "" : ": ", detail.c_str());
}

}  // namespace hamon::server
