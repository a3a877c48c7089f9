// The peer link's cryptography, all of it libsodium's (docs/peer-protocol.md, "Authentication"):
// HMAC-SHA512-256 (crypto_auth_hmacsha512256) authenticates every frame; keyed BLAKE2b
// (crypto_generichash) mixes both handshake nonces into a per-connection master key, and
// crypto_kdf derives one MAC key per direction from it, so that a frame reflected back to its
// sender does not verify.
//
// Thread-safety: crypto_init() may be called from any thread, any number of times; the rest are
// pure functions, usable once crypto_init() has succeeded.
#ifndef HAMON_PEER_CRYPTO_HPP
#define HAMON_PEER_CRYPTO_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "hamon/peer/frame.hpp"
#include "hamon/peer/key.hpp"
#include "hamon/peer/messages.hpp"
#include "hamon/result.hpp"

namespace hamon::peer {

// sodium_init(), once per process.
[[nodiscard]] base::Status crypto_init();

// 32 bytes from the system's random source. REQUIRES: crypto_init() succeeded.
[[nodiscard]] Nonce random_nonce();

using MacKey = std::array<std::uint8_t, key_size>;
using Mac = std::array<std::uint8_t, mac_size>;

// The key of hellos, which come before any nonce exchange: it lets the responder refuse a wrong
// key at once. Replaying a hello gains nothing: the session keys depend on the responder's fresh
// nonce too.
[[nodiscard]] MacKey hello_key(const SharedKey& shared) noexcept;

struct SessionKeys {
  MacKey initiator_to_responder{};
  MacKey responder_to_initiator{};
};
[[nodiscard]] SessionKeys derive_session_keys(const SharedKey& shared, const Nonce& initiator,
                                              const Nonce& responder) noexcept;

[[nodiscard]] Mac compute_mac(const MacKey& key, std::span<const std::uint8_t> data) noexcept;
// In constant time.
[[nodiscard]] bool verify_mac(const MacKey& key, std::span<const std::uint8_t> data,
                              std::span<const std::uint8_t, mac_size> mac) noexcept;

// Overwrites a key with zeros in a way the compiler does not remove.
void wipe(MacKey& key) noexcept;

}  // namespace hamon::peer

#endif  // HAMON_PEER_CRYPTO_HPP
