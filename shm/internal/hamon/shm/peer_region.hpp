// The peer region of the control segment: what this node knows of each other node of its
// cluster, as the peer link (in hamon-monitor's process, on its own thread) last heard it. One
// writer, the link; readers (hamon status, top, --json, the exporter) take each record through
// its seqlock, so looking at the peer costs the node nothing.
//
//   PeerSlot[kMaxPeers], each:
//     PeerHeader     (seqlocked)   who the peer is, its state, its links, counters
//     PeerSettings   (seqlocked)   what the link runs with (a restarted monitor starts from it)
//     PeerTenantRow[max_groups]    the peer's tenants, rows [0, tenant_rows)
//     PeerProcessRow[max_processes] the peer's processes, rows [0, process_rows)
//
// A row whose state is `unused` is a hole (a process the peer no longer has) that a later
// process may fill. A restarted link keeps what its predecessor wrote, `last_heard_ns` included,
// so a monitor that crash-loops cannot postpone the verdict that the peer is lost.
#ifndef HAMON_SHM_PEER_REGION_HPP
#define HAMON_SHM_PEER_REGION_HPP

#include <cstddef>
#include <atomic>
#include <cstdint>

#include "hamon/shm/doorbell.hpp"
#include "hamon/shm/seqlock.hpp"

namespace hamon::shm {

// A cluster is a duplex: one peer. The region is an array so that a larger cluster changes a
// constant, not the layout's shape.
inline constexpr std::uint32_t kMaxPeers = 1;
inline constexpr std::uint32_t kMaxLinks = 2;
inline constexpr std::size_t kPeerNameMax = 32;  // NUL included
inline constexpr std::size_t kAddressMax = 64;   // "host:port", NUL included
inline constexpr std::size_t kReasonMax = 64;    // the last rejection, NUL included
inline constexpr std::size_t kKeyPathMax = 512;  // NUL included

enum class PeerState : std::uint32_t {
  never_seen = 0,  // no link has completed a handshake since the node came up
  up,              // a link is up, or was within peer_timeout
  lost,            // every link silent for peer_timeout
};
const char* to_string(PeerState s) noexcept;

enum class LinkState : std::uint32_t {
  down = 0,    // no connection (waiting to reconnect, or to be connected to)
  connecting,  // TCP connect or handshake in progress
  up,          // handshake done, frames flowing
};
const char* to_string(LinkState s) noexcept;

enum class PeerAuth : std::uint32_t { key = 0, none };

struct PeerLinkInfo {
  char address[kAddressMax];  // the peer's address on this link (configured), "" if unused
  LinkState state;
  std::uint32_t connects;       // connections that completed a handshake
  std::uint64_t up_since_ns;    // CLOCK_MONOTONIC of the last handshake; 0 if never
  std::uint64_t last_heard_ns;  // the last frame accepted on it; 0 if never
  std::uint64_t rtt_ns;         // the last round trip measured; 0 if none yet
  std::uint64_t frames_in;
  std::uint64_t frames_out;
  std::uint64_t bytes_in;
  std::uint64_t bytes_out;
};

struct PeerHeader {
  char node[kPeerNameMax];  // the peer's id (configured); "" for an unused slot
  std::uint32_t side;       // engine::Side of the peer: 0 primary, 1 secondary
  PeerState state;
  PeerAuth auth;
  std::uint32_t link_count;      // configured links, 1..kMaxLinks
  std::uint64_t state_since_ns;  // when `state` was entered
  std::uint64_t last_heard_ns;   // the last frame accepted on any link
  std::uint64_t incarnation;     // the peer's link incarnation (its monitor's), from its frames
  std::uint64_t state_seq;       // the peer's table state held in the rows below
  std::uint64_t snapshot_ns;     // when the last whole snapshot was applied; 0 if none yet
  std::uint64_t snapshots;       // snapshots applied
  std::uint64_t deltas;          // deltas applied
  std::uint64_t rejected;        // frames rejected, every reason
  std::uint64_t peer_losses;     // times the peer was declared lost
  std::uint32_t tenant_rows;     // rows in use (holes included)
  std::uint32_t process_rows;
  std::uint32_t overflow;  // the peer sent more rows than this region holds (not shown)
  std::uint32_t reserved;
  char last_reject[kReasonMax];  // "bad-mac: frame 4 ..." of the last rejection
  PeerLinkInfo links[kMaxLinks];
};

// One tenant of the peer, as its node reports it.
struct PeerTenant {
  char name[kPeerNameMax];  // "" = unused row
  std::uint32_t role;       // enum hamon_role
  std::uint32_t critical_failures;
  std::uint64_t epoch;
  std::uint32_t flags;  // kPeerAsks
};
inline constexpr std::uint32_t kPeerAsks = 1u << 0;  // the peer asks for the tenant

// One process of the peer, as its node reports it.
struct PeerProcess {
  char group[kPeerNameMax];  // "system" or the tenant
  char name[kPeerNameMax];
  std::uint32_t state;  // ProcessState numbers; unused (0) = a hole
  std::uint32_t flags;  // bit 0: ready; bit 1: critical
  std::int32_t pid;
  std::uint32_t restarts;
  std::uint64_t incarnation;
  std::uint64_t updated_ns;  // CLOCK_MONOTONIC when the link wrote this row: what the peer said
                             // reached this node then (the broadcast lag's far end)
};
inline constexpr std::uint32_t kPeerReady = 1u << 0;
inline constexpr std::uint32_t kPeerCritical = 1u << 1;

// The link's settings as it last started with them: a restarted hamon-monitor starts its link
// from these at once, before it has read the configuration (whose parse takes tens of
// milliseconds at thousands of processes: silence the peer would hear), then checks them against
// it. Written by the link; `written` is 0 until the first link of the node started, or when the
// settings did not fit (then the configuration is read first).
struct PeerSettings {
  std::uint32_t written;
  std::uint32_t auth;  // PeerAuth
  std::uint32_t self_side;
  std::uint32_t peer_side;
  std::uint32_t address_count;  // 1..kMaxLinks of each side's, in link order
  std::uint32_t reserved;
  std::uint64_t interval_ns;
  std::uint64_t timeout_ns;
  char cluster[kPeerNameMax];
  char self[kPeerNameMax];
  char peer[kPeerNameMax];
  char self_address[kMaxLinks][kAddressMax];
  char peer_address[kMaxLinks][kAddressMax];
  char key_path[kKeyPathMax];  // absolute; "" with auth none
};

struct alignas(128) PeerHeaderSlot {
  Seqlocked<PeerHeader> header;
  Seqlocked<PeerSettings> settings;
  // Bumped by the link after the peer's state or any of its tenant rows changed, before it
  // rings hamon-server's inbox: what the server's role decisions wait on.
  std::atomic<std::uint64_t> role_inputs;
  // Bumped by hamon-server after it published a tenant's role, epoch, failures or request in a
  // group line, before it rings link_bell: the link sends it at once instead of at its next
  // peer_interval (a switchover's hand-over waits on nothing else).
  std::atomic<std::uint64_t> role_outputs;
  Doorbell link_bell;
};
struct alignas(64) PeerTenantRow {
  Seqlocked<PeerTenant> row;
};
struct alignas(128) PeerProcessRow {
  Seqlocked<PeerProcess> row;
};
static_assert(sizeof(PeerTenantRow) == 64);
static_assert(sizeof(PeerProcessRow) == 128);

// The bytes of one peer's slot for a segment of the given capacity (a multiple of 128).
constexpr std::size_t peer_slot_bytes(std::uint32_t max_processes, std::uint32_t max_groups) {
  const std::size_t tenants = std::size_t{max_groups} * sizeof(PeerTenantRow);
  return sizeof(PeerHeaderSlot) + (tenants + 127) / 128 * 128 +
         std::size_t{max_processes} * sizeof(PeerProcessRow);
}

// One peer's slot, located by ControlSegment::peer().
class PeerSlot {
 public:
  PeerSlot(std::byte* base, std::uint32_t max_processes, std::uint32_t max_groups) noexcept
      : base_(base), max_processes_(max_processes), max_groups_(max_groups) {}

  [[nodiscard]] Seqlocked<PeerHeader>& header() const noexcept {
    return reinterpret_cast<PeerHeaderSlot*>(base_)->header;
  }
  [[nodiscard]] std::atomic<std::uint64_t>& role_inputs() const noexcept {
    return reinterpret_cast<PeerHeaderSlot*>(base_)->role_inputs;
  }
  [[nodiscard]] std::atomic<std::uint64_t>& role_outputs() const noexcept {
    return reinterpret_cast<PeerHeaderSlot*>(base_)->role_outputs;
  }
  [[nodiscard]] Doorbell& link_bell() const noexcept {
    return reinterpret_cast<PeerHeaderSlot*>(base_)->link_bell;
  }
  [[nodiscard]] Seqlocked<PeerSettings>& settings() const noexcept {
    return reinterpret_cast<PeerHeaderSlot*>(base_)->settings;
  }
  // REQUIRES: i < max_groups().
  [[nodiscard]] Seqlocked<PeerTenant>& tenant(std::uint32_t i) const noexcept {
    return reinterpret_cast<PeerTenantRow*>(base_ + sizeof(PeerHeaderSlot))[i].row;
  }
  // REQUIRES: i < max_processes().
  [[nodiscard]] Seqlocked<PeerProcess>& process(std::uint32_t i) const noexcept {
    const std::size_t tenants = std::size_t{max_groups_} * sizeof(PeerTenantRow);
    return reinterpret_cast<PeerProcessRow*>(base_ + sizeof(PeerHeaderSlot) +
                                             (tenants + 127) / 128 * 128)[i]
        .row;
  }
  [[nodiscard]] std::uint32_t max_processes() const noexcept { return max_processes_; }
  [[nodiscard]] std::uint32_t max_groups() const noexcept { return max_groups_; }

 private:
  std::byte* base_;
  std::uint32_t max_processes_;
  std::uint32_t max_groups_;
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_PEER_REGION_HPP
