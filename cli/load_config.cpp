#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "hamon/engine/parse_config.hpp"

namespace hamon::cli {
namespace {

// 0, or the errno of the call that failed: open(2) and read(2) say why, where an ifstream
// would not (a directory, for one, opens fine and fails on read with EISDIR).
int read_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buffer[64 * 1024];
  int error = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
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

}  // namespace

LoadedConfig load_config(const std::string& path) {
  std::string text;
  if (const int error = read_file(path, text); error != 0) {
    std::cerr << "hamon: unable to read " << path << ": " << std::strerror(error) << '\n';
    return {std::nullopt, exit_io};
  }
  engine::ParseResult parsed = engine::parse_config(text, path);
  if (!parsed.ok()) {
    for (const engine::ConfigError& error : parsed.errors) std::cerr << error.to_string() << '\n';
    return {std::nullopt, exit_config_invalid};
  }
  return {std::move(parsed.config), exit_ok};
}

}  // namespace hamon::cli
