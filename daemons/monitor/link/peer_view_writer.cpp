#include "peer_view_writer.hpp"

#include <algorithm>
#include <cstring>

#include "hamon/node/clock.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::link {
namespace {

std::string key(const std::string& group, const std::string& name) { return group + "/" + name; }

}  // namespace

PeerViewWriter::PeerViewWriter(shm::PeerSlot slot) : slot_(slot) {
  // A predecessor's header: a torn one (it died writing) is repaired by our first publish.
  (void)slot_.header().read(header_);
  header_.process_rows = std::min(header_.process_rows, slot_.max_processes());
  header_.tenant_rows = std::min(header_.tenant_rows, slot_.max_groups());
}

void PeerViewWriter::write_process(std::uint32_t row, const peer::ProcessRecord& r) {
  shm::PeerProcess p{};
  shm::write_fixed(p.group, r.group);
  shm::write_fixed(p.name, r.name);
  p.state = static_cast<std::uint32_t>(r.state);
  p.flags = (r.ready ? shm::kPeerReady : 0u) | (r.critical ? shm::kPeerCritical : 0u);
  p.pid = r.pid;
  p.restarts = r.restarts;
  p.incarnation = r.incarnation;
  p.updated_ns = node::now_ns();
  slot_.process(row).write(p);
}

void PeerViewWriter::write_tenant(std::uint32_t row, const peer::TenantRecord& r) {
  shm::PeerTenant t{};
  shm::write_fixed(t.name, r.name);
  t.role = static_cast<std::uint32_t>(r.role);
  t.critical_failures = r.critical_failures;
  t.epoch = r.epoch;
  t.flags = r.asks ? shm::kPeerAsks : 0;
  slot_.tenant(row).write(t);
}

void PeerViewWriter::replace(const peer::Table& table) {
  process_rows_.clear();
  tenant_rows_.clear();
  free_process_rows_.clear();
  free_tenant_rows_.clear();
  const std::uint32_t old_processes = header_.process_rows;
  const std::uint32_t old_tenants = header_.tenant_rows;
  header_.process_rows = 0;
  header_.tenant_rows = 0;
  header_.overflow = 0;
  for (const auto& t : table.tenants) put(t);
  for (const auto& p : table.processes) put(p);
  for (std::uint32_t r = header_.process_rows; r < old_processes; ++r) {
    slot_.process(r).write(shm::PeerProcess{});
  }
  for (std::uint32_t r = header_.tenant_rows; r < old_tenants; ++r) {
    slot_.tenant(r).write(shm::PeerTenant{});
  }
  header_.state_seq = table.state_seq;
}

void PeerViewWriter::apply(const peer::Delta& delta) {
  for (const auto& t : delta.tenants) put(t);
  for (const auto& p : delta.processes) put(p);
  header_.state_seq = delta.state_seq;
}

void PeerViewWriter::put(const peer::ProcessRecord& r) {
  const std::string k = key(r.group, r.name);
  auto it = process_rows_.find(k);
  if (r.state == peer::ProcessState::removed) {
    if (it == process_rows_.end()) return;
    slot_.process(it->second).write(shm::PeerProcess{});
    free_process_rows_.push_back(it->second);
    process_rows_.erase(it);
    return;
  }
  if (it != process_rows_.end()) {
    write_process(it->second, r);
    return;
  }
  std::uint32_t row = 0;
  if (!free_process_rows_.empty()) {
    row = free_process_rows_.back();
    free_process_rows_.pop_back();
  } else if (header_.process_rows < slot_.max_processes()) {
    row = header_.process_rows++;
  } else {
    ++header_.overflow;  // more than this node could run itself: not shown, counted
    return;
  }
  process_rows_.emplace(k, row);
  write_process(row, r);
}

void PeerViewWriter::put(const peer::TenantRecord& r) {
  auto it = tenant_rows_.find(r.name);
  if (it != tenant_rows_.end()) {
    write_tenant(it->second, r);
    return;
  }
  std::uint32_t row = 0;
  if (!free_tenant_rows_.empty()) {
    row = free_tenant_rows_.back();
    free_tenant_rows_.pop_back();
  } else if (header_.tenant_rows < slot_.max_groups()) {
    row = header_.tenant_rows++;
  } else {
    ++header_.overflow;
    return;
  }
  tenant_rows_.emplace(r.name, row);
  write_tenant(row, r);
}

}  // namespace hamon::link
