// ControlSocket: the server's door for operator commands (`hamon start acme/acd`, ...). A unix
// stream socket in the node's runtime directory, mode 0600; one request line per connection,
// one reply line: "ok" or "error <why>". A thread accepts and reads; the request is carried out
// by the server's loop, which the socket thread wakes through the server's inbox doorbell.
#ifndef HAMON_NODE_CONTROL_SOCKET_HPP
#define HAMON_NODE_CONTROL_SOCKET_HPP

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "hamon/shm/doorbell.hpp"

namespace hamon::node {

class ControlSocket {
 public:
  // Binds `path` (replacing a stale socket) and starts accepting. `bell` is rung per request.
  ControlSocket(std::string path, shm::Doorbell& bell);
  ~ControlSocket();
  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  [[nodiscard]] const std::string& error() const { return error_; }

  // The loop side: whether requests wait, and serving them with `handler` (request → reply).
  [[nodiscard]] bool pending() const;
  void serve(const std::function<std::string(const std::string&)>& handler);

 private:
  struct Request {
    std::string line;
    std::promise<std::string> reply;
  };
  void accept_loop();

  std::string path_;
  shm::Doorbell& bell_;
  int fd_ = -1;
  std::string error_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::deque<Request> queue_;
  std::thread thread_;
};

// Client side, for the CLI: sends one request, returns the reply line (or "error ...").
std::string control_request(const std::string& path, const std::string& line, int timeout_ms);

}  // namespace hamon::node

#endif  // HAMON_NODE_CONTROL_SOCKET_HPP
