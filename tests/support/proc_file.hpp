// Reading a /proc file of a process that may exit while it is read: the read then fails with
// ESRCH, which std::ifstream turns into an exception from inside istreambuf_iterator. Tests scan
// /proc while processes come and go, so they read through this: whatever was read, never a
// throw.
#ifndef HAMON_TESTS_PROC_FILE_HPP
#define HAMON_TESTS_PROC_FILE_HPP

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace hamon::test {

// The file's contents ("" when it cannot be opened; what was read when a read fails).
inline std::string read_proc_file(const std::string& path) {
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

}  // namespace hamon::test

#endif  // HAMON_TESTS_PROC_FILE_HPP
