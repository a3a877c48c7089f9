// parse_config(): configuration text to a validated Config, or every error found in it.
//
// Pure: the caller reads the file. Errors carry file:line:column; all of them are reported,
// not just the first, except that a TOML syntax error ends parsing. Throws nothing but
// std::bad_alloc.
#ifndef HAMON_ENGINE_PARSE_CONFIG_HPP
#define HAMON_ENGINE_PARSE_CONFIG_HPP

#include <optional>
#include <string_view>
#include <vector>

#include "hamon/engine/config.hpp"
#include "hamon/engine/config_error.hpp"

namespace hamon::engine {

struct ParseResult {
  std::optional<Config> config;     // set if and only if errors is empty
  std::vector<ConfigError> errors;  // in file order

  [[nodiscard]] bool ok() const noexcept { return errors.empty(); }
};

// `file_name` only labels positions (and becomes Config::source).
[[nodiscard]] ParseResult parse_config(std::string_view toml_text, std::string_view file_name);

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_PARSE_CONFIG_HPP
