// hamon-server: starts the node's processes in order, applies restart policy and answers the
// operator. See server.hpp.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>

#include "hamon/node/control_socket.hpp"
#include "hamon/node/daemon.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "server.hpp"

using namespace hamon;

int main(int argc, char** argv) {
  constexpr auto self = shm::DaemonId::server;
  node::DaemonStart d("hamon-server", self, argc, argv, {});
  server::Server agent(d.node(), d.control());
  if (auto r = agent.setup(); !r) {
    std::fprintf(stderr, "hamon-server: %s\n", r.error().message.c_str());
    return node::kExitSystem;
  }
  node::make_dirs(d.node().runtime_dir(), 0751);
  // Served from this loop: SIGIO rings the inbox (control_socket.hpp), no thread.
  const std::string path = d.node().server_socket();
  std::optional<node::ControlSocket> socket(std::in_place, path);
  if (!socket->ok()) {
    std::fprintf(stderr, "hamon-server: %s\n", socket->error().c_str());
    return node::kExitSystem;
  }
  if (agent.adopting()) {
    agent.resume(node::now_ns());
  } else {
    agent.boot(node::now_ns());
  }
  // Registered only once booted: `hamon up` takes a running server to mean the start is decided.
  d.register_self();
  auto& io = d.signals().io;
  io.store(true);  // whoever connected before the socket was async is served now
  struct Loop {    // the agent, with the socket's deadlines among its own
    server::Server& agent;
    std::optional<node::ControlSocket>& socket;
    int do_work(std::uint64_t now) { return agent.do_work(now); }
    [[nodiscard]] std::uint64_t next_deadline() const {
      return std::min(agent.next_deadline(), socket->next_deadline());
    }
  } loop{agent, socket};
  std::uint64_t next_socket_check = 0;
  std::string last_socket_note;
  node::run_on_doorbell(
      d, self, loop, [&] { return agent.has_messages() || io.load(); },
      [&](std::uint64_t now) {
        agent.tend(now);
        if (now >= next_socket_check) {
          next_socket_check = now + 100'000'000;
          // Removed (with the runtime directory, say): no command could reach the node, not
          // even `hamon down`. Listen again on a new one; a command in flight on the old one is
          // lost with it.
          if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
            socket.reset();
            node::make_dirs(d.node().runtime_dir(), 0751);
            socket.emplace(path);
            const std::string note =
                socket->ok() ? path + " was removed; listening again" : socket->error();
            if (note != last_socket_note) {  // a failure is said once, not every 100 ms
              node::post_event(
                  d.control(), self,
                  {.kind = shm::EventKind::note, .name = "hamon-server", .detail = note});
            }
            last_socket_note = socket->ok() ? "" : note;
            io.store(true);
          }
        }
        if (io.exchange(false) || now >= socket->next_deadline()) {
          socket->serve(now, [&](const std::string& line, const node::Caller& caller) {
            return agent.command(line, caller, now);
          });
        }
      });
  d.unregister_self();
  return 0;
}
