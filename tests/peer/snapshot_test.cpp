// Snapshots: a whole table split into chunks that each fit one frame, and put together again
// only from chunks in order.
#include "hamon/peer/snapshot.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "hamon/engine/config_limits.hpp"
#include "hamon/peer/payload.hpp"
#include "peer_test_support.hpp"

namespace hamon::peer {
namespace {

using test::Bytes;
using test::process_record;
using test::tenant_record;

Table table_of(std::size_t tenants, std::size_t processes, std::uint64_t seq = 77) {
  Table t;
  t.state_seq = seq;
  for (std::size_t i = 0; i < tenants; ++i) t.tenants.push_back(tenant_record(i));
  for (std::size_t i = 0; i < processes; ++i) t.processes.push_back(process_record(i));
  return t;
}

// Every chunk through its payload bytes and back, then into an assembler.
Checked<std::optional<Table>> through_the_wire(SnapshotAssembler& a,
                                               const std::vector<SnapshotChunk>& chunks) {
  Checked<std::optional<Table>> last = std::optional<Table>{};
  for (const SnapshotChunk& c : chunks) {
    Bytes bytes;
    const base::Status s = encode_payload(c, bytes);
    EXPECT_TRUE(s) << s.error().message;
    EXPECT_LE(bytes.size(), max_payload);
    Checked<Message> m = decode_payload(FrameType::snapshot, bytes);
    EXPECT_TRUE(m) << m.error().message();
    last = a.add(std::get<SnapshotChunk>(std::move(*m)));
    if (!last) return last;
  }
  return last;
}

TEST(Snapshot, A4096ProcessTableOfTheLongestNamesRoundTripsInSixChunks) {
  const Table table = table_of(64, 4096);
  const std::vector<SnapshotChunk> chunks = split_snapshot(table);
  EXPECT_EQ(chunks.size(), 6u);
  SnapshotAssembler a;
  auto got = through_the_wire(a, chunks);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, table);
  EXPECT_FALSE(a.in_progress());
}

TEST(Snapshot, TheLargestTableHamonAllowsFitsWithinTheChunkLimit) {
  const Table table = table_of(engine::max_groups, engine::max_processes);
  const std::vector<SnapshotChunk> chunks = split_snapshot(table);
  EXPECT_EQ(chunks.size(), 83u);
  EXPECT_LE(chunks.size(), max_snapshot_chunks);
  SnapshotAssembler a;
  auto got = through_the_wire(a, chunks);
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, table);
}

TEST(Snapshot, AnEmptyTableIsOneEmptyChunk) {
  const std::vector<SnapshotChunk> chunks = split_snapshot(table_of(0, 0, 5));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].count, 1u);
  SnapshotAssembler a;
  auto got = a.add(chunks[0]);
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->state_seq, 5u);
}

TEST(Snapshot, ChunksAreNumberedInOrderWithOneStateAndCount) {
  const std::vector<SnapshotChunk> chunks = split_snapshot(table_of(3, 2000, 9));
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].index, i);
    EXPECT_EQ(chunks[i].count, chunks.size());
    EXPECT_EQ(chunks[i].state_seq, 9u);
  }
  EXPECT_EQ(chunks[0].tenants.size(), 3u);
}

Rejection refusal(SnapshotAssembler& a, const SnapshotChunk& c) {
  auto got = a.add(c);
  EXPECT_FALSE(got) << "accepted chunk " << c.index;
  return got ? Rejection{} : got.error();
}

TEST(Snapshot, RefusesAChunkOutOfOrder) {
  const std::vector<SnapshotChunk> chunks = split_snapshot(table_of(1, 3000, 4));
  ASSERT_GE(chunks.size(), 4u);
  SnapshotAssembler a;
  ASSERT_TRUE(a.add(chunks[0]));
  const Rejection r = refusal(a, chunks[2]);
  EXPECT_EQ(r.reason, Reason::snapshot_order);
  EXPECT_EQ(r.detail, "chunk 2 of 4 (state 4) where chunk 1 of 4 (state 4) was due");
  EXPECT_FALSE(a.in_progress());
}

TEST(Snapshot, RefusesAChunkOfAnotherSnapshot) {
  std::vector<SnapshotChunk> first = split_snapshot(table_of(1, 3000, 4));
  std::vector<SnapshotChunk> second = split_snapshot(table_of(1, 3000, 5));
  SnapshotAssembler a;
  ASSERT_TRUE(a.add(first[0]));
  EXPECT_EQ(refusal(a, second[1]).reason, Reason::snapshot_order);
}

TEST(Snapshot, RefusesAMiddleChunkWithNoSnapshotBegun) {
  std::vector<SnapshotChunk> chunks = split_snapshot(table_of(1, 3000));
  SnapshotAssembler a;
  const Rejection r = refusal(a, chunks[1]);
  EXPECT_EQ(r.reason, Reason::snapshot_order);
  EXPECT_NE(r.detail.find("where chunk 0 was due"), std::string::npos) << r.detail;
}

TEST(Snapshot, RefusesMoreChunksThanTheLimit) {
  SnapshotAssembler a;
  SnapshotChunk c{
      .state_seq = 1, .index = 0, .count = max_snapshot_chunks + 1, .tenants = {}, .processes = {}};
  EXPECT_EQ(refusal(a, c).reason, Reason::snapshot_order);
}

TEST(Snapshot, AChunkZeroStartsOverDroppingAnUnfinishedSnapshot) {
  std::vector<SnapshotChunk> first = split_snapshot(table_of(1, 3000, 4));
  const Table table = table_of(2, 1000, 5);
  SnapshotAssembler a;
  ASSERT_TRUE(a.add(first[0]));
  ASSERT_TRUE(a.add(first[1]));
  auto got = through_the_wire(a, split_snapshot(table));
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, table);
}

TEST(Snapshot, RefusesATableNamingAProcessTwice) {
  Table table = table_of(1, 10);
  table.processes.push_back(table.processes[3]);
  SnapshotAssembler a;
  auto got = through_the_wire(a, split_snapshot(table));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().reason, Reason::malformed);
  EXPECT_NE(got.error().detail.find("process " + table.processes[3].group + "/" +
                                    table.processes[3].name + " twice"),
            std::string::npos);
}

TEST(Snapshot, RefusesATableAboveHamonsLimits) {
  // 84 chunks of 798 processes: more than 65,536 in all.
  SnapshotAssembler a;
  const std::uint32_t count = 84;
  Checked<std::optional<Table>> last = std::optional<Table>{};
  std::size_t next = 0;
  for (std::uint32_t i = 0; i < count && last; ++i) {
    SnapshotChunk c{.state_seq = 1, .index = i, .count = count, .tenants = {}, .processes = {}};
    for (int k = 0; k < 798; ++k) c.processes.push_back(process_record(next++, 8));
    last = a.add(std::move(c));
  }
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().reason, Reason::malformed);
  EXPECT_NE(last.error().detail.find("more than 1024 tenants or 65536 processes"),
            std::string::npos);
}

}  // namespace
}  // namespace hamon::peer
