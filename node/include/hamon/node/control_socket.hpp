// ControlSocket: the server's door for operator commands (`hamon restart acme/acd`, ...). A unix
// stream socket in the node's runtime directory, mode 0666: who may ask what is decided per
// request from the connecting process's credentials, which the kernel gives (SO_PEERCRED, see
// authorize.hpp). One request line per connection, one reply line (control_protocol.hpp).
//
// No thread and no blocking call: the sockets are non-blocking and ask the kernel for SIGIO,
// whose handler (signals.hpp) only sets a flag and rings the daemon's inbox doorbell — so the
// server still waits in exactly one place. serve() then accepts, reads what has arrived and
// carries out every complete request in the server's own loop. A client that connects and says
// nothing, or trickles its request, holds nothing but its own connection, which is closed at its
// deadline; beyond the connection limit the oldest silent connection is closed for a new one.
//
// Not thread-safe: used from the server's loop only.
#ifndef HAMON_NODE_CONTROL_SOCKET_HPP
#define HAMON_NODE_CONTROL_SOCKET_HPP

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <list>
#include <string>

namespace hamon::node {

// Who connected, as the kernel says (SO_PEERCRED).
struct Caller {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
};

class ControlSocket {
 public:
  struct Limits {
    std::size_t max_connections = 64;
    std::uint64_t request_ns = 2'000'000'000;  // from accept to a whole request line
    std::uint64_t reply_ns = 2'000'000'000;    // for the client to take its reply
  };

  // Binds `path` (replacing a stale socket) and listens.
  ControlSocket(std::string path, Limits limits);
  explicit ControlSocket(std::string path) : ControlSocket(std::move(path), Limits{}) {}
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  [[nodiscard]] const std::string& error() const { return error_; }

  // Accepts, reads, carries out each complete request with `handler` (request line → reply
  // line), writes replies and closes finished or expired connections. Never blocks.
  using Handler = std::function<std::string(const std::string& line, const Caller& caller)>;
  void serve(std::uint64_t now, const Handler& handler);
  // When serve() must run even if no SIGIO came: the earliest connection deadline.
  [[nodiscard]] std::uint64_t next_deadline() const;
  [[nodiscard]] std::size_t connections() const { return conns_.size(); }

 private:
  struct Conn {
    int fd;
    std::uint64_t deadline;
    Caller caller;
    std::string in, out;
    std::size_t sent = 0;
    bool answered = false;
  };
  void accept_all(std::uint64_t now);
  // False once the connection is finished (answered and flushed, failed, or expired).
  bool service(Conn& c, std::uint64_t now, const Handler& handler);
  void answer(Conn& c, const std::string& reply, std::uint64_t now);

  std::string path_;
  Limits limits_;
  int fd_ = -1;
  std::string error_;
  std::list<Conn> conns_;  // oldest first
};

// Client side, for the CLI: sends one request line, returns the reply line (or "error ...").
std::string control_request(const std::string& path, const std::string& line, int timeout_ms);

}  // namespace hamon::node

#endif  // HAMON_NODE_CONTROL_SOCKET_HPP
