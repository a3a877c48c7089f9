// PeerView: what this node knows of its peer, read from the control segment's peer region
// (read-only, no daemon round trip): the peer's state, its links, and its processes in the same
// shape as the node's own (node_view.hpp).
#ifndef HAMON_NODE_PEER_VIEW_HPP
#define HAMON_NODE_PEER_VIEW_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

struct PeerLinkRow {
  std::string address;
  std::string state;                           // down, connecting, up
  std::optional<std::uint64_t> rtt_us;         // the last round trip measured
  std::optional<std::uint64_t> last_heard_us;  // how long ago a frame came on it
  std::uint32_t connects = 0;
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
};

struct PeerProcessRow {
  std::string tenant;  // "system" or the tenant
  std::string name;
  std::int32_t pid = 0;
  std::string state;  // down, starting, ready, running, hung, exited, stopping, failed
  bool ready = false;
  bool critical = false;
  std::uint64_t incarnation = 0;
  std::uint32_t restarts = 0;
  std::uint64_t updated_ns = 0;  // when this node's link wrote it (CLOCK_MONOTONIC)
};

struct PeerTenantRow {
  std::string name;
  std::string role;
  std::uint64_t epoch = 0;
  std::uint32_t critical_failures = 0;
};

struct PeerRow {
  std::string node;
  std::string side;   // primary, secondary
  std::string state;  // never-seen, up, lost
  std::string auth;   // key, none
  std::optional<std::uint64_t> last_heard_us;
  std::optional<std::uint64_t> state_age_us;  // how long it has been in `state`
  std::uint64_t state_seq = 0;
  std::uint64_t snapshots = 0, deltas = 0, rejected = 0, losses = 0;
  std::optional<std::uint64_t> snapshot_age_us;
  std::string last_reject;
  std::uint32_t overflow = 0;
  std::vector<PeerLinkRow> links;
  std::vector<PeerTenantRow> tenants;
  std::vector<PeerProcessRow> processes;
};

// Every configured peer (a slot with a node name); empty for a one-node cluster.
[[nodiscard]] std::vector<PeerRow> read_peers(const shm::ControlSegment& ctl);

}  // namespace hamon::node

#endif  // HAMON_NODE_PEER_VIEW_HPP
