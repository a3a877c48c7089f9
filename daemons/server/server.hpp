// Server: the agent of hamon-server. Carries decisions out: messages from the spawner and the
// monitor go into engine::Supervisor, its actions go to the spawner, its notes into the event
// ring, and operator requests (control_protocol.hpp) come in through the control socket.
//
// The parts: engine::SlotTable seats each process (by name, kept across reloads and restarts),
// Groups holds the heartbeat segments and each tenant's published role, the supervise records
// (node/supervise_record.hpp) hold the whole decision state in the control segment so a
// restarted server resumes, and an Outbox holds requests the spawner's channel could not take.
//
// Not thread-safe: one loop (daemons/server/main.cpp) calls it.
#ifndef HAMON_SERVER_SERVER_HPP
#define HAMON_SERVER_SERVER_HPP

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "duplex.hpp"
#include "groups.hpp"
#include "hamon/node/control_socket.hpp"
#include "hamon/engine/slot_table.hpp"
#include "hamon/engine/supervisor.hpp"
#include "hamon/node/control_protocol.hpp"
#include "hamon/node/control_socket.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/outbox.hpp"
#include "hamon/node/running_config.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::server {

class Server {
 public:
  Server(const node::Node& node, const shm::ControlSegment& control);

  // Creates (or, after a restart, adopts) the groups, seats the processes and restores their
  // state from the supervise records.
  base::Status setup();
  // Starts every process this node should run (by the start plan).
  void boot(std::uint64_t now);
  // After a restart: carries on from the predecessor's state instead of booting.
  void resume(std::uint64_t now);
  [[nodiscard]] bool adopting() const { return adopting_; }

  // One turn: a bounded batch of messages, the supervisor's timers, actions out. Returns the
  // work done (0: idle).
  int do_work(std::uint64_t now);
  [[nodiscard]] bool has_messages() const;
  [[nodiscard]] std::uint64_t next_deadline() const;

  // One operator request line → its reply line (control_protocol.hpp).
  std::string command(const std::string& line, const node::Caller& caller, std::uint64_t now);

  // Puts back, at most every 100 ms, what the node needs and was removed: the names of the
  // heartbeat segments, the running configuration.
  void tend(std::uint64_t now);

 private:
  node::Reply handle(const node::Request& r, std::uint64_t now);
  node::Reply reload(std::uint64_t now);
  // Seats `next`, gives every process its carried state (by its index in `next`) and makes
  // `next` the configuration. Fails, changing nothing, when the seats run out.
  base::Status install(std::unique_ptr<engine::Config> next,
                       std::vector<std::optional<engine::Supervisor::Snapshot>> carried,
                       std::uint64_t next_incarnation, std::uint64_t now);
  base::Status ensure_groups(const engine::Config& config);
  void write_identity(std::size_t i, std::uint64_t incarnation);
  void retire(std::uint32_t slot, std::uint64_t grace_ns, std::uint64_t now);
  void release(std::uint32_t slot);
  void apply(std::uint64_t now);
  void record(std::size_t i, bool force);
  void post(const shm::Message& m) { to_spawner_.send(m); }
  [[nodiscard]] bool runs_here(std::size_t i) const;
  // Whether process i is a spare instance parked now (as hamon-monitor last saw it).
  [[nodiscard]] bool parked(std::size_t i) const;
  // The duplex's turn: health in, role changes out, and what a cold standby starts or stops.
  void duplex_turn(std::uint64_t now);
  // A critical process with failover = "immediate" crashed or hung (its current incarnation).
  void failed_here(std::size_t i, std::uint64_t now);
  [[nodiscard]] std::vector<std::size_t> tenant_processes(std::size_t tenant) const;
  [[nodiscard]] std::uint32_t group_of(std::size_t i) const;
  // The tenants (groups) a request acts on, for its authorization.
  [[nodiscard]] std::vector<std::string> groups_of(const node::Request& r) const;
  [[nodiscard]] base::Result<std::vector<std::size_t>> resolve(const std::string& what,
                                                               bool tenant) const;
  [[nodiscard]] std::vector<node::Acted> acted(const std::vector<std::size_t>& processes) const;

  const node::Node& node_;
  const shm::ControlSegment& ctl_;
  std::unique_ptr<engine::Config> config_;
  std::unique_ptr<engine::Supervisor> sup_;
  Groups groups_;
  std::unique_ptr<Duplex> duplex_;         // none without a peer
  std::vector<std::uint64_t> crashed_at_;  // by process: failover = "immediate" latch (0: none)
  engine::SlotTable slots_;
  std::map<std::uint32_t, std::uint64_t> retiring_;  // removed slot → incarnation being stopped
  std::vector<shm::SuperviseRecord> recorded_;       // what the segment holds, per process
  node::Outbox to_spawner_;
  node::RunningConfig running_;  // what config_ was read from, kept on disk for restarts
  std::uint64_t next_tend_ns_ = 0;
  bool adopting_ = false;
  std::uint64_t last_now_ = 0;  // the last turn's time: deadlines are computed from it, not read
};

}  // namespace hamon::server

#endif  // HAMON_SERVER_SERVER_HPP
