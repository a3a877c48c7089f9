// What a running daemon keeps in place in the node's runtime directory, which an operator or a
// clean-up job may remove under it: the file of its instance lock (instance_lock.hpp) and its
// own log. Without the lock's file a second instance could start beside it, and a restarted
// master would not find it; without the log its last words would go to a file nobody can open.
#ifndef HAMON_NODE_RUNTIME_UPKEEP_HPP
#define HAMON_NODE_RUNTIME_UPKEEP_HPP

#include <string>

#include "hamon/node/node.hpp"
#include "hamon/result.hpp"

namespace hamon::node {

// `fd` holds the instance lock of `binary`. If the lock's file was removed or replaced, takes
// the lock again on a new file at its path and holds it through `fd` instead. Fails if another
// instance took the new file first.
base::Status keep_instance_lock(const Node& node, const char* binary, int& fd);

// If this process's stdout and stderr go to a file that was removed, opens `log_path` again
// (making its directory) and sends them there.
void keep_own_log(const std::string& log_path);

}  // namespace hamon::node

#endif  // HAMON_NODE_RUNTIME_UPKEEP_HPP
