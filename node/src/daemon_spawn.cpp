#include "hamon/node/daemon_spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <string>
#include <vector>

#include "hamon/node/daemon_log.hpp"

extern char** environ;

namespace hamon::node {

pid_t spawn_daemon(const Node& node, const DaemonSpawn& what) {
  const std::string bin = self_dir() + "/" + what.binary;
  const std::string log = node.log_dir() + "/" + what.binary + ".log";
  // The log goes where the daemon's stdout and stderr go: a removed runtime directory must not
  // make every start fail.
  (void)make_dirs(node.log_dir(), 0750);
  // The running copy, never the operator's file (running_config.hpp); the operator's file only
  // for reload.
  std::vector<std::string> args{bin, "--config", node.running_config(), "--source",
                                node.source_path};
  // Names the node's resources before the configuration is read (daemon_args.hpp).
  args.insert(args.end(), {"--cluster", node.cluster(), "--node", node.id});
  if (what.adopt) args.emplace_back("--adopt");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  // Under systemd, the daemons log to the journal's stream as their parent does (daemon_log.hpp);
  // elsewhere each to its own file.
  if (!is_journal_stream(2)) {
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The caller blocks signals around its wait; the daemon starts with none blocked.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK |
                                                     (what.new_session ? POSIX_SPAWN_SETSID : 0)));
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, bin.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -rc;
}

}  // namespace hamon::node
