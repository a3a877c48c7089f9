// Making a pid be reused on purpose, to test that hamon never signals a process that merely
// has the pid of one it knew: the pid namespace's last pid (/proc/sys/kernel/ns_last_pid, root
// only) is set just below the wanted pid, then the test forks. Another process of the machine
// may fork in between and take it: that is retried.
//
// Listener is the process on the receiving end: it reports the signals it gets instead of dying
// of them.
#ifndef HAMON_TESTS_PID_REUSE_HPP
#define HAMON_TESTS_PID_REUSE_HPP

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

namespace hamon::test {

namespace internal {
inline int g_report_fd = -1;

inline void report_signal(int sig) {
  const char c = static_cast<char>(sig);
  (void)!::write(g_report_fd, &c, 1);
}

// A Listener's processes: report every SIGTERM, SIGINT or SIGHUP on `report_fd` and keep
// running; say so on `ready_fd` once they do. Async-signal-safe calls only (the test may have
// threads).
[[noreturn]] inline void listen_forever(int report_fd, int ready_fd) {
  g_report_fd = report_fd;
  struct sigaction sa {};
  sa.sa_handler = report_signal;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(s, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  (void)!::write(ready_fd, "r", 1);
  for (;;) ::pause();
}
}  // namespace internal

// Whether the next fork in this pid namespace will get `want` (if nothing else forks first).
// False when the test may not set ns_last_pid (not root).
inline bool aim_next_pid(pid_t want) {
  const int fd = ::open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const std::string v = std::to_string(want - 1);
  const bool ok = ::write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
  ::close(fd);
  return ok;
}

// A process in a session of its own (as hamon starts them), optionally with a second process in
// its group, that reports the signals they receive. Killed and reaped on destruction, through a
// pidfd opened while it could not have been reaped.
class Listener {
 public:
  // `want`: the pid it must have (0: any). Null if it could not be started (with that pid).
  static std::unique_ptr<Listener> start(bool with_member, pid_t want = 0) {
    auto l = std::unique_ptr<Listener>(new Listener);
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return nullptr;
    l->report_fd_ = report[0];
    bool up = false;
    for (int attempt = 0; attempt < 500 && !up; ++attempt) {
      if (want != 0 && !aim_next_pid(want)) break;
      int ready[2];
      if (::pipe2(ready, O_CLOEXEC) != 0) break;
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::setsid();
        if (with_member && ::fork() == 0) internal::listen_forever(report[1], ready[1]);
        internal::listen_forever(report[1], ready[1]);
      }
      ::close(ready[1]);
      if (pid < 0) {
        ::close(ready[0]);
        break;
      }
      l->pid_ = pid;
      l->pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
      // Every process of this attempt is listening before it is used or ended: no byte of an
      // abandoned attempt is left in the pipe.
      const ssize_t want_ready = with_member ? 2 : 1;
      ssize_t got = 0;
      char buf[2];
      while (got < want_ready) {
        const ssize_t n = ::read(ready[0], buf, static_cast<std::size_t>(want_ready - got));
        if (n <= 0) break;
        got += n;
      }
      ::close(ready[0]);
      up = got == want_ready && (want == 0 || pid == want);
      if (!up) l->end();  // another process took the pid first: try again
    }
    ::close(report[1]);
    return up ? std::move(l) : nullptr;
  }
  ~Listener() {
    end();
    ::close(report_fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }

  // Whether its leader still runs (a signal it did not catch would have ended it).
  [[nodiscard]] bool alive() const {
    pollfd p{pidfd_, POLLIN, 0};
    return pidfd_ >= 0 && ::poll(&p, 1, 0) == 0;
  }

  // Ends it and its group, and reaps it: its pid is free for reuse afterwards.
  void end() {
    if (pidfd_ < 0) return;
    ::syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
    // The group by number: its leader is our child and not reaped yet, so the number is its.
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::close(pidfd_);
    pidfd_ = -1;
  }

  // The signals reported within `limit`, or until `want` of them have come.
  [[nodiscard]] std::string signals_within(std::chrono::milliseconds limit,
                                           std::size_t want) const {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (got.size() < want) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{report_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char c = 0;
      if (::read(report_fd_, &c, 1) == 1) got.push_back(c);
    }
    return got;
  }

 private:
  Listener() = default;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int report_fd_ = -1;
};

}  // namespace hamon::test

#endif  // HAMON_TESTS_PID_REUSE_HPP
