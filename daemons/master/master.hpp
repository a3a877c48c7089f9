// Master: the agent of hamon-master. Creates the node's control segment (it is the only process
// that does), then starts hamon-spawner, hamon-monitor and hamon-server and restarts any of them
// the moment it exits. On SIGTERM it stops them and removes the node's segments. The processes
// the daemons look after are never touched by a daemon's restart.
#ifndef HAMON_MASTER_MASTER_HPP
#define HAMON_MASTER_MASTER_HPP

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "hamon/result.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/node/daemon_watch.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/outbox.hpp"
#include "hamon/node/running_config.hpp"

namespace hamon::master {

class Master {
 public:
  explicit Master(const node::Node& node)
      : node_(node), running_(node, node::RunningConfig::Role::follow) {}

  // Creates the control segment, replacing a stale one (whose master is dead) — or, when
  // `adopt` (a master restarted by hamon-watcher), attaches the live node's segment and takes
  // over the daemons that still run. False with `error` set when the node already runs or the
  // segment cannot be made.
  base::Status open_segment(bool adopt);
  [[nodiscard]] const shm::ControlSegment& control() const { return *ctl_; }

  // Starts every daemon that is not running.
  void start_missing(std::uint64_t now);
  // Reaps exited children; restarts daemons that ended. Returns how many ended.
  int reap(std::uint64_t now, bool restart);
  // The pidfds to wait on (-1 where none): the three daemons, then the watcher.
  [[nodiscard]] std::array<int, 4> pidfds() const;
  // Kills a daemon whose heartbeat is older than its hang limit; starts those whose restart
  // pause is over; restarts a watcher that ended. Mutual watch: the watcher restarts us.
  void check(std::uint64_t now);
  // Keeps the control segment reachable by name (node/segment_links.hpp): a removed name is
  // given back from the hidden one; if both went, the segment is made again from our mapping
  // (the spawner, monitor and server restart to take it up). False once its name belongs to
  // another node's segment: a master must not outlive its node.
  bool tend_segment();
  // Keeps the node's running configuration in place (running_config.hpp): what a daemon it
  // starts reads. Says in an event when it had to write it again, or could not.
  void tend_running_config();
  // Stops the daemons (SIGTERM, then SIGKILL after `grace_ms`) and removes the segments.
  void shutdown(int grace_ms);

 private:
  void ended(node::DaemonWatch& d, int status, bool restart, std::uint64_t now);
  void adopt_daemons();
  bool adopt_running(node::DaemonWatch& d);
  void watch_watcher(std::uint64_t now);
  void remove_segments();
  [[nodiscard]] bool segment_still_ours() const;
  void note(const std::string& detail);

  const node::Node& node_;
  node::RunningConfig running_;
  std::optional<shm::ControlSegment> ctl_;
  std::optional<node::Outbox> to_spawner_;  // exit statuses of orphans it reaped
  ino_t ctl_ino_ = 0;                       // the file of ctl_'s mapping
  bool name_is_ours_ = true;                // else shutdown leaves the segments alone
  std::string segment_error_;               // the last failure to keep its names, said once
  int watcher_pidfd_ = -1;
  pid_t watcher_pid_ = 0;
  std::uint64_t watcher_spawned_ns_ = 0;  // a replacement watcher is on its way
  std::array<node::DaemonWatch, 3> daemons_{{{shm::DaemonId::spawner, "hamon-spawner"},
                                             {shm::DaemonId::monitor, "hamon-monitor"},
                                             {shm::DaemonId::server, "hamon-server"}}};
};

}  // namespace hamon::master

#endif  // HAMON_MASTER_MASTER_HPP
