#include "hamon/node/process_cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <thread>

#include "cgroup_files.hpp"
#include "hamon/node/proc.hpp"

namespace hamon::node {

std::string cgroup2_root() {
  if (const char* env = std::getenv("HAMON_CGROUP_ROOT"); env != nullptr && *env != '\0') {
    return std::string(env) == "none" ? "" : env;
  }
  static const std::string root = [] {
    for (const auto& m : cgroup_files::mounts()) {
      if (m.v2) return m.point;
    }
    return std::string();
  }();
  return root;
}

std::string node_cgroup_dir(const std::string& cluster, const std::string& node) {
  const std::string root = cgroup2_root();
  return root.empty() ? "" : root + "/hamon/" + cluster + "." + node;
}

namespace {
// Two colons: no process's own cgroup name has them (GROUP:NAME, one), nor any control file.
constexpr std::string_view kGroupPrefix = "tenant::";
}  // namespace

std::string group_cgroup_name(const std::string& group) {
  std::string out(kGroupPrefix);
  out += group;
  return out;
}

std::string group_cgroup(const std::string& node_dir, const std::string& group) {
  return node_dir + "/" + group_cgroup_name(group);
}

bool is_group_cgroup(const std::string& child_name) {
  return child_name.rfind(kGroupPrefix, 0) == 0;
}

std::string process_cgroup(const std::string& node_dir, const std::string& group_slash_name) {
  std::string name = group_slash_name;
  const auto slash = name.find('/');
  // ':' is in no name (engine/names.hpp), so "a.b" + "c" and "a" + "b.c" are two cgroups.
  std::replace(name.begin(), name.end(), '/', ':');
  return group_cgroup(node_dir, name.substr(0, slash)) + "/" + name;
}

std::string flat_process_cgroup(const std::string& node_dir, const std::string& group_slash_name) {
  std::string name = group_slash_name;
  std::replace(name.begin(), name.end(), '/', ':');
  return node_dir + "/" + name;
}

std::string find_process_cgroup(const std::string& node_dir, const std::string& group_slash_name) {
  if (node_dir.empty()) return "";
  const std::string dir = process_cgroup(node_dir, group_slash_name);
  if (::access(dir.c_str(), F_OK) == 0) return dir;
  const std::string flat = flat_process_cgroup(node_dir, group_slash_name);
  return ::access(flat.c_str(), F_OK) == 0 ? flat : "";
}

int cgroup_make(const std::string& dir) noexcept {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return -errno;
  const auto slash = dir.rfind('/');
  if (slash == std::string::npos || slash == 0) return -ENOENT;
  try {
    if (const int rc = cgroup_make(dir.substr(0, slash)); rc != 0) return rc;
  } catch (...) {
    return -ENOMEM;
  }
  return ::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

int cgroup_kill(const std::string& dir) noexcept {
  const int rc = -cgroup_files::write(dir + "/cgroup.kill", "1");
  if (rc != -ENOENT || ::access(dir.c_str(), F_OK) != 0) return rc;
  // Before Linux 5.14: member by member, the cgroups below included.
  int out = cgroup_signal(dir, SIGKILL);
  try {
    for (const auto& child : cgroup_children(dir)) (void)cgroup_kill(dir + "/" + child);
  } catch (...) {
    out = -ENOMEM;
  }
  return out;
}

int cgroup_signal(const std::string& dir, int sig) noexcept {
  try {
    const std::vector<pid_t> before = cgroup_members(dir);
    std::vector<std::pair<pid_t, int>> opened;
    for (const pid_t pid : before) {
      const int fd = pidfd_open(pid);
      if (fd >= 0) opened.emplace_back(pid, fd);
    }
    // Opened first, checked second: a pid still in the cgroup now is held by the member it
    // named, so its pidfd names that member and no later user of the number.
    std::vector<pid_t> after = cgroup_members(dir);
    std::sort(after.begin(), after.end());
    int out = 0;
    for (const auto& [pid, fd] : opened) {
      if (std::binary_search(after.begin(), after.end(), pid)) {
        if (const int rc = pidfd_signal(fd, sig); rc != 0 && rc != -ESRCH) out = rc;
      }
      ::close(fd);
    }
    return out;
  } catch (...) {
    return -ENOMEM;
  }
}

bool cgroup_populated(const std::string& dir) noexcept {
  try {
    return cgroup_files::read(dir + "/cgroup.events").find("populated 1") != std::string::npos;
  } catch (...) {
    return true;  // unknown: never taken for empty
  }
}

std::vector<pid_t> cgroup_members(const std::string& dir) {
  std::vector<pid_t> out;
  std::istringstream in(cgroup_files::read(dir + "/cgroup.procs"));
  for (long pid = 0; in >> pid;) out.push_back(static_cast<pid_t>(pid));
  return out;
}

int cgroup_remove(const std::string& dir) noexcept {
  return ::rmdir(dir.c_str()) == 0 || errno == ENOENT ? 0 : -errno;
}

std::vector<std::string> cgroup_children(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

int cgroup_remove_node(const std::string& node_dir, int wait_ms) noexcept {
  if (node_dir.empty() || ::access(node_dir.c_str(), F_OK) != 0) return 0;
  try {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    int out = 0;
    for (const auto& child : cgroup_children(node_dir)) {
      const std::string dir = node_dir + "/" + child;
      (void)cgroup_kill(dir);
      // cgroup.kill only sends the signals: the members end a moment later.
      while (cgroup_populated(dir) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      // A group's processes' cgroups first: a cgroup with cgroups below it cannot be removed.
      for (const auto& below : cgroup_children(dir)) {
        if (const int rc = cgroup_remove(dir + "/" + below); rc != 0) out = rc;
      }
      if (const int rc = cgroup_remove(dir); rc != 0) out = rc;
    }
    if (out == 0) out = cgroup_remove(node_dir);
    // Shared by the nodes of this machine: the last one out removes it.
    (void)cgroup_remove(node_dir.substr(0, node_dir.rfind('/')));
    return out;
  } catch (...) {
    return -ENOMEM;
  }
}

}  // namespace hamon::node
