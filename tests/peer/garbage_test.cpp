// Randomised: nothing a peer can send crashes the decoder, the payload decoders or a session,
// and no corrupted frame is ever taken for a good one. Seeds are fixed, so a failure repeats.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "hamon/peer/frame_decoder.hpp"
#include "hamon/peer/payload.hpp"
#include "hamon/peer/session.hpp"
#include "peer_test_support.hpp"
#include "session_pair.hpp"

namespace hamon::peer {
namespace {

using test::Bytes;

Bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  Bytes b(n);
  for (std::uint8_t& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

std::size_t below(std::mt19937_64& rng, std::size_t n) { return rng() % n; }

// Feeds `bytes` in random pieces to a fresh responder; returns the messages it accepted and
// whether it rejected the stream (at a frame, or at its end).
struct Fate {
  std::vector<Message> accepted;
  std::optional<Rejection> rejected;
};

Fate feed_responder(const Bytes& bytes, std::mt19937_64& rng) {
  test::Endpoint b{test::make_session(End::responder, test::config_of("b", "a"), test::key_of(1),
                                      test::nonce_from(0x22)),
                   {}};
  Fate fate;
  std::size_t at = 0;
  while (at < bytes.size() && !fate.rejected) {
    const std::size_t n = std::min(bytes.size() - at, 1 + below(rng, 300));
    Bytes reply;
    auto got = b.receive(
        Bytes(bytes.begin() + static_cast<long>(at), bytes.begin() + static_cast<long>(at + n)),
        reply);
    at += n;
    if (!got) fate.rejected = got.error();
    if (got) {
      for (Received& r : *got) fate.accepted.push_back(std::move(r.message));
    }
  }
  if (!fate.rejected) {
    auto end = b.decoder.finish();
    if (!end) fate.rejected = end.error();
  }
  return fate;
}

TEST(Garbage, RandomBytesNeverCrashAndNeverPassForAFrame) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 3000; ++i) {
    const Bytes bytes = random_bytes(rng, below(rng, 3000));
    const Fate fate = feed_responder(bytes, rng);
    EXPECT_TRUE(fate.accepted.empty()) << "iteration " << i;
    if (!bytes.empty()) {
      EXPECT_TRUE(fate.rejected) << "iteration " << i;
    }
  }
}

TEST(Garbage, RandomFramesWithValidHeadersAreRefusedByTheSession) {
  std::mt19937_64 rng(77);
  for (int i = 0; i < 3000; ++i) {
    const auto type = static_cast<FrameType>(1 + below(rng, 7));
    Bytes bytes = test::raw_frame(type, random_bytes(rng, below(rng, 600)), 1 + below(rng, 3));
    // A random MAC too.
    const Bytes mac = random_bytes(rng, mac_size);
    std::copy(mac.begin(), mac.end(), bytes.end() - mac_size);
    const Fate fate = feed_responder(bytes, rng);
    EXPECT_TRUE(fate.accepted.empty()) << "iteration " << i;
    ASSERT_TRUE(fate.rejected) << "iteration " << i;
  }
}

TEST(Garbage, APayloadThatDecodesIsTheOneEncodingOfItsMessage) {
  // Decoding never crashes on any payload, and accepts only canonical bytes: what it accepts
  // encodes back to exactly the same bytes, so two readings of one frame cannot differ.
  std::mt19937_64 rng(5);
  int decoded = 0;
  for (int i = 0; i < 200000; ++i) {
    const auto type = static_cast<FrameType>(1 + below(rng, 7));
    // Short payloads with small bytes hit valid encodings often enough to matter.
    Bytes payload = random_bytes(rng, below(rng, 80));
    for (std::uint8_t& b : payload) {
      if (rng() % 2) b = static_cast<std::uint8_t>('a' + b % 4);
      if (rng() % 3 == 0) b = static_cast<std::uint8_t>(b % 3);
    }
    Checked<Message> m = decode_payload(type, payload);
    if (!m) {
      EXPECT_EQ(m.error().reason, Reason::malformed);
      continue;
    }
    ++decoded;
    Bytes again;
    ASSERT_TRUE(encode_payload(*m, again));
    ASSERT_EQ(again, payload) << to_string(type);
  }
  EXPECT_GT(decoded, 100);

  // And valid payloads with one byte changed, which reach every field of every record.
  const std::vector<Message> valid{
      Hello{.cluster = "c", .node = "a", .nonce = {}},
      SnapshotChunk{.state_seq = 1,
                    .index = 0,
                    .count = 2,
                    .tenants = {test::tenant_record(1, 2)},
                    .processes = {test::process_record(1, 2), test::process_record(2, 3)}},
      Delta{.state_seq = 1, .tenants = {test::tenant_record(3, 1)}, .processes = {}},
      Goodbye{.reason = 3, .text = "x"},
  };
  decoded = 0;
  for (int i = 0; i < 100000; ++i) {
    const Message& m = valid[below(rng, valid.size())];
    Bytes payload;
    ASSERT_TRUE(encode_payload(m, payload));
    payload[below(rng, payload.size())] =
        static_cast<std::uint8_t>(rng() % 8 == 0 ? rng() : rng() % 6);
    Checked<Message> back = decode_payload(type_of(m), payload);
    if (!back) continue;
    ++decoded;
    Bytes again;
    ASSERT_TRUE(encode_payload(*back, again));
    ASSERT_EQ(again, payload) << to_string(type_of(m));
  }
  EXPECT_GT(decoded, 1000);
}

// A whole conversation as the initiator sends it, with the messages b should accept from it.
struct Recording {
  Bytes bytes;
  std::vector<Message> messages;
};

Recording record_conversation() {
  test::Pair p;
  Recording rec;
  p.a.session.write_hello(rec.bytes);
  Bytes welcome;
  auto hello = p.b.receive(rec.bytes, welcome);
  EXPECT_TRUE(hello);
  rec.messages.push_back((*hello)[0].message);
  EXPECT_TRUE(p.a.receive(welcome));
  const std::vector<Message> messages{
      Heartbeat{.sent_ns = 1, .echo_sent_ns = 0, .echo_held_ns = 0, .state_seq = 0},
      SnapshotChunk{.state_seq = 1,
                    .index = 0,
                    .count = 1,
                    .tenants = {test::tenant_record(0), test::tenant_record(1)},
                    .processes = {test::process_record(0), test::process_record(1)}},
      Delta{.state_seq = 2, .tenants = {}, .processes = {test::process_record(2)}},
      Heartbeat{.sent_ns = 2, .echo_sent_ns = 1, .echo_held_ns = 5, .state_seq = 2},
      Goodbye{.reason = 0, .text = "bye"},
  };
  for (const Message& m : messages) {
    const Bytes f = p.a.write(m);
    rec.bytes.insert(rec.bytes.end(), f.begin(), f.end());
    rec.messages.push_back(m);
  }
  return rec;
}

TEST(Garbage, ACorruptedConversationIsAcceptedOnlyUpToTheCorruption) {
  const Recording rec = record_conversation();
  {
    std::mt19937_64 rng(1);
    const Fate clean = feed_responder(rec.bytes, rng);
    ASSERT_FALSE(clean.rejected) << clean.rejected->message();
    ASSERT_EQ(clean.accepted, rec.messages);
  }
  std::mt19937_64 rng(99);
  for (int i = 0; i < 3000; ++i) {
    Bytes bytes = rec.bytes;
    const std::size_t at = below(rng, bytes.size());
    const std::size_t kind = below(rng, 4);
    switch (kind) {
      case 0: bytes[at] ^= static_cast<std::uint8_t>(1 + below(rng, 255)); break;
      case 1: bytes.resize(at); break;
      case 2: bytes.erase(bytes.begin() + static_cast<long>(at)); break;
      case 3:
        bytes.insert(bytes.begin() + static_cast<long>(at), static_cast<std::uint8_t>(rng()));
        break;
    }
    const Fate fate = feed_responder(bytes, rng);
    // A stream cut between two frames is a connection closed early, not an error.
    const bool cut_between_frames = kind == 1 && !fate.rejected;
    ASSERT_TRUE(fate.rejected || cut_between_frames)
        << "iteration " << i << ": a corrupted stream was taken whole";
    if (cut_between_frames) {
      ASSERT_LT(fate.accepted.size(), rec.messages.size());
    }
    ASSERT_LE(fate.accepted.size(), rec.messages.size());
    for (std::size_t k = 0; k < fate.accepted.size(); ++k) {
      ASSERT_EQ(fate.accepted[k], rec.messages[k]) << "iteration " << i << ", message " << k;
    }
  }
}

}  // namespace
}  // namespace hamon::peer
