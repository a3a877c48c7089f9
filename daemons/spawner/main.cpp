// hamon-spawner: starts and stops the node's processes on request. See spawner.hpp.
#include <sys/prctl.h>

#include "hamon/node/daemon.hpp"
#include "spawner.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  constexpr auto self = shm::DaemonId::spawner;
  node::DaemonStart d("hamon-spawner", self, argc, argv, {});
  // Orphans of double-forking processes come back to us to be reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  node::make_dirs(d.node().log_dir(), 0750);
  d.register_self();
  spawner::Spawner agent(d.node(), d.control());
  agent.adopt();
  auto& signals = d.signals();
  node::run_on_doorbell(
      d, self, agent, [&] { return agent.has_messages() || signals.child.load(); },
      [&](std::uint64_t) {
        if (signals.child.exchange(false)) agent.note_sigchld();
      });
  // Processes keep running: a spawner's exit never stops them.
  d.unregister_self();
  return 0;
}
