// Spawner: the agent of hamon-spawner, the only daemon that starts and stops processes.
//
// Takes start/stop/kill requests from the server, the monitor and the master through the
// control segment; reports every start and every exit (with its wait status) to the server and
// the monitor. Processes it started are in their own sessions and keep running if it dies: a
// restarted spawner re-adopts them from the spawn records in the segment.
#ifndef HAMON_SPAWNER_SPAWNER_HPP
#define HAMON_SPAWNER_SPAWNER_HPP

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "hamon/shm/control_segment.hpp"
#include "hamon/node/node.hpp"

namespace hamon::spawner {

class Spawner {
 public:
  Spawner(const node::Node& node, const shm::ControlSegment& control);

  // Re-adopts processes a previous spawner started (from the spawn records).
  void adopt();
  // One turn: requests, reaping, stop deadlines. Returns the work done (0: idle).
  int do_work(std::uint64_t now);
  // When do_work next has something to do without a message or signal.
  [[nodiscard]] std::uint64_t next_deadline() const;
  // Whether a message is waiting (the loop's wake-up condition).
  [[nodiscard]] bool has_messages() const;

  void note_sigchld() { sigchld_ = true; }

 private:
  struct Child {
    pid_t pid = 0;
    std::uint64_t incarnation = 0;
    std::uint64_t kill_at = 0;  // SIGKILL deadline of a stop in progress; 0 = none
    bool adopted = false;       // not our child: exit seen through a pidfd, status from the master
    int pidfd = -1;
    std::uint64_t ended_seen_ns = 0;  // adopted: when its pidfd said it ended
  };

  void handle(const shm::Message& m, std::uint64_t now);
  void start(std::uint32_t slot, std::uint64_t incarnation, std::uint64_t now);
  // Tells the monitor (to watch it) and the server that `inc` of `slot` runs as `pid`.
  void announce_started(std::uint32_t slot, std::uint64_t inc, pid_t pid, std::uint64_t ticks,
                        std::uint64_t now);
  void signal_child(std::uint32_t slot, Child& c, int sig);
  int reap(std::uint64_t now);
  void report_exit(std::uint32_t slot, const Child& c, int status, std::uint64_t now);
  const engine::ProcessConfig* process_for(std::uint32_t slot, std::string& group,
                                           std::string& name, std::string& segment,
                                           std::uint32_t& hb_slot) const;

  const node::Node& node_;
  engine::Config config_;  // re-read from the file on the server's reload message
  const shm::ControlSegment& ctl_;
  std::map<std::uint32_t, Child> children_;  // by slot
  std::map<pid_t, std::uint32_t> by_pid_;
  std::map<pid_t, int> orphan_status_;  // exit statuses the master reaped for us
  bool sigchld_ = true;
};

}  // namespace hamon::spawner

#endif  // HAMON_SPAWNER_SPAWNER_HPP
