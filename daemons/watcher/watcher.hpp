// Watcher: the agent of hamon-watcher, the top of the watch tree. It starts hamon-master and
// restarts it the moment it exits or stops beating; hamon-master watches it in turn and restarts
// it. Under systemd it is the unit's main process and says READY=1 once the node is up.
#ifndef HAMON_WATCHER_WATCHER_HPP
#define HAMON_WATCHER_WATCHER_HPP

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "hamon/result.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/node/daemon_watch.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/running_config.hpp"

namespace hamon::watcher {

class Watcher {
 public:
  explicit Watcher(const node::Node& node)
      : node_(node), running_(node, node::RunningConfig::Role::follow) {}

  // Fresh: starts hamon-master and waits for the node's segment. Adopt (restarted by the
  // master): attaches the running node and watches its master. False with `error` set.
  base::Status start(bool adopt);
  // One turn: heartbeat, reap, restart or kill a master that ended or hangs, READY=1. False once
  // the node's segment name belongs to another node's segment: stop.
  bool turn(std::uint64_t now);
  [[nodiscard]] int master_pidfd() const { return master_.pidfd(); }
  // Stops the node's daemons through the master (SIGTERM), at most `grace_ms`.
  void shutdown(int grace_ms);

 private:
  bool spawn_master(bool adopt);
  // Keeps the control segment reachable by name (node/segment_links.hpp), as the master does;
  // when both names went and no master runs to make it again, makes it from our mapping. False
  // once the name is another node's segment.
  bool tend_segment();
  void note(const std::string& detail);
  // Keeps the running configuration a new master reads in place (running_config.hpp).
  void tend_running_config();

  const node::Node& node_;
  node::RunningConfig running_;
  std::optional<shm::ControlSegment> ctl_;
  ino_t ctl_ino_ = 0;          // the file of ctl_'s mapping
  std::string segment_error_;  // the last failure to keep its names, said once
  node::DaemonWatch master_{shm::DaemonId::master, "hamon-master"};
  bool ready_sent_ = false;
  std::uint64_t next_segment_check_ = 0;
};

}  // namespace hamon::watcher

#endif  // HAMON_WATCHER_WATCHER_HPP
