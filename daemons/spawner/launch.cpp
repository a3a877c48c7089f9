#include "launch.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "hamon/node/apply_scheduling.hpp"
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
  return p.user || p.unix_group || l.nofile || l.nproc || l.core || l.memlock ||
         p.scheduling.any() || node::scheduling_before_daemon_settings().any();
}

// What the child could not do before its exec, reported with its errno.
// (Its name, a string literal: the parent reads the pointer, valid in its own memory too.)
struct Report {
  int err;
  const char* failed_at;  // null: the exec
};

// Runs in the forked child only: async-signal-safe calls, then exec. Never returns.
[[noreturn]] void exec_child(const engine::ProcessConfig& p, const engine::Scheduling& sched,
                             char** argv, char** envp, int log_fd, int null_fd, uid_t uid,
                             gid_t gid, bool set_ids, const std::vector<int>& join_fds,
                             int report_fd) {
  auto fail = [&](int err, const char* failed_at) {
    const Report r{err, failed_at};
    (void)!::write(report_fd, &r, sizeof r);
    ::_exit(127);
  };
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::setsid() < 0) fail(errno, "its session and standard streams");
  if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) {
    fail(errno, "its session and standard streams");
  }
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
    if (::setrlimit(res, &rl) != 0) fail(errno, "limits");
  };
  limit(RLIMIT_NOFILE, p.limits.nofile);
  limit(RLIMIT_NPROC, p.limits.nproc);
  limit(RLIMIT_CORE, p.limits.core);
  limit(RLIMIT_MEMLOCK, p.limits.memlock);
  if (p.working_dir && ::chdir(p.working_dir->c_str()) != 0) fail(errno, "working_dir");
  const char* failed_at = nullptr;
  if (const int err = node::apply_scheduling(sched, failed_at); err != 0) {
    fail(err, failed_at);
  }
  // Its tenant's caps, once its scheduling is its own (not the spawner's real-time policy, which
  // a cpu cgroup without real-time time refuses) and while it may still write there: all it
  // does from its exec on, and all it forks, is counted. ("0" is the writer itself; the vector
  // is only read here.)
  for (const int fd : join_fds) {
    if (::write(fd, "0", 1) != 1) fail(errno, "caps");
  }
  if (set_ids) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
      fail(errno, "user and group");
    }
  }
  ::execvpe(argv[0], argv, envp);
  fail(errno, nullptr);
  ::_exit(127);
}

struct ChildArgs {
  const engine::ProcessConfig* p;
  const engine::Scheduling* sched;
  char** argv;
  char** envp;
  int log_fd, null_fd;
  uid_t uid;
  gid_t gid;
  bool set_ids;
  const std::vector<int>* join_fds;
  int report_fd;
};

[[noreturn]] void run_child(void* arg) {
  const auto& a = *static_cast<const ChildArgs*>(arg);
  exec_child(*a.p, *a.sched, a.argv, a.envp, a.log_fd, a.null_fd, a.uid, a.gid, a.set_ids,
             *a.join_fds, a.report_fd);
}

// Sanitizer runtimes keep per-thread state (stack bounds, shadow of frames) that a child sharing
// the spawner's memory on another stack would corrupt: sanitized builds start as fork does.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HAMON_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HAMON_SANITIZED 1
#endif
#endif
#if defined(__x86_64__) && !defined(HAMON_SANITIZED)
#define HAMON_CLONE_VFORK 1
#endif

#if defined(HAMON_CLONE_VFORK)
// The child's stack while it shares the spawner's memory (CLONE_VM), until its exec: one start
// at a time (the spawner has one thread, and the parent waits, CLONE_VFORK).
alignas(64) char g_child_stack[256 * 1024];

// clone3 as posix_spawn does it (CLONE_VM | CLONE_VFORK: no copy of the spawner's page tables,
// which at thousands of processes made every start cost a fork of the spawner), and into the
// cgroup `cgroup_fd`. The child runs run_child(arg) on its own stack and never returns; the
// parent resumes once the child has exec'd or exited. A raw system call because the child must
// not return into this function's frame: glibc has no wrapper for clone3 (2.36).
pid_t clone3_vfork(clone_args& args, ChildArgs& arg) {
  args.stack = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(g_child_stack));
  args.stack_size = sizeof g_child_stack;
  long ret = 0;
  register void (*fn)(void*) asm("r12") = run_child;
  register void* fn_arg asm("r13") = &arg;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      // The child, on its new stack (16-byte aligned: the call pushes the return address).
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "a"(static_cast<long>(SYS_clone3)), "D"(&args), "S"(sizeof args), "r"(fn), "r"(fn_arg)
      : "rcx", "r11", "memory");
  if (ret < 0) {
    errno = static_cast<int>(-ret);
    return -1;
  }
  return static_cast<pid_t>(ret);
}
#endif

// clone3 with the child in the cgroup `cgroup_fd` from its start and a pidfd for it in `pidfd`.
pid_t clone_into_cgroup(int cgroup_fd, int& pidfd, ChildArgs& child) {
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP | CLONE_PIDFD;
  args.pidfd = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&pidfd));
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
#if defined(HAMON_CLONE_VFORK)
  args.flags |= CLONE_VM | CLONE_VFORK;
  // No handler of the spawner's may run in the child while it shares the spawner's memory: the
  // child sets every signal to its default before it unblocks them.
  sigset_t all, saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  const pid_t pid = clone3_vfork(args, child);
  const int err = errno;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  errno = err;
  return pid;
#else
  // Elsewhere (and in sanitized builds) as fork: the child has its own copy of memory.
  const pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
  if (pid == 0) run_child(&child);
  return pid;
#endif
}

// Errors of clone3 that say "not into this cgroup" rather than "no process": the start goes on
// without it.
bool cgroup_refused(int err) {
  return err == ENOSYS || err == E2BIG || err == EINVAL || err == EOPNOTSUPP || err == EBUSY ||
         err == EPERM || err == EACCES || err == EBADF;
}

Launched launch_forked(const engine::ProcessConfig& p, char** argv, char** envp, int log_fd,
                       int null_fd, int cgroup_fd, const std::vector<int>& join_fds) {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  const bool set_ids = p.user.has_value() || p.unix_group.has_value();
  if (p.user) {
    const passwd* pw = ::getpwnam(p.user->c_str());
    if (pw == nullptr) return {.pid = -ENOENT};
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  if (p.unix_group) {
    const group* gr = ::getgrnam(p.unix_group->c_str());
    if (gr == nullptr) return {.pid = -ENOENT};
    gid = gr->gr_gid;
  }
  // Its own settings, less a real-time policy that waits for its ready (hamon-monitor applies
  // that: node::realtime_at_ready); and where it has none, what the spawner had before it
  // applied hamon's daemon settings: a daemon's real-time policy or CPUs are not the process's.
  engine::Scheduling own = p.scheduling;
  if (node::realtime_at_ready(p) != 0) own.sched.reset();
  const engine::Scheduling sched =
      node::with_inherited(own, node::scheduling_before_daemon_settings());
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return {.pid = -errno};
  Launched out;
  pid_t pid = -1;
  if (cgroup_fd >= 0) {
    ChildArgs child{&p,  &sched, argv,    envp,      log_fd,   null_fd,
                    uid, gid,    set_ids, &join_fds, report[1]};
    pid = clone_into_cgroup(cgroup_fd, out.pidfd, child);
    out.contained = pid >= 0;
    if (pid < 0 && !cgroup_refused(errno)) out.pidfd = -1;
  }
  if (pid < 0 && (cgroup_fd < 0 || cgroup_refused(errno))) {
    out.pidfd = -1;
    pid = ::fork();
  }
  if (pid < 0) {
    const int e = errno;
    ::close(report[0]);
    ::close(report[1]);
    return {.pid = -e};
  }
  if (pid == 0) {
    ::close(report[0]);
    exec_child(p, sched, argv, envp, log_fd, null_fd, uid, gid, set_ids, join_fds, report[1]);
  }
  ::close(report[1]);
  Report r{};
  const ssize_t n = ::read(report[0], &r, sizeof r);  // EOF: exec succeeded (CLOEXEC)
  ::close(report[0]);
  if (n == sizeof r) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (out.pidfd >= 0) ::close(out.pidfd);
    return {.pid = -r.err, .failed_at = r.failed_at};
  }
  out.pid = pid;
  return out;
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

Launched launch_child(const LaunchRequest& req) noexcept {
  try {
    const engine::ProcessConfig& p = *req.process;
    Argv argv;
    argv.storage = p.command;
    Argv envp = make_env(p, req.extra_env);

    const int log_fd =
        ::open(req.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (log_fd < 0) return {.pid = -errno};
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
      const int e = errno;
      ::close(log_fd);
      return {.pid = -e};
    }
    Launched out;
    if (req.cgroup_fd >= 0 || needs_fork(p) || !req.join_fds.empty()) {
      out = launch_forked(p, argv.get(), envp.get(), log_fd, null_fd, req.cgroup_fd, req.join_fds);
    } else {
      pid_t pid = -1;
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
      out.pid = rc != 0 ? -rc : pid;
    }
    ::close(log_fd);
    ::close(null_fd);
    return out;
  } catch (...) {
    return {.pid = -ENOMEM};
  }
}

}  // namespace

Launched launch(const LaunchRequest& req) noexcept {
  Launched out = launch_child(req);
  if (out.pid <= 0 || out.pidfd >= 0) return out;
  // Our child, not reaped yet: its pid cannot have been given to anyone else.
  const int fd = node::pidfd_open(out.pid);
  if (fd < 0) {
    // A process that could never be signalled safely is not kept: it is still ours and
    // unreaped, so its pid is its own here.
    ::kill(out.pid, SIGKILL);
    ::waitpid(out.pid, nullptr, 0);
    return {.pid = fd};
  }
  out.pidfd = fd;
  return out;
}

}  // namespace hamon::spawner
