#include "hamon/node/peer_view.hpp"

#include <hamon/heartbeat.hpp>

#include <cstring>

#include "hamon/node/clock.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::node {
namespace {

std::optional<std::uint64_t> age_us(std::uint64_t then, std::uint64_t now) {
  if (then == 0 || then > now) return std::nullopt;
  return (now - then) / 1000;
}

std::string process_state(std::uint32_t s) {
  if (s > static_cast<std::uint32_t>(shm::ProcessState::failed)) return "unknown";
  return shm::to_string(static_cast<shm::ProcessState>(s));
}

}  // namespace

std::vector<PeerRow> read_peers(const shm::ControlSegment& ctl) {
  std::vector<PeerRow> out;
  const std::uint64_t now = now_ns();
  // One wait for all the peers' rows, for writers preempted mid-write (Seqlocked::read_until).
  const std::uint64_t patience = now + 50'000'000;
  for (std::uint32_t p = 0; p < ctl.header().peer_count && p < shm::kMaxPeers; ++p) {
    const shm::PeerSlot slot = ctl.peer(p);
    shm::PeerHeader h{};
    if (!slot.header().read_until(h, patience) || h.node[0] == '\0') continue;
    PeerRow r;
    r.node = shm::read_fixed(h.node);
    r.side = h.side == 0 ? "primary" : "secondary";
    r.state = shm::to_string(h.state);
    r.auth = h.auth == shm::PeerAuth::none ? "none" : "key";
    r.last_heard_us = age_us(h.last_heard_ns, now);
    r.state_age_us = age_us(h.state_since_ns, now);
    r.state_seq = h.state_seq;
    r.snapshots = h.snapshots;
    r.deltas = h.deltas;
    r.rejected = h.rejected;
    r.losses = h.peer_losses;
    r.snapshot_age_us = age_us(h.snapshot_ns, now);
    r.last_reject = shm::read_fixed(h.last_reject);
    r.overflow = h.overflow;
    for (std::uint32_t i = 0; i < h.link_count && i < shm::kMaxLinks; ++i) {
      const shm::PeerLinkInfo& l = h.links[i];
      PeerLinkRow lr;
      lr.address = shm::read_fixed(l.address);
      lr.state = shm::to_string(l.state);
      if (l.rtt_ns != 0) lr.rtt_us = l.rtt_ns / 1000;
      lr.last_heard_us = age_us(l.last_heard_ns, now);
      lr.connects = l.connects;
      lr.frames_in = l.frames_in;
      lr.frames_out = l.frames_out;
      lr.bytes_in = l.bytes_in;
      lr.bytes_out = l.bytes_out;
      r.links.push_back(lr);
    }
    for (std::uint32_t i = 0; i < h.tenant_rows && i < slot.max_groups(); ++i) {
      shm::PeerTenant t{};
      if (!slot.tenant(i).read_until(t, patience) || t.name[0] == '\0') continue;
      r.tenants.push_back({shm::read_fixed(t.name),
                           hamon::to_string(static_cast<hamon::Role>(t.role)), t.epoch,
                           t.critical_failures});
    }
    for (std::uint32_t i = 0; i < h.process_rows && i < slot.max_processes(); ++i) {
      shm::PeerProcess pp{};
      if (!slot.process(i).read_until(pp, patience) || pp.state == 0) continue;
      PeerProcessRow row;
      row.tenant = shm::read_fixed(pp.group);
      row.name = shm::read_fixed(pp.name);
      row.pid = pp.pid;
      row.state = process_state(pp.state);
      row.ready = (pp.flags & shm::kPeerReady) != 0;
      row.critical = (pp.flags & shm::kPeerCritical) != 0;
      row.incarnation = pp.incarnation;
      row.restarts = pp.restarts;
      row.updated_ns = pp.updated_ns;
      r.processes.push_back(row);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace hamon::node
