// launch(): starts one process the way hamon promises: its own session (so a stop reaches the
// whole process group), stdin from /dev/null, stdout and stderr appended to its log, the client's
// environment, working directory, user, group and resource limits.
//
// posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), no copy of the spawner's page tables) for the
// common case; fork + exec only when a user, group or resource limit must be set, which
// posix_spawn cannot do.
#ifndef HAMON_SPAWNER_LAUNCH_HPP
#define HAMON_SPAWNER_LAUNCH_HPP

#include <sys/types.h>

#include <map>
#include <string>

#include "hamon/engine/config.hpp"

namespace hamon::spawner {

struct LaunchRequest {
  const engine::ProcessConfig* process;
  std::map<std::string, std::string> extra_env;  // the client's HAMON_* variables
  std::string log_path;
};

// The child's pid and, in `pidfd`, a pidfd for it (opened before anything could reap it, so it
// names this process for as long as it is held); or -errno (exec failures included: the program
// was not found, say), and no process.
pid_t launch(const LaunchRequest& request, int& pidfd) noexcept;

// Lets the spawner hold a pidfd for each of thousands of processes: raises its own soft limit on
// open files to the hard limit. The processes it launches still start with the soft limit it
// had before (unless their configuration sets one).
void raise_fd_limit() noexcept;

}  // namespace hamon::spawner

#endif  // HAMON_SPAWNER_LAUNCH_HPP
