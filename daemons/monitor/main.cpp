// hamon-monitor: watches every process for exit and hang. See monitor.hpp.
#include <sys/prctl.h>

#include <cstdio>

#include "hamon/node/daemon_args.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "monitor.hpp"
#include "hamon/node/signals.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  const node::Node node = node::daemon_startup("hamon-monitor", argc, argv);
  // Exactly one per node: a second instance (started by a master that did not know of this
  // one) stops here.
  const int instance_lock = node::take_instance_lock_or_exit(node, "hamon-monitor");
  (void)instance_lock;
  const shm::ControlSegment ctl = node::attach_control_or_exit("hamon-monitor", node);
  // The default 50 us of timer slack would be added to every deadline.
  prctl(PR_SET_TIMERSLACK, 1UL);
  constexpr auto self = shm::DaemonId::monitor;
  node::SignalState signals;
  node::install_signal_handlers(signals, nullptr);
  node::register_daemon(ctl, self);
  monitor::Monitor agent(ctl);
  agent.adopt(node::now_ns());
  while (!signals.stop.load()) agent.run_once();
  node::unregister_daemon(ctl, self);
  return 0;
}
