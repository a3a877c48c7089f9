// hamon-watcher: the top of the watch tree; starts and watches hamon-master. See watcher.hpp.
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>

#include <cstdio>

#include "hamon/node/daemon_args.hpp"
#include "hamon/node/signals.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/clock.hpp"
#include "watcher.hpp"

using namespace hamon;


int main(int argc, char** argv) {
  bool adopt = false;  // restarted by hamon-master: the node runs
  const node::Node node = node::daemon_startup("hamon-watcher", argc, argv, &adopt);
  // Exactly one per node: a second instance (started by a master that did not know of this
  // one) stops here.
  const int instance_lock = node::take_instance_lock_or_exit(node, "hamon-watcher");
  (void)instance_lock;
  node::make_dirs(node.log_dir(), 0750);
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  node::SignalState signals;
  const sigset_t wait_mask = node::block_signals_for_ppoll(signals);

  watcher::Watcher agent(node);
  std::string error;
  if (!agent.start(adopt, error)) {
    std::fprintf(stderr, "hamon-watcher: %s\n", error.c_str());
    return node::kExitSystem;
  }
  while (!signals.stop.load()) {
    if (!agent.turn(node::now_ns())) {
      std::fprintf(stderr, "hamon-watcher: the node's segment is gone; stopping\n");
      break;
    }
    pollfd p{agent.master_pidfd(), POLLIN, 0};
    const timespec ts{0, 10'000'000};
    ppoll(&p, agent.master_pidfd() >= 0 ? 1 : 0, &ts, &wait_mask);
  }
  agent.shutdown(10000);
  return 0;
}
