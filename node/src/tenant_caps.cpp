#include "hamon/node/tenant_caps.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "cgroup_files.hpp"
#include "hamon/node/process_cgroup.hpp"

namespace hamon::node {
namespace {

using cgroup_files::lists;

constexpr std::array<const char*, 3> kControllers{"memory", "cpu", "pids"};

// Whether `path` is `root` or below it.
bool below(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path.rfind(root, 0) == 0 && (path.size() == root.size() || path[root.size()] == '/');
}

// Where this process is in the v1 hierarchy of `controller`, as a directory: a mount point of
// that hierarchy and this process's own cgroup below it. "" if none shows it.
std::string find_v1_home(const std::string& controller, const std::string& pid = "self") {
  std::string own;  // HIERARCHY-ID:CONTROLLERS:PATH
  std::ifstream cgroups("/proc/" + pid + "/cgroup");
  for (std::string line; own.empty() && std::getline(cgroups, line);) {
    const auto a = line.find(':');
    const auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b != std::string::npos && lists(line.substr(a + 1, b - a - 1), controller)) {
      own = line.substr(b + 1);
    }
  }
  if (own.empty()) return "";
  // Of the mounts of that hierarchy, the one whose root (a container's view starts below the
  // hierarchy's own) holds our cgroup most closely.
  std::string best_point, best_root;
  for (const auto& m : cgroup_files::mounts()) {
    if (m.v2 || !lists(m.options, controller) || !below(own, m.root)) continue;
    if (best_point.empty() || m.root.size() > best_root.size()) {
      best_point = m.point;
      best_root = m.root;
    }
  }
  if (best_point.empty()) return "";
  const std::string rest = best_root == "/" ? own : own.substr(best_root.size());
  return rest.empty() || rest == "/" ? best_point : best_point + rest;
}

// memory: RAM, and RAM + swap where swap is accounted (memsw), so that a tenant over its cap is
// ended rather than swapped out. The kernel keeps limit <= memsw at every step: lowering goes
// limit first, raising memsw first; whichever the other order refuses.
int write_memory(const std::string& dir, const std::string& value) {
  const std::string limit = dir + "/memory.limit_in_bytes";
  const std::string memsw = dir + "/memory.memsw.limit_in_bytes";
  if (::access(memsw.c_str(), F_OK) != 0) return cgroup_files::write(limit, value);
  if (cgroup_files::write(limit, value) == 0 && cgroup_files::write(memsw, value) == 0) return 0;
  if (const int err = cgroup_files::write(memsw, value); err != 0) return err;
  return cgroup_files::write(limit, value);
}

std::optional<std::uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::uint64_t n = 0;
  if (in >> n) return n;
  return std::nullopt;
}

}  // namespace

std::string cgroup_v1_home(const std::string& controller) {
  // No cgroups at all, as process_cgroup.hpp reads it.
  if (cgroup_files::off()) return "";
  return find_v1_home(controller);
}

TenantCapsUsage read_tenant_caps(pid_t spawner_pid, const std::string& cluster,
                                 const std::string& node, const std::string& tenant) {
  TenantCapsUsage u;
  if (cgroup_files::off() || spawner_pid <= 0) return u;
  const auto dir = [&](const char* controller) {
    const std::string home = find_v1_home(controller, std::to_string(spawner_pid));
    return home.empty() ? home : tenant_caps_dir(home, cluster, node, tenant);
  };
  // A v1 "no limit" is the largest page-aligned number: anything above a petabyte is none.
  constexpr std::uint64_t kNone = 1ULL << 50;
  if (const std::string d = dir("memory"); !d.empty() && ::access(d.c_str(), F_OK) == 0) {
    u.memory_used = read_number(d + "/memory.usage_in_bytes");
    if (auto cap = read_number(d + "/memory.limit_in_bytes"); cap && *cap < kNone) {
      u.memory_cap = cap;
    }
    std::ifstream oom(d + "/memory.oom_control");
    for (std::string key; oom >> key;) {
      std::uint64_t n = 0;
      if (!(oom >> n)) break;
      if (key == "oom_kill") u.oom_kills = n;
    }
  }
  if (const std::string d = dir("pids"); !d.empty() && ::access(d.c_str(), F_OK) == 0) {
    u.pids_used = read_number(d + "/pids.current");
    u.pids_cap = read_number(d + "/pids.max");  // "max": none
  }
  if (const std::string d = dir("cpu"); !d.empty() && ::access(d.c_str(), F_OK) == 0) {
    // 1024 is no cap (an even share: what a lifted cap is set back to). Rounded to the nearest:
    // the weight written comes back exactly.
    if (auto shares = read_number(d + "/cpu.shares"); shares && *shares != 1024) {
      u.cpu_weight = static_cast<std::uint32_t>((*shares * 100 + 512) / 1024);
    }
  }
  return u;
}

std::string tenant_caps_dir(const std::string& home, const std::string& cluster,
                            const std::string& node, const std::string& tenant) {
  return home + "/hamon/" + cluster + "." + node + "/tenant:" + tenant;
}

PreparedCaps prepare_tenant_caps(const std::string& cluster, const std::string& node,
                                 const std::string& tenant, const engine::TenantCaps& caps) {
  PreparedCaps out;
  try {
    struct Cap {
      const char* controller;
      const char* file;                  // "": memory (write_memory)
      std::optional<std::string> value;  // none: not asked for
      const char* none;                  // what the file says without a cap
    };
    const auto text = [](const auto& v) {
      return v ? std::optional(std::to_string(*v)) : std::nullopt;
    };
    std::optional<std::string> shares;
    // v2's weight 100 is v1's 1024 shares: the same even share.
    if (caps.cpu_weight) shares = std::to_string(std::max(2U, *caps.cpu_weight * 1024U / 100U));
    const std::array<Cap, 3> all{{{"memory", "", text(caps.memory), "-1"},
                                  {"cpu", "cpu.shares", shares, "1024"},
                                  {"pids", "pids.max", text(caps.pids), "max"}}};
    for (const Cap& c : all) {
      const std::string home = cgroup_v1_home(c.controller);
      const std::string dir = home.empty() ? "" : tenant_caps_dir(home, cluster, node, tenant);
      const auto write = [&](const std::string& value) {
        return *c.file == '\0' ? write_memory(dir, value)
                               : cgroup_files::write(dir + "/" + c.file, value);
      };
      if (!c.value) {
        // A cap a reload took away: lifted from the processes that run in it.
        if (!dir.empty() && ::access(dir.c_str(), F_OK) == 0) (void)write(c.none);
        continue;
      }
      const std::string what = std::string(c.controller) + " " + *c.value + ": ";
      if (home.empty()) {
        out.not_applied.push_back(what + "no cgroup v1 hierarchy has the " + c.controller +
                                  " controller");
        continue;
      }
      if (const int rc = cgroup_make(dir); rc != 0) {
        // The reason before the path: an event's detail is cut at its end.
        out.not_applied.push_back(what + "cannot make its cgroup (" + std::strerror(-rc) +
                                  "): " + dir);
        continue;
      }
      // Not written (a memory cap under what the tenant uses now, say): said, and its processes
      // still join the cgroup, which keeps the cap it had.
      if (const int err = write(*c.value); err != 0) {
        out.not_applied.push_back(what + "not written (" + std::strerror(err) + "): " + dir);
      }
      const std::string procs = dir + "/cgroup.procs";
      const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) {
        out.not_applied.push_back(what + "cannot open (" + std::strerror(errno) + "): " + procs);
        continue;
      }
      out.joins.push_back({c.controller, fd});
    }
  } catch (...) {
    for (const auto& j : out.joins) ::close(j.fd);
    throw;
  }
  return out;
}

void remove_tenant_caps(const std::string& cluster, const std::string& node) {
  for (const char* controller : kControllers) {
    const std::string home = cgroup_v1_home(controller);
    if (home.empty()) continue;
    const std::string node_dir = home + "/hamon/" + cluster + "." + node;
    for (const auto& tenant : cgroup_children(node_dir)) {
      (void)cgroup_remove(node_dir + "/" + tenant);
    }
    (void)cgroup_remove(node_dir);
    (void)cgroup_remove(home + "/hamon");  // the last node here out
  }
}

}  // namespace hamon::node
