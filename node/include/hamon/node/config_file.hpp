// Reading a configuration file: the I/O around engine::parse_config, shared by the CLI and the
// daemons so they report a file the same way.
#ifndef HAMON_NODE_CONFIG_FILE_HPP
#define HAMON_NODE_CONFIG_FILE_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hamon/engine/parse_config.hpp"

namespace hamon::node {

struct LoadResult {
  std::optional<engine::Config> config;
  int read_errno = 0;               // non-zero: the file could not be read
  std::vector<std::string> errors;  // "file:line:column: error: ..." or "unable to read ..."
  std::string text;                 // the bytes `config` was parsed from
};

LoadResult load_config_file(const std::string& path);

// 0 or errno. Stops after `max_bytes` (so `out` holds at most that many).
int read_whole_file(const std::string& path, std::string& out, std::size_t max_bytes = SIZE_MAX);

}  // namespace hamon::node

#endif  // HAMON_NODE_CONFIG_FILE_HPP
