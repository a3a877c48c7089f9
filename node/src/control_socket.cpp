#include "hamon/node/control_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hamon/node/control_protocol.hpp"

namespace hamon::node {
namespace {

bool make_address(const std::string& path, sockaddr_un& a) {
  std::memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return false;
  std::memcpy(a.sun_path, path.data(), path.size());
  return true;
}

// Non-blocking, and SIGIO to this process on activity.
bool make_async(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  return fl >= 0 && ::fcntl(fd, F_SETOWN, ::getpid()) == 0 &&
         ::fcntl(fd, F_SETFL, fl | O_NONBLOCK | O_ASYNC) == 0;
}

// Reads one line (without the newline) within `timeout_ms`. Blocking: the client's side only.
bool read_line(int fd, std::string& out, int timeout_ms) {
  char buf[512];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    out.append(buf, static_cast<std::size_t>(n));
    if (const auto nl = out.find('\n'); nl != std::string::npos) {
      out.resize(nl);
      return true;
    }
    if (out.size() > kMaxLine) return false;
  }
}

}  // namespace

ControlSocket::ControlSocket(std::string path, Limits limits)
    : path_(std::move(path)), limits_(limits) {
  sockaddr_un a;
  if (!make_address(path_, a)) {
    error_ = "socket path too long: " + path_;
    return;
  }
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(path_.c_str());
  const mode_t old = ::umask(0111);
  const int rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::umask(old);
  if (rc != 0 || ::listen(fd_, 128) != 0 || !make_async(fd_)) {
    error_ = "unable to listen on " + path_ + ": " + std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

ControlSocket::~ControlSocket() {
  for (Conn& c : conns_) ::close(c.fd);
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

std::uint64_t ControlSocket::next_deadline() const {
  std::uint64_t t = UINT64_MAX;
  for (const Conn& c : conns_) t = std::min(t, c.deadline);
  return t;
}

void ControlSocket::accept_all(std::uint64_t now) {
  for (;;) {
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) return;  // EAGAIN: none left (other errors: the client gave up; nothing to do)
    if (!make_async(c)) {
      ::close(c);
      continue;
    }
    if (conns_.size() >= limits_.max_connections) {
      // Room for the newcomer: the oldest connection that has not said anything complete goes.
      auto silent =
          std::find_if(conns_.begin(), conns_.end(), [](const Conn& k) { return !k.answered; });
      if (silent == conns_.end()) {
        ::close(c);
        continue;
      }
      const std::string busy = "error too many connections to hamon-server\n";
      (void)::send(silent->fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(silent->fd);
      conns_.erase(silent);
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    Caller caller;  // nobody, if the kernel will not say
    if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      caller = {cred.uid, cred.gid, cred.pid};
    }
    conns_.push_back(Conn{c, now + limits_.request_ns, caller, {}, {}, 0, false});
  }
}

void ControlSocket::answer(Conn& c, const std::string& reply, std::uint64_t now) {
  c.out = reply + "\n";
  c.sent = 0;
  c.answered = true;
  c.deadline = now + limits_.reply_ns;
}

bool ControlSocket::service(Conn& c, std::uint64_t now, const Handler& handler) {
  if (!c.answered) {
    char buf[1024];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        if (c.in.find('\n') != std::string::npos || c.in.size() > kMaxLine) break;
        continue;
      }
      if (n == 0) return false;  // closed before a whole request: nothing was asked, nothing done
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      break;
    }
    const auto nl = c.in.find('\n');
    if (nl == std::string::npos) {
      if (c.in.size() > kMaxLine) {
        answer(c,
               format(Reply::failure("request longer than " + std::to_string(kMaxLine) + " bytes")),
               now);
      } else if (now >= c.deadline) {
        return false;  // too slow to say what it wants: nothing was done
      } else {
        return true;
      }
    } else {
      std::string line = c.in.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      answer(c, handler(line, c.caller), now);
    }
  }
  while (c.sent < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return now < c.deadline;
    return false;
  }
  return false;  // answered in full
}

void ControlSocket::serve(std::uint64_t now, const Handler& handler) {
  if (fd_ < 0) return;
  accept_all(now);
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (service(*it, now, handler)) {
      ++it;
    } else {
      ::close(it->fd);
      it = conns_.erase(it);
    }
  }
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
  const std::string out = line + "\n";
  std::size_t off = 0;
  while (off < out.size()) {
    const ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string reply;
  if (!read_line(fd, reply, timeout_ms)) reply = "error no reply from hamon-server";
  ::close(fd);
  return reply;
}

}  // namespace hamon::node
