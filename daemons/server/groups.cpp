#include "groups.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "hamon/engine/names.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/segment_links.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::server {

base::Status Groups::adopt() {
  for (std::uint32_t g = 0; g < ctl_.max_groups(); ++g) {
    shm::GroupInfo info{};
    if (!ctl_.group(g).info.read(info) || info.kind == shm::GroupKind::unused) break;
    const std::string name(info.name, strnlen(info.name, sizeof info.name));
    // Everything the predecessor published, as it was: a slot rewritten with less (epoch 0, no
    // failures) would go to the peer and the views as news.
    // Its segment as big as before (slots = 4 × members), and a remade one in a new generation.
    auto r = ensure(name, info.slot_count / 4, info.role, info.epoch, info.generation);
    if (!r) return r.error();
    groups_[*r].critical_failures = info.critical_failures;
    groups_[*r].asks = (info.flags & shm::kGroupAsks) != 0;
    publish(*r);
  }
  return base::ok();
}

std::optional<std::uint32_t> Groups::index(const std::string& name) const {
  for (std::uint32_t g = 0; g < groups_.size(); ++g) {
    if (groups_[g].name == name) return g;
  }
  return std::nullopt;
}

std::uint32_t Groups::capacity(const std::string& name) const {
  const auto g = index(name);
  return g ? groups_[*g].table->slot_count() : 0;
}

base::Result<std::uint32_t> Groups::ensure(const std::string& name, std::uint32_t members,
                                           std::uint32_t role, std::uint64_t epoch,
                                           std::uint32_t generation) {
  if (const auto g = index(name)) return *g;
  if (groups_.size() >= ctl_.max_groups()) {
    return base::Error{
        base::Errc::bad_argument,
        "the control segment holds " + std::to_string(ctl_.max_groups()) + " groups at most"};
  }
  const auto g = static_cast<std::uint32_t>(groups_.size());
  groups_.push_back(Group{name, nullptr, role, epoch});
  Group& group = groups_.back();
  group.generation = generation;
  // Room to grow: a reload may add processes to the group.
  group.slots = std::max<std::uint32_t>(64, 4 * members);
  auto t = shm::HeartbeatTable::attach(node_.heartbeat_segment(name), shm::Access::read_write);
  if (t && trusted(*t, owner_of(name))) {
    group.table = std::make_unique<shm::HeartbeatTable>(std::move(t).value());
    group.slots = group.table->slot_count();
    group.ino = node::mapped_inode(&group.table->slot(0)).value_or(0);
    if (group.ino != 0) (void)node::tend_links(node_.heartbeat_segment(name), group.ino);
  } else if (auto r = make(group, t || t.error().code != shm::Errc::missing
                                      ? "was not as hamon made it" + why_not(t)
                                      : std::string());
             !r) {
    groups_.pop_back();
    return r.error();
  }
  if (group.table->role() != role) group.table->set_role(role, epoch);
  publish(g);
  return g;
}

bool Groups::drained(std::uint32_t g, std::uint32_t hb_slot, std::uint64_t epoch) const {
  if (g >= groups_.size() || !groups_[g].table || hb_slot >= groups_[g].table->slot_count()) {
    return false;
  }
  return epoch != 0 &&
         groups_[g].table->slot(hb_slot).drained.load(std::memory_order_acquire) == epoch;
}

void Groups::set_duplex(std::uint32_t g, std::uint32_t critical_failures, bool asks) {
  Group& group = groups_[g];
  if (group.critical_failures == critical_failures && group.asks == asks) return;
  group.critical_failures = critical_failures;
  group.asks = asks;
  publish(g);
}

void Groups::set_role(std::uint32_t g, std::uint32_t role, std::uint64_t epoch) {
  groups_[g].role = role;
  groups_[g].epoch = epoch;
  groups_[g].table->set_role(role, epoch);
  publish(g);
}

Groups::Owner Groups::owner_of(const std::string& group) const {
  // Only root can give a file away; otherwise every segment is ours, like every process.
  if (::geteuid() != 0) return {};
  for (const auto& t : node_.config.tenants) {
    if (t.name != group || !t.user) continue;
    const passwd* pw = ::getpwnam(t.user->c_str());
    if (pw != nullptr) return {static_cast<int>(pw->pw_uid), static_cast<int>(pw->pw_gid)};
  }
  return {};
}

bool Groups::trusted(const shm::HeartbeatTable& t, Owner owner) {
  const unsigned uid = owner.uid >= 0 ? static_cast<unsigned>(owner.uid) : ::geteuid();
  return t.intact() && t.owner() == uid && t.mode() == 0600;
}

std::string Groups::why_not(const shm::Result<shm::HeartbeatTable>& t) {
  if (!t) return " (" + t.error().message + ")";
  if (!t->intact()) return " (its header was overwritten)";
  return " (owner " + std::to_string(t->owner()) + ", mode " + std::to_string(t->mode()) + ")";
}

base::Status Groups::make(Group& group, const std::string& why) {
  const std::string seg = node_.heartbeat_segment(group.name);
  // Whatever is at the name is not ours to use: a tenant's copy, its garbage, a truncated file.
  shm::Segment::remove(seg);
  node::remove_keep_link(seg);
  auto t = shm::HeartbeatTable::create(seg, group.name, group.slots, 0600, owner_of(group.name));
  if (!t) return t.error();
  group.table = std::make_unique<shm::HeartbeatTable>(std::move(t).value());
  // Its second name, so that a removed one can be given back.
  group.ino = node::mapped_inode(&group.table->slot(0)).value_or(0);
  if (group.ino != 0) (void)node::tend_links(seg, group.ino);
  group.table->set_role(group.role, group.epoch);
  ++group.generation;  // the monitor maps it again for the group's next processes
  group.said.clear();
  if (!why.empty()) {
    node::post_event(ctl_, shm::DaemonId::server,
                     {.kind = shm::EventKind::note,
                      .group = group.name,
                      .name = "hamon-server",
                      .detail = "segment made anew for the group's next processes: " +
                                shm::shm_path(seg) + " " + why});
  }
  return base::ok();
}

void Groups::say_once(Group& group, const std::string& trouble) {
  // Said once, not every 100 ms while it lasts.
  if (trouble != group.said) {
    node::post_event(ctl_, shm::DaemonId::server,
                     {.kind = shm::EventKind::note, .name = "hamon-server", .detail = trouble});
  }
  group.said = trouble;
}

void Groups::tend() {
  for (std::uint32_t g = 0; g < groups_.size(); ++g) {
    Group& group = groups_[g];
    const std::string seg = node_.heartbeat_segment(group.name);
    std::string why;
    if (!group.table->intact()) {
      why = "was truncated or its header overwritten";
    } else if (group.ino != 0) {
      auto r = node::tend_links(seg, group.ino);
      if (!r) {
        say_once(group, r.error().message);
        continue;
      }
      if (*r == node::Links::restored) {
        node::post_event(ctl_, shm::DaemonId::server,
                         {.kind = shm::EventKind::note,
                          .name = "hamon-server",
                          .detail = shm::shm_path(seg) + " was removed; named again"});
      } else if (*r == node::Links::lost) {
        why = "and its hidden name were removed";
      } else if (*r == node::Links::replaced) {
        why = "was replaced by another file";
      }
    }
    if (why.empty()) continue;
    // Its processes beat on into the memory they hold; the ones that start from now on get a
    // segment they can attach to.
    if (auto r = make(group, why); !r) {
      say_once(group, r.error().message);
      continue;
    }
    publish(g);
  }
}

void Groups::publish(std::uint32_t g) {
  const Group& group = groups_[g];
  shm::GroupInfo info{};
  shm::write_fixed(info.name, group.name);
  shm::write_fixed(info.heartbeat_segment, node_.heartbeat_segment(group.name));
  info.kind = group.name == engine::system_group ? shm::GroupKind::system : shm::GroupKind::tenant;
  info.slot_count = group.table->slot_count();
  info.role = group.role;
  info.epoch = group.epoch;
  info.critical_failures = group.critical_failures;
  info.flags = group.asks ? shm::kGroupAsks : 0;
  info.generation = group.generation;
  ctl_.group(g).info.write(info);
  // The peer link sends it now, not at its next peer_interval.
  ctl_.peer(0).role_outputs().fetch_add(1, std::memory_order_release);
  ctl_.peer(0).link_bell().ring();
}

}  // namespace hamon::server
