#include <iostream>

#include "commands.hpp"
#include "hamon/node/config_file.hpp"

namespace hamon::cli {

LoadedConfig load_config(const std::string& path) {
  node::LoadResult r = node::load_config_file(path);
  if (r.read_errno != 0) {
    std::cerr << "hamon: " << r.errors.front() << '\n';
    return {std::nullopt, exit_io};
  }
  if (!r.config) {
    for (const std::string& error : r.errors) std::cerr << error << '\n';
    return {std::nullopt, exit_config_invalid};
  }
  return {std::move(r.config), exit_ok};
}

}  // namespace hamon::cli
