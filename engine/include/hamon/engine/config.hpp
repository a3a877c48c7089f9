// The configuration of a hamon cluster: plain data, produced (and validated) by parse_config()
// in parse_config.hpp, read by the daemons and the CLI. Every key is described in
// docs/configuration.md.
//
// Thread-safety: plain values; concurrent reads of a Config are safe.
#ifndef HAMON_ENGINE_CONFIG_HPP
#define HAMON_ENGINE_CONFIG_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hamon/engine/address.hpp"
#include "hamon/engine/config_error.hpp"
#include "hamon/engine/scheduling.hpp"

namespace hamon::engine {

enum class Side : std::uint8_t { primary, secondary };

// What happens when a process exits or hangs.
enum class RestartPolicy : std::uint8_t {
  always,      // restart it whatever its exit status
  on_failure,  // restart it unless it exited with status 0
  never,       // leave it down
};

// When a started process counts as ready, which is what its dependents wait for.
enum class Readiness : std::uint8_t {
  on_spawn,       // "spawn": as soon as it is running
  on_heartbeat,   // "heartbeat": at its first heartbeat
  on_ready_call,  // "explicit": when it calls ready() from the client header
};

// How a tenant's processes run on the side where the tenant is standby.
enum class Standby : std::uint8_t {
  hot,   // running, told they are standby
  cold,  // not started until the tenant becomes active here
};

// How the peer link proves that a connection comes from a node of the cluster.
enum class PeerAuth : std::uint8_t {
  key,   // with the shared key of auth_key_file
  none,  // not at all: for a demo on loopback
};

enum class Failover : std::uint8_t { budget, immediate };

// What the standby side does when the peer is lost (every link silent for peer_timeout).
enum class PeerLostPolicy : std::uint8_t {
  takeover,  // take the peer's tenants over at once: speed first (two actives during a partition)
  fence,     // only once fence_command has fenced the peer
  witness,   // only once witness_command says the peer is gone
};

[[nodiscard]] std::string_view to_string(Side side) noexcept;
[[nodiscard]] std::string_view to_string(RestartPolicy policy) noexcept;
[[nodiscard]] std::string_view to_string(Readiness readiness) noexcept;
[[nodiscard]] std::string_view to_string(Standby standby) noexcept;
[[nodiscard]] std::string_view to_string(PeerAuth auth) noexcept;
[[nodiscard]] std::string_view to_string(PeerLostPolicy policy) noexcept;
[[nodiscard]] std::string_view to_string(Failover failover) noexcept;

// A node's peer links, one per address: two let a cluster survive the loss of one network.
inline constexpr std::size_t max_peer_links = 2;
// A cluster is a duplex: each tenant is active on one side and standby on the other.
inline constexpr std::size_t max_nodes = 2;

struct NodeConfig {
  std::string id;
  Side side = Side::primary;
  // One per peer link (a private and a public network, say), 1 or 2, in file order; the first
  // is the primary link. Link i pairs with address i of every peer, so all nodes of a cluster
  // have as many.
  std::vector<HostPort> addresses;
  SourcePos where;  // its [[cluster.node]] header
};

struct ClusterConfig {
  std::string name;
  std::chrono::nanoseconds peer_interval = std::chrono::milliseconds{2};
  // Must outlast a TCP retransmission (Linux's minimum RTO is 200 ms): >= 3 x interval + 200 ms.
  std::chrono::nanoseconds peer_timeout = std::chrono::milliseconds{250};
  PeerAuth auth = PeerAuth::key;
  // As written: a relative path is resolved against the configuration file's directory when
  // the file is loaded, not here (the engine does no I/O).
  std::optional<std::string> auth_key_file;
  std::vector<NodeConfig> nodes;  // in file order

  // The duplex's roles (docs/roles.md).
  PeerLostPolicy on_peer_lost = PeerLostPolicy::takeover;
  // A node that has never seen its peer makes nothing active before this has passed (and then
  // only as on_peer_lost allows): wait-for-all, so two nodes started apart do not both start.
  std::chrono::nanoseconds wait_for_peer = std::chrono::seconds{10};
  std::vector<std::string> fence_command;  // fence: run; exit 0 = the peer is fenced
  std::chrono::nanoseconds fence_timeout = std::chrono::seconds{10};
  // More lines for the fence agent's standard input, after "action=off" and "nodename=PEER"
  // (the ClusterLabs fence-agent contract), in key order: ip, username, password_script, plug…
  std::vector<std::pair<std::string, std::string>> fence_options;
  std::vector<std::string> witness_command;  // witness: exit 0 = the peer is gone
  std::chrono::nanoseconds witness_timeout = std::chrono::seconds{5};
  // Flap damping: more automatic role changes of one tenant than this within the window, and
  // the tenant holds where it is.
  std::uint32_t max_role_changes = 4;
  std::chrono::nanoseconds role_change_window = std::chrono::minutes{10};
  // stepping_down lasts until the applications acknowledge, or this long.
  std::chrono::nanoseconds drain_timeout = std::chrono::nanoseconds{0};
  std::chrono::nanoseconds hook_timeout = std::chrono::seconds{5};  // on_role_change
  // hamon's own daemons (daemon_sched, daemon_nice, daemon_cpus, daemon_oom_score_adjust): each
  // applies them to itself at its start. A monitor starved by what it watches sees hangs that
  // are not there.
  Scheduling daemon_scheduling;
};

// Resource limits (setrlimit) applied to a process before exec; absent = inherited from the
// spawner.
struct Limits {
  static constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

  std::optional<std::uint64_t> nofile;   // RLIMIT_NOFILE: open file descriptors
  std::optional<std::uint64_t> nproc;    // RLIMIT_NPROC: processes of the user
  std::optional<std::uint64_t> core;     // RLIMIT_CORE: core file size, bytes
  std::optional<std::uint64_t> memlock;  // RLIMIT_MEMLOCK: locked memory, bytes

  friend bool operator==(const Limits&, const Limits&) = default;
};

// Every per-process key that [defaults] may also set. A process starts from [defaults], which
// starts from the values below.
struct ProcessSettings {
  std::chrono::nanoseconds interval = std::chrono::milliseconds{100};  // how often it must beat
  std::chrono::nanoseconds timeout = std::chrono::milliseconds{300};   // silence = hung
  RestartPolicy restart = RestartPolicy::always;
  Readiness ready = Readiness::on_heartbeat;
  int priority = 50;  // 0-100, higher starts first among those that may start
  bool critical = false;
  // A critical process's crash or hang moves its tenant to the peer at once ("immediate"), or
  // only once its restart budget is spent ("budget").
  Failover failover = Failover::budget;
  // Restart back-off: the first restart is immediate, then restart_delay, doubling per restart
  // up to restart_delay_max. 100 ms gives a process that exits at once (a missing file, a port
  // in use) about 1.5 s before its restart budget is spent, not a few milliseconds.
  std::chrono::nanoseconds restart_delay = std::chrono::milliseconds{100};
  std::chrono::nanoseconds restart_delay_max = std::chrono::seconds{5};
  // More than restart_budget restarts within restart_window: hamon gives up on the process.
  std::uint32_t restart_budget = 5;
  std::chrono::nanoseconds restart_window = std::chrono::seconds{60};
  std::chrono::nanoseconds stop_timeout = std::chrono::seconds{2};  // SIGTERM, then SIGKILL
  // Restart it, once the dependency is ready again, after a process it depends on restarts.
  bool restart_with_dependencies = true;
  std::map<std::string, std::string> env;
  std::optional<std::string> working_dir;  // absolute
  std::optional<std::string> user;
  std::optional<std::string> unix_group;  // key "group"
  Limits limits;
  Scheduling scheduling;  // sched, nice, cpus, oom_score_adjust (scheduling.hpp)

  friend bool operator==(const ProcessSettings&, const ProcessSettings&) = default;
};

struct ProcessConfig : ProcessSettings {
  std::string group;  // system_group or the tenant's name
  std::string name;
  std::vector<std::string> command;     // program (a path, or a name looked up on PATH), args
  std::vector<std::string> depends_on;  // qualified names, in the order written
  SourcePos where;                      // its [[system.process]] / [[tenant.process]] header
  // Warm spares (docs/spares.md): a process written with `spares = N` runs as N+1 instances,
  // itself and N members named NAME~1…NAME~N placed right after it, which parse_config() adds
  // with spare_of = NAME and the same settings. Each instance parks once initialized; one serves.
  std::uint32_t spares = 0;
  std::string spare_of;

  // "group/name": unique in a Config, the name the CLI and the logs use.
  [[nodiscard]] std::string qualified() const { return group + "/" + name; }
  [[nodiscard]] bool is_system() const noexcept;
  // Whether running `other` instead would be the same process: every setting, the command and
  // the dependencies (not the position in the file). `hamon reload` restarts what differs; a
  // changed number of spares adds or removes members and restarts nothing else, unless it goes
  // from none to some or back (the instance parks, or no longer does: docs/spares.md).
  [[nodiscard]] bool same_as(const ProcessConfig& other) const {
    return static_cast<const ProcessSettings&>(*this) == other && group == other.group &&
           name == other.name && command == other.command && depends_on == other.depends_on &&
           family() == other.family();
  }
  // The name of the process whose instances this one is part of: spare_of, or its own name when
  // it has spares; "" for a process without.
  [[nodiscard]] std::string family() const {
    return spare_of.empty() && spares != 0 ? name : spare_of;
  }
};

// Caps on what a tenant's processes use together, in a cgroup of the tenant's
// (node/tenant_caps.hpp); absent = no cap.
struct TenantCaps {
  std::optional<std::uint64_t> memory;      // bytes, all its processes together
  std::optional<std::uint32_t> cpu_weight;  // 1..10000, cgroup v2's scale: 100 is an even share
  std::optional<std::uint32_t> pids;        // processes and threads, all together

  [[nodiscard]] bool any() const noexcept { return memory || cpu_weight || pids; }
  friend bool operator==(const TenantCaps&, const TenantCaps&) = default;
};

struct TenantConfig {
  std::string name;
  std::optional<std::string> user;  // runs its processes and owns its heartbeat segment
  // Users who may start, stop and restart its processes and move it (with `user`) through the
  // control socket; nothing else (docs/security.md).
  std::vector<std::string> operators;
  Standby standby = Standby::hot;
  Side preferred_side = Side::primary;  // where it is active when both sides may have it
  // Run on every role change of the tenant here, with its name, the old and new role and the
  // epoch as arguments (e.g. to move a virtual IP).
  std::vector<std::string> on_role_change;
  TenantCaps caps;
  SourcePos where;  // its [[tenant]] header
};

struct Config {
  ClusterConfig cluster;
  ProcessSettings defaults;
  // System processes first, then each tenant's in tenant order, each in file order. A
  // process's index here is its stable id in plans.
  std::vector<ProcessConfig> processes;
  std::vector<TenantConfig> tenants;  // in file order
  std::string source;                 // the file name given to parse_config()

  // nullptr / std::nullopt when there is no such process ("group/name"), tenant or node.
  [[nodiscard]] const ProcessConfig* find_process(std::string_view qualified) const;
  [[nodiscard]] std::optional<std::size_t> process_index(std::string_view qualified) const;
  [[nodiscard]] const TenantConfig* find_tenant(std::string_view name) const;
  [[nodiscard]] const NodeConfig* find_node(std::string_view id) const;
  // The nodes `node_id` links to: every other node, in file order. None when there is no such
  // node, so that a stray id never reaches out to the whole cluster.
  [[nodiscard]] std::vector<const NodeConfig*> peers_of(std::string_view node_id) const;

  // The groups that have processes: system first, then tenants in order.
  [[nodiscard]] std::vector<std::string> groups() const;
};

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_CONFIG_HPP
