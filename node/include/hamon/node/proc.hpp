// Thin, honest wrappers over the process system calls the daemons need. Each returns -errno on
// failure.
#ifndef HAMON_NODE_PROC_HPP
#define HAMON_NODE_PROC_HPP

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace hamon::node {

// /proc/<pid>/stat field 22: when the process started, in clock ticks since boot. Together with
// the pid it names one process for the life of the machine: a reused pid has another start time.
std::optional<std::uint64_t> start_ticks(pid_t pid) noexcept;

// pidfd_open(2): an fd that becomes readable when `pid` ends. Works for any visible process.
int pidfd_open(pid_t pid) noexcept;

// pidfd_send_signal(2): signals exactly the process the pidfd names, never a reuse of its pid.
int pidfd_signal(int pidfd, int sig) noexcept;

// pidfd_send_signal(2) with PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9): signals the process group
// the pidfd's process leads. The group is named by that process, not by a number, so it is never
// a later group that got the same id; its members still get the signal after the leader ended.
// -ESRCH: nobody is in that group; -EINVAL: the kernel is older.
int pidfd_signal_group(int pidfd, int sig) noexcept;

// Signals the process group led by `pid`, which is not the caller's child, through its pidfd:
// pidfd_signal_group where the kernel has it; before Linux 6.9 by number (kill(-pid)), and only
// while the pidfd shows the leader still runs — a live leader holds its group's id, so the number
// cannot name a later group. If the group cannot be signalled, the leader alone is.
int signal_group_of(int pidfd, pid_t pid, int sig) noexcept;

// Opens a pidfd for `pid` only if it is still the process that started at `ticks`. -ESRCH
// otherwise (gone, or the pid now names another process).
int pidfd_open_checked(pid_t pid, std::uint64_t ticks) noexcept;

}  // namespace hamon::node

#endif  // HAMON_NODE_PROC_HPP
