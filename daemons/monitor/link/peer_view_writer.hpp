// PeerViewWriter: the peer link's side of the control segment's peer region (peer_region.hpp):
// puts the peer's table, as snapshots and deltas bring it, into the rows that hamon status and
// top read, and keeps the header (state, links, counters) current. The region's only writer.
//
// Thread-safety: the link's thread only.
#ifndef HAMON_MONITOR_LINK_PEER_VIEW_WRITER_HPP
#define HAMON_MONITOR_LINK_PEER_VIEW_WRITER_HPP

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "hamon/peer/messages.hpp"
#include "hamon/peer/snapshot.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::link {

class PeerViewWriter {
 public:
  // Keeps what a predecessor wrote in the header (last heard, state, counters) and the rows, so
  // views stay whole across a monitor restart until the next snapshot replaces them.
  explicit PeerViewWriter(shm::PeerSlot slot);

  // The header as it will be published; change it, then publish().
  [[nodiscard]] shm::PeerHeader& header() noexcept { return header_; }
  void publish() { slot_.header().write(header_); }

  // The peer's whole table: every row rewritten, rows beyond it cleared.
  void replace(const peer::Table& table);
  // The records of a delta: each process or tenant found by name, added or removed.
  void apply(const peer::Delta& delta);

 private:
  void write_process(std::uint32_t row, const peer::ProcessRecord& r);
  void write_tenant(std::uint32_t row, const peer::TenantRecord& r);
  void put(const peer::ProcessRecord& r);
  void put(const peer::TenantRecord& r);

  shm::PeerSlot slot_;
  shm::PeerHeader header_{};
  std::unordered_map<std::string, std::uint32_t> process_rows_;  // "group/name" → row
  std::unordered_map<std::string, std::uint32_t> tenant_rows_;
  std::vector<std::uint32_t> free_process_rows_, free_tenant_rows_;
};

}  // namespace hamon::link

#endif  // HAMON_MONITOR_LINK_PEER_VIEW_WRITER_HPP
