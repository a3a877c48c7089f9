// Server: the agent of hamon-server. Owns the configuration and the decisions: which process
// runs, in which order, and what happens when one ends (engine::Supervisor decides; this class
// carries the decisions to the spawner and records them in the segment). Also owns each tenant's
// role, answers the operator's commands and applies a changed configuration (`hamon reload`).
//
// Process slots in the control segment are assigned by name and kept across reloads, so a
// process that did not change keeps its slot, its pid and its incarnation.
#ifndef HAMON_SERVER_SERVER_HPP
#define HAMON_SERVER_SERVER_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hamon/engine/supervisor.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/heartbeat_table.hpp"
#include "hamon/node/node.hpp"

namespace hamon::server {

class Server {
 public:
  Server(const node::Node& node, const shm::ControlSegment& control);

  // Creates (or, after a restart, attaches) the heartbeat segments and writes the group and
  // process tables. False with `error` set when a segment cannot be made.
  bool setup(std::string& error);
  // Starts every process this node should run (by the start plan).
  void boot(std::uint64_t now);
  // After a restart: carries on from the predecessor's state instead of booting.
  void resume(std::uint64_t now);
  [[nodiscard]] bool adopting() const { return adopting_; }

  int do_work(std::uint64_t now);
  [[nodiscard]] bool has_messages() const;
  [[nodiscard]] std::uint64_t next_deadline() const { return sup_->next_deadline(); }

  // One operator command ("start acme/acd", "down", "reload", ...): the reply line.
  std::string command(const std::string& line, std::uint64_t now);

 private:
  static constexpr std::uint32_t kFree = UINT32_MAX;

  bool add_group(const std::string& name, std::string& error);
  void write_identity(std::size_t i, std::uint64_t incarnation);
  std::uint32_t free_slot() const;
  std::uint32_t free_hb_slot(std::uint32_t group) const;
  void retire(std::uint32_t slot, std::uint64_t grace_ns, std::uint64_t now);
  void release(std::uint32_t slot);
  std::string reload(std::uint64_t now);
  void apply(std::uint64_t now);
  void record(std::size_t i, std::uint64_t now, bool force);
  static shm::SuperviseRecord to_record(const engine::Supervisor::Snapshot& s);
  static engine::Supervisor::Snapshot from_record(const shm::SuperviseRecord& r);
  [[nodiscard]] bool runs_here(std::size_t i) const;
  [[nodiscard]] std::uint32_t group_index(const std::string& name) const;
  std::vector<std::size_t> resolve(const std::string& what, bool tenant, std::string& error) const;

  const node::Node& node_;
  const shm::ControlSegment& ctl_;
  std::unique_ptr<engine::Config> config_;
  std::unique_ptr<engine::Supervisor> sup_;
  std::vector<std::string> groups_;
  std::vector<std::unique_ptr<shm::HeartbeatTable>> tables_;
  std::vector<std::uint32_t> hb_role_;     // per group: the role published
  std::vector<std::uint32_t> slot_of_;     // process index → control slot
  std::vector<std::uint32_t> hb_slot_of_;  // process index → slot in its group's segment
  std::vector<std::uint32_t> index_of_;    // control slot → process index, or kFree
  std::vector<std::uint64_t> retiring_;    // control slot → incarnation being stopped for good
  std::vector<shm::SuperviseRecord> recorded_;
  bool adopting_ = false;  // what the segment holds, per process
};

}  // namespace hamon::server

#endif  // HAMON_SERVER_SERVER_HPP
