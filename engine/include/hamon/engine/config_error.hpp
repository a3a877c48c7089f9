// Where a configuration item was written and what is wrong with it, reported compiler-style
// ("file:line:column: error: message") so that editors and humans can jump to it.
#ifndef HAMON_ENGINE_CONFIG_ERROR_HPP
#define HAMON_ENGINE_CONFIG_ERROR_HPP

#include <cstdint>
#include <string>
#include <string_view>

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

// `text` with every control character (C0, DEL, C1) and every byte that is not part of valid
// UTF-8 written as an escape: \n, \r, \t, else \xNN per byte. Messages quote names and values
// from the file through it, so a file can neither split an error line nor send the operator's
// terminal an escape sequence. A backslash stays as it is: escaping twice changes nothing.
[[nodiscard]] std::string printable(std::string_view text);

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_CONFIG_ERROR_HPP
