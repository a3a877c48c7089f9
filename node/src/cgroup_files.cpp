#include "cgroup_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace hamon::node::cgroup_files {

std::string read(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

int write(const std::string& path, std::string_view text) noexcept {
  // O_TRUNC as a shell's `echo V > FILE`: a control file ignores it; a plain file standing in
  // for one (a test's) then holds the last value written, as a control file shows it.
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  return err;
}

std::vector<Mount> mounts() {
  std::vector<Mount> out;
  std::istringstream in(read("/proc/self/mountinfo"));
  for (std::string line; std::getline(in, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype, source, options;
    if (!(tail >> fstype >> source >> options) || (fstype != "cgroup" && fstype != "cgroup2")) {
      continue;
    }
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, dev;
    Mount m;
    if (!(fields >> id >> parent >> dev >> m.root >> m.point)) continue;
    if (m.point.find('\\') != std::string::npos) continue;
    m.v2 = fstype == "cgroup2";
    m.options = std::move(options);
    out.push_back(std::move(m));
  }
  return out;
}

bool lists(std::string_view comma_separated, std::string_view item) {
  while (!comma_separated.empty()) {
    const auto comma = comma_separated.find(',');
    if (comma_separated.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) break;
    comma_separated.remove_prefix(comma + 1);
  }
  return false;
}

bool off() {
  const char* env = std::getenv("HAMON_CGROUP_ROOT");
  return env != nullptr && std::strcmp(env, "none") == 0;
}

}  // namespace hamon::node::cgroup_files
