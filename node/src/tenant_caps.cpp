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

// Whether a control file listing controllers by spaces (cgroup.controllers,
// cgroup.subtree_control) lists `controller`.
bool lists_controller(const std::string& file, const std::string& controller) {
  std::istringstream words(cgroup_files::read(file));
  for (std::string w; words >> w;) {
    if (w == controller) return true;
  }
  return false;
}

// Whether the v2 hierarchy offers `controller` (its root's cgroup.controllers: on a pure v2
// machine, what systemd or the container gave; on a hybrid one, what no v1 hierarchy took).
bool v2_offers(const std::string& controller) {
  const std::string root = cgroup2_root();
  return !root.empty() && lists_controller(root + "/cgroup.controllers", controller);
}

// The tenant's cgroup in the v2 hierarchy: the one its processes' cgroups are below.
std::string v2_tenant_dir(const std::string& cluster, const std::string& node,
                          const std::string& tenant) {
  const std::string node_dir = node_cgroup_dir(cluster, node);
  return node_dir.empty() ? "" : group_cgroup(node_dir, tenant);
}

// A v2 controller works in a cgroup only where each cgroup above it enables it for its children
// (cgroup.subtree_control): ROOT, ROOT/hamon, ROOT/hamon/CLUSTER.NODE. hamon puts no process in
// the last two; the kernel refuses (EBUSY) a ROOT that holds processes and is not the real root
// (a container's, or a delegated one). "" or why not, the path last.
std::string enable_v2(const std::string& controller, const std::string& cluster,
                      const std::string& node) {
  const std::string root = cgroup2_root();
  for (const std::string& dir : {root, root + "/hamon", node_cgroup_dir(cluster, node)}) {
    if (const int rc = cgroup_make(dir); rc != 0) {
      return std::string("cannot make (") + std::strerror(-rc) + "): " + dir;
    }
    const std::string file = dir + "/cgroup.subtree_control";
    if (lists_controller(file, controller)) continue;
    if (const int err = cgroup_files::write(file, "+" + controller); err != 0) {
      return std::string("cannot enable the ") + controller + " controller (" + std::strerror(err) +
             "): " + file;
    }
  }
  return "";
}

// A cap written in the files of its hierarchy's version. `value` is in v2's units for cpu (a
// weight, 1-10000) and translated for v1 (cpu.shares: 100 is 1024); none lifts the cap.
int write_cap(bool v2, const std::string& controller, const std::string& dir,
              const std::optional<std::string>& value) {
  if (controller == "memory") {
    if (!v2) return write_memory(dir, value.value_or("-1"));
    // RAM; and no swap, so that a tenant over its cap is ended rather than swapped out (as v1's
    // memsw). A kernel without swap accounting has no memory.swap.max.
    const std::string swap = dir + "/memory.swap.max";
    if (::access(swap.c_str(), F_OK) == 0) {
      if (const int err = cgroup_files::write(swap, value ? "0" : "max"); err != 0) return err;
    }
    return cgroup_files::write(dir + "/memory.max", value.value_or("max"));
  }
  if (controller == "cpu") {
    if (v2) return cgroup_files::write(dir + "/cpu.weight", value.value_or("100"));
    // v2's weight 100 is v1's 1024 shares: the same even share.
    const std::string shares =
        value ? std::to_string(std::max(2UL, std::stoul(*value) * 1024UL / 100UL)) : "1024";
    return cgroup_files::write(dir + "/cpu.shares", shares);
  }
  return cgroup_files::write(dir + "/pids.max", value.value_or("max"));
}

}  // namespace

CapsHierarchy caps_hierarchy(const std::string& controller) {
  if (cgroup_files::off()) return CapsHierarchy::none;
  if (v2_offers(controller)) return CapsHierarchy::v2;
  return find_v1_home(controller).empty() ? CapsHierarchy::none : CapsHierarchy::v1;
}

namespace {

std::string caps_cgroup(CapsHierarchy where, const std::string& controller,
                        const std::string& cluster, const std::string& node,
                        const std::string& tenant) {
  switch (where) {
    case CapsHierarchy::v2: return v2_tenant_dir(cluster, node, tenant);
    case CapsHierarchy::v1: return tenant_caps_dir(find_v1_home(controller), cluster, node, tenant);
    case CapsHierarchy::none: break;
  }
  return "";
}

}  // namespace

std::string tenant_caps_cgroup(const std::string& controller, const std::string& cluster,
                               const std::string& node, const std::string& tenant) {
  return caps_cgroup(caps_hierarchy(controller), controller, cluster, node, tenant);
}

std::string cgroup_v1_home(const std::string& controller) {
  // No cgroups at all, as process_cgroup.hpp reads it.
  if (cgroup_files::off()) return "";
  return find_v1_home(controller);
}

TenantCapsUsage read_tenant_caps(pid_t spawner_pid, const std::string& cluster,
                                 const std::string& node, const std::string& tenant) {
  TenantCapsUsage u;
  if (cgroup_files::off() || spawner_pid <= 0) return u;
  // The v2 tenant cgroup where its controller is enabled there (its files exist), else v1.
  const std::string v2_dir = v2_tenant_dir(cluster, node, tenant);
  const auto v2_file = [&](const char* file) {
    return !v2_dir.empty() && ::access((v2_dir + "/" + file).c_str(), F_OK) == 0;
  };
  if (v2_file("memory.max")) {
    if (auto cap = read_number(v2_dir + "/memory.max"); cap) {  // "max": none
      u.memory_cap = cap;
      u.memory_used = read_number(v2_dir + "/memory.current");
      std::istringstream events(cgroup_files::read(v2_dir + "/memory.events"));
      for (std::string key; events >> key;) {
        std::uint64_t n = 0;
        if (!(events >> n)) break;
        if (key == "oom_kill") u.oom_kills = n;
      }
    }
  }
  if (v2_file("pids.max")) {
    if (auto cap = read_number(v2_dir + "/pids.max"); cap) {
      u.pids_cap = cap;
      u.pids_used = read_number(v2_dir + "/pids.current");
    }
  }
  if (v2_file("cpu.weight")) {
    if (auto weight = read_number(v2_dir + "/cpu.weight"); weight && *weight != 100) {
      u.cpu_weight = static_cast<std::uint32_t>(*weight);
    }
  }
  const auto dir = [&](const char* controller, const char* v2_name) {
    if (v2_file(v2_name)) return std::string();  // read above
    const std::string home = find_v1_home(controller, std::to_string(spawner_pid));
    return home.empty() ? home : tenant_caps_dir(home, cluster, node, tenant);
  };
  // A v1 "no limit" is the largest page-aligned number: anything above a petabyte is none.
  constexpr std::uint64_t kNone = 1ULL << 50;
  if (const std::string d = dir("memory", "memory.max");
      !d.empty() && ::access(d.c_str(), F_OK) == 0) {
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
  if (const std::string d = dir("pids", "pids.max"); !d.empty() && ::access(d.c_str(), F_OK) == 0) {
    u.pids_used = read_number(d + "/pids.current");
    u.pids_cap = read_number(d + "/pids.max");  // "max": none
  }
  if (const std::string d = dir("cpu", "cpu.weight");
      !d.empty() && ::access(d.c_str(), F_OK) == 0) {
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
  return group_cgroup(home + "/hamon/" + cluster + "." + node, tenant);
}

PreparedCaps prepare_tenant_caps(const std::string& cluster, const std::string& node,
                                 const std::string& tenant, const engine::TenantCaps& caps,
                                 bool contained) {
  PreparedCaps out;
  try {
    const auto text = [](const auto& v) {
      return v ? std::optional(std::to_string(*v)) : std::nullopt;
    };
    const std::array<std::pair<const char*, std::optional<std::string>>, 3> all{
        {{"memory", text(caps.memory)}, {"cpu", text(caps.cpu_weight)}, {"pids", text(caps.pids)}}};
    for (const auto& [controller, value] : all) {
      const CapsHierarchy where = caps_hierarchy(controller);
      const bool v2 = where == CapsHierarchy::v2;
      const std::string dir = caps_cgroup(where, controller, cluster, node, tenant);
      if (!value) {
        // A cap a reload took away: lifted from the processes that run in it.
        if (!dir.empty() && ::access(dir.c_str(), F_OK) == 0) {
          (void)write_cap(v2, controller, dir, std::nullopt);
        }
        continue;
      }
      const std::string what = std::string(controller) + " " + *value + ": ";
      if (where == CapsHierarchy::none || dir.empty()) {
        out.not_applied.push_back(what + "no cgroup hierarchy offers the " + controller +
                                  " controller");
        continue;
      }
      if (v2 && !contained) {
        out.not_applied.push_back(what +
                                  "its processes are not in cgroups of their own here, below "
                                  "the tenant's: " +
                                  dir);
        continue;
      }
      if (v2) {
        if (const std::string why = enable_v2(controller, cluster, node); !why.empty()) {
          out.not_applied.push_back(what + why);
          continue;
        }
      }
      if (const int rc = cgroup_make(dir); rc != 0) {
        // The reason before the path: an event's detail is cut at its end.
        out.not_applied.push_back(what + "cannot make its cgroup (" + std::strerror(-rc) +
                                  "): " + dir);
        continue;
      }
      // Not written (a memory cap under what the tenant uses now, say): said, and its processes
      // still join the cgroup, which keeps the cap it had.
      if (const int err = write_cap(v2, controller, dir, value); err != 0) {
        out.not_applied.push_back(what + "not written (" + std::strerror(err) + "): " + dir);
      }
      // v2: the tenant's processes start in cgroups below this one (process_cgroup.hpp).
      if (v2) continue;
      const std::string procs = dir + "/cgroup.procs";
      const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) {
        out.not_applied.push_back(what + "cannot open (" + std::strerror(errno) + "): " + procs);
        continue;
      }
      out.joins.push_back({controller, fd});
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
