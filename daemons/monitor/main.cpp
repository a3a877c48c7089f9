// hamon-monitor: watches every process for exit and hang (monitor.hpp), and runs the peer link
// on its own thread (link/link.hpp) when the cluster has a peer.
#include <sys/prctl.h>

#include <memory>

#include "hamon/node/daemon.hpp"
#include "link/change_feed.hpp"
#include "link/link.hpp"
#include "monitor.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  constexpr auto self = shm::DaemonId::monitor;
  node::DaemonStart d("hamon-monitor", self, argc, argv, {});
  // The default 50 us of timer slack would be added to every deadline.
  prctl(PR_SET_TIMERSLACK, 1UL);
  d.register_self();
  std::unique_ptr<link::ChangeFeed> feed;
  std::unique_ptr<link::Link> peer_link;
  if (auto settings = link::link_settings(d.node().config, d.node().id, d.node().source_path)) {
    feed = std::make_unique<link::ChangeFeed>();
    peer_link = std::make_unique<link::Link>(std::move(*settings), d.control(), *feed);
  }
  monitor::Monitor agent(d.control(), feed.get());
  // The link first: adopting thousands of processes takes a while, and the peer must not hear
  // silence meanwhile.
  if (peer_link) peer_link->start();
  agent.adopt(node::now_ns());
  // Its idle strategy is inside run_once: epoll on the pidfds with the next deadline, so an
  // exit wakes it at once.
  while (!d.stopping()) {
    d.tend(node::now_ns());
    agent.run_once();
  }
  if (peer_link) peer_link->stop();
  d.unregister_self();
  return 0;
}
