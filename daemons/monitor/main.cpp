// hamon-monitor: watches every process for exit and hang. See monitor.hpp.
#include <sys/prctl.h>

#include "hamon/node/daemon.hpp"
#include "monitor.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  constexpr auto self = shm::DaemonId::monitor;
  node::DaemonStart d("hamon-monitor", self, argc, argv, {});
  // The default 50 us of timer slack would be added to every deadline.
  prctl(PR_SET_TIMERSLACK, 1UL);
  d.register_self();
  monitor::Monitor agent(d.control());
  agent.adopt(node::now_ns());
  // Its idle strategy is inside run_once: epoll on the pidfds with the next deadline, so an
  // exit wakes it at once.
  while (!d.stopping()) {
    d.tend(node::now_ns());
    agent.run_once();
  }
  d.unregister_self();
  return 0;
}
