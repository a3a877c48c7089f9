#include "master.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "hamon/node/clock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/daemon_spawn.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/node_processes.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/node/segment_links.hpp"

extern char** environ;

namespace hamon::master {

base::Status Master::open_segment(bool adopt) {
  const std::string name = node_.control_segment();
  // A segment whose name alone was removed is still the node's (segment_links.hpp).
  (void)node::restore_name(name);
  if (auto old = shm::ControlSegment::attach(name, shm::Access::read_write)) {
    // A live master owns it: this node runs already. Otherwise it is left from a crash, or
    // (adopt) from our predecessor, whose daemons and processes we take over.
    const shm::DaemonSlot& m = old->daemon(shm::DaemonId::master);
    const auto pid = static_cast<pid_t>(m.pid.load());
    if (node::still_runs(pid, m.start_ticks.load())) {
      return base::Error{base::Errc::exists, "node " + node_.id + " of cluster " + node_.cluster() +
                                                 " is already running (hamon-master pid " +
                                                 std::to_string(pid) + ")"};
    }
    if (adopt) {
      ctl_.emplace(std::move(old).value());
      to_spawner_.emplace(*ctl_, shm::ChannelId::master_to_spawner, shm::DaemonId::master);
      ctl_ino_ = node::mapped_inode(&ctl_->header()).value_or(0);
      // Its hidden name, if the master before us could not make it.
      if (ctl_ino_ != 0) (void)node::tend_links(name, ctl_ino_);
      node::register_daemon(*ctl_, shm::DaemonId::master);
      adopt_daemons();
      return base::ok();
    }
  }
  if (adopt) {  // a node to take over that is no more: nothing to restart
    return base::Error{base::Errc::missing, "no running node " + node_.id + " of cluster " +
                                                node_.cluster() + " to take over"};
  }
  // No segment tells of them, but processes of this node run: the segment was lost while no
  // master ran to make it again. Starting the node would run each of them a second time.
  if (const auto left = node::processes_by_environment(node_); !left.empty()) {
    std::string pids;
    for (pid_t p : left) pids.append(1, ' ').append(std::to_string(p));  // not " " + (GCC 12)
    return base::Error{base::Errc::refused,
                       std::to_string(left.size()) + " processes of node " + node_.id +
                           " still run but its control segment is gone (pids" + pids +
                           "): hamon cannot take them over without it; stop them, then start "
                           "the node"};
  }
  remove_segments();  // stale: its owner is dead
  const auto g =
      shm::ControlGeometry::sized_for(node_.config.processes.size(), node_.config.groups().size());
  auto c = shm::ControlSegment::create(name, g, node_.cluster(), node_.id);
  if (!c) return c.error();
  ctl_.emplace(std::move(c).value());
  to_spawner_.emplace(*ctl_, shm::ChannelId::master_to_spawner, shm::DaemonId::master);
  ctl_ino_ = node::mapped_inode(&ctl_->header()).value_or(0);
  if (ctl_ino_ != 0) (void)node::tend_links(name, ctl_ino_);  // its hidden name
  node::register_daemon(*ctl_, shm::DaemonId::master);
  return base::ok();
}

void Master::note(const std::string& detail) {
  node::post_event(*ctl_, shm::DaemonId::master,
                   {.kind = shm::EventKind::note, .name = "hamon-master", .detail = detail});
}

bool Master::tend_segment() {
  if (ctl_ino_ == 0) return segment_still_ours();  // no inode to go by: the old check
  const std::string path = shm::shm_path(node_.control_segment());
  auto links = node::tend_links(node_.control_segment(), ctl_ino_);
  if (!links) {
    if (links.error().message != segment_error_) note(links.error().message);
    segment_error_ = links.error().message;
    return true;
  }
  segment_error_.clear();
  switch (*links) {
    case node::Links::intact: return true;
    case node::Links::restored: note(path + " was removed; named again"); return true;
    case node::Links::replaced:
      if (segment_still_ours()) {  // this node's, made again by the watcher: take it up
        auto current =
            shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_write);
        if (!current) return true;
        ctl_.emplace(std::move(current).value());
        to_spawner_.emplace(*ctl_, shm::ChannelId::master_to_spawner, shm::DaemonId::master);
        ctl_ino_ = node::mapped_inode(&ctl_->header()).value_or(0);
        return true;
      }
      name_is_ours_ = false;
      return false;
    case node::Links::lost: break;
  }
  // Both names are gone: nothing could find the node — not the CLI, not a restarted daemon —
  // and a `hamon up` would start every process a second time. Our mapping is the node.
  auto fresh = node::rescue_control_segment(node_, *ctl_);
  if (!fresh) {
    if (fresh.error().message != segment_error_) note(fresh.error().message);
    segment_error_ = fresh.error().message;
    return true;
  }
  ctl_.emplace(std::move(fresh).value());
  to_spawner_.emplace(*ctl_, shm::ChannelId::master_to_spawner, shm::DaemonId::master);
  ctl_ino_ = node::mapped_inode(&ctl_->header()).value_or(0);
  note(path +
       " and its hidden name were removed; made again from hamon-master's mapping, the "
       "spawner, monitor and server restart to take it up");
  return true;
}

bool Master::segment_still_ours() const {
  auto now = shm::ControlSegment::attach(node_.control_segment(), shm::Access::read_only);
  return now && now->header().created_ns == ctl_->header().created_ns &&
         now->header().creator_pid == ctl_->header().creator_pid;
}

void Master::adopt_daemons() {
  for (auto& d : daemons_) adopt_running(d);
}

bool Master::adopt_running(node::DaemonWatch& d) {
  // Whoever holds the daemon's instance lock is the one live instance, whoever started it
  // (its slot may still name a predecessor if it had not registered yet).
  pid_t pid = node::instance_holder(node_, d.binary());
  int fd = pid > 0 ? node::pidfd_open(pid) : -1;
  if (pid <= 0) {
    // No lock file says so: it may have gone with the runtime directory, and its holder puts it
    // back within 100 ms. Until then its slot names it, checked against its start time.
    const shm::DaemonSlot& s = ctl_->daemon(d.id());
    if (s.state.load() == static_cast<std::uint32_t>(shm::DaemonState::exited)) return false;
    pid = static_cast<pid_t>(s.pid.load());
    fd = pid > 0 ? node::pidfd_open_checked(pid, s.start_ticks.load()) : -1;
  }
  if (fd < 0) return false;
  d.watch(pid, fd, false, node::now_ns());  // not our child: watched by pidfd only
  return true;
}

void Master::remove_segments() {
  shm::Segment::remove(node_.control_segment());
  node::remove_keep_link(node_.control_segment());
  // Every group's heartbeat segment, those a reload added included: all names made by
  // heartbeat_segment(), found by their common prefix, and their hidden names.
  const std::string prefix = node_.heartbeat_segment("");
  if (DIR* d = ::opendir("/dev/shm")) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind(prefix, 0) == 0) shm::Segment::remove(name);
      if (name.rfind("." + prefix, 0) == 0) node::remove_keep_link(name.substr(1));
    }
    ::closedir(d);
  }
}

void Master::tend_running_config() {
  if (const std::string said = running_.tend_and_say(); !said.empty()) note(said);
}

void Master::start_missing(std::uint64_t now) {
  bool tended = false;
  for (auto& d : daemons_) {
    if (d.running() || adopt_running(d)) continue;
    if (!d.due(now)) continue;  // held back after failed starts
    if (!tended) {              // what the daemon will read
      tend_running_config();
      tended = true;
    }
    const pid_t pid = node::spawn_daemon(node_, {d.binary()});
    if (pid < 0) {
      d.spawn_failed(now);
      shm::DaemonSlot& slot = ctl_->daemon(d.id());
      slot.failed_starts.store(d.failures());
      if (d.restart_at() > now) slot.restart_at_ns.store(d.restart_at());
      node::post_event(*ctl_, shm::DaemonId::master,
                       {.kind = shm::EventKind::daemon_exited,
                        .name = d.binary(),
                        .value = -pid,
                        .detail = std::string("cannot start: ") + std::strerror(-pid)});
      continue;
    }
    // Our child: its pid cannot be reused before we reap it.
    d.watch(pid, node::pidfd_open(pid), true, now);
    ctl_->daemon(d.id()).restart_at_ns.store(0);
    node::post_event(*ctl_, shm::DaemonId::master,
                     {.kind = shm::EventKind::daemon_started, .name = d.binary(), .pid = pid});
  }
}

std::array<int, 4> Master::pidfds() const {
  return {daemons_[0].pidfd(), daemons_[1].pidfd(), daemons_[2].pidfd(), watcher_pidfd_};
}

void Master::ended(node::DaemonWatch& d, int status, bool restart, std::uint64_t now) {
  const pid_t pid = d.pid();
  d.ended(now);
  shm::DaemonSlot& slot = ctl_->daemon(d.id());
  slot.state.store(static_cast<std::uint32_t>(shm::DaemonState::exited));
  slot.restarts.fetch_add(restart ? 1 : 0);
  slot.failed_starts.store(d.failures());
  std::string why = status == -1 ? "exited (it was not our child: status unknown)"
                    : WIFSIGNALED(status)
                        ? std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status))
                        : "exited with status " + std::to_string(WEXITSTATUS(status));
  if (restart && d.restart_at() > now) {
    // Failing to start: restarting it in a tight loop would only burn the CPU the node's
    // processes need and flood the event ring. It says so, and when it tries again.
    slot.restart_at_ns.store(d.restart_at());
    why += "; " + std::to_string(d.failures()) + " failed starts in a row, next attempt in " +
           std::to_string((d.restart_at() - now) / 1'000'000) + "ms (see " + node_.log_dir() + "/" +
           d.binary() + ".log)";
  }
  node::post_event(*ctl_, shm::DaemonId::master,
                   {.kind = shm::EventKind::daemon_exited,
                    .name = d.binary(),
                    .pid = pid,
                    .value = status,
                    .detail = why});
}

void Master::check(std::uint64_t now) {
  for (auto& d : daemons_) {
    // A daemon that stopped turning its loop is as good as dead: kill it; its end restarts it.
    if (d.silent(ctl_->daemon(d.id()), now)) {
      const std::uint64_t hb = ctl_->daemon(d.id()).heartbeat_ns.load();
      node::post_event(*ctl_, shm::DaemonId::master,
                       {.kind = shm::EventKind::hung,
                        .name = d.binary(),
                        .pid = d.pid(),
                        .value = static_cast<std::int64_t>(now - hb),
                        .detail = "daemon silent"});
      d.signal(SIGKILL);
    }
  }
  start_missing(now);
  watch_watcher(now);
}

void Master::watch_watcher(std::uint64_t now) {
  const shm::DaemonSlot& w = ctl_->daemon(shm::DaemonId::watcher);
  const auto pid = static_cast<pid_t>(w.pid.load());
  // No watcher on this node (hamon-master run by hand), or it was stopped on purpose.
  if (pid <= 0 || w.state.load() == static_cast<std::uint32_t>(shm::DaemonState::exited)) return;
  if (pid != watcher_pid_) {  // a (new) watcher registered: watch that one
    if (watcher_pidfd_ >= 0) ::close(watcher_pidfd_);
    watcher_pid_ = pid;
    watcher_pidfd_ = node::pidfd_open_checked(pid, w.start_ticks.load());
    watcher_spawned_ns_ = 0;
  }
  if (watcher_pidfd_ >= 0) {
    pollfd p{watcher_pidfd_, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) return;  // alive
    ::close(watcher_pidfd_);
    watcher_pidfd_ = -1;
  }
  // Gone. One replacement at a time: give it a second to register before trying again.
  if (watcher_spawned_ns_ != 0 && now < watcher_spawned_ns_ + 1'000'000'000) return;
  tend_running_config();
  const pid_t child = node::spawn_daemon(node_, {"hamon-watcher", true, true});
  if (child > 0) {
    watcher_spawned_ns_ = now;
    ctl_->daemon(shm::DaemonId::watcher).restarts.fetch_add(1);
    node::post_event(*ctl_, shm::DaemonId::master,
                     {.kind = shm::EventKind::daemon_started,
                      .name = "hamon-watcher",
                      .pid = child,
                      .detail = "restarted by hamon-master"});
  }
}

int Master::reap(std::uint64_t now, bool restart) {
  int count = 0;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    bool daemon = false;
    for (auto& d : daemons_) {
      if (d.pid() == pid && d.child()) {
        ended(d, status, restart, now);
        ++count;
        daemon = true;
      }
    }
    if (!daemon) {
      // An orphan that came to us as subreaper — a process whose spawner died: reaped, so no
      // zombie is left, and its exit status passed on to the spawner, which reports it.
      to_spawner_->send(shm::Message::orphan_exited(pid, status, now));
    }
  }
  to_spawner_->flush();
  // Daemons a previous master started are not our children: their pidfds say when they end.
  for (auto& d : daemons_) {
    if (!d.child() && d.has_ended()) {
      ended(d, -1, restart, now);
      ++count;
    }
  }
  if (restart && count > 0) start_missing(now);
  return count;
}

void Master::shutdown(int grace_ms) {
  // The server first, so it stops deciding; the spawner last.
  for (int i = 2; i >= 0; --i) daemons_[i].signal(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    reap(node::now_ns(), false);
    bool any = false;
    for (auto& d : daemons_) any |= d.running();
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& d : daemons_) {
    if (d.running()) {
      d.signal(SIGKILL);
      if (d.child()) ::waitpid(d.pid(), nullptr, 0);
      d.ended(node::now_ns());
    }
  }
  node::unregister_daemon(*ctl_, shm::DaemonId::master);
  if (name_is_ours_) {  // else they are another node's now
    remove_segments();
    ::unlink(node_.server_socket().c_str());
    ::unlink(running_.path().c_str());  // nothing runs it now
  }
}

}  // namespace hamon::master
