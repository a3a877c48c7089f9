#include "hamon/node/config_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hamon/engine/config_limits.hpp"

namespace hamon::node {

int read_whole_file(const std::string& path, std::string& out, std::size_t max_bytes) {
  // open(2) and read(2) say why, where an ifstream would not (a directory opens fine, then
  // fails on read with EISDIR).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buffer[64 * 1024];
  int error = 0;
  while (out.size() < max_bytes) {
    const ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, max_bytes - out.size()));
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      error = errno;
      break;
    }
  }
  ::close(fd);
  return error;
}

LoadResult load_config_file(const std::string& path) {
  LoadResult r;
  std::string text;
  // One byte past the limit is enough for parse_config() to refuse the file: a configuration
  // named /dev/zero (or a runaway log) must not fill the memory first.
  if (const int e = read_whole_file(path, text, engine::max_config_bytes + 1); e != 0) {
    r.read_errno = e;
    r.errors.push_back("unable to read " + path + ": " + std::strerror(e));
    return r;
  }
  engine::ParseResult parsed = engine::parse_config(text, path);
  for (const auto& e : parsed.errors) r.errors.push_back(e.to_string());
  r.config = std::move(parsed.config);
  r.text = std::move(text);
  return r;
}

}  // namespace hamon::node
