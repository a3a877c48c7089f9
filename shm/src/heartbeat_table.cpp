#include "hamon/shm/heartbeat_table.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

#include "hamon/shm/futex.hpp"

namespace hamon::shm {

Result<HeartbeatTable> HeartbeatTable::create(const std::string& name, std::string_view group,
                                              std::uint32_t slots, unsigned mode, Owner owner) {
  if (slots == 0 || slots > HAMON_HB_MAX_SLOTS) {
    return Error{Errc::bad_argument, "heartbeat segment " + shm_path(name) + ": " +
                                         std::to_string(slots) + " slots is out of range (1.." +
                                         std::to_string(HAMON_HB_MAX_SLOTS) + ")"};
  }
  if (group.size() >= HAMON_HB_GROUP_MAX) {
    return Error{Errc::bad_argument, "heartbeat segment " + shm_path(name) + ": group name '" +
                                         std::string(group) + "' is too long"};
  }
  const std::size_t total = HAMON_HB_HEADER_SIZE + std::size_t{slots} * HAMON_HB_SLOT_SIZE;
  auto seg = Segment::create(name, total, mode, owner);
  if (!seg) return seg.error();
  auto* h = new (seg->data()) HeartbeatHeader{};
  h->magic = HAMON_HB_MAGIC;
  h->header_size = HAMON_HB_HEADER_SIZE;
  h->slot_size = HAMON_HB_SLOT_SIZE;
  h->slot_count = slots;
  h->total_size = total;
  std::memcpy(h->group, group.data(), group.size());
  for (std::uint32_t i = 0; i < slots; ++i) {
    new (seg->data() + HAMON_HB_HEADER_SIZE + std::size_t{i} * HAMON_HB_SLOT_SIZE) HeartbeatSlot{};
  }
  seg->publish_version(HAMON_HB_LAYOUT_VERSION);
  return HeartbeatTable(std::move(seg).value(), slots);
}

Result<HeartbeatTable> HeartbeatTable::attach(const std::string& name, Access access) {
  auto seg = Segment::open(name, access);
  if (!seg) return seg.error();
  if (seg->size() < HAMON_HB_HEADER_SIZE) {
    return Error{Errc::too_small, shm_path(name) +
                                      " is too small to be a hamon heartbeat segment (" +
                                      std::to_string(seg->size()) + " bytes)"};
  }
  if (auto ok = seg->check_prefix(HAMON_HB_MAGIC, HAMON_HB_LAYOUT_VERSION, HAMON_HB_HEADER_SIZE,
                                  "heartbeat segment");
      !ok) {
    return ok.error();
  }
  const auto& h = *reinterpret_cast<const HeartbeatHeader*>(seg->data());
  if (h.slot_size != HAMON_HB_SLOT_SIZE || h.slot_count > HAMON_HB_MAX_SLOTS ||
      h.total_size < HAMON_HB_HEADER_SIZE + std::uint64_t{h.slot_count} * HAMON_HB_SLOT_SIZE) {
    return Error{Errc::too_small, shm_path(name) + ": heartbeat segment declares " +
                                      std::to_string(h.slot_count) + " slots of " +
                                      std::to_string(h.slot_size) + " bytes in " +
                                      std::to_string(h.total_size) + " bytes"};
  }
  const std::uint32_t slots = h.slot_count;
  return HeartbeatTable(std::move(seg).value(), slots);
}

bool HeartbeatTable::intact() const noexcept {
  if (seg_.damaged()) return false;
  const HeartbeatHeader& h = header();
  return h.magic == HAMON_HB_MAGIC &&
         std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(h.layout_version))
                 .load(std::memory_order_acquire) == HAMON_HB_LAYOUT_VERSION &&
         h.header_size == HAMON_HB_HEADER_SIZE && h.slot_size == HAMON_HB_SLOT_SIZE &&
         h.slot_count == slot_count_ &&
         h.total_size == HAMON_HB_HEADER_SIZE + std::uint64_t{slot_count_} * HAMON_HB_SLOT_SIZE;
}

std::string HeartbeatTable::group() const {
  const char* g = header().group;
  return std::string(g, strnlen(g, HAMON_HB_GROUP_MAX));
}

HeartbeatSlot& HeartbeatTable::slot(std::uint32_t i) const noexcept {
  return *reinterpret_cast<HeartbeatSlot*>(seg_.data() + HAMON_HB_HEADER_SIZE +
                                           std::size_t{i} * HAMON_HB_SLOT_SIZE);
}

BeatSnapshot HeartbeatTable::snapshot(std::uint32_t i) const noexcept {
  const HeartbeatSlot& s = slot(i);
  BeatSnapshot b{};
  // The count is released last by beat(): acquiring it first makes the stamp at least as new.
  b.beat_count = s.beat_count.load(std::memory_order_acquire);
  b.beat_stamp = s.beat_stamp.load(std::memory_order_relaxed);
  b.incarnation = s.incarnation.load(std::memory_order_acquire);
  b.ready = s.ready.load(std::memory_order_acquire);
  b.pid = s.pid.load(std::memory_order_relaxed);
  return b;
}

void HeartbeatTable::set_role(std::uint32_t role, std::uint64_t term) noexcept {
  HeartbeatHeader& h = header();
  h.role_term.store(term, std::memory_order_relaxed);
  h.role.store(role, std::memory_order_release);
  h.role_seq.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(h.role_seq, INT_MAX);
}

}  // namespace hamon::shm
