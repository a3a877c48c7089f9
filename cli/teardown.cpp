#include "teardown.hpp"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "hamon/node/instance_lock.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/node/process_cgroup.hpp"
#include "hamon/node/segment_links.hpp"

namespace hamon::cli {
namespace {

// hamon-watcher and hamon-master first: each restarts the other, and the master the rest.
constexpr std::array<const char*, 5> kBinaries{"hamon-watcher", "hamon-master", "hamon-server",
                                               "hamon-monitor", "hamon-spawner"};
constexpr std::size_t kWatchTree = 2;  // the first two: killed, not asked
// How long the spawner, monitor or server has to exit on SIGTERM (one loop turn is 20 ms at
// most) before it is killed.
constexpr auto kDaemonGrace = std::chrono::seconds(2);

// A pidfd on the process that holds `binary`'s instance lock, or -1. Opened first, checked
// second: if it still holds the lock, the pidfd names the holder, not a later user of its pid.
int open_holder(const std::string& runtime_dir, const char* binary, pid_t& pid) {
  pid = node::instance_holder(runtime_dir, binary);
  if (pid <= 0) return -1;
  const int fd = node::pidfd_open(pid);
  if (fd < 0) return -1;
  if (node::instance_holder(runtime_dir, binary) != pid) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool ended(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

Teardown::Teardown(const NodeTarget& target, const shm::ControlSegment& ctl)
    : target_(target), cgroup_dir_(node::node_cgroup_dir(target.cluster, target.node)), ctl_(ctl) {}

Teardown::~Teardown() {
  for (int fd : locks_) {
    if (fd >= 0) ::close(fd);
  }
}

base::Status Teardown::hold_daemons(Clock::time_point deadline, const std::string& timeout) {
  for (;;) {
    std::string left;
    // Both tops of the watch tree are frozen before either is killed, so neither can restart
    // the other in between.
    std::vector<int> tops;
    for (std::size_t i = 0; i < kBinaries.size(); ++i) {
      if (locks_[i] >= 0) continue;
      pid_t holder = 0;
      locks_[i] = node::take_instance_lock(target_.runtime_dir, kBinaries[i], &holder);
      if (locks_[i] >= 0) continue;
      if (holder <= 0) {
        left += std::string(left.empty() ? "" : ", ") + kBinaries[i] +
                " (cannot use its lock file in " + target_.runtime_dir + ": " +
                std::strerror(errno) + ")";
        continue;
      }
      left += std::string(left.empty() ? "" : ", ") + kBinaries[i] + " (pid " +
              std::to_string(holder) + ")";
      const int fd = open_holder(target_.runtime_dir, kBinaries[i], holder);
      if (fd < 0) continue;  // it is gone already: its lock is taken on the next pass
      if (i < kWatchTree) {
        (void)node::pidfd_signal(fd, SIGSTOP);
        tops.push_back(fd);
        continue;
      }
      const auto now = Clock::now();
      if (asked_[i] == Clock::time_point{}) {
        asked_[i] = now;
        (void)node::pidfd_signal(fd, SIGTERM);
      } else if (now >= asked_[i] + kDaemonGrace) {
        (void)node::pidfd_signal(fd, SIGKILL);
      }
      ::close(fd);
    }
    for (int fd : tops) {
      (void)node::pidfd_signal(fd, SIGKILL);
      ::close(fd);
    }
    if (left.empty()) return base::ok();
    if (Clock::now() >= deadline) {
      return base::Error{base::Errc::timeout,
                         "daemons still running after " + timeout + ": " + left};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Teardown::Outcome Teardown::stop_processes(const Grace& grace, Clock::time_point deadline) {
  struct Target {
    node::RecordedProcess r;
    int fd;
    Clock::time_point kill_at;
    bool killed = false;
    std::string cgroup;  // "": none
  };
  // Its cgroup holds all it forked, whatever session or group they made for themselves; without
  // one, its process group is what can be reached.
  auto signal = [](const Target& t, int sig) {
    if (!t.cgroup.empty()) {
      const int rc =
          sig == SIGKILL ? node::cgroup_kill(t.cgroup) : node::cgroup_signal(t.cgroup, sig);
      if (rc == 0) return 0;
    }
    return node::signal_group_of(t.fd, t.r.pid, sig);
  };
  auto done = [](const Target& t) {
    return ended(t.fd) && (t.cgroup.empty() || !node::cgroup_populated(t.cgroup));
  };
  Outcome out;
  std::vector<Target> targets;
  const auto now = Clock::now();
  for (node::RecordedProcess& r : node::recorded_processes(ctl_)) {
    const int fd = node::open_recorded(r);
    if (fd == -ESRCH) continue;  // ended while no spawner ran to see it
    const std::string who = r.name + " (pid " + std::to_string(r.pid) + ")";
    if (fd < 0) {
      out.left.push_back(who + ": cannot be reached: " + std::strerror(-fd));
      continue;
    }
    Target t{r, fd, now + grace(r.name), false, ""};
    if (!cgroup_dir_.empty()) {
      t.cgroup = node::find_process_cgroup(cgroup_dir_, r.name);
    }
    if (const int rc = signal(t, SIGTERM); rc < 0 && !ended(fd)) {
      out.left.push_back(who + ": cannot be signalled: " + std::strerror(-rc));
      ::close(fd);
      continue;
    }
    targets.push_back(std::move(t));
  }
  while (!targets.empty()) {
    const auto t_now = Clock::now();
    for (auto it = targets.begin(); it != targets.end();) {
      const std::string who = it->r.name + " (pid " + std::to_string(it->r.pid);
      if (done(*it)) {
        out.stopped.push_back(who + (it->killed ? ", SIGKILL)" : ", SIGTERM)"));
        ::close(it->fd);
        it = targets.erase(it);
        continue;
      }
      if (!it->killed && t_now >= it->kill_at) {
        (void)signal(*it, SIGKILL);
        it->killed = true;
      }
      ++it;
    }
    if (targets.empty() || t_now >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (const Target& t : targets) {
    out.left.push_back(t.r.name + " (pid " + std::to_string(t.r.pid) + "): still running" +
                       (t.killed ? " after SIGKILL" : " after SIGTERM"));
    ::close(t.fd);
  }
  // What is left in the cgroups had no leader to be stopped through (its leader ended, or a stop
  // in its grace lost the spawner that would have ended it): nothing of the node may outlive it.
  if (out.left.empty() && !cgroup_dir_.empty()) {
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (const int rc = node::cgroup_remove_node(
            cgroup_dir_, static_cast<int>(std::max<std::int64_t>(wait.count(), 100)));
        rc != 0) {
      out.left.push_back("the cgroups in " + cgroup_dir_ +
                         ": cannot be emptied: " + std::strerror(-rc));
    }
  }
  return out;
}

void Teardown::remove_segments() const {
  // Only the segments of the node this teardown is about: if the name now belongs to a node
  // started since, it is not touched.
  if (auto now = shm::ControlSegment::attach(target_.control_segment, shm::Access::read_only)) {
    if (now->header().created_ns != ctl_.header().created_ns ||
        now->header().creator_pid != ctl_.header().creator_pid) {
      return;
    }
  }
  // Both names of each segment (segment_links.hpp): the hidden one would keep it alive.
  shm::Segment::remove(target_.control_segment);
  node::remove_keep_link(target_.control_segment);
  const std::string prefix = shm::heartbeat_segment_name(target_.cluster, target_.node, "");
  // A copy a daemon was making of the control segment when it was killed (rescue_control_segment).
  const std::string staging = target_.control_segment + ".rescue.";
  if (DIR* d = ::opendir("/dev/shm")) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind(prefix, 0) == 0 || name.rfind(staging, 0) == 0) shm::Segment::remove(name);
      if (name.rfind("." + prefix, 0) == 0) node::remove_keep_link(name.substr(1));
    }
    ::closedir(d);
  }
  ::unlink(target_.socket.c_str());
}

}  // namespace hamon::cli
