// Payloads: every message survives encode → decode unchanged, the bytes are the documented ones,
// and anything short, long or out of range is refused as malformed, saying where.
#include "hamon/peer/payload.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "peer_test_support.hpp"

namespace hamon::peer {
namespace {

using test::Bytes;
using test::process_record;
using test::tenant_record;

Bytes encode(const Message& m) {
  Bytes out;
  const base::Status s = encode_payload(m, out);
  EXPECT_TRUE(s) << s.error().message;
  return out;
}

Message round_trip(const Message& m) {
  const Bytes bytes = encode(m);
  Checked<Message> back = decode_payload(type_of(m), bytes);
  EXPECT_TRUE(back) << back.error().message();
  return back ? *back : Message{};
}

Rejection refusal(FrameType type, const Bytes& payload) {
  Checked<Message> m = decode_payload(type, payload);
  EXPECT_FALSE(m) << "accepted a bad " << to_string(type);
  return m ? Rejection{} : m.error();
}

Nonce nonce_of(std::uint8_t first) {
  Nonce n{};
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(first + i);
  return n;
}

std::vector<Message> one_of_each() {
  return {
      Hello{.cluster = "callcenter", .node = "a", .nonce = nonce_of(1)},
      Welcome{.cluster = "callcenter", .node = "b-2.x", .nonce = nonce_of(200)},
      Heartbeat{.sent_ns = 1, .echo_sent_ns = ~0ULL, .echo_held_ns = 77, .state_seq = 5},
      SnapshotChunk{.state_seq = 9,
                    .index = 2,
                    .count = 3,
                    .tenants = {tenant_record(1), tenant_record(2, 1)},
                    .processes = {process_record(0), process_record(8, 1), process_record(13)}},
      Delta{.state_seq = 10, .tenants = {}, .processes = {process_record(4)}},
      Delta{.state_seq = 11, .tenants = {tenant_record(3)}, .processes = {}},
      Resync{.state_seq = 12},
      Goodbye{.reason = 0, .text = "shutting down"},
      Goodbye{.reason = static_cast<std::uint16_t>(Reason::replayed), .text = ""},
  };
}

TEST(Payload, EveryMessageTypeRoundTrips) {
  for (const Message& m : one_of_each()) {
    EXPECT_EQ(round_trip(m), m) << to_string(type_of(m));
  }
}

TEST(Payload, MessagesAreInFrameTypeOrder) {
  EXPECT_EQ(type_of(Hello{}), FrameType::hello);
  EXPECT_EQ(type_of(Welcome{}), FrameType::welcome);
  EXPECT_EQ(type_of(Heartbeat{}), FrameType::heartbeat);
  EXPECT_EQ(type_of(SnapshotChunk{}), FrameType::snapshot);
  EXPECT_EQ(type_of(Delta{}), FrameType::delta);
  EXPECT_EQ(type_of(Resync{}), FrameType::resync);
  EXPECT_EQ(type_of(Goodbye{}), FrameType::goodbye);
}

TEST(Payload, AHeartbeatIsFourLittleEndianU64s) {
  const Bytes bytes = encode(Heartbeat{
      .sent_ns = 0x0102, .echo_sent_ns = 3, .echo_held_ns = 4, .state_seq = 0x0500000000000000});
  const Bytes expected{0x02, 0x01, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
                       4,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
  EXPECT_EQ(bytes, expected);
}

TEST(Payload, AProcessRecordIsItsNamesThenFixedFields) {
  const ProcessRecord p{.group = "acme",
                        .name = "acd",
                        .state = ProcessState::running,
                        .ready = true,
                        .critical = true,
                        .pid = 0x1234,
                        .incarnation = 7,
                        .restarts = 2};
  const Bytes bytes = encode(Delta{.state_seq = 1, .tenants = {}, .processes = {p}});
  const Bytes expected{
      1,    0,    0,   0,   0,   0, 0, 0,  // state_seq
      0,    0,                             // no tenants
      1,    0,                             // one process
      4,    'a',  'c', 'm', 'e',           // group
      3,    'a',  'c', 'd',                // name
      4,                                   // state: running
      3,                                   // flags: ready | critical
      0x34, 0x12, 0,   0,                  // pid
      7,    0,    0,   0,   0,   0, 0, 0,  // incarnation
      2,    0,    0,   0,                  // restarts
  };
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(encoded_size(p), bytes.size() - delta_fixed_size);
}

TEST(Payload, ASpareInstanceNameCrossesTheLinkAndNoOtherTildeDoes) {
  ProcessRecord p{.group = "acme",
                  .name = "acd~1",
                  .state = ProcessState::running,
                  .ready = true,
                  .critical = true,
                  .pid = 7,
                  .incarnation = 7,
                  .restarts = 0};
  const Delta d{.state_seq = 1, .tenants = {}, .processes = {p}};
  EXPECT_EQ(round_trip(d), Message{d});
  Bytes bytes = encode(d);
  const std::size_t digit = delta_fixed_size + 1 + 4 + 1 + 4;  // after the group and "acd~"
  ASSERT_EQ(bytes[digit], '1');
  bytes[digit] = '0';  // "acd~0": no instance is numbered 0
  EXPECT_EQ(refusal(FrameType::delta, bytes).message(),
            "malformed: delta: process 1: invalid name");
  p.group = "ac~1";  // a tenant cannot be an instance
  Bytes out;
  EXPECT_FALSE(encode_payload(Delta{.state_seq = 1, .tenants = {}, .processes = {p}}, out));
}

TEST(Payload, RecordsOfTheLongestNamesHaveTheDocumentedMaximumSizes) {
  EXPECT_EQ(encoded_size(process_record(1)), max_process_record_size);
  EXPECT_EQ(encoded_size(tenant_record(1)), max_tenant_record_size);
  EXPECT_EQ(max_process_record_size, 82u);
  EXPECT_EQ(max_tenant_record_size, 46u);
}

TEST(Payload, EveryShorterPrefixOfAPayloadIsMalformed) {
  for (const Message& m : one_of_each()) {
    const Bytes bytes = encode(m);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      const Rejection r =
          refusal(type_of(m), Bytes(bytes.begin(), bytes.begin() + static_cast<long>(n)));
      EXPECT_EQ(r.reason, Reason::malformed) << to_string(type_of(m)) << " cut at " << n;
    }
  }
}

TEST(Payload, AByteAfterTheLastFieldIsMalformed) {
  for (const Message& m : one_of_each()) {
    Bytes bytes = encode(m);
    bytes.push_back(0);
    const Rejection r = refusal(type_of(m), bytes);
    EXPECT_EQ(r.reason, Reason::malformed);
    EXPECT_NE(r.detail.find("1 bytes after the last field"), std::string::npos) << r.detail;
  }
}

// The offset of the first process record's fields in an encoded one-process delta.
struct DeltaOffsets {
  static constexpr std::size_t group = delta_fixed_size;  // its length byte
};

Bytes one_process_delta(const ProcessRecord& p) {
  return encode(Delta{.state_seq = 1, .tenants = {}, .processes = {p}});
}

TEST(Payload, RefusesFieldsOutOfRangeNamingTheRecord) {
  const ProcessRecord p{.group = "acme",
                        .name = "acd",
                        .state = ProcessState::running,
                        .ready = false,
                        .critical = false,
                        .pid = 1,
                        .incarnation = 1,
                        .restarts = 0};
  const std::size_t state_at = DeltaOffsets::group + 1 + 4 + 1 + 3;
  {
    Bytes bytes = one_process_delta(p);
    bytes[state_at] = max_process_state + 1;
    const Rejection r = refusal(FrameType::delta, bytes);
    EXPECT_EQ(r.message(), "malformed: delta: process 1: state 9 is not a process state");
  }
  {
    Bytes bytes = one_process_delta(p);
    bytes[state_at + 1] = 4;  // an undefined flag bit
    EXPECT_EQ(refusal(FrameType::delta, bytes).message(),
              "malformed: delta: process 1: unknown flag bits 4");
  }
  {
    Bytes bytes = one_process_delta(p);
    store_le(bytes.data() + state_at + 2, 0x80000000, 4);
    EXPECT_EQ(refusal(FrameType::delta, bytes).message(),
              "malformed: delta: process 1: negative pid -2147483648");
  }
  {
    Bytes bytes = one_process_delta(p);
    bytes[DeltaOffsets::group + 1] = '-';  // "-cme": a name may not start with '-'
    EXPECT_EQ(refusal(FrameType::delta, bytes).message(),
              "malformed: delta: process 1 group: invalid name");
  }
  {
    Bytes bytes = encode(Delta{.state_seq = 1, .tenants = {tenant_record(1, 3)}, .processes = {}});
    bytes[delta_fixed_size - 2 + 1 + 3] = max_tenant_role + 1;  // after count and name
    EXPECT_EQ(refusal(FrameType::delta, bytes).message(),
              "malformed: delta: tenant 1: role 5 is not a role");
  }
  {
    Bytes bytes = encode(Delta{.state_seq = 1, .tenants = {tenant_record(1, 3)}, .processes = {}});
    // The tenant's flags, after its name, role (1), epoch (8) and critical failures (4): bit 0
    // is "asks", the others are unknown.
    bytes[delta_fixed_size - 2 + 1 + 3 + 1 + 8 + 4] = 0x83;
    EXPECT_EQ(refusal(FrameType::delta, bytes).message(),
              "malformed: delta: tenant 1: tenant flags 131 has unknown bits");
  }
}

TEST(Payload, RefusesNamesBeyondTheNamingRule) {
  // A length byte of 32: one more than any name may have.
  Bytes bytes = encode(Hello{.cluster = "c", .node = "a", .nonce = {}});
  bytes[0] = 32;
  bytes.insert(bytes.begin() + 2, 31, 'x');
  EXPECT_EQ(refusal(FrameType::hello, bytes).message(), "malformed: hello: cluster: invalid name");
  Bytes empty = encode(Hello{.cluster = "c", .node = "a", .nonce = {}});
  empty[2] = 0;  // node of length 0, then 'a' is read as the nonce's first byte
  EXPECT_EQ(refusal(FrameType::hello, empty).reason, Reason::malformed);
}

TEST(Payload, RefusesSnapshotChunkNumbersThatCannotBe) {
  for (const auto& [index, count] : {std::pair{0u, 0u}, std::pair{3u, 3u}, std::pair{9u, 2u}}) {
    const Bytes bytes = encode(
        SnapshotChunk{.state_seq = 1, .index = 0, .count = 1, .tenants = {}, .processes = {}});
    Bytes bad = bytes;
    store_le(bad.data() + 8, index, 4);
    store_le(bad.data() + 12, count, 4);
    EXPECT_EQ(
        refusal(FrameType::snapshot, bad).message(),
        "malformed: snapshot: chunk " + std::to_string(index) + " of " + std::to_string(count));
  }
}

TEST(Payload, ACountLargerThanTheBytesLeftIsMalformedNotAnAllocation) {
  Bytes bytes = encode(Delta{.state_seq = 1, .tenants = {}, .processes = {}});
  store_le(bytes.data() + 10, 0xffff, 2);  // 65,535 processes claimed, none there
  const Rejection r = refusal(FrameType::delta, bytes);
  EXPECT_EQ(r.message(), "malformed: delta: the payload ends inside a field");
}

TEST(Payload, RefusesAGoodbyeWithAnUnknownReasonOrUnprintableText) {
  Bytes bytes = encode(Goodbye{.reason = 0, .text = "ab"});
  store_le(bytes.data(), 999, 2);
  EXPECT_EQ(refusal(FrameType::goodbye, bytes).message(),
            "malformed: goodbye: reason 999 is not a reason");
  bytes = encode(Goodbye{.reason = 0, .text = "ab"});
  bytes[3] = '\n';
  EXPECT_EQ(refusal(FrameType::goodbye, bytes).message(),
            "malformed: goodbye: text is not printable ASCII");
}

TEST(Payload, EncodingRefusesWhatThePeerWouldRejectAndWritesNothing) {
  Bytes out{9, 9};
  auto refused = [&](const Message& m, const std::string& why) {
    const base::Status s = encode_payload(m, out);
    ASSERT_FALSE(s) << to_string(type_of(m));
    EXPECT_EQ(s.error().code, base::Errc::bad_argument);
    EXPECT_NE(s.error().message.find(why), std::string::npos) << s.error().message;
    EXPECT_EQ(out, (Bytes{9, 9}));
  };
  refused(Hello{.cluster = "has space", .node = "a", .nonce = {}}, "cluster: invalid name");
  refused(Delta{.state_seq = 1, .tenants = {}, .processes = {process_record(1, 32)}},
          "invalid name");
  refused(Goodbye{.reason = 0, .text = std::string(256, 'x')}, "at most 255 printable");
  refused(Goodbye{.reason = 77, .text = ""}, "goodbye reason out of range");
  ProcessRecord negative = process_record(1);
  negative.pid = -1;
  refused(Delta{.state_seq = 1, .tenants = {}, .processes = {negative}}, "negative pid");
  Delta big{.state_seq = 1, .tenants = {}, .processes = {}};
  for (std::size_t i = 0; i < 800; ++i) big.processes.push_back(process_record(i));
  refused(big, "above the maximum payload of 65536");
}

TEST(Payload, ADeltaHolds799ProcessesOfTheLongestNames) {
  const std::size_t fit = (max_payload - delta_fixed_size) / max_process_record_size;
  EXPECT_EQ(fit, 799u);
  Delta d{.state_seq = 1, .tenants = {}, .processes = {}};
  for (std::size_t i = 0; i < fit; ++i) d.processes.push_back(process_record(i));
  EXPECT_EQ(round_trip(d), Message{d});
}

}  // namespace
}  // namespace hamon::peer
