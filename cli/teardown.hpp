// Teardown: the end of `hamon down`, done by hamon itself, with no daemon and no configuration
// needed — what is left of a node once its server has stopped what it could (or could not be
// asked). In order:
//   1. the daemons: each found by its instance lock, which the teardown then takes and holds, so
//      that no daemon can start again behind it (hamon-watcher and hamon-master are killed, as
//      they would restart the others; the spawner, monitor and server are asked to exit);
//   2. the processes the control segment records: each reached through a pidfd checked against
//      its recorded start time (never a bare pid), SIGTERM to its cgroup (or, without one, its
//      process group), SIGKILL after its grace; then whatever is left in the node's cgroups
//      (what a process forked, its leader gone) is killed and the cgroups removed;
//   3. the segments and the server's socket, once nothing runs.
#ifndef HAMON_CLI_TEARDOWN_HPP
#define HAMON_CLI_TEARDOWN_HPP

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hamon/node/recorded_process.hpp"
#include "hamon/result.hpp"
#include "hamon/shm/control_segment.hpp"
#include "node_target.hpp"

namespace hamon::cli {

class Teardown {
 public:
  using Clock = std::chrono::steady_clock;
  // The grace between SIGTERM and SIGKILL of a process, by "group/name".
  using Grace = std::function<std::chrono::nanoseconds(const std::string&)>;

  Teardown(const NodeTarget& target, const shm::ControlSegment& ctl);
  ~Teardown();  // lets the instance locks go
  Teardown(const Teardown&) = delete;
  Teardown& operator=(const Teardown&) = delete;

  // Step 1: returns once every daemon's lock is held; fails (Errc::timeout) at `deadline` naming
  // the daemons that still hold theirs (`timeout`: how the deadline was given, for the message).
  base::Status hold_daemons(Clock::time_point deadline, const std::string& timeout);

  struct Outcome {
    std::vector<std::string> stopped;  // "system/db (pid 12, SIGTERM)"
    std::vector<std::string> left;     // "system/db (pid 12): still running" / "...: cannot ..."
  };
  // Step 2: every recorded process that still runs, all at once, with all it forked; returns when
  // they are gone (their cgroups removed) or at `deadline`. REQUIRES: hold_daemons() succeeded
  // (nothing can start or restart them meanwhile).
  Outcome stop_processes(const Grace& grace, Clock::time_point deadline);

  // Step 3: the control segment, every heartbeat segment of the node, the server's socket.
  void remove_segments() const;

 private:
  static constexpr std::size_t kDaemons = 5;

  const NodeTarget& target_;
  const std::string cgroup_dir_;  // the node's cgroups (node/process_cgroup.hpp); "": none
  const shm::ControlSegment& ctl_;
  std::array<int, kDaemons> locks_{-1, -1, -1, -1, -1};
  std::array<Clock::time_point, kDaemons> asked_{};  // when a daemon was sent SIGTERM
};

}  // namespace hamon::cli

#endif  // HAMON_CLI_TEARDOWN_HPP
