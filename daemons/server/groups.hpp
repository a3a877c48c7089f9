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
  // reloads) and its group slot if it has none yet, with `role` and `epoch` published. A
  // segment found at the name is used only if it is as hamon made it (header, owner, mode);
  // anything else there is removed and the segment made anew, in a new generation.
  base::Result<std::uint32_t> ensure(const std::string& name, std::uint32_t members,
                                     std::uint32_t role, std::uint64_t epoch = 0,
                                     std::uint32_t generation = 0);

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

  // Looks after each heartbeat segment (every 100 ms): gives back a removed name
  // (node/segment_links.hpp); makes anew a segment its tenant damaged (truncated, header
  // overwritten) or whose names are gone or taken. Each posts an event saying what it did.
  void tend();

 private:
  struct Group {
    std::string name;
    std::unique_ptr<shm::HeartbeatTable> table;
    std::uint32_t role;
    std::uint64_t epoch = 0;
    std::uint32_t slots = 0;       // the segment's, when made
    std::uint32_t generation = 0;  // how many times its segment was made anew
    std::uint32_t critical_failures = 0;
    bool asks = false;
    ino_t ino = 0;          // the segment's file: what its names must name
    std::string said = {};  // what went wrong with its names, as last said
  };
  using Owner = shm::Owner;
  void publish(std::uint32_t g);
  // Posts what is wrong with the group's segment, unless it was the last thing said of it.
  void say_once(Group& group, const std::string& trouble);
  // The tenant's user when hamon runs as root; otherwise hamon's own.
  [[nodiscard]] Owner owner_of(const std::string& group) const;
  [[nodiscard]] static bool trusted(const shm::HeartbeatTable& t, Owner owner);
  [[nodiscard]] static std::string why_not(const shm::Result<shm::HeartbeatTable>& t);
  // Removes whatever is at the group's segment name and makes its segment there, telling the
  // monitor (a new generation) and, when `why` says why, the operator.
  base::Status make(Group& group, const std::string& why);

  const node::Node& node_;
  const shm::ControlSegment& ctl_;
  std::vector<Group> groups_;
};

}  // namespace hamon::server

#endif  // HAMON_SERVER_GROUPS_HPP
