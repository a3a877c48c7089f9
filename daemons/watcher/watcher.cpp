#include "watcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "hamon/node/clock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/daemon_spawn.hpp"
#include "hamon/node/proc.hpp"

extern char** environ;

namespace hamon::watcher {

bool Watcher::spawn_master(bool adopt) {
  const pid_t pid = node::spawn_daemon(node_, {"hamon-master", adopt, false});
  if (pid < 0) return false;
  master_pid_ = pid;
  master_pidfd_ = node::pidfd_open(pid);  // our child: its pid cannot be reused before we reap
  master_started_ns_ = node::now_ns();
  return true;
}

bool Watcher::start(bool adopt, std::string& error) {
  // A node whose master lives (this watcher alone died, and systemd or an operator starts a new
  // one) is adopted, never started twice.
  // So is one whose daemons all died but whose processes still run (they are taken over, not
  // started twice). Only a node with nothing left running is started afresh.
  if (!adopt) {
    if (auto c = shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_only)) {
      adopt = node::has_live_parts(*c);
    }
  }
  if (adopt) {
    auto c = shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_write);
    if (!c) {
      error = c.error().message;
      return false;
    }
    ctl_.emplace(std::move(c).value());
    const shm::DaemonSlot& m = ctl_->daemon(shm::DaemonId::master);
    master_pid_ = static_cast<pid_t>(m.pid.load());
    master_pidfd_ = node::pidfd_open_checked(master_pid_, m.start_ticks.load());
    master_started_ns_ = m.started_ns.load();
    if (master_pidfd_ < 0 && !spawn_master(true)) {
      error = "unable to start hamon-master";
      return false;
    }
  } else {
    if (!spawn_master(false)) {
      error = "unable to start hamon-master";
      return false;
    }
    // The master creates the segment; wait for it (or for the master to give up and say why).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ctl_ && std::chrono::steady_clock::now() < deadline) {
      if (auto c = shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_write);
          c && c->daemon(shm::DaemonId::master).pid.load() == static_cast<std::uint32_t>(master_pid_)) {
        ctl_.emplace(std::move(c).value());
        break;
      }
      pollfd p{master_pidfd_, POLLIN, 0};
      if (::poll(&p, 1, 2) > 0) {
        ::waitpid(master_pid_, nullptr, 0);
        error = "hamon-master stopped while starting; see " + node_.log_dir() + "/hamon-master.log";
        return false;
      }
    }
    if (!ctl_) {
      error = "hamon-master did not create the node's segment within 10s";
      return false;
    }
  }
  node::register_daemon(*ctl_, shm::DaemonId::watcher);
  return true;
}

bool Watcher::turn(std::uint64_t now, std::uint64_t hang_limit_ns) {
  node::daemon_heartbeat(*ctl_, shm::DaemonId::watcher, now);
  if (now >= next_segment_check_) {
    next_segment_check_ = now + 100'000'000;
    auto current = shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_only);
    if (!current || current->header().created_ns != ctl_->header().created_ns ||
        current->header().creator_pid != ctl_->header().creator_pid) {
      return false;
    }
  }
  // Our children (the master) and orphans that came to us as subreaper: no zombie is left.
  for (;;) {
    if (::waitpid(-1, nullptr, WNOHANG) <= 0) break;
  }
  bool gone = master_pidfd_ < 0;
  if (!gone) {
    pollfd p{master_pidfd_, POLLIN, 0};
    gone = ::poll(&p, 1, 0) > 0;
  }
  if (gone) {
    if (master_pidfd_ >= 0) ::close(master_pidfd_);
    master_pidfd_ = -1;
    ctl_->daemon(shm::DaemonId::master).state.store(static_cast<std::uint32_t>(shm::DaemonState::exited));
    ctl_->daemon(shm::DaemonId::master).restarts.fetch_add(1);
    node::post_event(*ctl_, shm::DaemonId::watcher, shm::EventKind::daemon_exited, "",
                        "hamon-master", UINT32_MAX, 0, master_pid_, 0, "restarting it");
    if (spawn_master(true)) {
      node::post_event(*ctl_, shm::DaemonId::watcher, shm::EventKind::daemon_started, "",
                          "hamon-master", UINT32_MAX, 0, master_pid_, 0, "adopts the running node");
    }
    return true;
  }
  const std::uint64_t hb = ctl_->daemon(shm::DaemonId::master).heartbeat_ns.load();
  if (now > master_started_ns_ + hang_limit_ns && hb != 0 && now > hb + hang_limit_ns) {
    node::post_event(*ctl_, shm::DaemonId::watcher, shm::EventKind::hung, "", "hamon-master",
                        UINT32_MAX, 0, master_pid_, static_cast<std::int64_t>(now - hb), "daemon silent");
    node::pidfd_signal(master_pidfd_, SIGKILL);
  }
  if (!ready_sent_ && ctl_->daemon(shm::DaemonId::server).state.load() ==
                          static_cast<std::uint32_t>(shm::DaemonState::running)) {
    sd_notify(0, "READY=1\nSTATUS=node up");  // no-op outside systemd
    ready_sent_ = true;
  }
  return true;
}

void Watcher::shutdown(int grace_ms) {
  // First say we stop on purpose, so the master does not start another watcher.
  node::unregister_daemon(*ctl_, shm::DaemonId::watcher);
  sd_notify(0, "STOPPING=1");
  if (master_pidfd_ < 0) return;
  node::pidfd_signal(master_pidfd_, SIGTERM);
  pollfd p{master_pidfd_, POLLIN, 0};
  if (::poll(&p, 1, grace_ms) == 0) node::pidfd_signal(master_pidfd_, SIGKILL);
  ::waitpid(master_pid_, nullptr, 0);
}

}  // namespace hamon::watcher
