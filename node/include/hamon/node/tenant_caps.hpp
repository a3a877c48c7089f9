// Tenant caps: what a tenant's processes may use together — memory, a share of the CPUs, a number
// of processes and threads ([[tenant]] caps, docs/configuration.md) — held by a cgroup of the
// tenant's, per controller in whichever hierarchy offers it:
//
// - cgroup v2 (a pure v2 machine: Debian 12, RHEL 9, Ubuntu 22.04 and later by default), where
//   the root's cgroup.controllers lists the controller: the tenant's level of the containment tree,
//   ROOT/hamon/CLUSTER.NODE/tenant::TENANT (process_cgroup.hpp), with the controller enabled in
//   each cgroup above it. Its processes start in their own cgroups below it: nothing to join.
// - cgroup v1 (a hybrid or legacy machine: RHEL 8 and older, many containers), where a v1
//   hierarchy has the controller: HOME/hamon/CLUSTER.NODE/tenant::TENANT in that hierarchy, HOME
//   being the spawner's own cgroup there (what the administrator, systemd or a container gave
//   hamon: the tenants' cgroups nest inside it and stay under its limits). Each of the tenant's
//   processes joins them before its exec (it writes "0" to their cgroup.procs), so everything it
//   forks is counted too.
//
// The '::' keeps a tenant's name from meeting a control file's ("tasks") or a process's. Made by
// the spawner only: its successor, started the same way, finds the same cgroups. A cap no hierarchy
// can hold is not applied, and the spawner says so in an alarm (docs/operations.md, "Tenant caps").
// HAMON_CGROUP_ROOT=none in the environment (no cgroups at all) turns caps off too.
#ifndef HAMON_NODE_TENANT_CAPS_HPP
#define HAMON_NODE_TENANT_CAPS_HPP

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hamon/engine/config.hpp"

namespace hamon::node {

// Where a cap on `controller` ("memory", "cpu", "pids") is held on this machine: in the cgroup v2
// hierarchy where its root offers the controller, else in a v1 hierarchy that has it.
enum class CapsHierarchy { none, v1, v2 };
CapsHierarchy caps_hierarchy(const std::string& controller);

// The tenant's cgroup that holds its cap on `controller`, as this process sees the machine; ""
// when none can.
std::string tenant_caps_cgroup(const std::string& controller, const std::string& cluster,
                               const std::string& node, const std::string& tenant);

// This process's own cgroup, as a directory, in the v1 hierarchy that has `controller` ("memory",
// "cpu", "pids"); "" when no v1 hierarchy has it.
std::string cgroup_v1_home(const std::string& controller);

// The tenant's cgroup below `home`.
std::string tenant_caps_dir(const std::string& home, const std::string& cluster,
                            const std::string& node, const std::string& tenant);

struct PreparedCaps {
  struct Join {
    std::string controller;
    int fd;  // its cgroup.procs, open for writing (O_CLOEXEC)
  };
  std::vector<Join> joins;  // what the tenant's processes join; the caller closes the fds
  // What could not be applied: one clause per cap ("memory 50331648: ..."); empty when all were.
  std::vector<std::string> not_applied;
};

// Makes the tenant's cgroups for the caps it has, writes the caps (again: a reload's new values
// reach its running processes at once; a cap it no longer has is lifted) and opens what its
// processes join.
// `contained`: whether the tenant's processes start in their own cgroups below the tenant's v2
// cgroup (process_cgroup.hpp); without that, a cap held there reaches none of them and is said not
// applied.
PreparedCaps prepare_tenant_caps(const std::string& cluster, const std::string& node,
                                 const std::string& tenant, const engine::TenantCaps& caps,
                                 bool contained = true);

// What a tenant's cgroups say now, for `hamon status`; each field absent where its controller's
// cgroup is not there.
struct TenantCapsUsage {
  std::optional<std::uint64_t> memory_used, memory_cap;  // bytes; no cap: absent
  std::optional<std::uint64_t> oom_kills;                // processes its cap has ended
  std::optional<std::uint64_t> pids_used, pids_cap;
  std::optional<std::uint32_t> cpu_weight;  // from cpu.shares, on cgroup v2's scale; 100: none
  // Whether any cap holds (a tenant whose caps a reload lifted keeps its cgroups, capless).
  [[nodiscard]] bool any() const noexcept { return memory_cap || pids_cap || cpu_weight; }
};

// Reads the caps of `tenant` as the spawner `spawner_pid` made them (its own cgroups name HOME).
TenantCapsUsage read_tenant_caps(pid_t spawner_pid, const std::string& cluster,
                                 const std::string& node, const std::string& tenant);

// Removes the node's tenant cgroups from the v1 hierarchies (those still holding a process stay;
// the v2 ones are the containment tree's, removed with it).
void remove_tenant_caps(const std::string& cluster, const std::string& node);

}  // namespace hamon::node

#endif  // HAMON_NODE_TENANT_CAPS_HPP
