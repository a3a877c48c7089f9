#include "hamon/node/control_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "hamon/shm/futex.hpp"

namespace hamon::node {
namespace {

bool make_address(const std::string& path, sockaddr_un& a) {
  std::memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return false;
  std::memcpy(a.sun_path, path.data(), path.size());
  return true;
}

// Reads one line (without the newline), at most 4 KiB, within `timeout_ms`.
bool read_line(int fd, std::string& out, int timeout_ms) {
  char c;
  while (out.size() < 4096) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    const ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return !out.empty();
    if (c == '\n') return true;
    out.push_back(c);
  }
  return false;
}

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

ControlSocket::ControlSocket(std::string path, shm::Doorbell& bell)
    : path_(std::move(path)), bell_(bell) {
  sockaddr_un a;
  if (!make_address(path_, a)) {
    error_ = "socket path too long: " + path_;
    return;
  }
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(path_.c_str());
  const mode_t old = ::umask(0177);
  const int rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::umask(old);
  if (rc != 0 || ::listen(fd_, 16) != 0) {
    error_ = "unable to listen on " + path_ + ": " + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return;
  }
  thread_ = std::thread([this] { accept_loop(); });
}

ControlSocket::~ControlSocket() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

bool ControlSocket::pending() const {
  std::lock_guard<std::mutex> l(mu_);
  return !queue_.empty();
}

void ControlSocket::accept_loop() {
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::string line;
    if (!read_line(c, line, 2000)) {
      write_all(c, "error no request line\n");
      ::close(c);
      continue;
    }
    std::future<std::string> reply;
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(Request{line, {}});
      reply = queue_.back().reply.get_future();
    }
    bell_.seq.fetch_add(1);
    shm::futex_wake(bell_.seq, INT_MAX);
    if (reply.wait_for(std::chrono::seconds(10)) == std::future_status::ready) {
      write_all(c, reply.get() + "\n");
    } else {
      write_all(c, "error the server did not answer in time\n");
    }
    ::close(c);
  }
}

void ControlSocket::serve(const std::function<std::string(const std::string&)>& handler) {
  std::deque<Request> batch;
  {
    std::lock_guard<std::mutex> l(mu_);
    batch.swap(queue_);
  }
  for (auto& r : batch) r.reply.set_value(handler(r.line));
}

std::string control_request(const std::string& path, const std::string& line, int timeout_ms) {
  sockaddr_un a;
  if (!make_address(path, a)) return "error socket path too long: " + path;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return "error unable to reach hamon-server at " + path + ": " + why;
  }
  write_all(fd, line + "\n");
  std::string reply;
  if (!read_line(fd, reply, timeout_ms)) reply = "error no reply from hamon-server";
  ::close(fd);
  return reply;
}

}  // namespace hamon::node
