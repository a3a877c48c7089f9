// hamon-tree-app: a process that makes a process tree, for the tests of containment
// (tests/integration/process_tree_test.cpp). Every process it makes, itself included, appends
// "PID START_TICKS ROLE" to the file given by --pids before the leader says it is ready, so a
// test knows each pid it must see gone, and can end each one by a pidfd checked against its
// start time (never a bare pid) if hamon does not.
//
//   hamon-tree-app --pids FILE [--worker] [--stubborn-child] [--double-fork] [--daemonize]
//
//   --worker          a child in the leader's process group that sleeps (a worker pool of one)
//   --stubborn-child  a child that ignores SIGTERM and sleeps; the leader dies on SIGTERM
//   --double-fork     a grandchild in a session of its own (setsid), whose parent exits: the
//                     leader's process group no longer holds it
//   --daemonize       a classic forking daemon: the leader exits 0 once its grandchild (setsid,
//                     double fork) runs; nothing stays behind to beat
//   --workers N       N sleeping children; a fork the kernel refuses (a cap on processes) is
//                     counted on stdout ("refused N"), not fatal
//   --hold MIB        once ready, takes and touches MIB mebibytes, one at a time, beating between
// Otherwise the leader beats at its interval until it is killed.
#include <fcntl.h>
#include <hamon/heartbeat.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "hamon/node/proc.hpp"

namespace {

std::string g_pids;         // the --pids file
int g_recorded = -1;        // written once per process recorded: the leader counts them
std::vector<char*> g_held;  // --hold

void record(const char* role) {
  const pid_t self = ::getpid();
  const std::string line = std::to_string(self) + " " +
                           std::to_string(hamon::node::start_ticks(self).value_or(0)) + " " + role +
                           "\n";
  const int fd = ::open(g_pids.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) ::_exit(3);
  // One write to an O_APPEND file: lines from several processes never interleave.
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(3);
  ::close(fd);
  const char one = 1;
  (void)!::write(g_recorded, &one, 1);
}

[[noreturn]] void sleep_forever() {
  for (;;) ::pause();
}

// Forks a process that records itself as `role` and then runs `body`.
template <typename Body>
void spawn(const char* role, Body body) {
  const pid_t pid = ::fork();
  if (pid < 0) ::_exit(3);
  if (pid == 0) {
    record(role);
    body();
    ::_exit(0);
  }
}

void double_fork(const char* role) {
  spawn("middle", [role] {
    ::setsid();
    spawn(role, [] { sleep_forever(); });
  });
}

// Like spawn(), but a fork the kernel refuses is not fatal: false.
bool try_spawn(const char* role) {
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    record(role);
    sleep_forever();
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hamon-tree-app: makes a process tree and records its pids"};
  bool worker = false, stubborn = false, double_forks = false, daemonize = false;
  app.add_option("--pids", g_pids, "append \"PID START_TICKS ROLE\" here for each process")
      ->required();
  app.add_flag("--worker", worker, "a child in the leader's process group");
  app.add_flag("--stubborn-child", stubborn, "a child that ignores SIGTERM");
  app.add_flag("--double-fork", double_forks, "a grandchild in a session of its own");
  app.add_flag("--daemonize", daemonize, "fork into the background and exit, as daemons do");
  int workers = 0, hold_mib = 0;
  app.add_option("--workers", workers, "sleeping children; refused forks are counted");
  app.add_option("--hold", hold_mib, "mebibytes taken and touched once ready");
  CLI11_PARSE(app, argc, argv);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return 3;
  g_recorded = pipe_fds[1];
  record("leader");
  int expected = 1;
  if (worker) {
    spawn("worker", [] { sleep_forever(); });
    expected += 1;
  }
  if (stubborn) {
    spawn("stubborn", [] {
      ::signal(SIGTERM, SIG_IGN);
      sleep_forever();
    });
    expected += 1;
  }
  if (double_forks) {
    double_fork("grandchild");
    expected += 2;
  }
  if (daemonize) {
    double_fork("daemon");
    expected += 2;
  }
  int refused = 0;
  for (int i = 0; i < workers; ++i) {
    if (try_spawn("worker")) {
      expected += 1;
    } else {
      refused += 1;
    }
  }
  std::printf("refused %d\n", refused);
  std::fflush(stdout);
  ::close(pipe_fds[1]);
  for (int seen = 0; seen < expected;) {
    char c = 0;
    if (::read(pipe_fds[0], &c, 1) != 1) return 3;
    ++seen;
  }
  ::close(pipe_fds[0]);
  // The middle processes of double forks exit at once: reaped here, so they are not zombies.
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  if (daemonize) return 0;  // the daemon runs on, in the background

  auto hb = hamon::Heartbeat::attach();
  if (!hb) {
    std::fprintf(stderr, "%s\n", hb.error_message());
    return 2;
  }
  hb.ready();
  const auto interval = hb.interval().count() > 0 ? hb.interval() : std::chrono::milliseconds(20);
  const timespec half{0, static_cast<long>(interval.count() / 2)};
  for (int mib = 0; mib < hold_mib; ++mib) {
    constexpr std::size_t kMiB = 1 << 20;
    auto* chunk = static_cast<char*>(std::malloc(kMiB));
    if (chunk == nullptr) return 4;
    std::memset(chunk, 1, kMiB);  // touched: counted against its memory
    g_held.push_back(chunk);      // kept where the compiler cannot drop it
    hb.beat();
  }
  for (;;) {
    hb.beat();
    ::nanosleep(&half, nullptr);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
}
