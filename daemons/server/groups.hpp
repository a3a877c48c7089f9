// Groups: the node's process groups (system, and one per tenant) as hamon-server keeps them —
// each group's slot in the control segment, its heartbeat segment, and the role published there.
// The seat of the duplex's role decisions: whatever decides a tenant's role publishes it here,
// and only here.
//
// Group indices never change while the node runs (a restarted server adopts its predecessor's),
// since every process identity names its group by index.
#ifndef HAMON_SERVER_GROUPS_HPP
#define HAMON_SERVER_GROUPS_HPP

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hamon/node/node.hpp"
#include "hamon/result.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/heartbeat_table.hpp"

namespace hamon::server {

class Groups {
 public:
  Groups(const node::Node& node, const shm::ControlSegment& control) : node_(node), ctl_(control) {}

  // Takes the groups a previous server wrote, keeping their indices.
  base::Status adopt();
  // The group's index; creates its heartbeat segment (room for `members` and more, for
  // reloads) and its group slot if it has none yet, with `role` and `epoch` published.
  base::Result<std::uint32_t> ensure(const std::string& name, std::uint32_t members,
                                     std::uint32_t role, std::uint64_t epoch = 0);

  [[nodiscard]] std::optional<std::uint32_t> index(const std::string& name) const;
  [[nodiscard]] std::size_t size() const { return groups_.size(); }
  [[nodiscard]] const std::string& name(std::uint32_t g) const { return groups_[g].name; }
  [[nodiscard]] std::uint32_t role(std::uint32_t g) const { return groups_[g].role; }
  // Heartbeat slots the group's segment holds (0 for a group not known).
  [[nodiscard]] std::uint32_t capacity(const std::string& name) const;
  [[nodiscard]] std::uint64_t epoch(std::uint32_t g) const { return groups_[g].epoch; }
  // Publishes a role in the group's heartbeat segment (waking its processes) and in its slot.
  void set_role(std::uint32_t g, std::uint32_t role, std::uint64_t epoch);
  // What the peer link tells the peer beside the role: the tenant's failed critical processes,
  // and whether an operator asked here for the tenant (docs/roles.md). Published when changed.
  void set_duplex(std::uint32_t g, std::uint32_t critical_failures, bool asks);
  // Whether the process in heartbeat slot `hb_slot` of the group said it drained `epoch`'s
  // step-down (hamon_drained()). Read from the process's own slot: it can only end its own
  // tenant's drain early.
  [[nodiscard]] bool drained(std::uint32_t g, std::uint32_t hb_slot, std::uint64_t epoch) const;

  // Gives back each heartbeat segment's removed name (node/segment_links.hpp). One line for
  // each that needed it, or could not have it: what happened, for an event.
  std::vector<std::string> tend_links();

 private:
  struct Group {
    std::string name;
    std::unique_ptr<shm::HeartbeatTable> table;
    std::uint32_t role;
    std::uint64_t epoch = 0;
    std::uint32_t critical_failures = 0;
    bool asks = false;
    ino_t ino = 0;          // the segment's file: what its names must name
    std::string said = {};  // what went wrong with its names, as last said
  };
  void publish(std::uint32_t g);

  const node::Node& node_;
  const shm::ControlSegment& ctl_;
  std::vector<Group> groups_;
};

}  // namespace hamon::server

#endif  // HAMON_SERVER_GROUPS_HPP
