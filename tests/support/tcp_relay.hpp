// TcpRelay: a TCP relay on loopback between a peer link's two ends, for tests that need the
// network between two nodes on one machine to fail. Everything that comes in on its port is
// forwarded to `target`, both ways, until blackhole(true): from then on every byte, either way,
// is read and dropped while the connections stay open — what a cut cable or a dead switch looks
// like to TCP (no reset, no close: silence).
//
// Thread-safety: the methods may be called from any thread; the relay runs on its own.
#ifndef HAMON_TESTS_SUPPORT_TCP_RELAY_HPP
#define HAMON_TESTS_SUPPORT_TCP_RELAY_HPP

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace hamon::test {

class TcpRelay {
 public:
  explicit TcpRelay(std::uint16_t target_port) : target_(target_port) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_, 16);
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    (void)!::pipe2(wake_, O_CLOEXEC);
    thread_ = std::thread([this] { run(); });
  }
  ~TcpRelay() {
    stop_ = true;
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
    for (auto& [a, b] : pairs_) {
      ::close(a);
      ::close(b);
    }
    ::close(listen_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  // The port the relay listens on (127.0.0.1).
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // Drop every byte from now on (true), or forward again (false).
  void blackhole(bool on) noexcept { blackhole_ = on; }
  // Connections accepted so far.
  [[nodiscard]] int accepted() const noexcept { return accepted_; }

 private:
  void run() {
    std::vector<pollfd> fds;
    char buf[65536];
    while (!stop_) {
      fds.clear();
      fds.push_back({wake_[0], POLLIN, 0});
      fds.push_back({listen_, POLLIN, 0});
      for (auto& [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
      if (fds[1].revents & POLLIN) accept_one();
      std::vector<std::size_t> dead;
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const std::size_t pair = (i - 2) / 2;
        const bool first = (i - 2) % 2 == 0;
        const int from = fds[i].fd;
        const int to = first ? pairs_[pair].second : pairs_[pair].first;
        const ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0) {
          dead.push_back(pair);
          continue;
        }
        if (!blackhole_ && !send_all(to, buf, static_cast<std::size_t>(n))) dead.push_back(pair);
      }
      // An end closed: close the other (a relay passes closes on, as a network does).
      for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
        if (*it >= pairs_.size()) continue;
        ::close(pairs_[*it].first);
        ::close(pairs_[*it].second);
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(*it));
      }
    }
  }
  void accept_one() {
    const int in = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
    if (in < 0) return;
    const int out = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(target_);
    if (::connect(out, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(in);
      ::close(out);
      return;
    }
    const int one = 1;
    ::setsockopt(in, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(out, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pairs_.emplace_back(in, out);
    ++accepted_;
  }
  static bool send_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listen_ = -1;
  int wake_[2] = {-1, -1};
  std::vector<std::pair<int, int>> pairs_;
  std::atomic<bool> blackhole_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice).
inline std::uint16_t free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

}  // namespace hamon::test

#endif  // HAMON_TESTS_SUPPORT_TCP_RELAY_HPP
