// A node's whole table, split into snapshot chunks that each fit one frame, and put together
// again on the other side.
//
// Sizes: a process record takes at most 82 bytes (two 31-character names), a tenant record 46,
// so a chunk of max_payload (65,536) bytes holds at least 798 processes: a 4,096-process table
// travels in 6 chunks, the largest table hamon allows (65,536 processes, 1,024 tenants) in 83.
// Heartbeats may travel between the chunks of a snapshot.
//
// Thread-safety: pure functions; one SnapshotAssembler per connection.
#ifndef HAMON_PEER_SNAPSHOT_HPP
#define HAMON_PEER_SNAPSHOT_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "hamon/peer/messages.hpp"
#include "hamon/peer/reject.hpp"

namespace hamon::peer {

// What a snapshot carries: every tenant and every process of the sending node.
struct Table {
  std::uint64_t state_seq = 0;
  std::vector<TenantRecord> tenants;
  std::vector<ProcessRecord> processes;

  friend bool operator==(const Table&, const Table&) = default;
};

// The most chunks a snapshot may have; more is refused, as a bound on what a peer can make the
// receiver hold (the largest table hamon allows needs 83).
inline constexpr std::uint32_t max_snapshot_chunks = 1024;

// Chunks in order, tenants first, each encoding to at most max_payload bytes; one chunk for an
// empty table. REQUIRES: names of at most 31 characters (the configuration's rule).
[[nodiscard]] std::vector<SnapshotChunk> split_snapshot(const Table& table);

// Receives the chunks of a snapshot and returns the table once the last one is in. Chunks must
// come in order, all with the same state_seq and count; a chunk 0 starts a new snapshot, dropping
// any unfinished one (the sender started over). A table above hamon's limits (65,536 processes,
// 1,024 tenants) or naming a process or tenant twice is malformed.
class SnapshotAssembler {
 public:
  [[nodiscard]] Checked<std::optional<Table>> add(SnapshotChunk chunk);
  // A snapshot is partly received.
  [[nodiscard]] bool in_progress() const noexcept { return next_index_ != 0; }

 private:
  Table table_;
  std::uint32_t next_index_ = 0;  // 0: none in progress
  std::uint32_t count_ = 0;
};

}  // namespace hamon::peer

#endif  // HAMON_PEER_SNAPSHOT_HPP
