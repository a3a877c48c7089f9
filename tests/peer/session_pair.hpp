// Two sessions connected by byte buffers instead of a socket: what one writes, the other's
// decoder reads. Tests tamper with the bytes in between.
#ifndef HAMON_TESTS_PEER_SESSION_PAIR_HPP
#define HAMON_TESTS_PEER_SESSION_PAIR_HPP

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hamon/peer/frame_decoder.hpp"
#include "hamon/peer/session.hpp"

namespace hamon::peer::test {

inline SharedKey key_of(std::uint8_t seed) {
  std::array<std::uint8_t, key_size> k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return SharedKey(k);
}

inline Nonce nonce_from(std::uint8_t seed) {
  Nonce n{};
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(seed ^ (i * 5));
  return n;
}

inline SessionConfig config_of(std::string node, std::string peer,
                               std::string cluster = "callcenter", std::uint64_t incarnation = 7) {
  return SessionConfig{.cluster = std::move(cluster),
                       .node = std::move(node),
                       .peers = {std::move(peer)},
                       .incarnation = incarnation};
}

inline Session make_session(End end, SessionConfig config, const SharedKey& key, Nonce nonce) {
  base::Result<Session> s = Session::create(end, std::move(config), key, nonce);
  if (!s) throw std::runtime_error(s.error().message);
  return std::move(s).value();
}

// One end of a connection: its session and the decoder of what it receives.
struct Endpoint {
  Session session;
  FrameDecoder decoder;

  // Feeds `bytes` and hands every frame to the session; the replies it writes (a welcome) go to
  // `reply`. Returns what was received, or the first rejection.
  Checked<std::vector<Received>> receive(const std::vector<std::uint8_t>& bytes,
                                         std::vector<std::uint8_t>& reply) {
    decoder.feed(bytes);
    std::vector<Received> got;
    for (;;) {
      auto next = decoder.next();
      if (!next) return next.error();
      if (!*next) return got;
      auto r = session.receive(**next, reply);
      if (!r) return r.error();
      got.push_back(std::move(*r));
    }
  }
  Checked<std::vector<Received>> receive(const std::vector<std::uint8_t>& bytes) {
    std::vector<std::uint8_t> reply;
    auto r = receive(bytes, reply);
    EXPECT_TRUE(reply.empty());
    return r;
  }

  std::vector<std::uint8_t> write(const Message& m) {
    std::vector<std::uint8_t> out;
    const base::Status s = session.write(m, out);
    EXPECT_TRUE(s) << s.error().message;
    return out;
  }
};

// Node "a" connects to node "b", both with `a_key` and `b_key`.
struct Pair {
  Endpoint a;  // initiator
  Endpoint b;  // responder

  explicit Pair(const SharedKey& a_key, const SharedKey& b_key, SessionConfig a_config,
                SessionConfig b_config)
      : a{make_session(End::initiator, std::move(a_config), a_key, nonce_from(0x11)), {}},
        b{make_session(End::responder, std::move(b_config), b_key, nonce_from(0x22)), {}} {}
  Pair() : Pair(key_of(1), key_of(1), config_of("a", "b"), config_of("b", "a", "callcenter", 9)) {}

  // The hello, the welcome and one heartbeat a → b: both ends established.
  void handshake() {
    std::vector<std::uint8_t> hello;
    a.session.write_hello(hello);
    std::vector<std::uint8_t> welcome;
    auto got_hello = b.receive(hello, welcome);
    ASSERT_TRUE(got_hello) << got_hello.error().message();
    auto got_welcome = a.receive(welcome);
    ASSERT_TRUE(got_welcome) << got_welcome.error().message();
    auto proof = b.receive(a.write(Heartbeat{}));
    ASSERT_TRUE(proof) << proof.error().message();
    ASSERT_TRUE(a.session.established());
    ASSERT_TRUE(b.session.established());
  }
};

}  // namespace hamon::peer::test

#endif  // HAMON_TESTS_PEER_SESSION_PAIR_HPP
