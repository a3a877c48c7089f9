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

// The child's pid, or -errno (exec failures included: the program was not found, say).
pid_t launch(const LaunchRequest& request) noexcept;

}  // namespace hamon::spawner

#endif  // HAMON_SPAWNER_LAUNCH_HPP
