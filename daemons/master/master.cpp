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

#include "clock.hpp"
#include "daemon_slot.hpp"
#include "proc.hpp"

extern char** environ;

namespace hamon::master {

bool Master::create_segment(std::string& error) {
  const std::string name = node_.control_segment();
  if (auto old = shm::ControlSegment::attach(name, shm::Access::read_only)) {
    // A live master owns it: this node runs already. Otherwise it is left from a crash.
    const shm::DaemonSlot& m = old->daemon(shm::DaemonId::master);
    const auto pid = static_cast<pid_t>(m.pid.load());
    const std::uint64_t ticks = m.start_ticks.load();
    const int fd = pid > 0 ? daemons::pidfd_open_checked(pid, ticks) : -1;
    if (fd >= 0) {
      ::close(fd);
      error = "node " + node_.id + " of cluster " + node_.cluster() + " is already running (hamon-master pid " +
              std::to_string(pid) + ")";
      return false;
    }
  }
  remove_segments();  // stale: its owner is dead
  shm::ControlGeometry g;
  g.max_processes = std::max<std::uint32_t>(g.max_processes, static_cast<std::uint32_t>(node_.config.processes.size()));
  auto c = shm::ControlSegment::create(name, g, node_.cluster(), node_.id);
  if (!c) {
    error = c.error().message;
    return false;
  }
  ctl_.emplace(std::move(c).value());
  daemons::register_daemon(*ctl_, shm::DaemonId::master);
  return true;
}

void Master::remove_segments() {
  shm::Segment::remove(node_.control_segment());
  // Every group's heartbeat segment, those a reload added included: all names made by
  // heartbeat_segment(), found by their common prefix.
  const std::string prefix = node_.heartbeat_segment("");
  if (DIR* d = ::opendir("/dev/shm")) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.rfind(prefix, 0) == 0) shm::Segment::remove(name);
    }
    ::closedir(d);
  }
}

pid_t Master::spawn(Managed& d) {
  const std::string bin = daemons::self_dir() + "/" + d.binary;
  const std::string log = node_.log_dir() + "/" + d.binary + ".log";
  std::vector<std::string> args{bin, "--config", node_.config_path, "--node", node_.id};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, bin.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return -rc;
  return pid;
}

void Master::start_missing(std::uint64_t now) {
  for (auto& d : daemons_) {
    if (d.pid > 0) continue;
    const pid_t pid = spawn(d);
    if (pid < 0) {
      daemons::post_event(*ctl_, shm::DaemonId::master, shm::EventKind::daemon_exited, "",
                          d.binary, UINT32_MAX, 0, 0, -pid,
                          std::string("cannot start: ") + std::strerror(-pid));
      continue;
    }
    d.pid = pid;
    d.pidfd = daemons::pidfd_open(pid);
    d.started_ns = now;
    daemons::post_event(*ctl_, shm::DaemonId::master, shm::EventKind::daemon_started, "",
                        d.binary, UINT32_MAX, 0, pid, 0, "");
  }
}

std::array<int, 3> Master::pidfds() const {
  return {daemons_[0].pidfd, daemons_[1].pidfd, daemons_[2].pidfd};
}

int Master::reap(std::uint64_t now, bool restart) {
  int ended = 0;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    for (auto& d : daemons_) {
      if (d.pid != pid) continue;
      ++ended;
      if (d.pidfd >= 0) ::close(d.pidfd);
      d.pid = 0;
      d.pidfd = -1;
      ctl_->daemon(d.id).state.store(static_cast<std::uint32_t>(shm::DaemonState::exited));
      ctl_->daemon(d.id).restarts.fetch_add(restart ? 1 : 0);
      std::string why = WIFSIGNALED(status) ? std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status))
                                            : "exited with status " + std::to_string(WEXITSTATUS(status));
      daemons::post_event(*ctl_, shm::DaemonId::master, shm::EventKind::daemon_exited, "",
                          d.binary, UINT32_MAX, 0, pid, status, why);
    }
    // Anything else is an orphan that came to us as subreaper: reaped, so no zombie is left.
  }
  if (restart && ended > 0) start_missing(now);
  return ended;
}

void Master::shutdown(int grace_ms) {
  // The server first, so it stops deciding; the spawner last.
  for (int i = 2; i >= 0; --i) {
    if (daemons_[i].pid > 0) ::kill(daemons_[i].pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    reap(daemons::now_ns(), false);
    bool any = false;
    for (auto& d : daemons_) any |= d.pid > 0;
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& d : daemons_) {
    if (d.pid > 0) {
      ::kill(d.pid, SIGKILL);
      ::waitpid(d.pid, nullptr, 0);
      d.pid = 0;
    }
  }
  daemons::unregister_daemon(*ctl_, shm::DaemonId::master);
  remove_segments();
  ::unlink(node_.server_socket().c_str());
}

}  // namespace hamon::master
