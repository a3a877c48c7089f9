#include "hamon/peer/key.hpp"

#include <sodium.h>

#include "hamon/peer/crypto.hpp"

namespace hamon::peer {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

SharedKey::SharedKey(std::span<const std::uint8_t, key_size> bytes) noexcept {
  for (std::size_t i = 0; i < key_size; ++i) k_[i] = bytes[i];
}

SharedKey::~SharedKey() { sodium_memzero(k_.data(), k_.size()); }

base::Result<SharedKey> random_key() {
  if (base::Status s = crypto_init(); !s) return s.error();
  std::array<std::uint8_t, key_size> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  SharedKey key(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

std::string format_key(const SharedKey& key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * key_size + 1);
  for (const std::uint8_t b : key.bytes()) {
    text += kDigits[b >> 4];
    text += kDigits[b & 0xf];
  }
  text += '\n';
  return text;
}

base::Result<SharedKey> parse_key(std::string_view text, std::string_view source) {
  const std::string where(source);
  const auto bad = [&](const std::string& why) {
    return base::Error{base::Errc::bad_argument,
                       where + ": " + why +
                           "; a key file holds 64 hex digits (32 bytes) and a newline, as "
                           "`hamon keygen FILE` writes it"};
  };
  if (text.size() == 2 * key_size + 1 && text.back() == '\n') text.remove_suffix(1);
  if (text.size() != 2 * key_size) return bad("it holds " + std::to_string(text.size()) + " bytes");
  std::array<std::uint8_t, key_size> bytes{};
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int v = hex_value(text[i]);
    if (v < 0) {
      sodium_memzero(bytes.data(), bytes.size());
      return bad("character " + std::to_string(i + 1) + " is not a hex digit");
    }
    bytes[i / 2] = static_cast<std::uint8_t>(bytes[i / 2] << 4 | v);
  }
  SharedKey key(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

}  // namespace hamon::peer
