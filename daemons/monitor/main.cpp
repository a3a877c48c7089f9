// hamon-monitor: watches every process for exit and hang (monitor.hpp), and runs the peer link
// on its own thread (link/link.hpp) when the cluster has a peer.
#include <sys/prctl.h>

#include <memory>

#include "hamon/node/daemon.hpp"
#include "link/change_feed.hpp"
#include "link/link.hpp"
#include "monitor.hpp"

using namespace hamon;

namespace {

// The peer link and the queue the watch loop feeds it through.
struct PeerLink {
  std::unique_ptr<link::ChangeFeed> feed;
  std::unique_ptr<link::Link> link;

  void start(link::LinkSettings settings, const shm::ControlSegment& ctl) {
    feed = std::make_unique<link::ChangeFeed>();
    link = std::make_unique<link::Link>(std::move(settings), ctl, *feed);
    link->start();
  }
  void stop() {
    if (link) link->stop();
    link.reset();
    feed.reset();
  }
};

}  // namespace

int main(int argc, char** argv) {
  constexpr auto self = shm::DaemonId::monitor;
  PeerLink peer;
  // A restart: the link comes back with what it ran with, before the configuration's parse
  // (tens of milliseconds at thousands of processes) — the peer must hear as little silence as
  // a reconnect takes.
  auto early_link = [&](const shm::ControlSegment& ctl) {
    if (auto kept = link::kept_settings(ctl)) peer.start(std::move(*kept), ctl);
  };
  node::DaemonStart d("hamon-monitor", self, argc, argv, {}, early_link);
  // The default 50 us of timer slack would be added to every deadline.
  prctl(PR_SET_TIMERSLACK, 1UL);
  d.register_self();
  // The configuration decides: a link started from the kept settings goes on only if they are
  // still the node's (a reload may have changed them since).
  auto settings = link::link_settings(d.node().config, d.node().id, d.node().source_path);
  if (peer.link && (!settings || !link::same_link(peer.link->settings(), *settings))) peer.stop();
  // The link first: adopting thousands of processes takes a while, and the peer must not hear
  // silence meanwhile.
  if (!peer.link && settings) peer.start(std::move(*settings), d.control());
  monitor::Monitor agent(d.control(), peer.feed.get());
  agent.adopt(node::now_ns());
  // Its idle strategy is inside run_once: epoll on the pidfds with the next deadline, so an
  // exit wakes it at once.
  while (!d.stopping()) {
    d.tend(node::now_ns());
    agent.run_once();
  }
  peer.stop();
  d.unregister_self();
  return 0;
}
