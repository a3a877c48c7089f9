// hamon-server: starts the node's processes in order, applies restart policy and answers the
// operator. See server.hpp.
#include <algorithm>
#include <cstdio>

#include "hamon/node/control_socket.hpp"
#include "hamon/node/daemon_args.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/signals.hpp"
#include "server.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  const node::Node node = node::daemon_startup("hamon-server", argc, argv);
  // Exactly one per node: a second instance (started by a master that did not know of this
  // one) stops here.
  const int instance_lock = node::take_instance_lock_or_exit(node, "hamon-server");
  (void)instance_lock;
  const shm::ControlSegment ctl = node::attach_control_or_exit("hamon-server", node);
  constexpr auto self = shm::DaemonId::server;
  shm::Doorbell& bell = ctl.daemon(self).inbox;
  node::SignalState signals;
  node::install_signal_handlers(signals, &bell);

  server::Server agent(node, ctl);
  if (auto r = agent.setup(); !r) {
    std::fprintf(stderr, "hamon-server: %s\n", r.error().message.c_str());
    return node::kExitSystem;
  }
  node::make_dirs(node.runtime_dir(), 0750);
  node::ControlSocket socket(node.server_socket());
  if (!socket.ok()) {
    std::fprintf(stderr, "hamon-server: %s\n", socket.error().c_str());
    return node::kExitSystem;
  }
  if (agent.adopting()) {
    agent.resume(node::now_ns());
  } else {
    agent.boot(node::now_ns());
  }
  // Registered only once booted: `hamon up` takes a running server to mean the start is decided.
  node::register_daemon(ctl, self);
  signals.io.store(true);  // whoever connected before the socket was async is served now
  while (!signals.stop.load()) {
    const std::uint64_t now = node::now_ns();
    node::daemon_heartbeat(ctl, self, now);
    if (signals.io.exchange(false) || now >= socket.next_deadline()) {
      socket.serve(now, [&](const std::string& line) { return agent.command(line, now); });
    }
    if (agent.do_work(now) > 0) continue;
    const std::uint64_t wake =
        std::min({agent.next_deadline(), socket.next_deadline(), now + 20'000'000});
    bell.wait([&] { return agent.has_messages() || signals.io.load() || signals.stop.load(); },
              std::chrono::nanoseconds(wake > now ? wake - now : 0), 256);
  }
  node::unregister_daemon(ctl, self);
  return 0;
}
