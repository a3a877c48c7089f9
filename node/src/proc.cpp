#include "hamon/node/proc.hpp"

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace hamon::node {

namespace {

// Field `wanted` (from 3) of the stat file at `path`, as a number.
std::optional<std::uint64_t> stat_field(const char* path, int wanted) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // The command name (field 2) may contain spaces and parentheses: fields restart after the last
  // ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return std::nullopt;
  ++p;
  // Field 3 follows, after a space.
  for (int field = 2; field < wanted && *p != '\0'; ++p) {
    if (*p == ' ') ++field;
  }
  char* end = nullptr;
  const unsigned long long v = std::strtoull(p, &end, 10);
  if (end == p) return std::nullopt;
  return static_cast<std::uint64_t>(v);
}

}  // namespace

std::optional<std::uint64_t> start_ticks(pid_t pid) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  return stat_field(path, 22);
}

int pidfd_open(pid_t pid) noexcept {
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd >= 0 ? static_cast<int>(fd) : -errno;
}

int pidfd_signal(int pidfd, int sig) noexcept {
  const long rc = ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
  return rc == 0 ? 0 : -errno;
}

int pidfd_signal_group(int pidfd, int sig) noexcept {
  // Not in the headers of every libc this builds with; the value is the kernel's ABI.
  constexpr unsigned kSignalProcessGroup = 1U << 2;  // PIDFD_SIGNAL_PROCESS_GROUP
  const long rc = ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, kSignalProcessGroup);
  return rc == 0 ? 0 : -errno;
}

int signal_group_of(int pidfd, pid_t pid, int sig) noexcept {
  int rc = pidfd_signal_group(pidfd, sig);
  if (rc == -EINVAL) {
    pollfd p{pidfd, POLLIN, 0};
    rc = pid > 0 && ::poll(&p, 1, 0) == 0 && ::kill(-pid, sig) == 0 ? 0 : -ESRCH;
  }
  return rc == 0 ? 0 : pidfd_signal(pidfd, sig);
}

int pidfd_open_checked(pid_t pid, std::uint64_t ticks) noexcept {
  const int fd = pidfd_open(pid);
  if (fd < 0) return fd;
  // Opened first, checked second: if the start time matches now, the pidfd cannot name a later
  // reuse of the pid. A pidfd already readable means the process is gone (a zombie matches).
  const auto t = start_ticks(pid);
  pollfd pfd{fd, POLLIN, 0};
  if (!t || *t != ticks || ::poll(&pfd, 1, 0) != 0) {
    ::close(fd);
    return -ESRCH;
  }
  return fd;
}

}  // namespace hamon::node
