// A daemon's presence in the control segment: it registers its pid and start time, then stamps
// its heartbeat every loop turn, so `hamon status` and its watcher see it alive.
#ifndef HAMON_NODE_DAEMON_SLOT_HPP
#define HAMON_NODE_DAEMON_SLOT_HPP

#include <unistd.h>

#include "hamon/node/clock.hpp"
#include "hamon/node/daemon_log.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/node/proc.hpp"

namespace hamon::node {

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

// Whether the process recorded as (pid, start ticks) still runs — never fooled by a reused pid.
inline bool still_runs(std::int64_t pid, std::uint64_t ticks) {
  if (pid <= 0) return false;
  const int fd = pidfd_open_checked(static_cast<pid_t>(pid), ticks);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// Whether anything a node started still runs: a daemon, or a process (orphaned when its
// daemons died). A node with live parts is adopted, never started over them.
inline bool has_live_parts(const shm::ControlSegment& c) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(shm::DaemonId::count); ++i) {
    const shm::DaemonSlot& d = c.daemon(static_cast<shm::DaemonId>(i));
    if (still_runs(d.pid.load(), d.start_ticks.load())) return true;
  }
  for (std::uint32_t s = 0; s < c.max_processes(); ++s) {
    shm::SpawnRecord r{};
    if (c.process(s).spawn.read(r) && r.exited_ns == 0 && still_runs(r.pid, r.start_ticks))
      return true;
  }
  return false;
}

// What an event says, by name: fields left out keep their "none" value.
struct EventNote {
  shm::EventKind kind = shm::EventKind::note;
  std::string_view group = {};
  std::string_view name = {};
  std::uint32_t slot = UINT32_MAX;  // the process slot; UINT32_MAX for a daemon or the node
  std::uint64_t incarnation = 0;
  std::int32_t pid = 0;
  std::int64_t value = 0;  // a wait status, a silence in ns, a delay: by kind
  std::string_view detail = {};
};

// Posts an event to the node's ring, stamped now, from `source`.
inline void post_event(const shm::ControlSegment& c, shm::DaemonId source, const EventNote& n) {
  shm::Event e;
  e.t_ns = now_ns();
  e.kind = n.kind;
  e.source = static_cast<std::uint16_t>(source);
  e.slot = n.slot;
  e.incarnation = n.incarnation;
  e.pid = n.pid;
  e.value = n.value;
  e.set_group(n.group);
  e.set_name(n.name);
  e.set_detail(n.detail);
  c.events().post(e);
  log_event(e);
}

}  // namespace hamon::node

#endif  // HAMON_NODE_DAEMON_SLOT_HPP
