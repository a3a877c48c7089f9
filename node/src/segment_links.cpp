#include "hamon/node/segment_links.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "hamon/node/instance_lock.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/shm/segment.hpp"

namespace hamon::node {
namespace {

// The inode named by `path`, 0 if none.
ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

base::Error link_error(const std::string& from, const std::string& to, int err) {
  return base::Error{base::Errc::system,
                     "unable to name " + from + " " + to + " again: " + std::strerror(err)};
}

}  // namespace

std::string keep_link_path(const std::string& segment) { return "/dev/shm/." + segment; }

std::optional<ino_t> mapped_inode(const void* addr) {
  std::FILE* f = std::fopen("/proc/self/maps", "re");
  if (f == nullptr) return std::nullopt;
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  std::optional<ino_t> found;
  char line[4096];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::uintmax_t start = 0, end = 0, inode = 0;
    // start-end perms offset dev inode path
    if (std::sscanf(line, "%" SCNxMAX "-%" SCNxMAX " %*s %*s %*s %" SCNuMAX, &start, &end,
                    &inode) != 3) {
      continue;
    }
    if (a >= start && a < end) {
      found = static_cast<ino_t>(inode);
      break;
    }
  }
  std::fclose(f);
  return found;
}

base::Result<Links> tend_links(const std::string& segment, ino_t ino) {
  const std::string name = shm::shm_path(segment);
  const std::string keep = keep_link_path(segment);
  const ino_t named = inode_of(name);
  const ino_t kept = inode_of(keep);
  if (named == ino && kept == ino) return Links::intact;
  if (named != 0 && named != ino) return Links::replaced;
  if (named == 0 && kept != ino) return Links::lost;
  if (named == 0) {  // the hidden name holds it: the name comes back from there
    if (::link(keep.c_str(), name.c_str()) != 0 && errno != EEXIST) {
      return link_error(keep, name, errno);
    }
    return inode_of(name) == ino ? Links::restored : Links::replaced;
  }
  // The name holds it; the hidden one is missing, or left by a node that ran before.
  if (kept != 0) ::unlink(keep.c_str());
  if (::link(name.c_str(), keep.c_str()) != 0 && errno != EEXIST) {
    return link_error(name, keep, errno);
  }
  return Links::restored;
}

bool restore_name(const std::string& segment) {
  const std::string name = shm::shm_path(segment);
  if (::access(name.c_str(), F_OK) == 0) return true;
  return ::link(keep_link_path(segment).c_str(), name.c_str()) == 0 || errno == EEXIST;
}

void remove_keep_link(const std::string& segment) { ::unlink(keep_link_path(segment).c_str()); }

}  // namespace hamon::node

namespace hamon::node {
namespace {

// SIGKILLs the daemons that write to the control segment and waits (at most 2 s) for their end.
void stop_writers(const Node& node, const shm::ControlSegment& ctl) {
  struct SegmentWriter {
    shm::DaemonId id;
    const char* binary;
  };
  constexpr SegmentWriter writers[] = {{shm::DaemonId::spawner, "hamon-spawner"},
                                       {shm::DaemonId::monitor, "hamon-monitor"},
                                       {shm::DaemonId::server, "hamon-server"}};
  std::vector<int> fds;
  for (const SegmentWriter& w : writers) {
    const shm::DaemonSlot& slot = ctl.daemon(w.id);
    // The one registered, and the one holding the lock (one that is starting has not
    // registered yet, but may write already).
    const int by_slot =
        pidfd_open_checked(static_cast<pid_t>(slot.pid.load()), slot.start_ticks.load());
    if (by_slot >= 0) fds.push_back(by_slot);
    if (const pid_t holder = instance_holder(node, w.binary); holder > 0) {
      if (const int fd = pidfd_open(holder); fd >= 0) fds.push_back(fd);
    }
  }
  for (int fd : fds) (void)pidfd_signal(fd, SIGKILL);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 10) == 0 && std::chrono::steady_clock::now() < deadline) {
    }
    ::close(fd);
  }
}

}  // namespace

base::Result<shm::ControlSegment> rescue_control_segment(const Node& node,
                                                         const shm::ControlSegment& old) {
  const std::string name = node.control_segment();
  stop_writers(node, old);
  const std::string staging = name + ".rescue." + std::to_string(::getpid());
  shm::Segment::remove(staging);
  auto fresh = shm::Segment::create(staging, old.size(), 0600);
  if (!fresh) return base::Error{base::Errc::system, fresh.error().message};
  std::memcpy(fresh->data(), &old.header(), old.size());
  const bool linked = ::link(shm::shm_path(staging).c_str(), shm::shm_path(name).c_str()) == 0;
  const int err = errno;
  shm::Segment::remove(staging);
  if (!linked) {
    return base::Error{base::Errc::system,
                       "unable to name " + shm::shm_path(name) + " again: " + std::strerror(err)};
  }
  auto ctl = shm::ControlSegment::attach(name, shm::Access::read_write);
  if (!ctl) return base::Error{base::Errc::system, ctl.error().message};
  if (const auto ino = mapped_inode(&ctl->header())) (void)tend_links(name, *ino);
  return std::move(ctl).value();
}

}  // namespace hamon::node
