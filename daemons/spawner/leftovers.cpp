#include "leftovers.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "hamon/node/proc.hpp"
#include "hamon/node/process_cgroup.hpp"

namespace hamon::spawner {

Leftovers::~Leftovers() {
  for (auto& [key, l] : left_) release(l);
}

int Leftovers::add(const std::string& key, const std::string& cgroup, int pidfd,
                   std::uint64_t kill_at, std::uint64_t now) {
  Left l{cgroup, pidfd, kill_at, now};
  int count = -1;
  if (!cgroup.empty()) count = static_cast<int>(node::cgroup_members(cgroup).size());
  if (empty(l)) {
    if (!cgroup.empty()) (void)node::cgroup_remove(cgroup);
    release(l);
    return 0;
  }
  if (kill_at <= now) kill(l);
  l.check_at = now + (l.kill_at == 0 ? kCheckKilled : kCheckInGrace);
  if (auto it = left_.find(key); it != left_.end()) {
    kill(it->second);
    release(it->second);
    it->second = l;
  } else {
    left_.emplace(key, l);
  }
  return count;
}

void Leftovers::end_now(const std::string& key) {
  const auto it = left_.find(key);
  if (it == left_.end()) return;
  kill(it->second);
  release(it->second);
  left_.erase(it);
}

int Leftovers::do_work(std::uint64_t now) {
  int work = 0;
  for (auto it = left_.begin(); it != left_.end();) {
    Left& l = it->second;
    if (l.kill_at != 0 && l.kill_at <= now) {
      kill(l);
      l.check_at = now;
      ++work;
    }
    if (l.check_at > now) {
      ++it;
      continue;
    }
    if (!empty(l)) {
      l.check_at = now + (l.kill_at == 0 ? kCheckKilled : kCheckInGrace);
      ++it;
      continue;
    }
    if (!l.cgroup.empty()) (void)node::cgroup_remove(l.cgroup);
    release(l);
    it = left_.erase(it);
    ++work;
  }
  return work;
}

std::uint64_t Leftovers::next_deadline() const {
  std::uint64_t t = UINT64_MAX;
  for (const auto& [key, l] : left_) {
    t = std::min(t, l.check_at);
    if (l.kill_at != 0) t = std::min(t, l.kill_at);
  }
  return t;
}

void Leftovers::kill(Left& l) {
  l.kill_at = 0;
  if (!l.cgroup.empty() && node::cgroup_kill(l.cgroup) == 0) return;
  // The leader's pidfd names its group even after the leader was reaped (Linux 6.9): without
  // it the group could only be named by a number that may belong to someone else by now.
  if (l.pidfd >= 0) (void)node::pidfd_signal_group(l.pidfd, SIGKILL);
}

bool Leftovers::empty(const Left& l) {
  if (!l.cgroup.empty()) return !node::cgroup_populated(l.cgroup);
  return l.pidfd < 0 || node::pidfd_signal_group(l.pidfd, 0) != 0;
}

void Leftovers::release(Left& l) {
  if (l.pidfd >= 0) ::close(l.pidfd);
  l.pidfd = -1;
}

}  // namespace hamon::spawner
