#include "hamon/node/command_spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace hamon::node {

pid_t spawn_command(const CommandSpawn& what) {
  if (what.argv.empty()) return -EINVAL;
  if (what.input.size() > 65536) return -E2BIG;
  std::vector<std::string> args = what.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view kv(*e);
    bool replaced = false;
    for (const auto& [k, v] : what.env) {
      replaced = replaced || (kv.size() > k.size() && kv.starts_with(k) && kv[k.size()] == '=');
    }
    if (!replaced) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : what.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int pipe_fds[2] = {-1, -1};
  if (!what.input.empty() && ::pipe2(pipe_fds, O_CLOEXEC) != 0) return -errno;
  const int read_end = pipe_fds[0];
  const int write_end = pipe_fds[1];

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (what.input.empty()) {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&fa, read_end, 0);  // dup2 clears O_CLOEXEC
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (read_end >= 0) ::close(read_end);
  if (rc != 0) {
    if (write_end >= 0) ::close(write_end);
    return -rc;
  }
  if (write_end >= 0) {
    // A pipe holds 64 KiB: the write completes at once, and a child that never reads cannot
    // block the daemon.
    (void)::fcntl(write_end, F_SETFL, O_NONBLOCK);
    std::size_t done = 0;
    while (done < what.input.size()) {
      const ssize_t n = ::write(write_end, what.input.data() + done, what.input.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the child closed its input or the pipe is full: it has what it read
      done += static_cast<std::size_t>(n);
    }
    ::close(write_end);
  }
  return pid;
}

}  // namespace hamon::node
