#include "hamon/node/runtime_upkeep.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hamon::node {
namespace {

base::Error failed(const std::string& what, int err) {
  return base::Error{base::Errc::system, what + ": " + std::strerror(err)};
}

}  // namespace

base::Status keep_instance_lock(const Node& node, const char* binary, int& fd) {
  const std::string path = node.runtime_dir() + "/" + binary + ".lock";
  struct stat held {
  }, named{};
  if (fd >= 0 && ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
      held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
    return base::ok();
  }
  if (const int e = make_dirs(node.runtime_dir(), 0751); e != 0) {
    return failed("unable to create " + node.runtime_dir(), e);
  }
  const int next = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (next < 0) return failed("unable to open " + path, errno);
  flock l{};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  if (::fcntl(next, F_SETLK, &l) != 0) {
    const int err = errno;
    ::close(next);
    return failed("unable to lock " + path + " again", err);
  }
  if (fd >= 0) ::close(fd);  // the lock on the removed file goes with it: nobody can see it
  fd = next;
  return base::ok();
}

void keep_own_log(const std::string& log_path) {
  struct stat out {};
  if (::fstat(STDOUT_FILENO, &out) != 0 || !S_ISREG(out.st_mode) || out.st_nlink > 0) return;
  const auto slash = log_path.rfind('/');
  if (slash != std::string::npos) (void)make_dirs(log_path.substr(0, slash), 0750);
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return;
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
}

}  // namespace hamon::node
