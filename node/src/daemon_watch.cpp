#include "hamon/node/daemon_watch.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>

#include "hamon/node/proc.hpp"

namespace hamon::node {

std::uint64_t hang_limit_ns(shm::DaemonId d) noexcept {
  switch (d) {
    case shm::DaemonId::monitor: return 1'000'000'000;
    case shm::DaemonId::spawner: return 5'000'000'000;
    case shm::DaemonId::server: return 3'000'000'000;
    case shm::DaemonId::master:
    case shm::DaemonId::watcher: return 2'000'000'000;
    case shm::DaemonId::count: break;
  }
  return 2'000'000'000;
}

std::uint64_t RestartPacer::ended(std::uint64_t started, std::uint64_t now) noexcept {
  if (now >= started + kStableNs) {
    failures_ = 0;
    return now;
  }
  ++failures_;
  if (failures_ == 1) return now;  // once is an accident: at once
  const std::uint32_t doublings = std::min<std::uint32_t>(failures_ - 2, 30);
  return now + std::min(kMaxPauseNs, kFirstPauseNs << doublings);
}

DaemonWatch::~DaemonWatch() {
  if (pidfd_ >= 0) ::close(pidfd_);
}

void DaemonWatch::watch(pid_t pid, int pidfd, bool child, std::uint64_t now) {
  if (pidfd_ >= 0) ::close(pidfd_);
  pid_ = pid;
  pidfd_ = pidfd;
  child_ = child;
  started_ns_ = now;
}

void DaemonWatch::ended(std::uint64_t now) {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
  pid_ = 0;
  child_ = false;
  restart_at_ = pacer_.ended(started_ns_, now);
}

void DaemonWatch::spawn_failed(std::uint64_t now) { restart_at_ = pacer_.ended(now, now); }

bool DaemonWatch::has_ended() const {
  if (pid_ <= 0) return false;
  if (pidfd_ < 0) return true;
  pollfd p{pidfd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

bool DaemonWatch::silent(const shm::DaemonSlot& slot, std::uint64_t now) {
  if (last_look_ns_ != 0 && now > last_look_ns_ + kStallNs) resumed_ns_ = now;
  last_look_ns_ = now;
  const std::uint64_t limit = hang_limit_ns(id_);
  const std::uint64_t hb = slot.heartbeat_ns.load(std::memory_order_relaxed);
  return pid_ > 0 && now > started_ns_ + limit && hb != 0 &&
         now > std::max(hb, resumed_ns_) + limit;
}

void DaemonWatch::signal(int sig) const {
  if (pidfd_ >= 0) (void)pidfd_signal(pidfd_, sig);
}

}  // namespace hamon::node
