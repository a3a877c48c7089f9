#include "spawner.hpp"

#include <hamon/heartbeat_abi.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>

#include "hamon/node/apply_scheduling.hpp"
#include "hamon/node/config_file.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/node/process_cgroup.hpp"
#include "hamon/node/recorded_process.hpp"
#include "hamon/node/segment_links.hpp"
#include "launch.hpp"

namespace hamon::spawner {

namespace {

bool configured_realtime(const engine::ProcessConfig* pc) {
  if (pc == nullptr || !pc->scheduling.sched) return false;
  const engine::SchedPolicy p = pc->scheduling.sched->policy;
  return p == engine::SchedPolicy::fifo || p == engine::SchedPolicy::rr;
}

}  // namespace

using shm::ChannelId;
using shm::Message;
using shm::MessageKind;

Spawner::Spawner(const node::Node& node, const shm::ControlSegment& control)
    : node_(node),
      config_(node.config),
      ctl_(control),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      to_server_(control, ChannelId::spawner_to_server, shm::DaemonId::spawner),
      to_monitor_(control, ChannelId::spawner_to_monitor, shm::DaemonId::spawner),
      caps_(node.cluster(), node.id, [this](const std::string& tenant, const std::string& why) {
        node::post_event(ctl_, shm::DaemonId::spawner,
                         {.kind = shm::EventKind::alarm,
                          .group = tenant,
                          .detail = "cap not held, its processes run without it: " + why});
      }) {
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  // One pidfd per process, thousands of processes.
  raise_fd_limit();
  cgroup_dir_ = node::node_cgroup_dir(node.cluster(), node.id);
  if (cgroup_dir_.empty()) {
    disable_cgroups("no cgroup v2 hierarchy");
  } else if (const int rc = node::cgroup_make(cgroup_dir_); rc != 0) {
    disable_cgroups("cannot make " + cgroup_dir_ + ": " + std::strerror(-rc));
  }
}

void Spawner::disable_cgroups(const std::string& why) {
  cgroup_dir_.clear();
  caps_.uncontained();
  node::post_event(ctl_, shm::DaemonId::spawner,
                   {.kind = shm::EventKind::note,
                    .name = "hamon-spawner",
                    .detail = "processes are contained by their process group only (" + why +
                              "): a child that leaves its group outlives a stop"});
}

std::string Spawner::prepare_cgroup(const std::string& group, const std::string& name) {
  if (cgroup_dir_.empty()) return "";
  const std::string dir = node::process_cgroup(cgroup_dir_, group + "/" + name);
  if (const int rc = node::cgroup_make(dir); rc != 0) {
    disable_cgroups("cannot make " + dir + ": " + std::strerror(-rc));
    return "";
  }
  // Whatever a previous incarnation left there (a predecessor that died before ending it): it
  // must never run beside the new one. So too in its cgroup of the layout before the group level
  // (an incarnation adopted from an earlier version), which then goes.
  if (node::cgroup_populated(dir)) (void)node::cgroup_kill(dir);
  if (const std::string flat = node::flat_process_cgroup(cgroup_dir_, group + "/" + name);
      ::access(flat.c_str(), F_OK) == 0) {
    leftovers_.end_now(flat);
    const std::uint64_t now = node::now_ns();
    (void)leftovers_.add(flat, flat, -1, now, now);  // killed now, removed once empty
  }
  return dir;
}

std::string Spawner::leftovers_key(std::uint32_t slot, const std::string& cgroup) {
  return cgroup.empty() ? "#" + std::to_string(slot) : cgroup;
}

std::string Spawner::find_cgroup(std::uint32_t slot, pid_t pid) const {
  if (cgroup_dir_.empty()) return "";
  std::string group, name, segment;
  std::uint32_t hb_slot = 0;
  (void)process_for(slot, group, name, segment, hb_slot);
  if (group.empty() || name.empty()) return "";
  const std::string dir = node::find_process_cgroup(cgroup_dir_, group + "/" + name);
  if (dir.empty()) return "";
  // A process started outside it (by a spawner that had no cgroups) is reached through its
  // process group, as it was.
  const auto members = node::cgroup_members(dir);
  const bool member = std::find(members.begin(), members.end(), pid) != members.end();
  return member || node::start_ticks(pid) == std::nullopt ? dir : "";
}

void Spawner::leave(std::uint32_t slot, Child& c, int status, std::uint64_t now) {
  // A stop's grace goes on for what the leader left; anything else ends with the leader.
  const std::uint64_t kill_at = c.kill_at;
  const int left = leftovers_.add(leftovers_key(slot, c.cgroup), c.cgroup,
                                  std::exchange(c.pidfd, -1), kill_at, now);
  if (left == 0 || kill_at > now) return;
  std::string group, name, segment;
  std::uint32_t hb_slot = 0;
  (void)process_for(slot, group, name, segment, hb_slot);
  std::string detail = "its exit left behind " +
                       (left > 0 ? std::to_string(left) + (left == 1 ? " process" : " processes")
                                 : std::string("processes in its process group")) +
                       ": killed";
  if (status == 0) {
    detail +=
        " (a program that forks into the background and exits is not followed: run it in "
        "the foreground)";
  }
  node::post_event(ctl_, shm::DaemonId::spawner,
                   {.kind = shm::EventKind::note,
                    .group = group,
                    .name = name,
                    .slot = slot,
                    .incarnation = c.incarnation,
                    .pid = c.pid,
                    .value = left,
                    .detail = detail});
}

void Spawner::end_unclaimed_cgroups(std::uint64_t now) {
  if (cgroup_dir_.empty()) return;
  std::set<std::string> claimed;
  for (const auto& [slot, c] : children_) claimed.insert(c.cgroup);
  // Each process's cgroup: below its group's, or (made by a version before the group level)
  // directly in the node's. A group's own cgroup stays: it holds the group's caps.
  std::vector<std::string> leaves;
  for (const auto& child : node::cgroup_children(cgroup_dir_)) {
    const std::string dir = cgroup_dir_ + "/" + child;
    if (!node::is_group_cgroup(child)) {
      leaves.push_back(dir);
      continue;
    }
    for (const auto& leaf : node::cgroup_children(dir)) leaves.push_back(dir + "/" + leaf);
  }
  for (const std::string& dir : leaves) {
    if (claimed.count(dir) != 0) continue;
    // A process adopted without its cgroup (its identity line could not be read) is never
    // ended for it: it claims the cgroup it is in.
    bool holds_a_child = false;
    for (const pid_t pid : node::cgroup_members(dir)) {
      const auto p = by_pid_.find(pid);
      const auto c = p == by_pid_.end() ? children_.end() : children_.find(p->second);
      if (c == children_.end() || c->second.pid != pid) continue;
      c->second.cgroup = dir;
      holds_a_child = true;
    }
    if (!holds_a_child) (void)leftovers_.add(dir, dir, -1, now, now);
  }
}

Spawner::~Spawner() {
  for (auto& [slot, c] : children_) {
    if (c.pidfd >= 0) ::close(c.pidfd);
  }
  ::close(epoll_fd_);
  // Only what no process has a cgroup in (rmdir refuses then): nothing of a node that has
  // processes is removed by a spawner's exit. A group's cgroup holds its caps on v2: a successor
  // makes it again, with them, at the group's next start.
  if (!cgroup_dir_.empty()) {
    try {
      for (const auto& child : node::cgroup_children(cgroup_dir_)) {
        if (node::is_group_cgroup(child)) (void)node::cgroup_remove(cgroup_dir_ + "/" + child);
      }
    } catch (const std::bad_alloc&) {
      return;  // the node's cgroup stays: harmless, `hamon down` removes it
    }
    if (node::cgroup_remove(cgroup_dir_) == 0) {
      (void)node::cgroup_remove(cgroup_dir_.substr(0, cgroup_dir_.rfind('/')));
    }
  }
}

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
    std::string group, name, segment;
    std::uint32_t hb_slot = 0;
    c.realtime = configured_realtime(process_for(s, group, name, segment, hb_slot));
    if (r.pid == 0) {
      // The previous spawner died in the middle of this start: the process may or may not
      // exist. Give an exec in flight a moment, then look for it by the identity it was given.
      if (!waited) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        waited = true;
      }
      c.pid = segment.empty() ? 0 : node::find_started(segment, hb_slot, r.incarnation);
      if (c.pid == 0) {  // never started: finish the predecessor's work, as it was asked
        start(s, r.incarnation, node::now_ns());
        continue;
      }
      r.pid = c.pid;
      r.start_ticks = node::start_ticks(c.pid).value_or(0);
      ctl_.process(s).spawn.write(r);
      announce_started(s, r.incarnation, c.pid, r.start_ticks, node::now_ns());
    }
    // Still the same process if its pidfd checks out against its start time; from here on
    // the pidfd, never the pid, names it.
    c.pidfd = node::pidfd_open_checked(c.pid, r.start_ticks);
    c.cgroup = find_cgroup(s, c.pid);
    if (c.pidfd == -ESRCH) {  // ended while no spawner ran: the master reaped it, kept its status
      auto st = orphan_status_.find(c.pid);
      const int status = st == orphan_status_.end() ? -1 : st->second;
      report_exit(s, c, status, node::now_ns());
      if (st != orphan_status_.end()) orphan_status_.erase(st);
      c.pidfd = -1;
      leave(s, c, status, node::now_ns());
      continue;
    }
    // Not our child any more (the previous spawner was its parent): its pidfd says when it ends.
    c.adopted = true;
    epoll_event ev{};
    ev.events = EPOLLIN;
    // By slot, not pid: the pid may be given to one of our new children before we hear of
    // this one's end.
    ev.data.u64 = (std::uint64_t{s} << 32) | static_cast<std::uint32_t>(c.pidfd);
    if (c.pidfd < 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.pidfd, &ev) != 0) {
      // Out of descriptors, say: it runs, but can be neither watched nor signalled from here.
      // Reporting it ended would start a second copy beside it.
      const int err = c.pidfd < 0 ? -c.pidfd : errno;
      node::post_event(
          ctl_, shm::DaemonId::spawner,
          {.kind = shm::EventKind::note,
           .slot = s,
           .incarnation = r.incarnation,
           .pid = c.pid,
           .value = err,
           .detail = std::string("cannot watch an adopted process: ") + std::strerror(err)});
    }
    by_pid_[c.pid] = s;
    children_[s] = c;
  }
  end_unclaimed_cgroups(node::now_ns());
}

bool Spawner::has_messages() const {
  return ctl_.channel(ChannelId::server_to_spawner).size() > 0 ||
         ctl_.channel(ChannelId::monitor_to_spawner).size() > 0 ||
         ctl_.channel(ChannelId::master_to_spawner).size() > 0;
}

int Spawner::do_work(std::uint64_t now) {
  last_now_ = now;
  int work = flush_outbox();
  // A bounded batch, taken in turn from each channel: a burst of starts from one sender
  // neither silences the loop's heartbeat nor keeps the others waiting.
  constexpr std::array<ChannelId, 3> inputs{
      ChannelId::master_to_spawner, ChannelId::server_to_spawner, ChannelId::monitor_to_spawner};
  std::size_t handled = 0;
  for (bool more = true; more && handled < kRequestsPerTurn;) {
    more = false;
    for (std::size_t k = 0; k < inputs.size() && handled < kRequestsPerTurn; ++k) {
      Message m;
      if (!ctl_.channel(inputs[(next_channel_ + k) % inputs.size()]).pop(m)) continue;
      handle(m, now);
      ++handled;
      more = true;
    }
  }
  next_channel_ = (next_channel_ + 1) % inputs.size();
  work += static_cast<int>(handled);
  if (sigchld_) {
    sigchld_ = false;
    work += reap(now);
  }
  work += watch_adopted(now);
  work += leftovers_.do_work(now);
  while (!kill_deadlines_.empty() && kill_deadlines_.begin()->first <= now) {
    const std::uint32_t slot = kill_deadlines_.begin()->second;
    kill_deadlines_.erase(kill_deadlines_.begin());
    auto it = children_.find(slot);
    if (it == children_.end()) continue;
    it->second.kill_at = 0;
    signal_child(it->second, SIGKILL);
    ++work;
  }
  return work;
}

std::uint64_t Spawner::next_deadline() const {
  std::uint64_t t = kill_deadlines_.empty() ? UINT64_MAX : kill_deadlines_.begin()->first;
  t = std::min(t, leftovers_.next_deadline());
  for (std::uint32_t slot : ending_) {
    const auto it = children_.find(slot);
    if (it != children_.end()) t = std::min(t, it->second.ended_seen_ns + kOrphanStatusWait);
  }
  // Nobody rings us when a channel has room again: look soon.
  if (to_server_.backlog() + to_monitor_.backlog() > 0) t = std::min(t, last_now_ + kOutboxRetry);
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
      // The running copy the server has just replaced (running_config.hpp), never the
      // operator's file: what the server validated is what is started.
      if (auto r = node::load_config_file(node_.config_path); r.config) {
        config_ = std::move(*r.config);
        caps_.reload(config_);
      } else {
        node::post_event(ctl_, shm::DaemonId::spawner,
                         {.kind = shm::EventKind::note,
                          .name = "hamon-spawner",
                          .detail = "reload: keeps the configuration it had: " +
                                    (r.errors.empty() ? std::string("?") : r.errors.front())});
      }
      break;
    case MessageKind::stop:
      if (it != children_.end() && it->second.incarnation == m.incarnation) {
        signal_child(it->second, SIGTERM);
        set_kill_deadline(m.slot, it->second, now + m.arg);
      }
      break;
    case MessageKind::kill:
      if (it != children_.end() && it->second.incarnation == m.incarnation) {
        signal_child(it->second, SIGKILL);
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
    signal_child(it->second, SIGKILL);
    forget(slot, it->second);
    children_.erase(it);
  }
  std::string group, name, segment;
  std::uint32_t hb_slot = 0;
  const engine::ProcessConfig* pc = process_for(slot, group, name, segment, hb_slot);
  if (pc == nullptr) {
    send(ChannelId::spawner_to_server, Message::start_failed(slot, inc, ENOENT, now));
    return;
  }
  std::string cgroup = prepare_cgroup(group, name);
  // What the previous incarnation left, still in its stop's grace: it ends now, before the new
  // one runs.
  leftovers_.end_now(leftovers_key(slot, cgroup));
  spawner::LaunchRequest req{pc,
                             {{HAMON_ENV_SEGMENT, "/" + segment},
                              {HAMON_ENV_SLOT, std::to_string(hb_slot)},
                              {HAMON_ENV_INCARNATION, std::to_string(inc)},
                              {HAMON_ENV_INTERVAL_NS, std::to_string(pc->interval.count())}},
                             node_.log_dir() + "/" + group + "." + name + ".log"};
  // An instance of a process with spares parks in hamon_park() until the monitor promotes it.
  if (!pc->family().empty()) req.extra_env[HAMON_ENV_PARK] = "1";
  const engine::TenantConfig* tenant = config_.find_tenant(group);
  if (tenant != nullptr) req.join_fds = caps_.join_fds(*tenant, configured_realtime(pc));
  // What the start needs that may have been removed under a running node: the log directory,
  // and the name by which the process finds its heartbeat segment (segment_links.hpp).
  if (::access(node_.log_dir().c_str(), F_OK) != 0) (void)node::make_dirs(node_.log_dir(), 0750);
  (void)node::restore_name(segment);
  // Recorded before the launch: a spawner that dies between the two leaves a start in progress
  // (pid 0) that its successor resolves, instead of a process nobody knows.
  ctl_.process(slot).spawn.write({inc, 0, now, 0, 0, 0});
  req.cgroup_fd = cgroup.empty() ? -1 : ::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  Launched launched = launch(req);
  if (launched.pid < 0 && launched.failed_at != nullptr &&
      std::strcmp(launched.failed_at, "caps") == 0) {
    // Its tenant's cgroup refused it (removed under us, say): it runs without the caps, now.
    caps_.give_up(
        group, std::string("a process could not join its cgroup: ") + std::strerror(-launched.pid));
    req.join_fds.clear();
    launched = launch(req);
  }
  if (req.cgroup_fd >= 0) ::close(req.cgroup_fd);
  const pid_t pid = launched.pid;
  if (pid > 0 && !cgroup.empty() && !launched.contained) {
    disable_cgroups("the kernel does not start a process in " + cgroup);
    cgroup.clear();
  }
  if (pid < 0) {
    ctl_.process(slot).spawn.write({inc, 0, now, node::now_ns(), 0, -1});
    send(ChannelId::spawner_to_server, Message::start_failed(slot, inc, -pid, now));
    node::post_event(
        ctl_, shm::DaemonId::spawner,
        {.kind = shm::EventKind::exited,
         .group = group,
         .name = name,
         .slot = slot,
         .incarnation = inc,
         .value = -pid,
         .detail = std::string("cannot start: ") +
                   (launched.failed_at != nullptr ? std::string(launched.failed_at) + ": "
                                                  : std::string()) +
                   std::strerror(-pid)});
    return;
  }
  const std::uint64_t ticks = node::start_ticks(pid).value_or(0);
  ctl_.process(slot).spawn.write({inc, ticks, now, 0, pid, 0});
  children_[slot] = Child{pid, inc, 0, false, launched.pidfd, 0, cgroup, configured_realtime(pc)};
  by_pid_[pid] = slot;
  announce_started(slot, inc, pid, ticks, now);
  node::post_event(ctl_, shm::DaemonId::spawner,
                   {.kind = shm::EventKind::spawned,
                    .group = group,
                    .name = name,
                    .slot = slot,
                    .incarnation = inc,
                    .pid = pid});
}

void Spawner::announce_started(std::uint32_t slot, std::uint64_t inc, pid_t pid,
                               std::uint64_t ticks, std::uint64_t now) {
  const Message out = Message::started(slot, inc, pid, ticks, now);
  send(ChannelId::spawner_to_monitor, out);
  send(ChannelId::spawner_to_server, out);
}

void Spawner::signal_child(const Child& c, int sig) {
  if (c.realtime && (sig == SIGKILL || sig == SIGTERM)) {
    // Being ended, it needs its real-time priority no more, and its exit (the kernel tearing
    // down its memory) must not hold its CPU from the beaters of that priority that stay. Its
    // pid names it while it is our unreaped child, or while its pidfd says it runs.
    pollfd alive{c.pidfd, POLLIN, 0};
    if (c.pid > 0 && (!c.adopted || (c.pidfd >= 0 && ::poll(&alive, 1, 0) == 0))) {
      node::drop_realtime(c.pid);
    }
  }
  // Its cgroup holds all it forked, whatever session or group they made for themselves.
  if (!c.cgroup.empty()) {
    const int rc =
        sig == SIGKILL ? node::cgroup_kill(c.cgroup) : node::cgroup_signal(c.cgroup, sig);
    if (rc == 0) return;
  }
  if (c.pidfd < 0) return;  // never by a bare pid: it may name someone else by now
  // The whole group (a process's own children go with it), named by the pidfd.
  int rc = node::pidfd_signal_group(c.pidfd, sig);
  if (rc == -EINVAL) {
    // Before Linux 6.9 a group can only be named by its number, which is safe while its leader
    // holds it: always for our own children (only we reap them, and we have not); for an
    // adopted one, while its pidfd says it runs. Between that look and kill() it could end, be
    // reaped by the master and its pid be given to a new group leader: the one window left, and
    // only on those kernels.
    pollfd p{c.pidfd, POLLIN, 0};
    const bool leader_holds_it = !c.adopted || ::poll(&p, 1, 0) == 0;
    rc = leader_holds_it && ::kill(-c.pid, sig) == 0 ? 0 : -ESRCH;
  }
  if (rc != 0) (void)node::pidfd_signal(c.pidfd, sig);
}

void Spawner::set_kill_deadline(std::uint32_t slot, Child& c, std::uint64_t at) {
  if (c.kill_at != 0) return;  // a second stop does not postpone the first one's SIGKILL
  c.kill_at = at;
  kill_deadlines_.emplace(at, slot);
}

void Spawner::forget(std::uint32_t slot, Child& c) {
  if (c.kill_at != 0) kill_deadlines_.erase({c.kill_at, slot});
  if (c.pidfd >= 0) {
    if (c.adopted) (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.pidfd, nullptr);
    ::close(c.pidfd);
    c.pidfd = -1;
  }
  auto p = by_pid_.find(c.pid);
  if (p != by_pid_.end() && p->second == slot) by_pid_.erase(p);
  ending_.erase(slot);
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
    auto c = children_.find(slot);
    if (c != children_.end() && c->second.pid == pid && !c->second.adopted) {
      report_exit(slot, c->second, status, now);
      leave(slot, c->second, status, now);
      forget(slot, c->second);
      children_.erase(c);
    } else {
      by_pid_.erase(it);
    }
  }
  return n;
}

int Spawner::watch_adopted(std::uint64_t now) {
  // Adopted processes are not our children: their pidfds, in one epoll set, say when they end.
  // One system call a turn, however many there are.
  std::array<epoll_event, 64> ev;
  const int ready = ::epoll_wait(epoll_fd_, ev.data(), static_cast<int>(ev.size()), 0);
  for (int i = 0; i < ready; ++i) {
    const std::uint64_t data = ev[static_cast<std::size_t>(i)].data.u64;
    const auto slot = static_cast<std::uint32_t>(data >> 32);
    const auto pidfd = static_cast<int>(static_cast<std::uint32_t>(data));
    (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, pidfd, nullptr);  // it ends once
    auto c = children_.find(slot);
    if (c == children_.end() || !c->second.adopted || c->second.pidfd != pidfd) continue;
    c->second.ended_seen_ns = now;
    ending_.insert(slot);
  }
  int n = 0;
  for (auto s = ending_.begin(); s != ending_.end();) {
    const std::uint32_t slot = *s++;
    auto c = children_.find(slot);
    if (c == children_.end()) {
      ending_.erase(slot);
      continue;
    }
    // Its parent now is the master, which reaps it and sends us the status: wait a moment for
    // it before reporting the exit without one.
    const auto st = orphan_status_.find(c->second.pid);
    if (st == orphan_status_.end() && now < c->second.ended_seen_ns + kOrphanStatusWait) continue;
    const int status = st == orphan_status_.end() ? -1 : st->second;
    report_exit(slot, c->second, status, now);
    if (st != orphan_status_.end()) orphan_status_.erase(st);
    leave(slot, c->second, status, now);
    forget(slot, c->second);
    children_.erase(c);
    ++n;
  }
  return n;
}

void Spawner::send(ChannelId id, const Message& m) {
  (id == ChannelId::spawner_to_monitor ? to_monitor_ : to_server_).send(m);
}

int Spawner::flush_outbox() { return static_cast<int>(to_server_.flush() + to_monitor_.flush()); }

void Spawner::report_exit(std::uint32_t slot, const Child& c, int status, std::uint64_t now) {
  shm::SpawnRecord r{};
  (void)ctl_.process(slot).spawn.read(r);
  if (r.incarnation == c.incarnation) {
    r.exited_ns = now;
    r.wait_status = status;
    ctl_.process(slot).spawn.write(r);
  }
  const Message out = Message::exited(slot, c.incarnation, c.pid, status, now);
  send(ChannelId::spawner_to_server, out);
  std::string detail;
  if (status == -1) {
    detail = "exited (status unknown)";
  } else if (WIFEXITED(status)) {
    detail = "exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    detail = std::string("killed by SIG") +
             (sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
  }
  shm::ProcessIdentity id{};
  shm::GroupInfo g{};
  std::string group, name;
  if (ctl_.process(slot).identity.read(id) && id.group < ctl_.max_groups() &&
      ctl_.group(id.group).info.read(g)) {
    group.assign(g.name, strnlen(g.name, sizeof g.name));
    name.assign(id.name, strnlen(id.name, sizeof id.name));
  }
  node::post_event(ctl_, shm::DaemonId::spawner,
                   {.kind = shm::EventKind::exited,
                    .group = group,
                    .name = name,
                    .slot = slot,
                    .incarnation = c.incarnation,
                    .pid = c.pid,
                    .value = status,
                    .detail = detail});
}

}  // namespace hamon::spawner
