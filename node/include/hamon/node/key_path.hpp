// Where the cluster's key file is: `auth_key_file` as written, taken relative to the directory of
// the operator's configuration file when it is relative (docs/configuration.md), so the link
// finds it whatever the daemon's working directory and wherever the running copy lives.
#ifndef HAMON_NODE_KEY_PATH_HPP
#define HAMON_NODE_KEY_PATH_HPP

#include <string>

#include "hamon/engine/config.hpp"

namespace hamon::node {

// Empty when the configuration names no key file.
[[nodiscard]] std::string key_file_path(const engine::Config& config,
                                        const std::string& operator_file);

}  // namespace hamon::node

#endif  // HAMON_NODE_KEY_PATH_HPP
