#include "hamon/node/instance_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace hamon::node {
namespace {

std::string lock_path(const std::string& runtime_dir, const char* binary) {
  return runtime_dir + "/" + binary + ".lock";
}

flock whole_file(short type) {
  flock l{};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = 0;
  l.l_len = 0;
  return l;
}

}  // namespace

int take_instance_lock(const Node& node, const char* binary, pid_t* holder) {
  return take_instance_lock(node.runtime_dir(), binary, holder);
}

pid_t instance_holder(const Node& node, const char* binary) {
  return instance_holder(node.runtime_dir(), binary);
}

int take_instance_lock(const std::string& runtime_dir, const char* binary, pid_t* holder) {
  *holder = 0;
  if (make_dirs(runtime_dir, 0751) != 0) return -1;
  const int fd = ::open(lock_path(runtime_dir, binary).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  flock l = whole_file(F_WRLCK);
  if (::fcntl(fd, F_SETLK, &l) == 0) return fd;
  flock who = whole_file(F_WRLCK);
  if (::fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK) *holder = who.l_pid;
  ::close(fd);
  return -1;
}

pid_t instance_holder(const std::string& runtime_dir, const char* binary) {
  const int fd = ::open(lock_path(runtime_dir, binary).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  flock who = whole_file(F_WRLCK);
  const pid_t pid = ::fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? who.l_pid : 0;
  ::close(fd);
  return pid;
}

int take_instance_lock_or_exit(const std::string& cluster, const std::string& id,
                               const char* binary) {
  pid_t holder = 0;
  const std::string dir = runtime_dir(cluster, id);
  const int fd = take_instance_lock(dir, binary, &holder);
  if (fd >= 0) return fd;
  if (holder > 0) {
    std::fprintf(stderr, "%s: another %s (pid %d) runs for node %s of cluster %s\n", binary, binary,
                 static_cast<int>(holder), id.c_str(), cluster.c_str());
  } else {
    std::fprintf(stderr, "%s: unable to lock %s/%s.lock: %s\n", binary, dir.c_str(), binary,
                 std::strerror(errno));
  }
  std::exit(111);
}

}  // namespace hamon::node
