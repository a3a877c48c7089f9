// The processes of a node found by what the spawner put in their environment (the heartbeat
// segment of their group names the cluster and the node), whatever the segments say: a node
// whose control segment is lost must not be started beside them.
#ifndef HAMON_NODE_NODE_PROCESSES_HPP
#define HAMON_NODE_NODE_PROCESSES_HPP

#include <sys/types.h>

#include <vector>

#include "hamon/node/node.hpp"

namespace hamon::node {

// Live processes whose environment names one of `node`'s heartbeat segments.
[[nodiscard]] std::vector<pid_t> processes_by_environment(const Node& node);

}  // namespace hamon::node

#endif  // HAMON_NODE_NODE_PROCESSES_HPP
