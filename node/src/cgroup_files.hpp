// The cgroup file system as the node reads and writes it: whole control files, and where each
// hierarchy is mounted. Shared by process containment (cgroup v2, process_cgroup.cpp) and tenant
// caps (cgroup v1 controllers, tenant_caps.cpp). Internal to the node library.
#ifndef HAMON_NODE_SRC_CGROUP_FILES_HPP
#define HAMON_NODE_SRC_CGROUP_FILES_HPP

#include <string>
#include <string_view>
#include <vector>

namespace hamon::node::cgroup_files {

// The whole file; "" when it cannot be opened (what was read when a read fails: a cgroup being
// removed, a process ending).
std::string read(const std::string& path);

// One write of `text`: 0, or the errno (EIO for a short write). A control file takes a value in
// one write or refuses it.
int write(const std::string& path, std::string_view text) noexcept;

// A cgroup hierarchy's mount, from /proc/self/mountinfo.
struct Mount {
  std::string root;   // the hierarchy's directory seen at the mount point (a container's: below /)
  std::string point;  // where it is mounted
  bool v2 = false;    // cgroup2; else a v1 hierarchy
  std::string options;  // a v1 hierarchy's super options: its controllers among them
};

// Every cgroup mount, in mountinfo's order. Mount points with escaped characters (spaces) are
// left out: not ours to guess at.
std::vector<Mount> mounts();

// Whether an item of a comma-separated list (a mount's options, /proc/PID/cgroup's controllers)
// is `item`.
bool lists(std::string_view comma_separated, std::string_view item);

// HAMON_CGROUP_ROOT=none: the node uses no cgroups at all (tests, and machines where they must
// not).
bool off();

}  // namespace hamon::node::cgroup_files

#endif  // HAMON_NODE_SRC_CGROUP_FILES_HPP
