// What /proc says runs for a node: every live process whose environment names the node's
// runtime directory and a heartbeat slot (hamon puts both in the environment of each process it
// starts), keyed by its slot. Tests compare it with what hamon reports, so that "nothing
// doubled, nothing left" is checked against the kernel and not against hamon's own view.
#ifndef HAMON_TESTS_NODE_PROCESSES_HPP
#define HAMON_TESTS_NODE_PROCESSES_HPP

#include <dirent.h>
#include <sys/types.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hamon/heartbeat.h"
#include "proc_file.hpp"

namespace hamon::test {

// The value of `key` in the environment of `pid` ("" when absent or the process is gone).
inline std::string env_of(pid_t pid, const std::string& key) {
  std::istringstream in(read_proc_file("/proc/" + std::to_string(pid) + "/environ"));
  for (std::string kv; std::getline(in, kv, '\0');) {
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
  }
  return "";
}

// The state letter of `pid` in /proc/PID/stat ('\0' when it is gone).
inline char proc_state(pid_t pid) {
  const std::string s = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = s.rfind(')');
  return close == std::string::npos || close + 2 >= s.size() ? '\0' : s[close + 2];
}

// Live (not zombie) processes of the node whose runtime directory is `runtime`, by
// "segment#slot"; more than one pid under a key means a process runs twice.
inline std::map<std::string, std::vector<pid_t>> node_processes(const std::string& runtime) {
  std::map<std::string, std::vector<pid_t>> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    const auto pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    if (env_of(pid, "HAMON_RUNTIME_DIR") != runtime) continue;
    const std::string slot = env_of(pid, HAMON_ENV_SLOT);
    if (slot.empty()) continue;
    const char state = proc_state(pid);
    if (state == '\0' || state == 'Z' || state == 'X') continue;
    out[env_of(pid, HAMON_ENV_SEGMENT) + "#" + slot].push_back(pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace hamon::test

#endif  // HAMON_TESTS_NODE_PROCESSES_HPP
