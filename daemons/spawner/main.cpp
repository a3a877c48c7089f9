// hamon-spawner: starts and stops the node's processes on request. See spawner.hpp.
#include <sys/prctl.h>

#include <chrono>
#include <cstdio>

#include "hamon/node/daemon_args.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/signals.hpp"
#include "spawner.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  const node::Node node = node::daemon_startup("hamon-spawner", argc, argv);
  // Exactly one per node: a second instance (started by a master that did not know of this
  // one) stops here.
  const int instance_lock = node::take_instance_lock_or_exit(node, "hamon-spawner");
  (void)instance_lock;
  const shm::ControlSegment ctl = node::attach_control_or_exit("hamon-spawner", node);
  // Orphans of double-forking processes come back to us to be reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  node::make_dirs(node.log_dir(), 0750);
  constexpr auto self = shm::DaemonId::spawner;
  shm::Doorbell& bell = ctl.daemon(self).inbox;
  node::SignalState signals;
  node::install_signal_handlers(signals, &bell);
  node::register_daemon(ctl, self);

  spawner::Spawner agent(node, ctl);
  agent.adopt();
  while (!signals.stop.load()) {
    const std::uint64_t now = node::now_ns();
    node::daemon_heartbeat(ctl, self, now);
    if (signals.child.exchange(false)) agent.note_sigchld();
    if (agent.do_work(now) > 0) continue;
    const std::uint64_t wake = std::min(agent.next_deadline(), now + 20'000'000);
    bell.wait([&] { return agent.has_messages() || signals.child.load() || signals.stop.load(); },
              std::chrono::nanoseconds(wake > now ? wake - now : 0), 256);
  }
  // Processes keep running: a spawner's exit never stops them.
  node::unregister_daemon(ctl, self);
  return 0;
}
