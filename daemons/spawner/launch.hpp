// launch(): starts one process the way hamon promises: in its own cgroup where one was made for it
// (so a stop reaches all it forks, wherever it goes), in its own session (so a stop reaches the
// whole process group where there is no cgroup), stdin from /dev/null, stdout and stderr appended
// to its log, the client's environment, working directory, user, group and resource limits.
//
// posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), no copy of the spawner's page tables) for the
// common case; clone3 + exec when the process goes into a cgroup (CLONE_INTO_CGROUP: it is in
// the cgroup from its first instruction, so nothing it forks can escape, and no pid is written to
// cgroup.procs, which waits for an RCU grace period; on x86-64 with CLONE_VM | CLONE_VFORK as
// posix_spawn does, elsewhere as fork); fork + exec when a user, group or resource limit must be
// set or its tenant's caps joined, which posix_spawn cannot do.
//
// REQUIRES: the spawner has one thread (a child that shares its memory calls setuid(), which
// glibc would otherwise broadcast to threads that are not the child's).
#ifndef HAMON_SPAWNER_LAUNCH_HPP
#define HAMON_SPAWNER_LAUNCH_HPP

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "hamon/engine/config.hpp"

namespace hamon::spawner {

struct LaunchRequest {
  const engine::ProcessConfig* process;
  std::map<std::string, std::string> extra_env;  // the client's HAMON_* variables
  std::string log_path;
  int cgroup_fd = -1;  // the directory of the cgroup to start it in; -1: none
  // cgroup.procs files (of its tenant's caps, node/tenant_caps.hpp) it joins before its exec.
  std::vector<int> join_fds = {};
};

struct Launched {
  // The child's pid; or -errno (exec failures included: the program was not found, say), and no
  // process.
  pid_t pid = -1;
  // When the child failed before its exec, the setting it could not apply ("cpus",
  // "oom_score_adjust", "user"...); null when the exec itself failed or nothing was started.
  const char* failed_at = nullptr;
  // A pidfd for it, opened before anything could reap it, so it names this process for as long
  // as it is held.
  int pidfd = -1;
  // Whether it runs in the requested cgroup: a kernel that cannot start a process in one (older
  // than 5.7, or a cgroup it refuses) gets it started without.
  bool contained = false;
};

Launched launch(const LaunchRequest& request) noexcept;

// Lets the spawner hold a pidfd for each of thousands of processes: raises its own soft limit on
// open files to the hard limit. The processes it launches still start with the soft limit it
// had before (unless their configuration sets one).
void raise_fd_limit() noexcept;

}  // namespace hamon::spawner

#endif  // HAMON_SPAWNER_LAUNCH_HPP
