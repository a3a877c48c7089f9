// Spawner: the agent of hamon-spawner, the only daemon that starts and stops processes.
//
// Takes start/stop/kill requests from the server, the monitor and the master through the
// control segment; reports every start and every exit (with its wait status) to the server and
// the monitor. Processes it started are in their own sessions and keep running if it dies: a
// restarted spawner re-adopts them from the spawn records in the segment.
//
// Each process runs in a cgroup of its own where the machine has a writable cgroup v2 hierarchy
// (node/process_cgroup.hpp), else in a process group of its own; what it forks ends with it
// (leftovers.hpp).
//
// Every process is held by a pidfd from its start (or adoption) to its end, and every signal goes
// through it: a pid the kernel has given to another process is never signalled (see
// docs/architecture.md, "Signals and reused pids").
//
// Thread-safety: one thread (the daemon's loop) uses a Spawner.
#ifndef HAMON_SPAWNER_SPAWNER_HPP
#define HAMON_SPAWNER_SPAWNER_HPP

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "hamon/node/node.hpp"
#include "hamon/node/outbox.hpp"
#include "hamon/shm/control_segment.hpp"
#include "caps_keeper.hpp"
#include "leftovers.hpp"

namespace hamon::spawner {

class Spawner {
 public:
  // Requests handled in one turn at most: the loop beats between turns, and each start forks.
  static constexpr std::size_t kRequestsPerTurn = 32;

  Spawner(const node::Node& node, const shm::ControlSegment& control);
  ~Spawner();
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  // Re-adopts processes a previous spawner started (from the spawn records).
  void adopt();
  // One turn: reports that waited, a bounded batch of requests, reaping, stop deadlines.
  // Returns the work done (0: idle). Its cost does not grow with the number of processes.
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
    bool adopted = false;  // not our child: exit seen through its pidfd, status from the master
    int pidfd = -1;        // held from start (or adoption) to the end; -1: cannot be signalled
    std::uint64_t ended_seen_ns = 0;  // adopted: when its pidfd said it ended
    std::string cgroup;               // "": not in a cgroup of its own
    bool realtime = false;            // configured fifo/rr: loses it before it is ended
  };

  // How long an adopted process's end waits for the status the master reaped.
  static constexpr std::uint64_t kOrphanStatusWait = 50'000'000;
  // How soon reports waiting for room in a channel are tried again.
  static constexpr std::uint64_t kOutboxRetry = 1'000'000;

  void handle(const shm::Message& m, std::uint64_t now);
  void start(std::uint32_t slot, std::uint64_t incarnation, std::uint64_t now);
  // Tells the monitor (to watch it) and the server that `inc` of `slot` runs as `pid`.
  void announce_started(std::uint32_t slot, std::uint64_t inc, pid_t pid, std::uint64_t ticks,
                        std::uint64_t now);
  void signal_child(const Child& c, int sig);
  void set_kill_deadline(std::uint32_t slot, Child& c, std::uint64_t at);
  // The cgroup a start of `group/name` goes into, made and emptied; "" if there is none.
  std::string prepare_cgroup(const std::string& group, const std::string& name);
  // The cgroup of the process in `slot`, found again by its name, if process `pid` is in it (or
  // has ended: what it left there is its own); "" otherwise.
  [[nodiscard]] std::string find_cgroup(std::uint32_t slot, pid_t pid) const;
  // What a start of the process in `slot` (whose cgroup is `cgroup`) takes over from a previous
  // one.
  static std::string leftovers_key(std::uint32_t slot, const std::string& cgroup);
  // Hands what an ended child leaves behind to leftovers_, and says what that was.
  void leave(std::uint32_t slot, Child& c, int status, std::uint64_t now);
  // Cgroups of the node that no process adopted has: left by a predecessor that died.
  void end_unclaimed_cgroups(std::uint64_t now);
  // Without cgroups from here on, and an event that says why.
  void disable_cgroups(const std::string& why);
  // Lets go of a child: its pidfd, its deadline, its pid's entry.
  void forget(std::uint32_t slot, Child& c);
  int reap(std::uint64_t now);
  int watch_adopted(std::uint64_t now);
  void report_exit(std::uint32_t slot, const Child& c, int status, std::uint64_t now);
  // Posts now, or after what already waits for that channel: never dropped, never reordered.
  void send(shm::ChannelId id, const shm::Message& m);
  int flush_outbox();
  const engine::ProcessConfig* process_for(std::uint32_t slot, std::string& group,
                                           std::string& name, std::string& segment,
                                           std::uint32_t& hb_slot) const;

  const node::Node& node_;
  engine::Config config_;  // re-read from the running copy on the server's reload message
  const shm::ControlSegment& ctl_;
  std::map<std::uint32_t, Child> children_;  // by slot
  std::map<pid_t, std::uint32_t> by_pid_;
  std::map<pid_t, int> orphan_status_;  // exit statuses the master reaped for us
  std::set<std::pair<std::uint64_t, std::uint32_t>> kill_deadlines_;  // (kill_at, slot)
  std::set<std::uint32_t> ending_;  // adopted children whose pidfd said they ended
  int epoll_fd_ = -1;               // the pidfds of adopted children
  std::string cgroup_dir_;          // the node's cgroups; "": none (node/process_cgroup.hpp)
  Leftovers leftovers_;
  // Reports a full channel could not take yet, per channel, in order. Bounded by what the
  // spawner reports: a start or an exit per request it was given.
  // Reports that found their channel full, sent in order on a later turn (node/outbox.hpp).
  node::Outbox to_server_;
  node::Outbox to_monitor_;
  CapsKeeper caps_;               // the tenants' caps (node/tenant_caps.hpp)
  std::size_t next_channel_ = 0;  // where the next turn's batch of requests begins
  std::uint64_t last_now_ = 0;
  bool sigchld_ = true;
};

}  // namespace hamon::spawner

#endif  // HAMON_SPAWNER_SPAWNER_HPP
