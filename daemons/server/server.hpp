// Server: the agent of hamon-server. Owns the configuration and the decisions: which process
// runs, in which order, and what happens when one ends (engine::Supervisor decides; this class
// carries the decisions to the spawner and records them in the segment). Also owns each tenant's
// role and answers the operator's commands.
#ifndef HAMON_SERVER_SERVER_HPP
#define HAMON_SERVER_SERVER_HPP

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hamon/engine/supervisor.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/heartbeat_table.hpp"
#include "node.hpp"

namespace hamon::server {

class Server {
 public:
  Server(const daemons::Node& node, const shm::ControlSegment& control);

  // Creates (or, after a restart, attaches) the heartbeat segments and writes the group and
  // process tables. False with `error` set when a segment cannot be made.
  bool setup(std::string& error);
  // Starts every process this node should run (by the start plan).
  void boot(std::uint64_t now);

  int do_work(std::uint64_t now);
  [[nodiscard]] bool has_messages() const;
  [[nodiscard]] std::uint64_t next_deadline() const { return sup_->next_deadline(); }

  // One operator command ("start acme/acd", "down", ...): the reply line.
  std::string command(const std::string& line, std::uint64_t now);

 private:
  void apply(std::uint64_t now);
  void record(std::size_t i, std::uint64_t now);
  [[nodiscard]] bool runs_here(std::size_t i) const;
  std::vector<std::size_t> resolve(const std::string& what, bool tenant, std::string& error) const;

  const daemons::Node& node_;
  const shm::ControlSegment& ctl_;
  std::vector<std::string> groups_;
  std::vector<std::unique_ptr<shm::HeartbeatTable>> tables_;
  std::vector<std::uint32_t> group_of_;  // process index → group index
  std::unique_ptr<engine::Supervisor> sup_;
  std::vector<engine::Phase> recorded_;
  std::vector<std::uint32_t> hb_role_;  // per group: the role published
};

}  // namespace hamon::server

#endif  // HAMON_SERVER_SERVER_HPP
