// Counters a daemon keeps about itself in its DaemonSlot, for `hamon status` to show.
//
// Layout version 1 has no named field for them: they live in the padding of the daemon's own
// half-line (bytes 32..63, written only by the daemon, zero in a new segment), so adding them
// changes neither the layout nor its version. A later layout should name them.
//
// Thread-safety: one writer (the daemon), any number of readers, relaxed atomics: a reader may
// see a count slightly old, never torn.
#ifndef HAMON_NODE_DAEMON_COUNTERS_HPP
#define HAMON_NODE_DAEMON_COUNTERS_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

namespace internal {
inline constexpr std::size_t kChannelFullOffset = offsetof(shm::DaemonSlot, pad0);
static_assert(kChannelFullOffset == 32 && kChannelFullOffset % alignof(std::uint64_t) == 0);
static_assert(sizeof(shm::DaemonSlot::pad0) >= sizeof(std::uint64_t));

inline std::atomic_ref<std::uint64_t> channel_full_ref(const shm::DaemonSlot& d) noexcept {
  // A read-only mapping only ever loads through it.
  auto* base = reinterpret_cast<std::uint8_t*>(const_cast<shm::DaemonSlot*>(&d));
  return std::atomic_ref<std::uint64_t>(
      *reinterpret_cast<std::uint64_t*>(base + kChannelFullOffset));
}
}  // namespace internal

// How many messages the daemon could not post when it made them because the channel was full
// (they waited in its outbox and went out later, in order). Grows for the life of the segment.
inline std::uint64_t channel_full_count(const shm::DaemonSlot& d) noexcept {
  return internal::channel_full_ref(d).load(std::memory_order_relaxed);
}

// REQUIRES: called only by the daemon that owns `d`.
inline void add_channel_full(shm::DaemonSlot& d, std::uint64_t n) noexcept {
  auto r = internal::channel_full_ref(d);
  r.store(r.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace hamon::node

#endif  // HAMON_NODE_DAEMON_COUNTERS_HPP
