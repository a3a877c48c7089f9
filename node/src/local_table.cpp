#include "hamon/node/local_table.hpp"

#include <cstring>

#include "hamon/engine/supervisor.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::node {
namespace {

// The process's state as its node sees it: the server's phase first (it knows of backoff,
// failure and stops), then the monitor's verdict for the incarnation the server started.
peer::ProcessState state_of(const shm::SpawnRecord& sp, const shm::WatchRecord& w,
                            const shm::SuperviseRecord& su) {
  using P = peer::ProcessState;
  switch (static_cast<engine::Phase>(su.phase)) {
    case engine::Phase::down:
      return sp.incarnation == su.incarnation && sp.pid > 0 && sp.exited_ns != 0 ? P::exited
                                                                                 : P::down;
    case engine::Phase::waiting: return P::down;
    case engine::Phase::backoff: return P::exited;
    case engine::Phase::failed: return P::failed;
    case engine::Phase::stopping: return P::stopping;
    case engine::Phase::starting:
    case engine::Phase::up:
      if (w.incarnation == su.incarnation && w.state != shm::ProcessState::unused &&
          static_cast<std::uint32_t>(w.state) <= peer::max_process_state) {
        return static_cast<P>(w.state);
      }
      return P::starting;
  }
  return P::down;
}

}  // namespace

const std::string* LocalTable::group_name(std::uint32_t group) {
  if (group >= ctl_.max_groups()) return nullptr;
  if (group_names_.size() <= group) group_names_.resize(group + 1);
  if (!group_names_[group]) {
    shm::GroupInfo g{};
    if (!ctl_.group(group).info.read(g) || g.kind == shm::GroupKind::unused) return nullptr;
    group_names_[group] = shm::read_fixed(g.name);
  }
  return &*group_names_[group];
}

LocalTable::Look LocalTable::process(std::uint32_t slot, peer::ProcessRecord& r) {
  if (slot >= ctl_.max_processes()) return Look::absent;
  const shm::ProcessSlot& p = ctl_.process(slot);
  shm::ProcessIdentity id{};
  if (!p.identity.read(id)) return Look::unreadable;
  if (id.name[0] == '\0') return Look::absent;
  const std::string* group = group_name(id.group);
  if (group == nullptr) return Look::unreadable;  // seated before its group is published
  shm::SpawnRecord sp{};
  shm::WatchRecord w{};
  shm::SuperviseRecord su{};
  if (!p.spawn.read(sp) || !p.watch.read(w) || !p.supervise.read(su)) return Look::unreadable;
  r = peer::ProcessRecord{};
  r.group = *group;
  r.name = shm::read_fixed(id.name);
  r.state = state_of(sp, w, su);
  r.ready = r.state == peer::ProcessState::ready || r.state == peer::ProcessState::running;
  // A process that exited has no pid, whether or not the spawner has reaped it yet: otherwise
  // the reaping would be a second change, sent as a second delta.
  const bool ended = r.state == peer::ProcessState::exited || r.state == peer::ProcessState::down ||
                     r.state == peer::ProcessState::failed;
  const bool alive = sp.incarnation == su.incarnation && sp.pid > 0 && sp.exited_ns == 0;
  r.pid = alive && !ended ? sp.pid : 0;
  r.incarnation = su.incarnation;
  r.restarts = su.restarts;
  return Look::present;
}

std::optional<peer::TenantRecord> LocalTable::tenant(std::uint32_t group) {
  if (group >= ctl_.max_groups()) return std::nullopt;
  shm::GroupInfo g{};
  if (!ctl_.group(group).info.read(g) || g.kind != shm::GroupKind::tenant) return std::nullopt;
  peer::TenantRecord t;
  t.name = shm::read_fixed(g.name);
  // The role hamon-server mirrors here, not the tenant-writable heartbeat segment's copy.
  t.role = g.role <= peer::max_tenant_role ? static_cast<peer::TenantRole>(g.role)
                                           : peer::TenantRole::none;
  t.epoch = g.epoch;
  t.critical_failures = g.critical_failures;
  t.asks = (g.flags & shm::kGroupAsks) != 0;
  return t;
}

}  // namespace hamon::node
