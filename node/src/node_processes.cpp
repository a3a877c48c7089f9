#include "hamon/node/node_processes.hpp"

#include <dirent.h>
#include <hamon/heartbeat_abi.h>

#include <cstdlib>
#include <string>

#include "hamon/node/config_file.hpp"

namespace hamon::node {

std::vector<pid_t> processes_by_environment(const Node& node) {
  // "HAMON_HEARTBEAT_SEGMENT=/hamon.CLUSTER.NODE.hb." begins every one of the node's.
  const std::string want = std::string(HAMON_ENV_SEGMENT) + "=/" + node.heartbeat_segment("");
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const auto pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::string env;  // a zombie's is empty
    if (read_whole_file("/proc/" + std::to_string(pid) + "/environ", env) != 0) continue;
    for (std::size_t at = 0; at < env.size();) {
      const std::size_t end = env.find('\0', at);
      if (env.compare(at, want.size(), want) == 0) {
        out.push_back(pid);
        break;
      }
      if (end == std::string::npos) break;
      at = end + 1;
    }
  }
  ::closedir(d);
  return out;
}

}  // namespace hamon::node
