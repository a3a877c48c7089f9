// A daemon's presence in the control segment: it registers its pid and start time, then stamps
// its heartbeat every loop turn, so `hamon status` and its watcher see it alive.
#ifndef HAMON_DAEMONS_DAEMON_SLOT_HPP
#define HAMON_DAEMONS_DAEMON_SLOT_HPP

#include <unistd.h>

#include "clock.hpp"
#include "hamon/shm/control_segment.hpp"
#include "proc.hpp"

namespace hamon::daemons {

inline void register_daemon(const shm::ControlSegment& c, shm::DaemonId id) {
  shm::DaemonSlot& d = c.daemon(id);
  d.start_ticks.store(start_ticks(getpid()).value_or(0), std::memory_order_relaxed);
  d.started_ns.store(now_ns(), std::memory_order_relaxed);
  d.heartbeat_ns.store(now_ns(), std::memory_order_relaxed);
  d.state.store(static_cast<std::uint32_t>(shm::DaemonState::running), std::memory_order_relaxed);
  d.pid.store(static_cast<std::uint32_t>(getpid()), std::memory_order_release);
}

inline void daemon_heartbeat(const shm::ControlSegment& c, shm::DaemonId id, std::uint64_t now) {
  c.daemon(id).heartbeat_ns.store(now, std::memory_order_relaxed);
}

inline void unregister_daemon(const shm::ControlSegment& c, shm::DaemonId id) {
  c.daemon(id).state.store(static_cast<std::uint32_t>(shm::DaemonState::exited),
                           std::memory_order_release);
}

// Posts an event about a process slot (or a daemon, with slot UINT32_MAX).
inline void post_event(const shm::ControlSegment& c, shm::DaemonId source, shm::EventKind kind,
                       std::string_view group, std::string_view name, std::uint32_t slot,
                       std::uint64_t incarnation, std::int32_t pid, std::int64_t value,
                       std::string_view detail) {
  shm::Event e;
  e.t_ns = now_ns();
  e.kind = kind;
  e.source = static_cast<std::uint16_t>(source);
  e.slot = slot;
  e.incarnation = incarnation;
  e.pid = pid;
  e.value = value;
  e.set_group(group);
  e.set_name(name);
  e.set_detail(detail);
  c.events().post(e);
}

}  // namespace hamon::daemons

#endif  // HAMON_DAEMONS_DAEMON_SLOT_HPP
