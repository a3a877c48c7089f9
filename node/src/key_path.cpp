#include "hamon/node/key_path.hpp"

#include <filesystem>

namespace hamon::node {

std::string key_file_path(const engine::Config& config, const std::string& operator_file) {
  if (!config.cluster.auth_key_file) return {};
  std::filesystem::path p(*config.cluster.auth_key_file);
  if (p.is_relative()) p = std::filesystem::absolute(operator_file).parent_path() / p;
  return p.lexically_normal().string();
}

}  // namespace hamon::node
