#include "hamon/engine/slot_table.hpp"

#include <map>
#include <set>

namespace hamon::engine {

void SlotTable::occupy(std::uint32_t slot, std::string qualified, std::string group,
                       std::uint32_t hb_slot) {
  Seat& s = seats_[slot];
  s.taken = true;
  s.configured = false;
  s.found = true;
  s.qualified = std::move(qualified);
  s.group = std::move(group);
  s.hb_slot = hb_slot;
}

base::Result<SlotTable::Placement> SlotTable::place(
    const Config& config, const std::function<std::uint32_t(const std::string&)>& hb_capacity) {
  std::map<std::string, std::uint32_t> seated;  // qualified name → slot
  for (std::uint32_t s = 0; s < seats_.size(); ++s) {
    if (seats_[s].taken) seated.emplace(seats_[s].qualified, s);
  }
  const std::size_t n = config.processes.size();
  Placement out;
  out.previous.assign(n, std::nullopt);
  std::vector<std::uint32_t> slot_of(n, kNone);
  std::vector<bool> keeps(seats_.size(), false);
  for (std::size_t i = 0; i < n; ++i) {
    auto it = seated.find(config.processes[i].qualified());
    if (it == seated.end()) continue;
    slot_of[i] = it->second;
    keeps[it->second] = true;
    if (seats_[it->second].configured) out.previous[i] = seats_[it->second].process;
  }
  // Heartbeat slots in use per group: every taken seat holds its own, removed ones included
  // (they may still run and beat).
  std::map<std::string, std::set<std::uint32_t>> hb_used;
  for (const Seat& s : seats_) {
    if (s.taken) hb_used[s.group].insert(s.hb_slot);
  }
  // New seats, decided on a copy: nothing changes unless all fit.
  std::vector<bool> taken(seats_.size());
  for (std::uint32_t s = 0; s < seats_.size(); ++s) taken[s] = seats_[s].taken;
  std::vector<std::uint32_t> new_hb(n, kNone);
  std::uint32_t next_free = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (slot_of[i] != kNone) continue;
    const auto& p = config.processes[i];
    while (next_free < taken.size() && taken[next_free]) ++next_free;
    if (next_free >= taken.size()) {
      return base::Error{base::Errc::bad_argument,
                         "no free process slot for " + p.qualified() + " (the node holds " +
                             std::to_string(seats_.size()) + " processes)"};
    }
    auto& used = hb_used[p.group];
    std::uint32_t hb = 0;
    while (used.count(hb) != 0) ++hb;
    if (hb >= hb_capacity(p.group)) {
      return base::Error{base::Errc::bad_argument,
                         "no free heartbeat slot for " + p.qualified() + " in group " + p.group +
                             " (" + std::to_string(hb_capacity(p.group)) + " slots)"};
    }
    used.insert(hb);
    new_hb[i] = hb;
    slot_of[i] = next_free;
    taken[next_free] = true;
  }
  // Everything fits: commit. Seats whose process left the configuration now are reported once.
  for (std::uint32_t s = 0; s < seats_.size(); ++s) {
    Seat& seat = seats_[s];
    if (!seat.taken || keeps[s]) continue;
    if (seat.configured || seat.found) out.removed.push_back(s);
    seat.configured = false;
    seat.found = false;
  }
  for (std::size_t i = 0; i < n; ++i) {
    Seat& seat = seats_[slot_of[i]];
    seat.taken = true;
    seat.configured = true;
    seat.found = false;
    seat.process = i;
    if (new_hb[i] != kNone) {
      seat.qualified = config.processes[i].qualified();
      seat.group = config.processes[i].group;
      seat.hb_slot = new_hb[i];
    }
  }
  slot_of_ = std::move(slot_of);
  return out;
}

void SlotTable::release(std::uint32_t slot) {
  if (slot < seats_.size() && !seats_[slot].configured) seats_[slot] = Seat{};
}

std::optional<std::size_t> SlotTable::process_at(std::uint32_t slot) const {
  if (slot >= seats_.size() || !seats_[slot].taken || !seats_[slot].configured) return std::nullopt;
  return seats_[slot].process;
}

std::size_t SlotTable::free_slots() const {
  std::size_t n = 0;
  for (const Seat& s : seats_) n += s.taken ? 0 : 1;
  return n;
}

}  // namespace hamon::engine
