// NodeView: one consistent-enough snapshot of a running node, read straight from its segments
// (read-only: looking costs the node nothing). `hamon status`, `hamon top`, and the waits of
// `hamon up` and `hamon down` are all built on it.
#ifndef HAMON_NODE_NODE_VIEW_HPP
#define HAMON_NODE_NODE_VIEW_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hamon/node/peer_view.hpp"
#include "hamon/node/tenant_caps.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

struct DaemonRow {
  std::string name;
  std::int32_t pid = 0;
  std::string state;
  std::uint32_t restarts = 0;
  std::optional<std::uint64_t> heartbeat_age_us;
  std::uint64_t channel_full = 0;   // times its messages had to wait for room in a channel
  std::uint32_t failed_starts = 0;  // ended soon after starting, in a row; state "backoff" while
                                    // its watcher holds the next attempt back
};

struct ProcessRow {
  std::uint32_t slot = 0;  // in the control segment
  std::string tenant;      // the group: "system" or the tenant
  std::string name;
  std::int32_t pid = 0;
  std::string state;  // waiting, starting, ready, running, hung, exited, restarting, stopping,
                      // down, failed
  std::string role;
  // An instance of a process with spares (docs/spares.md): "parked" or "serving"; "" otherwise
  // (or not parked yet).
  std::string spare;
  std::uint64_t incarnation = 0;
  std::uint32_t restarts = 0;
  std::optional<std::uint64_t> heartbeat_age_us;
  bool wanted = false;
  // How many processes its cgroup holds — itself and all it forked (docs/operations.md, "Process
  // trees"); unknown without a cgroup, or until add_trees() read it.
  std::optional<std::uint32_t> tree = {};
};

// A tenant's duplex role on this node, as hamon-server decided it (docs/roles.md).
struct TenantRow {
  std::string name;
  std::string role;  // active, standby, taking-over, stepping-down, none
  std::uint64_t epoch = 0;
  std::uint32_t critical_failures = 0;
  bool asks = false;  // a switchover asked here waits for the peer
  // Why it has its role: the reason of its latest role change still in the event ring, e.g.
  // "the peer is lost (takeover)"; empty when none is.
  std::string why = {};
  // Its heartbeat segment belongs to a user other than hamon's: it runs as a user of its own.
  // False means no isolation is possible (docs/security.md).
  bool isolated = false;
  // What its caps' cgroups say (tenant_caps.hpp); read by add_caps(), for `hamon status`.
  TenantCapsUsage caps = {};
};

struct NodeView {
  std::string cluster, node;
  std::vector<DaemonRow> daemons;
  std::vector<TenantRow> tenants;
  std::vector<ProcessRow> processes;
  std::vector<PeerRow> peers;  // what this node knows of each other node (peer_view.hpp)
};

NodeView read_view(const shm::ControlSegment& ctl);

// Fills in each running process's tree size from its cgroup: one small file read per process, so
// for `hamon status` and `top`, not for every reader of the view.
void add_trees(NodeView& v);
// Fills in each tenant's caps usage from its cgroups (a few small files per tenant with caps).
void add_caps(NodeView& v);

std::string render_table(const NodeView& v);
std::string render_json(const NodeView& v);
// For hamon top: this node's processes and its peer's, side by side, under the daemons.
std::string render_side_by_side(const NodeView& v);

// JSON string literal with escapes.
std::string json_string(const std::string& s);

}  // namespace hamon::node

#endif  // HAMON_NODE_NODE_VIEW_HPP
