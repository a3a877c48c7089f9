#include "hamon/engine/names.hpp"

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

}  // namespace hamon::engine
