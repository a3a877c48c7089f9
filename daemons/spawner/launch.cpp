#include "launch.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hamon/node/proc.hpp"

extern char** environ;

namespace hamon::spawner {
namespace {

// The soft limit on open files the spawner had before raise_fd_limit(), which its processes
// get; 0 while it was not raised.
rlim_t g_child_nofile = 0;

struct Argv {
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
  char** get() {
    ptrs.clear();
    for (auto& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
    return ptrs.data();
  }
};

Argv make_env(const engine::ProcessConfig& p, const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, static_cast<std::size_t>(eq - *e))] = eq + 1;
  }
  // The client's variables always describe this process, whatever the spawner inherited.
  for (auto it = env.begin(); it != env.end();) {
    it = it->first.rfind("HAMON_", 0) == 0 && it->first != "HAMON_RUNTIME_DIR" ? env.erase(it)
                                                                               : std::next(it);
  }
  for (const auto& [k, v] : p.env) env[k] = v;
  for (const auto& [k, v] : extra) env[k] = v;
  Argv out;
  for (const auto& [k, v] : env) out.storage.push_back(k + "=" + v);
  return out;
}

bool needs_fork(const engine::ProcessConfig& p) {
  const auto& l = p.limits;
  return p.user || p.unix_group || l.nofile || l.nproc || l.core || l.memlock;
}

// Runs in the forked child only: async-signal-safe calls, then exec. Never returns.
[[noreturn]] void exec_child(const engine::ProcessConfig& p, char** argv, char** envp, int log_fd,
                             int null_fd, uid_t uid, gid_t gid, bool set_ids, int report_fd) {
  auto fail = [&](int err) {
    (void)!::write(report_fd, &err, sizeof err);
    ::_exit(127);
  };
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::setsid() < 0) fail(errno);
  if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) fail(errno);
  if (g_child_nofile != 0) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      rl.rlim_cur = g_child_nofile;
      (void)::setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  auto limit = [&](int res, const std::optional<std::uint64_t>& v) {
    if (!v) return;
    rlimit rl{};
    rl.rlim_cur = rl.rlim_max = *v == engine::Limits::unlimited ? RLIM_INFINITY : *v;
    if (::setrlimit(res, &rl) != 0) fail(errno);
  };
  limit(RLIMIT_NOFILE, p.limits.nofile);
  limit(RLIMIT_NPROC, p.limits.nproc);
  limit(RLIMIT_CORE, p.limits.core);
  limit(RLIMIT_MEMLOCK, p.limits.memlock);
  if (p.working_dir && ::chdir(p.working_dir->c_str()) != 0) fail(errno);
  if (set_ids) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) fail(errno);
  }
  ::execvpe(argv[0], argv, envp);
  fail(errno);
  ::_exit(127);
}

pid_t launch_forked(const engine::ProcessConfig& p, char** argv, char** envp, int log_fd,
                    int null_fd) {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  const bool set_ids = p.user.has_value() || p.unix_group.has_value();
  if (p.user) {
    const passwd* pw = ::getpwnam(p.user->c_str());
    if (pw == nullptr) return -ENOENT;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  if (p.unix_group) {
    const group* gr = ::getgrnam(p.unix_group->c_str());
    if (gr == nullptr) return -ENOENT;
    gid = gr->gr_gid;
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return -errno;
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(report[0]);
    ::close(report[1]);
    return -e;
  }
  if (pid == 0) {
    ::close(report[0]);
    exec_child(p, argv, envp, log_fd, null_fd, uid, gid, set_ids, report[1]);
  }
  ::close(report[1]);
  int err = 0;
  const ssize_t n = ::read(report[0], &err, sizeof err);  // EOF: exec succeeded (CLOEXEC)
  ::close(report[0]);
  if (n == sizeof err) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return -err;
  }
  return pid;
}

// The spawner's soft limit on open files lowered to its processes' while one is spawned:
// posix_spawn has no attribute for it, and the parent waits (CLONE_VFORK) until the exec.
class ChildFdLimit {
 public:
  ChildFdLimit() {
    if (g_child_nofile != 0 && ::getrlimit(RLIMIT_NOFILE, &saved_) == 0) {
      rlimit child = saved_;
      child.rlim_cur = g_child_nofile;
      lowered_ = ::setrlimit(RLIMIT_NOFILE, &child) == 0;
    }
  }
  ~ChildFdLimit() {
    if (lowered_) (void)::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  ChildFdLimit(const ChildFdLimit&) = delete;
  ChildFdLimit& operator=(const ChildFdLimit&) = delete;

 private:
  rlimit saved_{};
  bool lowered_ = false;
};

}  // namespace

void raise_fd_limit() noexcept {
  rlimit rl{};
  if (g_child_nofile != 0 || ::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
    return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) == 0) g_child_nofile = before;
}

namespace {

pid_t launch_pid(const LaunchRequest& req) noexcept {
  try {
    const engine::ProcessConfig& p = *req.process;
    Argv argv;
    argv.storage = p.command;
    Argv envp = make_env(p, req.extra_env);

    const int log_fd =
        ::open(req.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log_fd < 0) return -errno;
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
      const int e = errno;
      ::close(log_fd);
      return -e;
    }
    pid_t pid = -1;
    if (needs_fork(p)) {
      pid = launch_forked(p, argv.get(), envp.get(), log_fd, null_fd);
    } else {
      posix_spawn_file_actions_t fa;
      posix_spawnattr_t attr;
      posix_spawn_file_actions_init(&fa);
      posix_spawnattr_init(&attr);
      posix_spawn_file_actions_adddup2(&fa, null_fd, 0);
      posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
      posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
      if (p.working_dir) posix_spawn_file_actions_addchdir_np(&fa, p.working_dir->c_str());
      sigset_t none, all;
      sigemptyset(&none);
      sigfillset(&all);
      sigdelset(&all, SIGKILL);
      sigdelset(&all, SIGSTOP);
      posix_spawnattr_setsigmask(&attr, &none);
      posix_spawnattr_setsigdefault(&attr, &all);
      posix_spawnattr_setflags(&attr,
                               POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
      int rc = 0;
      {
        const ChildFdLimit child_limit;
        rc = ::posix_spawnp(&pid, argv.storage[0].c_str(), &fa, &attr, argv.get(), envp.get());
      }
      posix_spawn_file_actions_destroy(&fa);
      posix_spawnattr_destroy(&attr);
      if (rc != 0) pid = -rc;
    }
    ::close(log_fd);
    ::close(null_fd);
    return pid;
  } catch (...) {
    return -ENOMEM;
  }
}

}  // namespace

pid_t launch(const LaunchRequest& req, int& pidfd) noexcept {
  pidfd = -1;
  const pid_t pid = launch_pid(req);
  if (pid <= 0) return pid;
  // Our child, not reaped yet: its pid cannot have been given to anyone else.
  const int fd = node::pidfd_open(pid);
  if (fd < 0) {
    // A process that could never be signalled safely is not kept: it is still ours and
    // unreaped, so its pid is its own here.
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return fd;
  }
  pidfd = fd;
  return pid;
}

}  // namespace hamon::spawner
