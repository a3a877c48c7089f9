// The command line every daemon takes: --config FILE [--source FILE] --node ID. Parsed with CLI11;
// a bad command line exits 100 (usage), a node that cannot be loaded 111 (s6's convention,
// docs/operations.md).
#ifndef HAMON_NODE_DAEMON_ARGS_HPP
#define HAMON_NODE_DAEMON_ARGS_HPP

#include <string>

#include "hamon/shm/control_segment.hpp"
#include "hamon/node/node.hpp"

namespace hamon::node {

inline constexpr int kExitUsage = 100;
inline constexpr int kExitSystem = 111;

// Parses argv and loads the node; on failure prints why (prefixed by `prog`) and exits.
// With `adopt`, also accepts --adopt (the watch tree restarting one of its own) and sets it.
Node daemon_startup(const char* prog, int argc, char** argv, bool* adopt = nullptr);

// Attaches the node's control segment read-write; on failure prints why and exits 111.
shm::ControlSegment attach_control_or_exit(const char* prog, const Node& node);

}  // namespace hamon::node

#endif  // HAMON_NODE_DAEMON_ARGS_HPP
