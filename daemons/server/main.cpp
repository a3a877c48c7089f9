// hamon-server: starts the node's processes in order and applies restart policy. See server.hpp.
#include <cstdio>

#include "control_socket.hpp"
#include "daemon_args.hpp"
#include "instance_lock.hpp"
#include "daemon_slot.hpp"
#include "server.hpp"
#include "signals.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  const daemons::Node node = daemons::daemon_startup("hamon-server", argc, argv);
  // Exactly one per node: a second instance (started by a master that did not know of this
  // one) stops here.
  const int instance_lock = daemons::take_instance_lock_or_exit(node, "hamon-server");
  (void)instance_lock;
  const shm::ControlSegment ctl = daemons::attach_control_or_exit("hamon-server", node);
  constexpr auto self = shm::DaemonId::server;
  shm::Doorbell& bell = ctl.daemon(self).inbox;
  daemons::SignalState signals;
  daemons::install_signal_handlers(signals, &bell);

  server::Server agent(node, ctl);
  std::string error;
  if (!agent.setup(error)) {
    std::fprintf(stderr, "hamon-server: %s\n", error.c_str());
    return daemons::kExitSystem;
  }
  daemons::make_dirs(node.runtime_dir(), 0750);
  server::ControlSocket socket(node.server_socket(), bell);
  if (!socket.ok()) {
    std::fprintf(stderr, "hamon-server: %s\n", socket.error().c_str());
    return daemons::kExitSystem;
  }
  if (agent.adopting()) {
    agent.resume(daemons::now_ns());
  } else {
    agent.boot(daemons::now_ns());
  }
  // Registered only once booted: `hamon up` takes a running server to mean the start is decided.
  daemons::register_daemon(ctl, self);
  while (!signals.stop.load()) {
    const std::uint64_t now = daemons::now_ns();
    daemons::daemon_heartbeat(ctl, self, now);
    socket.serve([&](const std::string& line) { return agent.command(line, now); });
    if (agent.do_work(now) > 0) continue;
    const std::uint64_t wake = std::min(agent.next_deadline(), now + 20'000'000);
    bell.wait([&] { return agent.has_messages() || socket.pending() || signals.stop.load(); },
              std::chrono::nanoseconds(wake > now ? wake - now : 0), 256);
  }
  daemons::unregister_daemon(ctl, self);
  return 0;
}
