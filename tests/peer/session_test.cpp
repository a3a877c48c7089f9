// The handshake and the per-frame MAC and sequence: what the two ends of a connection accept
// from each other, and every way a frame is refused.
#include "hamon/peer/session.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hamon/peer/bytes.hpp"
#include "hamon/peer/payload.hpp"
#include "peer_test_support.hpp"
#include "session_pair.hpp"

namespace hamon::peer {
namespace {

using test::Bytes;
using test::config_of;
using test::Endpoint;
using test::key_of;
using test::make_session;
using test::nonce_from;
using test::Pair;

Rejection refusal(const Checked<std::vector<Received>>& r) {
  EXPECT_FALSE(r) << "accepted";
  return r ? Rejection{} : r.error();
}

// A frame built and signed by hand, as a peer holding `key` would: for frames the Session API
// never writes.
Bytes forge(FrameType type, const Message& m, std::uint64_t seq, const MacKey& key,
            std::uint64_t incarnation = 7) {
  Bytes out(header_size);
  EXPECT_TRUE(encode_payload(m, out));
  const FrameHeader h{.type = type,
                      .length = static_cast<std::uint32_t>(out.size() - header_size),
                      .seq = seq,
                      .epoch = 0,
                      .incarnation = incarnation};
  encode_header(h, std::span<std::uint8_t, header_size>(out.data(), header_size));
  const Mac mac = compute_mac(key, out);
  out.insert(out.end(), mac.begin(), mac.end());
  return out;
}

// The keys of Pair's connection, which the tests know because they chose its key and nonces.
SessionKeys pair_keys() {
  return derive_session_keys(key_of(1), nonce_from(0x11), nonce_from(0x22));
}

TEST(Handshake, EstablishesBothEndsWhichLearnEachOthersNameAndIncarnation) {
  Pair p;
  EXPECT_FALSE(p.a.session.can_send());
  EXPECT_FALSE(p.b.session.can_send());
  p.handshake();
  EXPECT_EQ(p.a.session.peer_node(), "b");
  EXPECT_EQ(p.a.session.peer_incarnation(), 9u);
  EXPECT_EQ(p.b.session.peer_node(), "a");
  EXPECT_EQ(p.b.session.peer_incarnation(), 7u);
}

TEST(Handshake, TheHelloAndWelcomeCarryClusterNodeAndNonce) {
  Pair p;
  Bytes hello;
  p.a.session.write_hello(hello);
  Bytes welcome;
  auto got = p.b.receive(hello, welcome);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].header.seq, 1u);
  EXPECT_EQ((*got)[0].header.incarnation, 7u);
  EXPECT_EQ(std::get<Hello>((*got)[0].message),
            (Hello{.cluster = "callcenter", .node = "a", .nonce = nonce_from(0x11)}));
  EXPECT_TRUE(p.b.session.can_send());
  EXPECT_FALSE(p.b.session.established());  // until a frame under the session key proves a

  auto back = p.a.receive(welcome);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(std::get<Welcome>((*back)[0].message),
            (Welcome{.cluster = "callcenter", .node = "b", .nonce = nonce_from(0x22)}));
  EXPECT_TRUE(p.a.session.established());
}

TEST(Session, EveryMessageTypeTravelsBothWaysWithSequenceEpochAndIncarnation) {
  Pair p;
  p.handshake();
  const std::vector<Message> messages{
      Heartbeat{.sent_ns = 100, .echo_sent_ns = 50, .echo_held_ns = 3, .state_seq = 4},
      SnapshotChunk{.state_seq = 4,
                    .index = 0,
                    .count = 1,
                    .tenants = {test::tenant_record(1)},
                    .processes = {test::process_record(1), test::process_record(2)}},
      Delta{.state_seq = 5, .tenants = {}, .processes = {test::process_record(3)}},
      Resync{.state_seq = 5},
      Goodbye{.reason = 0, .text = "stopping"},
  };
  for (Endpoint* from : {&p.a, &p.b}) {
    Endpoint* to = from == &p.a ? &p.b : &p.a;
    from->session.set_epoch(33);
    const std::uint64_t first_seq = from == &p.a ? 3 : 2;  // a sent its hello and a heartbeat
    for (std::size_t i = 0; i < messages.size(); ++i) {
      auto got = to->receive(from->write(messages[i]));
      ASSERT_TRUE(got) << got.error().message();
      ASSERT_EQ(got->size(), 1u);
      EXPECT_EQ((*got)[0].message, messages[i]);
      EXPECT_EQ((*got)[0].header.seq, first_seq + i);
      EXPECT_EQ((*got)[0].header.epoch, 33u);
      EXPECT_EQ((*got)[0].header.incarnation, from == &p.a ? 7u : 9u);
    }
  }
}

TEST(Handshake, TheResponderRefusesAHelloUnderAnotherKey) {
  Pair p(key_of(1), key_of(2), config_of("a", "b"), config_of("b", "a"));
  Bytes hello;
  p.a.session.write_hello(hello);
  Bytes welcome;
  const Rejection r = refusal(p.b.receive(hello, welcome));
  EXPECT_EQ(r.reason, Reason::wrong_key);
  EXPECT_EQ(r.detail, "frame 1: the hello of node 'a' is not signed with this cluster's key");
  EXPECT_TRUE(welcome.empty());
  EXPECT_FALSE(p.b.session.can_send());
}

TEST(Handshake, TheInitiatorRefusesAWelcomeUnderAnotherKey) {
  // b (key 1) answers a hello with a's nonce; a itself holds key 2.
  Endpoint a{make_session(End::initiator, config_of("a", "b"), key_of(2), nonce_from(0x11)), {}};
  Endpoint twin{make_session(End::initiator, config_of("a", "b"), key_of(1), nonce_from(0x11)), {}};
  Endpoint b{make_session(End::responder, config_of("b", "a"), key_of(1), nonce_from(0x22)), {}};
  Bytes hello;
  a.session.write_hello(hello);
  Bytes twin_hello;
  twin.session.write_hello(twin_hello);
  Bytes welcome;
  ASSERT_TRUE(b.receive(twin_hello, welcome));
  const Rejection r = refusal(a.receive(welcome));
  EXPECT_EQ(r.reason, Reason::wrong_key);
  EXPECT_FALSE(a.session.can_send());
}

TEST(Handshake, RefusesAHelloFromAnotherCluster) {
  Pair p(key_of(1), key_of(1), config_of("a", "b", "elsewhere"), config_of("b", "a"));
  Bytes hello;
  p.a.session.write_hello(hello);
  Bytes welcome;
  const Rejection r = refusal(p.b.receive(hello, welcome));
  EXPECT_EQ(r.reason, Reason::wrong_cluster);
  EXPECT_EQ(r.detail, "frame 1: hello from cluster 'elsewhere', this is 'callcenter'");
}

TEST(Handshake, RefusesAWelcomeFromAnotherCluster) {
  Endpoint a{make_session(End::initiator, config_of("a", "b"), key_of(1), nonce_from(0x11)), {}};
  Endpoint b{
      make_session(End::responder, config_of("b", "a", "elsewhere"), key_of(1), nonce_from(0x22)),
      {}};
  Endpoint twin{
      make_session(End::initiator, config_of("a", "b", "elsewhere"), key_of(1), nonce_from(0x11)),
      {}};
  Bytes hello;
  a.session.write_hello(hello);
  Bytes twin_hello;
  twin.session.write_hello(twin_hello);
  Bytes welcome;
  ASSERT_TRUE(b.receive(twin_hello, welcome));
  EXPECT_EQ(refusal(a.receive(welcome)).reason, Reason::wrong_cluster);
}

TEST(Handshake, RefusesANodeThatIsNotAPeer) {
  Pair p(key_of(1), key_of(1), config_of("c", "b"), config_of("b", "a"));
  Bytes hello;
  p.a.session.write_hello(hello);
  Bytes welcome;
  const Rejection r = refusal(p.b.receive(hello, welcome));
  EXPECT_EQ(r.reason, Reason::unknown_node);
  EXPECT_EQ(r.detail, "frame 1: hello from node 'c', not a peer of this node");
}

TEST(Handshake, RefusesAConnectionToItself) {
  // A node whose peer address points back at itself.
  Pair p(key_of(1), key_of(1), config_of("b", "a"), config_of("b", "a"));
  Bytes hello;
  p.a.session.write_hello(hello);
  Bytes welcome;
  const Rejection r = refusal(p.b.receive(hello, welcome));
  EXPECT_EQ(r.reason, Reason::unknown_node);
  EXPECT_EQ(r.detail, "frame 1: hello from node 'b', which is this node");
}

TEST(Handshake, RefusesAnythingButAHelloFirst) {
  Pair p;
  const Rejection r =
      refusal(p.b.receive(forge(FrameType::heartbeat, Heartbeat{}, 1, hello_key(key_of(1)))));
  EXPECT_EQ(r.reason, Reason::unexpected);
  EXPECT_EQ(r.detail, "frame 1: heartbeat where a hello was due");
}

TEST(Handshake, RefusesAnythingButAWelcomeAfterTheHello) {
  Pair p;
  Bytes hello;
  p.a.session.write_hello(hello);
  const Rejection r = refusal(
      p.a.receive(forge(FrameType::heartbeat, Heartbeat{}, 1, pair_keys().responder_to_initiator)));
  EXPECT_EQ(r.reason, Reason::unexpected);
}

TEST(Handshake, AnInitiatorRefusesFramesBeforeItsOwnHello) {
  Pair p;
  const Welcome welcome{.cluster = "callcenter", .node = "b", .nonce = {}};
  EXPECT_EQ(refusal(p.a.receive(forge(FrameType::welcome, welcome, 1, MacKey{}))).reason,
            Reason::unexpected);
}

TEST(Handshake, AReplayedHelloGetsAWelcomeButNothingAfterItVerifies) {
  // Everything a sent on a first connection, replayed to b on a second one: b's fresh nonce
  // makes new session keys, which the recording cannot match.
  Pair first;
  Bytes recording;
  first.a.session.write_hello(recording);
  Bytes welcome;
  ASSERT_TRUE(first.b.receive(recording, welcome));
  ASSERT_TRUE(first.a.receive(welcome));
  const Bytes heartbeat = first.a.write(Heartbeat{.sent_ns = 1});
  recording.insert(recording.end(), heartbeat.begin(), heartbeat.end());

  Endpoint b2{make_session(End::responder, config_of("b", "a"), key_of(1), nonce_from(0x99)), {}};
  Bytes welcome2;
  const Rejection r = refusal(b2.receive(recording, welcome2));
  EXPECT_FALSE(welcome2.empty());
  EXPECT_EQ(r.reason, Reason::bad_mac);
  EXPECT_FALSE(b2.session.established());
}

TEST(Session, RefusesAReplayedFrame) {
  Pair p;
  p.handshake();
  const Bytes frame = p.a.write(Delta{.state_seq = 1, .tenants = {}, .processes = {}});
  ASSERT_TRUE(p.b.receive(frame));
  const Rejection r = refusal(p.b.receive(frame));
  EXPECT_EQ(r.reason, Reason::replayed);
  EXPECT_EQ(r.detail, "frame 4: sequence 3, not above the last accepted 3");
}

TEST(Session, RefusesFramesOutOfOrder) {
  Pair p;
  p.handshake();
  const Bytes first = p.a.write(Heartbeat{.sent_ns = 1});
  const Bytes second = p.a.write(Heartbeat{.sent_ns = 2});
  const Rejection r = refusal(p.b.receive(second));
  EXPECT_EQ(r.reason, Reason::reordered);
  EXPECT_EQ(r.detail, "frame 3: sequence 4 where 3 was due");
}

TEST(Session, RefusesAFrameWhenOneBeforeItWasDropped) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.b.receive(p.a.write(Heartbeat{.sent_ns = 1})));
  (void)p.a.write(Heartbeat{.sent_ns = 2});  // lost on the way
  EXPECT_EQ(refusal(p.b.receive(p.a.write(Heartbeat{.sent_ns = 3}))).reason, Reason::reordered);
}

TEST(Session, RefusesAFrameWithAnyBitFlippedInHeaderPayloadOrMac) {
  Pair reference;
  reference.handshake();
  const Bytes frame = reference.a.write(Delta{
      .state_seq = 1, .tenants = {test::tenant_record(1)}, .processes = {test::process_record(2)}});
  // Every bit the magic, version, type and length checks let through to the MAC.
  for (std::size_t bit = 12 * 8; bit < frame.size() * 8; ++bit) {
    Pair p;
    p.handshake();
    ASSERT_EQ(p.a.write(Delta{.state_seq = 1,
                              .tenants = {test::tenant_record(1)},
                              .processes = {test::process_record(2)}}),
              frame);
    Bytes forged = frame;
    forged[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    const Rejection r = refusal(p.b.receive(forged));
    ASSERT_EQ(r.reason, Reason::bad_mac) << "bit " << bit << ": " << r.message();
  }
}

TEST(Session, RefusesAFrameSignedWithAnotherKey) {
  Pair p;
  p.handshake();
  // What a node of another cluster key would sign with, had it seen both nonces.
  const MacKey other =
      derive_session_keys(key_of(2), nonce_from(0x11), nonce_from(0x22)).initiator_to_responder;
  const Rejection r = refusal(p.b.receive(forge(FrameType::heartbeat, Heartbeat{}, 3, other)));
  EXPECT_EQ(r.reason, Reason::bad_mac);
  EXPECT_EQ(r.detail, "frame 3 (heartbeat): the MAC does not verify");
}

TEST(Session, RefusesItsOwnFrameReflectedBackToIt) {
  Pair p;
  p.handshake();
  const Bytes frame = p.b.write(Heartbeat{.sent_ns = 5});  // b's seq 2, which a expects next
  EXPECT_EQ(refusal(p.b.receive(frame)).reason, Reason::bad_mac);
}

TEST(Session, RefusesASecondHelloOrWelcomeEvenWhenAuthenticated) {
  for (const FrameType type : {FrameType::hello, FrameType::welcome}) {
    Pair p;
    p.handshake();
    const Message m = type == FrameType::hello
                          ? Message{Hello{.cluster = "callcenter", .node = "a", .nonce = {}}}
                          : Message{Welcome{.cluster = "callcenter", .node = "a", .nonce = {}}};
    const Rejection r = refusal(p.b.receive(forge(type, m, 3, pair_keys().initiator_to_responder)));
    EXPECT_EQ(r.reason, Reason::unexpected);
    EXPECT_NE(r.detail.find("after the handshake"), std::string::npos) << r.detail;
  }
}

TEST(Session, RefusesAnAuthenticatedFrameWithAMalformedPayload) {
  Pair p;
  p.handshake();
  // A valid MAC over a resync payload one byte short.
  Bytes frame = forge(FrameType::resync, Resync{}, 3, pair_keys().initiator_to_responder);
  Bytes bytes(frame.begin(), frame.begin() + header_size + 7);
  store_le(bytes.data() + 8, 7, 4);
  const Mac mac = compute_mac(pair_keys().initiator_to_responder, bytes);
  bytes.insert(bytes.end(), mac.begin(), mac.end());
  const Rejection r = refusal(p.b.receive(bytes));
  EXPECT_EQ(r.reason, Reason::malformed);
  EXPECT_EQ(r.detail, "resync: the payload ends inside a field");
}

TEST(Session, RefusesAChangeOfIncarnationWithinAConnection) {
  Pair p;
  p.handshake();
  const Rejection r = refusal(p.b.receive(
      forge(FrameType::heartbeat, Heartbeat{}, 3, pair_keys().initiator_to_responder, 8)));
  EXPECT_EQ(r.reason, Reason::malformed);
  EXPECT_NE(r.detail.find("incarnation 8 on a connection of incarnation 7"), std::string::npos);
}

TEST(Session, RefusesFramesAfterTheGoodbye) {
  Pair p;
  p.handshake();
  ASSERT_TRUE(p.b.receive(p.a.write(Goodbye{.reason = 0, .text = "bye"})));
  const Rejection r = refusal(p.b.receive(p.a.write(Heartbeat{})));
  EXPECT_EQ(r.reason, Reason::unexpected);
  EXPECT_EQ(r.detail, "frame 4 (heartbeat) after the peer's goodbye");
}

TEST(Session, ATruncatedFrameIsReportedAtTheEndOfTheStream) {
  Pair p;
  p.handshake();
  const Bytes frame = p.a.write(Heartbeat{.sent_ns = 1});
  auto got = p.b.receive(Bytes(frame.begin(), frame.end() - 1));
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
  auto end = p.b.decoder.finish();
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().reason, Reason::truncated);
}

TEST(Session, RejectionsAreFinal) {
  Pair p;
  p.handshake();
  const Bytes first = p.a.write(Heartbeat{.sent_ns = 1});
  const Bytes second = p.a.write(Heartbeat{.sent_ns = 2});
  EXPECT_EQ(refusal(p.b.receive(second)).reason, Reason::reordered);
  // The frame that was due, arriving now, does not revive the connection.
  EXPECT_EQ(refusal(p.b.receive(first)).reason, Reason::reordered);
}

TEST(Session, WriteRefusesBeforeTheHandshakeAndForTheSessionsOwnMessages) {
  Pair p;
  Bytes out{1};
  base::Status s = p.a.session.write(Heartbeat{}, out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "peer session: cannot send a heartbeat before the handshake");
  p.handshake();
  s = p.a.session.write(Hello{}, out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "peer session: cannot send a hello (the session sends its own)");
  EXPECT_EQ(out, Bytes{1});
}

TEST(Session, ARefusedWriteUsesNoSequenceNumber) {
  Pair p;
  p.handshake();
  Bytes out;
  ASSERT_FALSE(p.a.session.write(Goodbye{.reason = 0, .text = "\n"}, out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(p.b.receive(p.a.write(Heartbeat{})));
}

TEST(Session, CreateRefusesInvalidNames) {
  auto s = Session::create(End::initiator, config_of("a b", "b"), key_of(1), nonce_from(1));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, base::Errc::bad_argument);
}

TEST(Counters, CountEachRejectionByReason) {
  Counters c;
  c.count(Reason::replayed);
  c.count(Reason::replayed);
  c.count(Reason::wrong_key);
  EXPECT_EQ(c[Reason::replayed], 2u);
  EXPECT_EQ(c[Reason::wrong_key], 1u);
  EXPECT_EQ(c[Reason::bad_mac], 0u);
  EXPECT_EQ(c.total(), 3u);
}

TEST(Reasons, HaveStableNumbersAndNames) {
  EXPECT_EQ(static_cast<int>(Reason::bad_magic), 1);
  EXPECT_EQ(static_cast<int>(Reason::snapshot_order), 14);
  EXPECT_EQ(reason_count, 15u);
  for (std::uint16_t v = 1; v < reason_count; ++v) {
    EXPECT_TRUE(is_reason(v));
    EXPECT_NE(to_string(static_cast<Reason>(v)), "unknown") << v;
  }
  EXPECT_FALSE(is_reason(0));
  EXPECT_FALSE(is_reason(reason_count));
  EXPECT_EQ(to_string(Reason::wrong_cluster), "wrong-cluster");
}

}  // namespace
}  // namespace hamon::peer
