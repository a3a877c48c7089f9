// Starting one of hamon's own daemons: the binary beside this one, the node's running
// configuration (--config; running_config.hpp), the operator's file (--source) and --node, stdin
// from /dev/null and stdout/stderr appended to log/<binary>.log (the directory made if missing).
// The caller makes sure the running configuration is in place (RunningConfig::tend).
#ifndef HAMON_NODE_DAEMON_SPAWN_HPP
#define HAMON_NODE_DAEMON_SPAWN_HPP

#include <sys/types.h>

#include "hamon/node/node.hpp"

namespace hamon::node {

struct DaemonSpawn {
  const char* binary;        // "hamon-master"
  bool adopt = false;        // pass --adopt: take over the running node
  bool new_session = false;  // setsid: not in the caller's session (a watcher started by a master)
};

// The child's pid, or -errno.
pid_t spawn_daemon(const Node& node, const DaemonSpawn& what);

}  // namespace hamon::node

#endif  // HAMON_NODE_DAEMON_SPAWN_HPP
