// spawn_command: runs one of the operator's helper programs for a daemon — a tenant's
// on_role_change hook, the cluster's fence or witness command — without waiting for it.
//
// The program starts with no signal blocked (the daemons block theirs for signalfd, and a
// fence agent that cannot be interrupted would outlive its timeout), with `input` as its
// standard input (a fence agent reads its options there: key=value lines), and with `env` added
// to the daemon's environment. Its output goes where the daemon's does: into its log.
#ifndef HAMON_NODE_COMMAND_SPAWN_HPP
#define HAMON_NODE_COMMAND_SPAWN_HPP

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace hamon::node {

struct CommandSpawn {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string input = {};         // standard input; empty: /dev/null
  std::vector<std::pair<std::string, std::string>> env = {};
};

// The child's pid, or -errno. `input` must fit a pipe's buffer (64 KiB): it is written at once
// and never waited on.
pid_t spawn_command(const CommandSpawn& what);

}  // namespace hamon::node

#endif  // HAMON_NODE_COMMAND_SPAWN_HPP
