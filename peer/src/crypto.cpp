#include "hamon/peer/crypto.hpp"

#include <sodium.h>

namespace hamon::peer {
namespace {

static_assert(crypto_auth_hmacsha512256_BYTES == mac_size);
static_assert(crypto_auth_hmacsha512256_KEYBYTES == key_size);
static_assert(crypto_kdf_KEYBYTES == key_size);
static_assert(crypto_generichash_KEYBYTES_MAX >= key_size);

// crypto_kdf's context: 8 bytes naming what the keys are for.
constexpr char kContext[crypto_kdf_CONTEXTBYTES + 1] = "hamonpr1";
constexpr std::uint64_t kHelloKeyId = 1;
constexpr std::uint64_t kInitiatorToResponderId = 2;
constexpr std::uint64_t kResponderToInitiatorId = 3;

MacKey derive(const std::uint8_t* master, std::uint64_t id) noexcept {
  MacKey k{};
  crypto_kdf_derive_from_key(k.data(), k.size(), id, kContext, master);
  return k;
}

}  // namespace

base::Status crypto_init() {
  // sodium_init() is thread-safe and returns 1 when already initialised.
  static const int rc = sodium_init();
  if (rc < 0) {
    return base::Error{base::Errc::system, "unable to initialise libsodium (sodium_init failed)"};
  }
  return base::ok();
}

Nonce random_nonce() {
  Nonce n{};
  randombytes_buf(n.data(), n.size());
  return n;
}

MacKey hello_key(const SharedKey& shared) noexcept {
  return derive(shared.bytes().data(), kHelloKeyId);
}

SessionKeys derive_session_keys(const SharedKey& shared, const Nonce& initiator,
                                const Nonce& responder) noexcept {
  std::array<std::uint8_t, 2 * nonce_size> nonces{};
  for (std::size_t i = 0; i < nonce_size; ++i) {
    nonces[i] = initiator[i];
    nonces[nonce_size + i] = responder[i];
  }
  MacKey master{};
  crypto_generichash(master.data(), master.size(), nonces.data(), nonces.size(),
                     shared.bytes().data(), shared.bytes().size());
  SessionKeys keys{.initiator_to_responder = derive(master.data(), kInitiatorToResponderId),
                   .responder_to_initiator = derive(master.data(), kResponderToInitiatorId)};
  wipe(master);
  return keys;
}

Mac compute_mac(const MacKey& key, std::span<const std::uint8_t> data) noexcept {
  Mac mac{};
  crypto_auth_hmacsha512256(mac.data(), data.data(), data.size(), key.data());
  return mac;
}

bool verify_mac(const MacKey& key, std::span<const std::uint8_t> data,
                std::span<const std::uint8_t, mac_size> mac) noexcept {
  return crypto_auth_hmacsha512256_verify(mac.data(), data.data(), data.size(), key.data()) == 0;
}

void wipe(MacKey& key) noexcept { sodium_memzero(key.data(), key.size()); }

}  // namespace hamon::peer
