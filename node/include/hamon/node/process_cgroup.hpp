// Process cgroups: where a node's processes are contained with everything they fork, so that a
// stop, a restart or `hamon down` ends the whole tree — a double-forked grandchild in a session of
// its own, a daemon whose parent exited — and not only the process group of the process hamon
// started (docs/operations.md, "Process trees").
//
// The layout, under the cgroup v2 hierarchy (found in /proc/self/mountinfo: /sys/fs/cgroup on a
// pure-v2 machine, /sys/fs/cgroup/unified on a hybrid one):
//
//   ROOT/hamon/CLUSTER.NODE/tenant::GROUP              one per tenant (and the system group)
//   ROOT/hamon/CLUSTER.NODE/tenant::GROUP/GROUP:NAME   one per process, reused by its restarts
//
// The tenant level holds the tenant's caps where the v2 hierarchy offers their controllers
// (tenant_caps.hpp). The ':' keeps every name off the control files' (no name has one,
// engine/names.hpp); a group's two keep it off any process's. A node started by a version before
// the tenant level has its processes' cgroups directly in CLUSTER.NODE (GROUP:NAME, "flat"): a
// spawner that adopts them, `hamon status` and `hamon down` find them there too.
//
// The names alone find the cgroups again: a restarted spawner and `hamon down` need no record of
// them. HAMON_CGROUP_ROOT in the environment replaces ROOT ("none": no cgroups at all, as on a
// machine without a writable cgroup v2).
//
// Thin wrappers: each returns 0 or -errno; none blocks beyond its system calls.
#ifndef HAMON_NODE_PROCESS_CGROUP_HPP
#define HAMON_NODE_PROCESS_CGROUP_HPP

#include <sys/types.h>

#include <string>
#include <vector>

namespace hamon::node {

// The mount point of the cgroup v2 hierarchy, or "" when there is none (or HAMON_CGROUP_ROOT says
// "none").
std::string cgroup2_root();

// ROOT/hamon/CLUSTER.NODE, or "" when there is no cgroup v2 hierarchy.
std::string node_cgroup_dir(const std::string& cluster, const std::string& node);

// The cgroup of process "group/name" (as the control segment names it) in `node_dir`.
std::string process_cgroup(const std::string& node_dir, const std::string& group_slash_name);

// Where the cgroup of process "group/name" is now: process_cgroup() if it exists, else where a
// version before the group level put it, if that exists; else "".
std::string find_process_cgroup(const std::string& node_dir, const std::string& group_slash_name);

// Where a version before the group level put the cgroup of process "group/name".
std::string flat_process_cgroup(const std::string& node_dir, const std::string& group_slash_name);

// The cgroup of a tenant (or the system group) in `node_dir`: its processes' cgroups are below it.
std::string group_cgroup(const std::string& node_dir, const std::string& group);
// Its name alone ("tenant::GROUP"), which tenant caps in a v1 hierarchy use too.
std::string group_cgroup_name(const std::string& group);

// Whether a child of a node's cgroup (a name cgroup_children() gave) is a group's, with processes'
// cgroups below it; else it is a process's own, made by a version before the group level.
bool is_group_cgroup(const std::string& child_name);

// Makes `dir` and its missing parents. 0 if it exists already.
int cgroup_make(const std::string& dir) noexcept;

// SIGKILL to every process in `dir` (and in cgroups below it), at once, through cgroup.kill
// (Linux 5.14); on older kernels to each member cgroup.procs lists, as cgroup_signal() does.
int cgroup_kill(const std::string& dir) noexcept;

// Sends `sig` to each process in `dir`, each through a pidfd opened and then checked to be still
// in `dir`, so a pid reused after a member ended is never signalled. Processes that fork while
// this runs may be missed: only cgroup_kill() is sure.
int cgroup_signal(const std::string& dir, int sig) noexcept;

// Whether any process is in `dir` or below it (cgroup.events). False when `dir` does not exist.
bool cgroup_populated(const std::string& dir) noexcept;

// The pids in `dir` itself (cgroup.procs); empty when it does not exist.
std::vector<pid_t> cgroup_members(const std::string& dir);

// Removes `dir` (rmdir): -EBUSY while a process is still in it.
int cgroup_remove(const std::string& dir) noexcept;

// The names of the cgroups directly below `dir`.
std::vector<std::string> cgroup_children(const std::string& dir);

// Kills everything in the node's cgroups (`node_dir`), waits until they are empty (at most
// `wait_ms`), removes them (deepest first), then `node_dir`, then its parent ROOT/hamon if no other
// node uses it.
// 0, or -EBUSY if a cgroup could not be emptied in time.
int cgroup_remove_node(const std::string& node_dir, int wait_ms) noexcept;

}  // namespace hamon::node

#endif  // HAMON_NODE_PROCESS_CGROUP_HPP
