// hamon-watcher: the top of the watch tree; starts and watches hamon-master. See watcher.hpp.
#include <sys/prctl.h>

#include <array>
#include <cstdio>

#include "hamon/node/daemon.hpp"
#include "watcher.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  // --adopt: restarted by hamon-master; the node runs.
  node::DaemonStart d("hamon-watcher", shm::DaemonId::watcher, argc, argv,
                      {.attach_control = false, .accepts_adopt = true, .doorbell_signals = false});
  node::make_dirs(d.node().log_dir(), 0750);
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  watcher::Watcher agent(d.node());
  if (const auto started = agent.start(d.adopt()); !started) {
    std::fprintf(stderr, "hamon-watcher: %s\n", started.error().message.c_str());
    return node::kExitSystem;
  }
  const node::FdIdle idle(d.wait_mask());
  while (!d.stopping()) {
    const std::uint64_t now = node::now_ns();
    d.tend(now);
    if (!agent.turn(now)) {
      std::fprintf(stderr, "hamon-watcher: the node's segment is another node's now; stopping\n");
      break;
    }
    const std::array<int, 1> fds{agent.master_pidfd()};
    idle.idle(now, UINT64_MAX, fds);
  }
  agent.shutdown(10000);
  return 0;
}
