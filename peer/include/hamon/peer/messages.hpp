// What the frames of the peer link carry, as plain values. payload.hpp turns each into the bytes
// of its frame's payload and back; docs/peer-protocol.md gives the bytes.
//
// Thread-safety: plain values.
#ifndef HAMON_PEER_MESSAGES_HPP
#define HAMON_PEER_MESSAGES_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "hamon/peer/frame.hpp"

namespace hamon::peer {

inline constexpr std::size_t nonce_size = 32;
using Nonce = std::array<std::uint8_t, nonce_size>;

// A process's state as its node's monitor sees it. The numbers are the control segment's
// ProcessState, so the link copies them across; on the wire: never renumber.
enum class ProcessState : std::uint8_t {
  removed = 0,  // no longer configured (a reload removed it): forget it
  down,
  starting,
  ready,
  running,
  hung,
  exited,
  stopping,
  failed,  // restart budget spent: stays down
};
inline constexpr std::uint8_t max_process_state = 8;

// A tenant's duplex role on its node. The numbers are the client header's hamon_role; on the
// wire: never renumber.
enum class TenantRole : std::uint8_t { none = 0, active, standby, taking_over, stepping_down };
inline constexpr std::uint8_t max_tenant_role = 4;

struct TenantRecord {
  std::string name;
  TenantRole role = TenantRole::none;
  std::uint64_t epoch = 0;              // raised by every role change of the tenant
  std::uint32_t critical_failures = 0;  // its critical processes that cannot be kept up here
  bool asks = false;  // an operator asked here for the tenant to move here (a switchover)

  friend bool operator==(const TenantRecord&, const TenantRecord&) = default;
};

struct ProcessRecord {
  std::string group;  // "system" or the tenant's name
  std::string name;
  ProcessState state = ProcessState::down;
  bool ready = false;     // ready by its ready mode (what its dependents wait for)
  bool critical = false;  // configured critical: its failure moves the tenant to the peer
  std::int32_t pid = 0;   // 0 when not running
  std::uint64_t incarnation = 0;
  std::uint32_t restarts = 0;  // since the node came up

  friend bool operator==(const ProcessRecord&, const ProcessRecord&) = default;
};

// First frame of the initiator (the side that connected).
struct Hello {
  std::string cluster;
  std::string node;
  Nonce nonce{};

  friend bool operator==(const Hello&, const Hello&) = default;
};

// The responder's answer to a hello it accepts.
struct Welcome {
  std::string cluster;
  std::string node;
  Nonce nonce{};

  friend bool operator==(const Welcome&, const Welcome&) = default;
};

// Every peer_interval. The receiver's RTT is its now - echo_sent_ns - echo_held_ns, all on its
// own monotonic clock but for echo_held_ns, a duration on the sender's.
struct Heartbeat {
  std::uint64_t sent_ns = 0;       // the sender's monotonic clock when it sent this
  std::uint64_t echo_sent_ns = 0;  // sent_ns of the last heartbeat the sender received, or 0
  std::uint64_t echo_held_ns = 0;  // how long ago the sender received that heartbeat
  std::uint64_t state_seq = 0;     // the sender's table state: its latest snapshot or delta

  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

// One chunk of a snapshot: the whole table of the sender as of state_seq, split into `count`
// chunks sent in order 0..count-1 (snapshot.hpp splits and reassembles).
struct SnapshotChunk {
  std::uint64_t state_seq = 0;
  std::uint32_t index = 0;
  std::uint32_t count = 1;
  std::vector<TenantRecord> tenants;
  std::vector<ProcessRecord> processes;

  friend bool operator==(const SnapshotChunk&, const SnapshotChunk&) = default;
};

// Records that changed; state_seq is one more than the previous snapshot's or delta's.
struct Delta {
  std::uint64_t state_seq = 0;
  std::vector<TenantRecord> tenants;
  std::vector<ProcessRecord> processes;

  friend bool operator==(const Delta&, const Delta&) = default;
};

// Asks the peer for a new snapshot (the receiver saw a gap in state_seq).
struct Resync {
  std::uint64_t state_seq = 0;  // the last state the sender of the resync applied

  friend bool operator==(const Resync&, const Resync&) = default;
};

// The sender closes the connection.
struct Goodbye {
  std::uint16_t reason = 0;  // 0: it stops (shutdown, restart); else the Reason it rejected for
  std::string text;          // at most max_goodbye_text printable ASCII characters

  friend bool operator==(const Goodbye&, const Goodbye&) = default;
};
inline constexpr std::size_t max_goodbye_text = 255;

using Message = std::variant<Hello, Welcome, Heartbeat, SnapshotChunk, Delta, Resync, Goodbye>;

[[nodiscard]] FrameType type_of(const Message& m) noexcept;

}  // namespace hamon::peer

#endif  // HAMON_PEER_MESSAGES_HPP
