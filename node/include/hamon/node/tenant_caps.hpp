// Tenant caps: what a tenant's processes may use together — memory, a share of the CPUs, a number
// of processes and threads ([[tenant]] caps, docs/configuration.md) — held by a cgroup of the
// tenant's in each cgroup v1 hierarchy that has the controller (a hybrid or legacy machine:
// RHEL 8 and older, and many containers, by default):
//
//   HOME/hamon/CLUSTER.NODE/tenant:TENANT      in the memory, cpu and pids hierarchies
//
// HOME is the spawner's own cgroup in that hierarchy (what the administrator, systemd or a
// container gave hamon: the tenants' cgroups nest inside it, and stay under its limits). The
// ':' keeps a tenant's name from meeting a control file's ("tasks"). Made and removed by the
// spawner only: its successor, started the same way, finds the same HOME.
//
// Each of the tenant's processes joins them before its exec (it writes "0" to their
// cgroup.procs), so everything it forks is counted too. Containment (process_cgroup.hpp) stays
// in the v2 hierarchy: the two are independent. A cap no v1 hierarchy can hold (a pure v2
// machine) is not applied, and the spawner says so in an alarm (docs/operations.md, "Tenant
// caps"). HAMON_CGROUP_ROOT=none in the environment (no cgroups at all) turns caps off too.
#ifndef HAMON_NODE_TENANT_CAPS_HPP
#define HAMON_NODE_TENANT_CAPS_HPP

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hamon/engine/config.hpp"

namespace hamon::node {

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
PreparedCaps prepare_tenant_caps(const std::string& cluster, const std::string& node,
                                 const std::string& tenant, const engine::TenantCaps& caps);

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

// Removes the node's tenant cgroups from every hierarchy (those still holding a process stay).
void remove_tenant_caps(const std::string& cluster, const std::string& node);

}  // namespace hamon::node

#endif  // HAMON_NODE_TENANT_CAPS_HPP
