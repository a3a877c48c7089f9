// Applies scheduling settings (engine/scheduling.hpp) to the calling thread: the spawner to each
// process between its fork and its exec, each daemon to itself at its start ([cluster]'s
// daemon_* keys). Threads the caller starts afterwards inherit them.
#ifndef HAMON_NODE_APPLY_SCHEDULING_HPP
#define HAMON_NODE_APPLY_SCHEDULING_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "hamon/engine/config.hpp"
#include "hamon/engine/scheduling.hpp"

namespace hamon::node {

// A real-time policy ("fifo:N", "rr:N") waits for the process to be ready: its exec, its dynamic
// loading and its initialization run as they would without one. Initialization at a real-time
// priority holds its CPU from every process of that priority until it blocks (they are not
// time-sliced), so a process starting beside running beaters of the same priority would starve
// them into hang verdicts — and each restart would start another such storm. hamon-monitor
// applies it the moment it sees the process ready (ProcessIdentity::realtime); a process ready
// at its spawn (nothing to wait for) gets it from the spawner like any other setting.
//
// The word the identity line carries: the kernel's policy number << 8 | the priority; 0 when
// nothing waits for the ready.
[[nodiscard]] std::uint32_t realtime_at_ready(const engine::ProcessConfig& p) noexcept;

// Gives every thread of `pid` the real-time policy `realtime` (as realtime_at_ready encodes it).
// 0, or the errno of the first thread the kernel refused (threads that end meanwhile are
// skipped); `detail` then says which and why.
int apply_realtime(pid_t pid, std::uint32_t realtime, std::string& detail);

// Gives every thread of `pid` that runs at a real-time policy the ordinary one. Applied to a
// process hamon is ending: its exit — the kernel tearing down its memory, milliseconds for a big
// process — would otherwise hold its CPU from every beater of its priority there.
void drop_realtime(pid_t pid);

// 0, or the errno of the first setting the kernel refused, whose key ("sched", "nice", "cpus",
// "oom_score_adjust") is then in `failed`. Async-signal-safe: no allocation, no lock.
int apply_scheduling(const engine::Scheduling& settings, const char*& failed) noexcept;

// What the calling thread has now of each setting `changing` sets: read before a daemon applies
// its own settings, so that the processes the spawner starts get what they would have had — a
// daemon's real-time policy, its CPUs or its OOM protection are not theirs.
[[nodiscard]] engine::Scheduling current_scheduling(const engine::Scheduling& changing);

// `own`, and for each setting it leaves out, the one in `inherited`.
[[nodiscard]] engine::Scheduling with_inherited(const engine::Scheduling& own,
                                                const engine::Scheduling& inherited);

// What the node's first daemon had of each setting `changing` sets, before hamon's daemon
// settings were applied: read from the thread by the first, passed down to the daemons it starts
// (HAMON_SCHEDULING_BEFORE in their environment). DaemonStart calls it once.
void capture_scheduling_before(const engine::Scheduling& changing);
// What capture_scheduling_before found: what a process without settings of its own gets.
const engine::Scheduling& scheduling_before_daemon_settings();

}  // namespace hamon::node

#endif  // HAMON_NODE_APPLY_SCHEDULING_HPP
