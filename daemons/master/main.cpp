// hamon-master: creates the node's segments and keeps its daemons running. See master.hpp.
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>

#include <cstdio>
#include <string>

#include "hamon/node/daemon_args.hpp"
#include "hamon/node/signals.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "master.hpp"

using namespace hamon;


int main(int argc, char** argv) {
  bool adopt = false;  // restarted by hamon-watcher: the node runs, its daemons are taken over
  const node::Node node = node::daemon_startup("hamon-master", argc, argv, &adopt);
  // Exactly one per node: a second instance (started by a master that did not know of this
  // one) stops here.
  const int instance_lock = node::take_instance_lock_or_exit(node, "hamon-master");
  (void)instance_lock;
  node::make_dirs(node.log_dir(), 0750);
  // Processes orphaned by a dying spawner come to us, so none is left a zombie.
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  node::SignalState signals;
  const sigset_t wait_mask = node::block_signals_for_ppoll(signals);

  master::Master agent(node);
  std::string error;
  if (!agent.open_segment(adopt, error)) {
    std::fprintf(stderr, "hamon-master: %s\n", error.c_str());
    return node::kExitSystem;
  }
  agent.start_missing(node::now_ns());
  std::uint64_t next_segment_check = 0;
  while (!signals.stop.load()) {
    const std::uint64_t now = node::now_ns();
    if (now >= next_segment_check) {
      next_segment_check = now + 100'000'000;
      if (!agent.segment_still_ours()) {
        std::fprintf(stderr, "hamon-master: the node's segment is gone; stopping\n");
        break;
      }
    }
    node::daemon_heartbeat(agent.control(), shm::DaemonId::master, now);
    signals.child.store(false);
    agent.reap(now, true);
    agent.check(now);
    pollfd fds[4];
    int n = 0;
    for (int fd : agent.pidfds()) {
      if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
    }
    const timespec ts{0, 10'000'000};
    ppoll(fds, static_cast<nfds_t>(n), &ts, &wait_mask);
  }
  agent.shutdown(3000);
  return 0;
}
