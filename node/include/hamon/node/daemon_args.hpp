// The command line every daemon takes: --config FILE [--source FILE] --node ID [--cluster NAME].
// Parsed with CLI11; a bad command line exits 100 (usage), a node that cannot be loaded 111 (s6's
// convention, docs/operations.md).
//
// --cluster, which the master passes to the daemons it starts, names the node's resources
// (runtime directory, control segment) before the configuration is read: a daemon can take its
// instance lock and attach the control segment first, and a restarted hamon-monitor starts its
// peer link from there while the configuration is still being parsed.
#ifndef HAMON_NODE_DAEMON_ARGS_HPP
#define HAMON_NODE_DAEMON_ARGS_HPP

#include <string>

#include "hamon/node/node.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

inline constexpr int kExitUsage = 100;
inline constexpr int kExitSystem = 111;

struct DaemonArgs {
  std::string config;
  std::string source;
  std::string node;
  std::string cluster;  // empty: known once the configuration is read
};

// Parses argv; on a bad command line prints why and exits. With `adopt`, also accepts --adopt
// (the watch tree restarting one of its own) and sets it.
DaemonArgs parse_daemon_args(const char* prog, int argc, char** argv, bool* adopt = nullptr);

// Loads the node the arguments name; on failure prints why (prefixed by `prog`) and exits. A node
// whose cluster or id is not what --cluster/--node said exits too.
Node load_daemon_node(const char* prog, const DaemonArgs& args);

// Attaches the node's control segment read-write; on failure prints why and exits 111.
shm::ControlSegment attach_control_or_exit(const char* prog, const std::string& cluster,
                                           const std::string& id);

}  // namespace hamon::node

#endif  // HAMON_NODE_DAEMON_ARGS_HPP
