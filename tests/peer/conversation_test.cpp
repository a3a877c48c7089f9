// Everything together, as the link will use it: a handshake, a 4,096-process snapshot with
// heartbeats between its chunks, deltas, all read back from the byte stream in pieces of any
// size.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "hamon/peer/snapshot.hpp"
#include "peer_test_support.hpp"
#include "session_pair.hpp"

namespace hamon::peer {
namespace {

using test::Bytes;

TEST(Conversation, A4096ProcessSnapshotThenDeltasArriveWholeThroughAnAuthenticatedStream) {
  test::Pair p;
  p.handshake();
  Table table;
  table.state_seq = 100;
  for (std::size_t i = 0; i < 64; ++i) table.tenants.push_back(test::tenant_record(i));
  for (std::size_t i = 0; i < 4096; ++i) table.processes.push_back(test::process_record(i));

  Bytes stream;
  std::uint64_t sent_ns = 0;
  for (const SnapshotChunk& chunk : split_snapshot(table)) {
    const Bytes f = p.a.write(chunk);
    EXPECT_LE(f.size(), max_frame);
    stream.insert(stream.end(), f.begin(), f.end());
    const Bytes hb = p.a.write(Heartbeat{.sent_ns = ++sent_ns});
    stream.insert(stream.end(), hb.begin(), hb.end());
  }
  const Delta delta{.state_seq = 101,
                    .tenants = {TenantRecord{.name = table.tenants[0].name,
                                             .role = TenantRole::active,
                                             .epoch = 99,
                                             .critical_failures = 0}},
                    .processes = {test::process_record(17)}};
  const Bytes d = p.a.write(delta);
  stream.insert(stream.end(), d.begin(), d.end());

  std::mt19937_64 rng(3);
  SnapshotAssembler assembler;
  std::optional<Table> received;
  std::vector<Delta> deltas;
  std::uint64_t heartbeats = 0;
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t n = std::min<std::size_t>(stream.size() - at, 1 + rng() % 20000);
    auto got = p.b.receive(
        Bytes(stream.begin() + static_cast<long>(at), stream.begin() + static_cast<long>(at + n)));
    at += n;
    ASSERT_TRUE(got) << got.error().message();
    for (Received& r : *got) {
      if (auto* chunk = std::get_if<SnapshotChunk>(&r.message)) {
        auto table_or = assembler.add(std::move(*chunk));
        ASSERT_TRUE(table_or) << table_or.error().message();
        if (*table_or) received = std::move(**table_or);
      } else if (std::holds_alternative<Heartbeat>(r.message)) {
        EXPECT_EQ(std::get<Heartbeat>(r.message).sent_ns, ++heartbeats);
      } else if (auto* dl = std::get_if<Delta>(&r.message)) {
        deltas.push_back(std::move(*dl));
      }
    }
  }
  ASSERT_TRUE(received);
  EXPECT_EQ(*received, table);
  EXPECT_EQ(heartbeats, 6u);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0], delta);
  EXPECT_EQ(deltas[0].state_seq, received->state_seq + 1);
  EXPECT_TRUE(p.b.decoder.finish());
}

}  // namespace
}  // namespace hamon::peer
