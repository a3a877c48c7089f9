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
#include "hamon/node/config_file.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/daemon_spawn.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/node/segment_links.hpp"

extern char** environ;

namespace hamon::watcher {
namespace {

// The last line of a daemon's log: why it stopped (docs/operations.md, exit codes).
std::string last_line(const std::string& path) {
  std::string text;
  (void)node::read_whole_file(path, text);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text.substr(text.rfind('\n') + 1);
}

}  // namespace

void Watcher::tend_running_config() {
  if (const std::string said = running_.tend_and_say(); !said.empty() && ctl_) note(said);
}

bool Watcher::spawn_master(bool adopt) {
  tend_running_config();  // what the master will read
  const pid_t pid = node::spawn_daemon(node_, {"hamon-master", adopt, false});
  if (pid < 0) return false;
  // Our child: its pid cannot be reused before we reap it.
  master_.watch(pid, node::pidfd_open(pid), true, node::now_ns());
  return true;
}

base::Status Watcher::start(bool adopt) {
  // A node whose master lives (this watcher alone died, and systemd or an operator starts a new
  // one) is adopted, never started twice.
  // So is one whose daemons all died but whose processes still run (they are taken over, not
  // started twice). Only a node with nothing left running is started afresh.
  // A segment whose name alone was removed is still the node's: its hidden name gives it back
  // (segment_links.hpp), or the node would be started a second time beside itself.
  (void)node::restore_name(node_.control_segment());
  if (!adopt) {
    if (auto c = shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_only)) {
      adopt = node::has_live_parts(*c);
    }
  }
  if (adopt) {
    auto c = shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_write);
    if (!c) return c.error();
    ctl_.emplace(std::move(c).value());
    const shm::DaemonSlot& m = ctl_->daemon(shm::DaemonId::master);
    const auto pid = static_cast<pid_t>(m.pid.load());
    const int fd = node::pidfd_open_checked(pid, m.start_ticks.load());
    if (fd >= 0) master_.watch(pid, fd, false, node::now_ns());
    if (fd < 0 && !spawn_master(true)) {
      return base::Error{base::Errc::system, "unable to start hamon-master"};
    }
  } else {
    // Nothing of the node runs: it starts with the configuration we were given, not with what
    // an earlier run left in the runtime directory.
    if (auto w = running_.install(); !w) return w.error();
    if (!spawn_master(false)) {
      return base::Error{base::Errc::system, "unable to start hamon-master"};
    }
    // The master creates the segment; wait for it (or for the master to give up and say why).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ctl_ && std::chrono::steady_clock::now() < deadline) {
      if (auto c = shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_write);
          c && c->daemon(shm::DaemonId::master).pid.load() ==
                   static_cast<std::uint32_t>(master_.pid())) {
        ctl_.emplace(std::move(c).value());
        break;
      }
      pollfd p{master_.pidfd(), POLLIN, 0};
      if (::poll(&p, 1, 2) > 0) {
        ::waitpid(master_.pid(), nullptr, 0);
        const std::string log = node_.log_dir() + "/hamon-master.log";
        return base::Error{base::Errc::refused, "hamon-master stopped while starting: " +
                                                    last_line(log) + " (" + log + ")"};
      }
    }
    if (!ctl_) {
      return base::Error{base::Errc::timeout,
                         "hamon-master did not create the node's segment within 10s"};
    }
  }
  ctl_ino_ = node::mapped_inode(&ctl_->header()).value_or(0);
  node::register_daemon(*ctl_, shm::DaemonId::watcher);
  return base::ok();
}

void Watcher::note(const std::string& detail) {
  node::post_event(*ctl_, shm::DaemonId::watcher,
                   {.kind = shm::EventKind::note, .name = "hamon-watcher", .detail = detail});
}

bool Watcher::tend_segment() {
  const std::string name = node_.control_segment();
  auto same_node = [&](const shm::ControlSegment& c) {
    return c.header().created_ns == ctl_->header().created_ns &&
           c.header().creator_pid == ctl_->header().creator_pid;
  };
  if (ctl_ino_ == 0) {  // no inode to go by: the old check
    auto current = shm::ControlSegment::attach(name, shm::Access::read_only);
    return current && same_node(*current);
  }
  auto links = node::tend_links(name, ctl_ino_);
  if (!links) {
    if (links.error().message != segment_error_) note(links.error().message);
    segment_error_ = links.error().message;
    return true;
  }
  segment_error_.clear();
  switch (*links) {
    case node::Links::intact: return true;
    case node::Links::restored:
      note(shm::shm_path(name) + " was removed; named again");
      return true;
    case node::Links::replaced: {
      // Made again by the master from its mapping (both names had gone): take that one up.
      auto current = shm::ControlSegment::attach(name, shm::Access::read_write);
      if (!current) return true;  // not whole yet
      if (!same_node(*current)) return false;
      ctl_.emplace(std::move(current).value());
      ctl_ino_ = node::mapped_inode(&ctl_->header()).value_or(0);
      return true;
    }
    case node::Links::lost: break;
  }
  if (master_.running()) return true;  // the master makes it again from its own mapping
  auto fresh = node::rescue_control_segment(node_, *ctl_);
  if (!fresh) {
    if (fresh.error().message != segment_error_) note(fresh.error().message);
    segment_error_ = fresh.error().message;
    return true;
  }
  ctl_.emplace(std::move(fresh).value());
  ctl_ino_ = node::mapped_inode(&ctl_->header()).value_or(0);
  note(shm::shm_path(name) +
       " and its hidden name were removed while no master ran; made again from hamon-watcher's "
       "mapping");
  return true;
}

bool Watcher::turn(std::uint64_t now) {
  node::daemon_heartbeat(*ctl_, shm::DaemonId::watcher, now);
  if (now >= next_segment_check_) {
    next_segment_check_ = now + 100'000'000;
    if (!tend_segment()) return false;
    tend_running_config();
  }
  // Our children (the master) and orphans that came to us as subreaper: no zombie is left.
  for (;;) {
    if (::waitpid(-1, nullptr, WNOHANG) <= 0) break;
  }
  shm::DaemonSlot& slot = ctl_->daemon(shm::DaemonId::master);
  if (master_.has_ended()) {
    const pid_t pid = master_.pid();
    master_.ended(now);
    slot.state.store(static_cast<std::uint32_t>(shm::DaemonState::exited));
    slot.restarts.fetch_add(1);
    slot.failed_starts.store(master_.failures());
    if (master_.restart_at() > now) slot.restart_at_ns.store(master_.restart_at());
    node::post_event(
        *ctl_, shm::DaemonId::watcher,
        {.kind = shm::EventKind::daemon_exited,
         .name = "hamon-master",
         .pid = pid,
         .detail = master_.restart_at() > now
                       ? std::to_string(master_.failures()) +
                             " failed starts in a row, next attempt in " +
                             std::to_string((master_.restart_at() - now) / 1'000'000) + "ms"
                       : "restarting it"});
  }
  if (master_.due(now)) {
    // The master it starts must find the segment by name (and `slot` may be in a new one).
    if (!tend_segment()) return false;
    shm::DaemonSlot& fresh_slot = ctl_->daemon(shm::DaemonId::master);
    if (spawn_master(true)) {
      fresh_slot.restart_at_ns.store(0);
      node::post_event(*ctl_, shm::DaemonId::watcher,
                       {.kind = shm::EventKind::daemon_started,
                        .name = "hamon-master",
                        .pid = master_.pid(),
                        .detail = "adopts the running node"});
    }
    return true;
  }
  if (master_.silent(slot, now)) {
    const std::uint64_t hb = slot.heartbeat_ns.load();
    node::post_event(*ctl_, shm::DaemonId::watcher,
                     {.kind = shm::EventKind::hung,
                      .name = "hamon-master",
                      .pid = master_.pid(),
                      .value = static_cast<std::int64_t>(now - hb),
                      .detail = "daemon silent"});
    master_.signal(SIGKILL);
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
  if (!master_.running() || master_.pidfd() < 0) return;
  master_.signal(SIGTERM);
  pollfd p{master_.pidfd(), POLLIN, 0};
  if (::poll(&p, 1, grace_ms) == 0) master_.signal(SIGKILL);
  if (master_.child()) ::waitpid(master_.pid(), nullptr, 0);
}

}  // namespace hamon::watcher
