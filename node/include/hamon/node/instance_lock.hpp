// One instance of each daemon per node, enforced by the kernel: a POSIX record lock on
// RUNTIME/<binary>.lock, released the moment its holder dies, whatever killed it (the liveness
// lock s6-supervise keeps on supervise/lock). A second instance cannot take it and exits; a
// master that restarts finds the live instances it did not start by asking who holds the locks.
#ifndef HAMON_NODE_INSTANCE_LOCK_HPP
#define HAMON_NODE_INSTANCE_LOCK_HPP

#include <sys/types.h>

#include <string>

#include "hamon/node/node.hpp"

namespace hamon::node {

// Takes the lock for `binary`; returns its fd (keep it open for life), or -1 with *holder set
// to the pid of the instance that has it (0 if the lock file cannot be used: errno says why).
int take_instance_lock(const Node& node, const char* binary, pid_t* holder);

// The pid of the live instance of `binary` on this node, 0 if none.
pid_t instance_holder(const Node& node, const char* binary);

// The same, for the node whose runtime directory is `runtime_dir` (node::runtime_dir): for
// `hamon down`, which finds a node by its segment and needs no configuration. A process that
// holds a lock must not ask instance_holder about it: closing the file it opens to ask would
// release that process's own lock (POSIX record locks belong to the process, not the fd).
int take_instance_lock(const std::string& runtime_dir, const char* binary, pid_t* holder);
pid_t instance_holder(const std::string& runtime_dir, const char* binary);

// take_instance_lock, or print why not ("another hamon-server (pid 42) runs for node a of
// cluster demo") and exit 111.
int take_instance_lock_or_exit(const std::string& cluster, const std::string& id,
                               const char* binary);

}  // namespace hamon::node

#endif  // HAMON_NODE_INSTANCE_LOCK_HPP
