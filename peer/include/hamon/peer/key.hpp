// The cluster's shared key and its text form, as `hamon keygen` writes it into the file that
// `auth_key_file` names: 64 hexadecimal digits (32 bytes) and a newline. Text, so that it can be
// checked and copied between nodes with ordinary tools.
//
// Thread-safety: plain values.
#ifndef HAMON_PEER_KEY_HPP
#define HAMON_PEER_KEY_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "hamon/result.hpp"

namespace hamon::peer {

inline constexpr std::size_t key_size = 32;  // crypto_auth_hmacsha512256_KEYBYTES

// A 32-byte secret, wiped from memory when destroyed.
class SharedKey {
 public:
  explicit SharedKey(std::span<const std::uint8_t, key_size> bytes) noexcept;
  SharedKey(const SharedKey&) = default;
  SharedKey& operator=(const SharedKey&) = default;
  ~SharedKey();

  [[nodiscard]] std::span<const std::uint8_t, key_size> bytes() const noexcept { return k_; }

 private:
  std::array<std::uint8_t, key_size> k_;
};

// A new key from the system's random source. Fails only when libsodium cannot initialise.
[[nodiscard]] base::Result<SharedKey> random_key();
// "0a1b...\n": 64 lower-case hex digits and a newline.
[[nodiscard]] std::string format_key(const SharedKey& key);
// The key in `text` (64 hex digits, either case, then at most one newline). `source` names the
// text in errors: "FILE: character 17 is not a hex digit".
[[nodiscard]] base::Result<SharedKey> parse_key(std::string_view text, std::string_view source);

}  // namespace hamon::peer

#endif  // HAMON_PEER_KEY_HPP
