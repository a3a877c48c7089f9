// Internal: the limits on the configuration text itself (config_limits.hpp), checked before it
// is parsed.
#ifndef HAMON_ENGINE_CONFIG_SCAN_HPP
#define HAMON_ENGINE_CONFIG_SCAN_HPP

#include <optional>
#include <string_view>

#include "hamon/engine/config_error.hpp"

namespace hamon::engine::internal {

// The first place where `text` goes beyond max_config_bytes, max_key_parts or max_nesting, if
// any. Never rejects a file within them, whatever its strings and comments hold.
[[nodiscard]] std::optional<ConfigError> check_size_and_depth(std::string_view text,
                                                              std::string_view file);

}  // namespace hamon::engine::internal

#endif  // HAMON_ENGINE_CONFIG_SCAN_HPP
