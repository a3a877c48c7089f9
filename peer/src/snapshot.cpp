#include "hamon/peer/snapshot.hpp"

#include <string>
#include <unordered_set>
#include <utility>

#include "hamon/engine/config_limits.hpp"
#include "hamon/peer/payload.hpp"

namespace hamon::peer {
namespace {

// The first name a table holds twice, or "".
std::string duplicate(const Table& t) {
  std::unordered_set<std::string> seen;
  seen.reserve(t.tenants.size() + t.processes.size());
  for (const TenantRecord& r : t.tenants) {
    if (!seen.insert("tenant " + r.name).second) return "tenant " + r.name;
  }
  for (const ProcessRecord& r : t.processes) {
    std::string key = "process " + r.group + "/" + r.name;
    if (!seen.insert(key).second) return key;
  }
  return {};
}

}  // namespace

std::vector<SnapshotChunk> split_snapshot(const Table& table) {
  std::vector<SnapshotChunk> chunks(1);
  std::size_t used = snapshot_fixed_size;
  auto room_for = [&](std::size_t size) {
    if (used + size > max_payload) {
      chunks.emplace_back();
      used = snapshot_fixed_size;
    }
    used += size;
  };
  for (const TenantRecord& t : table.tenants) {
    room_for(encoded_size(t));
    chunks.back().tenants.push_back(t);
  }
  for (const ProcessRecord& p : table.processes) {
    room_for(encoded_size(p));
    chunks.back().processes.push_back(p);
  }
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].state_seq = table.state_seq;
    chunks[i].index = static_cast<std::uint32_t>(i);
    chunks[i].count = static_cast<std::uint32_t>(chunks.size());
  }
  return chunks;
}

Checked<std::optional<Table>> SnapshotAssembler::add(SnapshotChunk chunk) {
  const auto where = [&] {
    return "chunk " + std::to_string(chunk.index) + " of " + std::to_string(chunk.count) +
           " (state " + std::to_string(chunk.state_seq) + ")";
  };
  if (chunk.count == 0 || chunk.count > max_snapshot_chunks || chunk.index >= chunk.count) {
    next_index_ = 0;
    return reject(Reason::snapshot_order,
                  where() + ": at most " + std::to_string(max_snapshot_chunks) + " chunks");
  }
  if (chunk.index == 0) {
    table_ = Table{.state_seq = chunk.state_seq, .tenants = {}, .processes = {}};
    count_ = chunk.count;
  } else if (chunk.index != next_index_ || chunk.count != count_ ||
             chunk.state_seq != table_.state_seq) {
    const std::string expected = next_index_ == 0
                                     ? std::string("chunk 0")
                                     : "chunk " + std::to_string(next_index_) + " of " +
                                           std::to_string(count_) + " (state " +
                                           std::to_string(table_.state_seq) + ")";
    next_index_ = 0;
    return reject(Reason::snapshot_order, where() + " where " + expected + " was due");
  }
  if (table_.tenants.size() + chunk.tenants.size() > engine::max_groups ||
      table_.processes.size() + chunk.processes.size() > engine::max_processes) {
    next_index_ = 0;
    return reject(Reason::malformed, where() + ": more than " + std::to_string(engine::max_groups) +
                                         " tenants or " + std::to_string(engine::max_processes) +
                                         " processes");
  }
  for (TenantRecord& t : chunk.tenants) table_.tenants.push_back(std::move(t));
  for (ProcessRecord& p : chunk.processes) table_.processes.push_back(std::move(p));
  next_index_ = chunk.index + 1;
  if (next_index_ < count_) return std::optional<Table>{};

  next_index_ = 0;
  if (std::string twice = duplicate(table_); !twice.empty()) {
    return reject(Reason::malformed,
                  "snapshot (state " + std::to_string(table_.state_seq) + "): " + twice + " twice");
  }
  return std::optional<Table>{std::move(table_)};
}

}  // namespace hamon::peer
