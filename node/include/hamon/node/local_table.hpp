// LocalTable: this node's table as the peer link sends it — every process and tenant, read from
// the control segment in the peer protocol's terms (peer::ProcessRecord, peer::TenantRecord).
//
// Reads only what hamon's own daemons write (the control segment), never a tenant-writable
// heartbeat segment: what the peer decides on must not be something a tenant can forge.
//
// Thread-safety: one LocalTable per thread; the control segment's seqlocks make concurrent
// readers safe.
#ifndef HAMON_NODE_LOCAL_TABLE_HPP
#define HAMON_NODE_LOCAL_TABLE_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hamon/peer/messages.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

class LocalTable {
 public:
  explicit LocalTable(const shm::ControlSegment& ctl) : ctl_(ctl) {}

  enum class Look : std::uint8_t {
    present,     // `out` holds the process
    absent,      // no process is configured in the slot
    unreadable,  // a line is being written for longer than a reader waits (or its writer died
                 // mid-write): not a change; look again later
  };
  // The process in `slot`.
  [[nodiscard]] Look process(std::uint32_t slot, peer::ProcessRecord& out);
  // The tenant in group index `group`, std::nullopt for the system group and unused groups.
  [[nodiscard]] std::optional<peer::TenantRecord> tenant(std::uint32_t group);
  // Drops the cached group names: read again at the next look.
  void forget_groups() { group_names_.clear(); }

 private:
  const std::string* group_name(std::uint32_t group);

  const shm::ControlSegment& ctl_;
  std::vector<std::optional<std::string>> group_names_;  // by index; refreshed on a miss
};

}  // namespace hamon::node

#endif  // HAMON_NODE_LOCAL_TABLE_HPP
