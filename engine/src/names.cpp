#include "hamon/engine/names.hpp"

#include "hamon/engine/config_limits.hpp"

namespace hamon::engine {

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name_length) return false;
  if (name.front() == '.' || name.front() == '-') return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_process_name(std::string_view name) noexcept {
  if (is_valid_name(name)) return true;
  const std::size_t tilde = name.rfind('~');
  if (tilde == std::string_view::npos || name.size() > max_name_length) return false;
  const std::string_view base = name.substr(0, tilde), k = name.substr(tilde + 1);
  if (!is_valid_name(base) || k.empty() || k.size() > 2 || k.front() == '0') return false;
  int n = 0;
  for (const char c : k) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n >= 1 && static_cast<std::size_t>(n) <= max_spares;
}

}  // namespace hamon::engine
