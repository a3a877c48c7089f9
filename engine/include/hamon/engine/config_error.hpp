// Where a configuration item was written and what is wrong with it, reported compiler-style
// ("file:line:column: error: message") so that editors and humans can jump to it.
#pragma once

#include <cstdint>
#include <string>

namespace hamon::engine {

// A position in a configuration file. Lines and columns start at 1.
struct SourcePos {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

struct ConfigError {
  SourcePos where;
  std::string message;

  // "file:line:column: error: message"
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const ConfigError&, const ConfigError&) = default;
};

}  // namespace hamon::engine
