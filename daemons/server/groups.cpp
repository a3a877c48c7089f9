#include "groups.hpp"

#include <algorithm>
#include <cstring>

#include "hamon/engine/names.hpp"
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
    auto r = ensure(name, 0, info.role, info.epoch);
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
                                           std::uint32_t role, std::uint64_t epoch) {
  if (const auto g = index(name)) return *g;
  if (groups_.size() >= ctl_.max_groups()) {
    return base::Error{
        base::Errc::bad_argument,
        "the control segment holds " + std::to_string(ctl_.max_groups()) + " groups at most"};
  }
  const std::string seg = node_.heartbeat_segment(name);
  auto t = shm::HeartbeatTable::attach(seg, shm::Access::read_write);
  // Room to grow: a reload may add processes to the group.
  if (!t) t = shm::HeartbeatTable::create(seg, name, std::max<std::uint32_t>(64, 4 * members));
  if (!t) return t.error();
  const auto g = static_cast<std::uint32_t>(groups_.size());
  groups_.push_back(
      Group{name, std::make_unique<shm::HeartbeatTable>(std::move(t).value()), role, epoch});
  // Its second name, so that a removed one can be given back.
  groups_.back().ino = node::mapped_inode(&groups_.back().table->slot(0)).value_or(0);
  if (groups_.back().ino != 0) (void)node::tend_links(seg, groups_.back().ino);
  if (groups_.back().table->role() != role) groups_.back().table->set_role(role, epoch);
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

std::vector<std::string> Groups::tend_links() {
  std::vector<std::string> out;
  for (Group& g : groups_) {
    if (g.ino == 0) continue;
    const std::string seg = node_.heartbeat_segment(g.name);
    auto r = node::tend_links(seg, g.ino);
    std::string note;
    if (!r) {
      note = r.error().message;
    } else if (*r == node::Links::restored) {
      out.push_back(shm::shm_path(seg) + " was removed; named again");
    } else if (*r != node::Links::intact) {
      // Its processes beat on into the memory they hold, but one that starts now cannot find
      // it. Only `hamon down` and `hamon up` give the group a new segment.
      note = shm::shm_path(seg) +
             (*r == node::Links::lost ? " and its hidden name were removed"
                                      : " was replaced by another file") +
             ": group " + g.name + "'s processes cannot start until the node is restarted";
    }
    if (!note.empty() && note != g.said) out.push_back(note);  // said once, not every 100 ms
    g.said = note;
  }
  return out;
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
  ctl_.group(g).info.write(info);
  // The peer link sends it now, not at its next peer_interval.
  ctl_.peer(0).role_outputs().fetch_add(1, std::memory_order_release);
  ctl_.peer(0).link_bell().ring();
}

}  // namespace hamon::server
