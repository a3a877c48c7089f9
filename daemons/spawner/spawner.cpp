#include "spawner.hpp"

#include <hamon/heartbeat_abi.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include "hamon/node/config_file.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "launch.hpp"
#include "hamon/node/proc.hpp"

namespace hamon::spawner {

using shm::ChannelId;
using shm::Message;
using shm::MessageKind;

Spawner::Spawner(const node::Node& node, const shm::ControlSegment& control)
    : node_(node), config_(node.config), ctl_(control) {}

namespace {

// The process whose environment says it is `incarnation` of heartbeat slot `hb_slot` in
// `segment`: a start a dead spawner made but could not record. 0 if there is none.
pid_t find_started(const std::string& segment, std::uint32_t hb_slot, std::uint64_t incarnation) {
  const std::string want_seg = std::string(HAMON_ENV_SEGMENT) + "=/" + segment;
  const std::string want_slot = std::string(HAMON_ENV_SLOT) + "=" + std::to_string(hb_slot);
  const std::string want_inc = std::string(HAMON_ENV_INCARNATION) + "=" + std::to_string(incarnation);
  pid_t found = 0;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return 0;
  while (const dirent* e = ::readdir(d)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::string env;
    if (node::read_whole_file("/proc/" + std::to_string(pid) + "/environ", env) != 0) continue;
    int hits = 0;
    std::size_t at = 0;
    while (at < env.size()) {
      const std::size_t end = env.find('\0', at);
      const std::string_view kv(env.data() + at, (end == std::string::npos ? env.size() : end) - at);
      hits += kv == want_seg || kv == want_slot || kv == want_inc;
      if (end == std::string::npos) break;
      at = end + 1;
    }
    if (hits == 3) {
      found = pid;
      break;
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace

void Spawner::adopt() {
  // Exit statuses the master collected while no spawner ran come first.
  Message m;
  while (ctl_.channel(ChannelId::master_to_spawner).pop(m)) handle(m, node::now_ns());
  bool waited = false;
  for (std::uint32_t s = 0; s < ctl_.max_processes(); ++s) {
    shm::SpawnRecord r{};
    if (!ctl_.process(s).spawn.read(r) || r.exited_ns != 0 || r.incarnation == 0) continue;
    Child c;
    c.pid = r.pid;
    c.incarnation = r.incarnation;
    if (r.pid == 0) {
      // The previous spawner died in the middle of this start: the process may or may not
      // exist. Give an exec in flight a moment, then look for it by the identity it was given.
      if (!waited) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        waited = true;
      }
      std::string group, name, segment;
      std::uint32_t hb_slot = 0;
      (void)process_for(s, group, name, segment, hb_slot);
      c.pid = segment.empty() ? 0 : find_started(segment, hb_slot, r.incarnation);
      if (c.pid == 0) {  // never started: finish the predecessor's work, as it was asked
        start(s, r.incarnation, node::now_ns());
        continue;
      }
      r.pid = c.pid;
      r.start_ticks = node::start_ticks(c.pid).value_or(0);
      ctl_.process(s).spawn.write(r);
      announce_started(s, r.incarnation, c.pid, r.start_ticks, node::now_ns());
    }
    // Still the same process if its pidfd checks out against its start time.
    c.pidfd = node::pidfd_open_checked(c.pid, r.start_ticks);
    if (c.pidfd < 0) {  // ended while no spawner ran: the master reaped it and kept its status
      auto st = orphan_status_.find(c.pid);
      report_exit(s, c, st == orphan_status_.end() ? -1 : st->second, node::now_ns());
      if (st != orphan_status_.end()) orphan_status_.erase(st);
      continue;
    }
    // Not our child any more (the previous spawner was its parent): its pidfd says when it ends.
    c.adopted = true;
    by_pid_[c.pid] = s;
    children_[s] = c;
  }
}

bool Spawner::has_messages() const {
  return ctl_.channel(ChannelId::server_to_spawner).size() > 0 ||
         ctl_.channel(ChannelId::monitor_to_spawner).size() > 0 ||
         ctl_.channel(ChannelId::master_to_spawner).size() > 0;
}

int Spawner::do_work(std::uint64_t now) {
  int work = 0;
  Message m;
  for (ChannelId id : {ChannelId::master_to_spawner, ChannelId::server_to_spawner,
                       ChannelId::monitor_to_spawner}) {
    while (ctl_.channel(id).pop(m)) {
      handle(m, now);
      ++work;
    }
  }
  if (sigchld_) {
    sigchld_ = false;
    work += reap(now);
  }
  for (auto& [slot, c] : children_) {
    if (c.kill_at != 0 && now >= c.kill_at) {
      c.kill_at = 0;
      signal_child(slot, c, SIGKILL);
      ++work;
    }
    if (c.adopted && c.pidfd >= 0) {
      pollfd p{c.pidfd, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) sigchld_ = true;  // picked up by reap() next turn
    }
  }
  return work;
}

std::uint64_t Spawner::next_deadline() const {
  std::uint64_t t = UINT64_MAX;
  for (const auto& [slot, c] : children_) {
    if (c.kill_at != 0) t = std::min(t, c.kill_at);
  }
  return t;
}

void Spawner::handle(const Message& m, std::uint64_t now) {
  if (m.kind == MessageKind::exited) {  // from the master: the status of an orphan it reaped
    orphan_status_[m.pid] = m.status;
    return;
  }
  if (m.slot >= ctl_.max_processes()) return;  // never trust an index (reload names slot 0)
  auto it = children_.find(m.slot);
  switch (m.kind) {
    case MessageKind::start: start(m.slot, m.incarnation, now); break;
    case MessageKind::reload:
      if (auto r = node::load_config_file(node_.config_path); r.config) config_ = std::move(*r.config);
      break;
    case MessageKind::stop:
      if (it != children_.end() && it->second.incarnation == m.incarnation) {
        signal_child(m.slot, it->second, SIGTERM);
        if (it->second.kill_at == 0) it->second.kill_at = now + m.arg;
      }
      break;
    case MessageKind::kill:
      if (it != children_.end() && it->second.incarnation == m.incarnation) {
        signal_child(m.slot, it->second, SIGKILL);
      }
      break;
    default: break;
  }
}

const engine::ProcessConfig* Spawner::process_for(std::uint32_t slot, std::string& group,
                                                  std::string& name, std::string& segment,
                                                  std::uint32_t& hb_slot) const {
  shm::ProcessIdentity id{};
  if (!ctl_.process(slot).identity.read(id) || id.group >= ctl_.max_groups()) return nullptr;
  shm::GroupInfo g{};
  if (!ctl_.group(id.group).info.read(g)) return nullptr;
  group.assign(g.name, strnlen(g.name, sizeof g.name));
  name.assign(id.name, strnlen(id.name, sizeof id.name));
  segment.assign(g.heartbeat_segment, strnlen(g.heartbeat_segment, sizeof g.heartbeat_segment));
  hb_slot = id.hb_slot;
  return config_.find_process(group + "/" + name);
}

void Spawner::start(std::uint32_t slot, std::uint64_t inc, std::uint64_t now) {
  auto it = children_.find(slot);
  if (it != children_.end()) {
    if (it->second.incarnation >= inc) return;  // a duplicate or stale request
    // An older incarnation still runs: it must never run beside its replacement.
    signal_child(slot, it->second, SIGKILL);
  }
  std::string group, name, segment;
  std::uint32_t hb_slot = 0;
  const engine::ProcessConfig* pc = process_for(slot, group, name, segment, hb_slot);
  Message out;
  out.slot = slot;
  out.incarnation = inc;
  out.t_ns = now;
  if (pc == nullptr) {
    out.kind = MessageKind::start_failed;
    out.status = ENOENT;
    (void)ctl_.send(ChannelId::spawner_to_server, out);
    return;
  }
  spawner::LaunchRequest req{pc,
                             {{HAMON_ENV_SEGMENT, "/" + segment},
                              {HAMON_ENV_SLOT, std::to_string(hb_slot)},
                              {HAMON_ENV_INCARNATION, std::to_string(inc)},
                              {HAMON_ENV_INTERVAL_NS, std::to_string(pc->interval.count())}},
                             node_.log_dir() + "/" + group + "." + name + ".log"};
  // Recorded before the launch: a spawner that dies between the two leaves a start in progress
  // (pid 0) that its successor resolves, instead of a process nobody knows.
  ctl_.process(slot).spawn.write({inc, 0, now, 0, 0, 0});
  const pid_t pid = launch(req);
  if (pid < 0) {
    ctl_.process(slot).spawn.write({inc, 0, now, node::now_ns(), 0, -1});
    out.kind = MessageKind::start_failed;
    out.status = -pid;
    (void)ctl_.send(ChannelId::spawner_to_server, out);
    node::post_event(ctl_, shm::DaemonId::spawner, shm::EventKind::exited, group, name, slot,
                        inc, 0, -pid, std::string("cannot start: ") + std::strerror(-pid));
    return;
  }
  const std::uint64_t ticks = node::start_ticks(pid).value_or(0);
  ctl_.process(slot).spawn.write({inc, ticks, now, 0, pid, 0});
  children_[slot] = Child{pid, inc, 0, false, -1};
  by_pid_[pid] = slot;
  announce_started(slot, inc, pid, ticks, now);
  node::post_event(ctl_, shm::DaemonId::spawner, shm::EventKind::spawned, group, name, slot,
                      inc, pid, 0, "");
}

void Spawner::announce_started(std::uint32_t slot, std::uint64_t inc, pid_t pid,
                               std::uint64_t ticks, std::uint64_t now) {
  Message out;
  out.kind = MessageKind::started;
  out.slot = slot;
  out.incarnation = inc;
  out.pid = pid;
  out.arg = ticks;
  out.t_ns = now;
  (void)ctl_.send(ChannelId::spawner_to_monitor, out);
  (void)ctl_.send(ChannelId::spawner_to_server, out);
}

void Spawner::signal_child(std::uint32_t, Child& c, int sig) {
  // The whole session: a process's own children go with it.
  if (::kill(-c.pid, sig) != 0) ::kill(c.pid, sig);
}

int Spawner::reap(std::uint64_t now) {
  int n = 0;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    ++n;
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) continue;  // an orphan reparented to us: reaped, nothing to report
    const std::uint32_t slot = it->second;
    by_pid_.erase(it);
    auto c = children_.find(slot);
    if (c != children_.end() && c->second.pid == pid) {
      report_exit(slot, c->second, status, now);
      if (c->second.pidfd >= 0) ::close(c->second.pidfd);
      children_.erase(c);
    }
  }
  // Adopted processes that are not our children: their pidfds tell when they end.
  for (auto it = children_.begin(); it != children_.end();) {
    Child& c = it->second;
    pollfd p{c.pidfd, POLLIN, 0};
    if (c.adopted && c.pidfd >= 0 && ::poll(&p, 1, 0) > 0) {
      // Its parent now is the master, which reaps it and sends us the status: wait a moment
      // for it before reporting the exit without one.
      auto st = orphan_status_.find(c.pid);
      if (st == orphan_status_.end()) {
        if (c.ended_seen_ns == 0) c.ended_seen_ns = now;
        if (now < c.ended_seen_ns + 50'000'000) {
          sigchld_ = true;  // look again next turn
          ++it;
          continue;
        }
      }
      report_exit(it->first, c, st == orphan_status_.end() ? -1 : st->second, now);
      if (st != orphan_status_.end()) orphan_status_.erase(st);
      ::close(c.pidfd);
      by_pid_.erase(c.pid);
      it = children_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

void Spawner::report_exit(std::uint32_t slot, const Child& c, int status, std::uint64_t now) {
  shm::SpawnRecord r{};
  (void)ctl_.process(slot).spawn.read(r);
  if (r.incarnation == c.incarnation) {
    r.exited_ns = now;
    r.wait_status = status;
    ctl_.process(slot).spawn.write(r);
  }
  Message out;
  out.kind = MessageKind::exited;
  out.slot = slot;
  out.incarnation = c.incarnation;
  out.pid = c.pid;
  out.status = status;
  out.t_ns = now;
  (void)ctl_.send(ChannelId::spawner_to_server, out);
  std::string detail;
  if (status == -1) {
    detail = "exited (status unknown)";
  } else if (WIFEXITED(status)) {
    detail = "exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    detail = std::string("killed by SIG") + (sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
  }
  shm::ProcessIdentity id{};
  shm::GroupInfo g{};
  std::string group, name;
  if (ctl_.process(slot).identity.read(id) && id.group < ctl_.max_groups() &&
      ctl_.group(id.group).info.read(g)) {
    group.assign(g.name, strnlen(g.name, sizeof g.name));
    name.assign(id.name, strnlen(id.name, sizeof id.name));
  }
  node::post_event(ctl_, shm::DaemonId::spawner, shm::EventKind::exited, group, name, slot,
                      c.incarnation, c.pid, status, detail);
}

}  // namespace hamon::spawner
