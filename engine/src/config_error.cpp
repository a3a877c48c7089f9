#include "hamon/engine/config_error.hpp"

namespace hamon::engine {

std::string ConfigError::to_string() const {
  return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
         ": error: " + message;
}

}  // namespace hamon::engine
