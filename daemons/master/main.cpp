// hamon-master: creates the node's segments and keeps its daemons running. See master.hpp.
#include <sys/prctl.h>

#include <cstdio>

#include "hamon/node/daemon.hpp"
#include "master.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  // --adopt: restarted by hamon-watcher; the node runs and its daemons are taken over. The
  // master creates the control segment, so it does not attach one at start.
  node::DaemonStart d("hamon-master", shm::DaemonId::master, argc, argv,
                      {.attach_control = false, .accepts_adopt = true, .doorbell_signals = false});
  node::make_dirs(d.node().log_dir(), 0750);
  // Processes orphaned by a dying spawner come to us, so none is left a zombie.
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  master::Master agent(d.node());
  if (const auto opened = agent.open_segment(d.adopt()); !opened) {
    std::fprintf(stderr, "hamon-master: %s\n", opened.error().message.c_str());
    return node::kExitSystem;
  }
  agent.start_missing(node::now_ns());
  const node::FdIdle idle(d.wait_mask());
  std::uint64_t next_segment_check = 0;
  while (!d.stopping()) {
    const std::uint64_t now = node::now_ns();
    if (now >= next_segment_check) {
      next_segment_check = now + 100'000'000;
      if (!agent.tend_segment()) {
        std::fprintf(stderr, "hamon-master: the node's segment is another node's now; stopping\n");
        break;
      }
      // A reload's new copy becomes ours; a removed one is written again.
      agent.tend_running_config();
    }
    node::daemon_heartbeat(agent.control(), shm::DaemonId::master, now);
    d.tend(now);
    d.signals().child.store(false);
    agent.reap(now, true);
    agent.check(now);
    idle.idle(now, UINT64_MAX, agent.pidfds());
  }
  agent.shutdown(3000);
  return 0;
}
