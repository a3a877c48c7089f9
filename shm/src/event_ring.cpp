#include "hamon/shm/event_ring.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace hamon::shm {

namespace {
template <std::size_t N>
void copy_text(char (&dst)[N], std::string_view s) noexcept {
  const std::size_t n = std::min(s.size(), N - 1);
  if (n != 0) std::memcpy(dst, s.data(), n);  // an empty view may have no data at all
  std::memset(dst + n, 0, N - n);
}
}  // namespace

void Event::set_group(std::string_view s) noexcept { copy_text(group, s); }
void Event::set_name(std::string_view s) noexcept { copy_text(name, s); }
void Event::set_detail(std::string_view s) noexcept { copy_text(detail, s); }

const char* to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::none: return "none";
    case EventKind::spawned: return "spawned";
    case EventKind::ready: return "ready";
    case EventKind::exited: return "exited";
    case EventKind::hung: return "hung";
    case EventKind::restarting: return "restarting";
    case EventKind::failed: return "failed";
    case EventKind::stopped: return "stopped";
    case EventKind::role_changed: return "role-changed";
    case EventKind::peer_up: return "peer-up";
    case EventKind::peer_lost: return "peer-lost";
    case EventKind::daemon_started: return "daemon-started";
    case EventKind::daemon_exited: return "daemon-exited";
    case EventKind::config_loaded: return "config-loaded";
    case EventKind::note: return "note";
    case EventKind::link_up: return "link-up";
    case EventKind::link_down: return "link-down";
    case EventKind::frame_rejected: return "frame-rejected";
    case EventKind::alarm: return "alarm";
    case EventKind::refused: return "refused";
    case EventKind::promoted: return "promoted";
  }
  return "unknown";
}

EventRing EventRing::init(void* memory, std::uint32_t capacity) noexcept {
  auto* head = new (memory) Head;
  head->next.store(0, std::memory_order_relaxed);
  head->capacity = capacity;
  head->mask = capacity - 1;
  EventRing ring(memory, capacity);
  for (std::uint32_t i = 0; i < capacity; ++i) {
    Entry* e = new (&ring.entries_[i]) Entry;
    e->seq.store(0, std::memory_order_relaxed);
    for (auto& w : e->words) w.store(0, std::memory_order_relaxed);
  }
  return ring;
}

std::uint64_t EventRing::post(const Event& ev) const noexcept {
  std::uint64_t buf[kEntryWords] = {};
  std::memcpy(buf, &ev, sizeof(Event));
  if (corrupt()) repair();
  const std::uint64_t pos = head_->next.fetch_add(1, std::memory_order_acq_rel);
  Entry& e = entries_[pos & mask_];
  e.seq.store(2 * pos + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (std::size_t i = 0; i < kEntryWords; ++i) e.words[i].store(buf[i], std::memory_order_relaxed);
  e.seq.store(2 * pos + 2, std::memory_order_release);
  return pos;
}

std::uint64_t EventRing::oldest() const noexcept {
  const std::uint64_t h = head();
  return h > capacity_ ? h - capacity_ : 0;
}

void EventRing::repair() const noexcept {
  std::uint64_t next = 0;
  for (std::uint64_t i = 0; i < capacity_; ++i) {
    const std::uint64_t s = entries_[i].seq.load(std::memory_order_acquire);
    if (s < 2 || s % 2 != 0) continue;
    const std::uint64_t pos = s / 2 - 1;
    if (pos < kPlausibleHead && (pos & mask_) == i) next = std::max(next, pos + 1);
  }
  std::uint64_t seen = head();
  while (seen >= kPlausibleHead &&
         !head_->next.compare_exchange_weak(seen, next, std::memory_order_acq_rel)) {
  }
}

EventRing::Read EventRing::read(std::uint64_t pos, Event& out) const noexcept {
  const std::uint64_t h = head();
  if (pos >= h || h >= kPlausibleHead) return Read::empty;
  if (pos + capacity_ < h) return Read::lapped;
  const Entry& e = entries_[pos & mask_];
  std::uint64_t buf[kEntryWords];
  const std::uint64_t s0 = e.seq.load(std::memory_order_acquire);
  if (s0 > 2 * pos + 2) return Read::lapped;
  if (s0 != 2 * pos + 2) return Read::pending;
  for (std::size_t i = 0; i < kEntryWords; ++i) buf[i] = e.words[i].load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  const std::uint64_t s1 = e.seq.load(std::memory_order_relaxed);
  if (s1 != s0) return s1 > s0 ? Read::lapped : Read::pending;
  std::memcpy(&out, buf, sizeof(Event));
  return Read::ok;
}

}  // namespace hamon::shm
