#include "hamon/shm/control_segment.hpp"

#include "hamon/shm/fixed_string.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>

namespace hamon::shm {

const char* to_string(DaemonId d) noexcept {
  switch (d) {
    case DaemonId::watcher: return "hamon-watcher";
    case DaemonId::master: return "hamon-master";
    case DaemonId::spawner: return "hamon-spawner";
    case DaemonId::monitor: return "hamon-monitor";
    case DaemonId::server: return "hamon-server";
    case DaemonId::count: break;
  }
  return "unknown";
}

const char* to_string(ProcessState s) noexcept {
  switch (s) {
    case ProcessState::unused: return "unused";
    case ProcessState::down: return "down";
    case ProcessState::starting: return "starting";
    case ProcessState::ready: return "ready";
    case ProcessState::running: return "running";
    case ProcessState::hung: return "hung";
    case ProcessState::exited: return "exited";
    case ProcessState::stopping: return "stopping";
    case ProcessState::failed: return "failed";
  }
  return "unknown";
}

const char* to_string(PeerState s) noexcept {
  switch (s) {
    case PeerState::never_seen: return "never-seen";
    case PeerState::up: return "up";
    case PeerState::lost: return "lost";
  }
  return "unknown";
}

const char* to_string(LinkState s) noexcept {
  switch (s) {
    case LinkState::down: return "down";
    case LinkState::connecting: return "connecting";
    case LinkState::up: return "up";
  }
  return "unknown";
}

std::string control_segment_name(std::string_view cluster, std::string_view node) {
  return "hamon." + std::string(cluster) + "." + std::string(node) + ".ctl";
}

std::string heartbeat_segment_name(std::string_view cluster, std::string_view node,
                                   std::string_view group) {
  return "hamon." + std::string(cluster) + "." + std::string(node) + ".hb." + std::string(group);
}

Result<ControlSegment> ControlSegment::create(const std::string& name, ControlGeometry g,
                                              std::string_view cluster, std::string_view node,
                                              unsigned mode) {
  if (g.max_processes == 0 || g.max_processes > kMaxProcessesLimit || g.max_groups == 0 ||
      g.max_groups > kMaxGroupsLimit) {
    return Error{Errc::bad_argument,
                 "control segment " + shm_path(name) + ": " + std::to_string(g.max_processes) +
                     " processes and " + std::to_string(g.max_groups) +
                     " groups: out of range (1.." + std::to_string(kMaxProcessesLimit) + ", 1.." +
                     std::to_string(kMaxGroupsLimit) + ")"};
  }
  if (cluster.size() >= kNameMax || node.size() >= kNameMax) {
    return Error{Errc::bad_argument, "control segment " + shm_path(name) +
                                         ": cluster and node names must be shorter than " +
                                         std::to_string(kNameMax) + " characters"};
  }
  auto seg = Segment::create(name, g.total_size(), mode);
  if (!seg) return seg.error();
  std::byte* base = seg->data();  // zero-filled by ftruncate

  auto* h = new (base) ControlHeader{};
  h->magic = kControlMagic;
  h->header_size = kControlHeaderSize;
  h->max_processes = g.max_processes;
  h->max_groups = g.max_groups;
  h->total_size = g.total_size();
  h->off_daemons = g.off_daemons();
  h->off_groups = g.off_groups();
  h->off_processes = g.off_processes();
  h->off_channels = g.off_channels();
  h->off_events = g.off_events();
  h->off_peers = g.off_peers();
  h->peer_count = kMaxPeers;
  h->peer_slot_bytes = static_cast<std::uint32_t>(g.peer_bytes());
  h->event_capacity = kEventCapacity;
  h->channel_count = kChannelCount;
  h->channel_capacity = kChannelCapacity;
  h->creator_pid = static_cast<std::uint32_t>(getpid());
  h->created_ns =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  write_fixed(h->cluster, cluster);
  write_fixed(h->node, node);

  for (std::size_t i = 0; i < kMaxDaemons; ++i) {
    new (base + g.off_daemons() + i * sizeof(DaemonSlot)) DaemonSlot{};
  }
  for (std::uint32_t i = 0; i < g.max_groups; ++i) {
    new (base + g.off_groups() + i * sizeof(GroupSlot)) GroupSlot{};
  }
  for (std::uint32_t i = 0; i < g.max_processes; ++i) {
    new (base + g.off_processes() + i * sizeof(ProcessSlot)) ProcessSlot{};
  }
  for (std::size_t i = 0; i < kChannelCount; ++i) {
    new (base + g.off_channels() + i * sizeof(MessageChannel)) MessageChannel{};
  }
  EventRing::init(base + g.off_events(), kEventCapacity);
  for (std::uint32_t p = 0; p < kMaxPeers; ++p) {
    std::byte* slot = base + g.off_peers() + p * g.peer_bytes();
    new (slot) PeerHeaderSlot{};
    // Rows are zero-filled Seqlocked words (ftruncate): a valid, unused row.
  }

  seg->publish_version(kControlLayoutVersion);
  return ControlSegment(std::move(seg).value(), g);
}

Result<ControlSegment> ControlSegment::attach(const std::string& name, Access access) {
  auto seg = Segment::open(name, access);
  if (!seg) return seg.error();
  if (seg->size() < kControlHeaderSize) {
    return Error{Errc::too_small, shm_path(name) + " is too small to be a hamon control segment (" +
                                      std::to_string(seg->size()) + " bytes)"};
  }
  if (auto ok = seg->check_prefix(kControlMagic, kControlLayoutVersion, kControlHeaderSize,
                                  "control segment");
      !ok) {
    return ok.error();
  }
  const auto& h = *reinterpret_cast<const ControlHeader*>(seg->data());
  // The offsets must be the ones this build would compute: a header that disagrees is corrupt.
  const ControlGeometry g{h.max_processes, h.max_groups};
  if (h.max_processes == 0 || h.max_processes > kMaxProcessesLimit || h.max_groups == 0 ||
      h.max_groups > kMaxGroupsLimit || h.off_daemons != g.off_daemons() ||
      h.off_groups != g.off_groups() || h.off_processes != g.off_processes() ||
      h.off_channels != g.off_channels() || h.off_events != g.off_events() ||
      h.total_size != g.total_size() || h.event_capacity != kEventCapacity ||
      h.off_peers != g.off_peers() || h.peer_count != kMaxPeers ||
      h.peer_slot_bytes != g.peer_bytes() || h.channel_count != kChannelCount ||
      h.channel_capacity != kChannelCapacity) {
    return Error{Errc::bad_version, shm_path(name) +
                                        ": control segment header is inconsistent with its layout "
                                        "version (corrupt, or made by a different build)"};
  }
  return ControlSegment(std::move(seg).value(), g);
}

}  // namespace hamon::shm
