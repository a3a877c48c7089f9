// The names the segments hold in fixed char arrays (NUL-padded, at most N-1 characters): written
// and read the one way, by every daemon and view.
#ifndef HAMON_SHM_FIXED_STRING_HPP
#define HAMON_SHM_FIXED_STRING_HPP

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace hamon::shm {

// Writes `s`, cut to N-1 characters, and zeroes the rest: no byte of an older, longer name stays.
template <std::size_t N>
void write_fixed(char (&dst)[N], std::string_view s) noexcept {
  std::memset(dst, 0, N);
  std::memcpy(dst, s.data(), std::min(s.size(), N - 1));
}

// The name in `src`, up to its first NUL; all N bytes if there is none (a segment anyone else can
// write must not make a reader run past the field).
template <std::size_t N>
[[nodiscard]] std::string read_fixed(const char (&src)[N]) {
  return std::string(src, strnlen(src, N));
}

}  // namespace hamon::shm

#endif  // HAMON_SHM_FIXED_STRING_HPP
