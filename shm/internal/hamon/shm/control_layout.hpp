// The control segment: one per node, mapped by the daemons and (read-only) by the CLI; tenants
// never map it. A fixed layout: no allocator, no pointers, only offsets from the segment base,
// computed from the header by the accessors of ControlSegment. Described in docs/shared-memory.md.
//
//   offset                                   contents                                writer
//   0                 +-------------------------------------------+
//                     | ControlHeader (256 B): magic, version     |  creator (version last)
//                     | (release-stored last), sizes, offsets,    |
//                     | cluster and node names, creator pid       |
//   off_daemons       +-------------------------------------------+
//                     | DaemonSlot[kMaxDaemons]      128 B each   |  the daemon itself /
//                     |                                           |  its watcher (restarts)
//   off_groups        +-------------------------------------------+
//                     | GroupSlot[max_groups]        256 B each   |  hamon-server
//   off_processes     +-------------------------------------------+
//                     | ProcessSlot[max_processes]   512 B each   |  one 128 B line per writer:
//                     |   identity   (seqlocked)                  |    hamon-server
//                     |   spawn      (seqlocked)                  |    hamon-spawner
//                     |   watch      (seqlocked)                  |    hamon-monitor
//                     |   supervise  (seqlocked)                  |    hamon-server
//   off_channels      +-------------------------------------------+
//                     | MessageChannel[kChannelCount]             |  producer / consumer of each
//   off_events        +-------------------------------------------+
//                     | EventRing: head line + Entry[capacity]    |  any daemon (claims a slot)
//   off_peers         +-------------------------------------------+
//                     | PeerSlot[kMaxPeers] (peer_region.hpp):    |  the peer link (a thread of
//                     |   header, tenant rows, process rows       |    hamon-monitor)
//   total_size        +-------------------------------------------+
//
// Every region starts on a 128-byte boundary (the event ring on a 256-byte one). A layout change
// bumps kControlLayoutVersion.
//
// Each field names its writer and then, after "→", its readers. "attach" is ControlSegment::attach
// (every daemon, the CLI, the bench), "view" the CLI's views (node/src/node_view.cpp: hamon status,
// top), "liveness" node/include/hamon/node/daemon_slot.hpp (is a daemon, or any process, alive).
#ifndef HAMON_SHM_CONTROL_LAYOUT_HPP
#define HAMON_SHM_CONTROL_LAYOUT_HPP

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "hamon/shm/channel.hpp"
#include "hamon/shm/event_ring.hpp"
#include "hamon/shm/message.hpp"
#include "hamon/shm/peer_region.hpp"
#include "hamon/shm/seqlock.hpp"
#include "hamon/shm/segment.hpp"

namespace hamon::shm {

inline constexpr std::uint64_t kControlMagic = 0x3154434e4f4d4148ULL;  // the bytes "HAMONCT1"
// 2: the peer region; 3: its settings; 4: the server's doorbell to the link
inline constexpr std::uint32_t kControlLayoutVersion = 4;
inline constexpr std::uint32_t kControlHeaderSize = 256;
inline constexpr std::size_t kLine =
    128;  // false-sharing range (two 64 B lines: adjacent prefetch)
inline constexpr std::uint32_t kMaxProcessesLimit = 65536;
inline constexpr std::uint32_t kMaxGroupsLimit = 1024;
inline constexpr std::uint32_t kEventCapacity = 4096;
inline constexpr std::size_t kChannelCapacity = 1024;
inline constexpr std::size_t kNameMax = 32;  // names of groups and processes, NUL included

// The daemons of one node. Values index the DaemonSlot array: never reorder.
enum class DaemonId : std::uint16_t { watcher = 0, master, spawner, monitor, server, count };
inline constexpr std::size_t kMaxDaemons = 8;
const char* to_string(DaemonId d) noexcept;

// The queues between daemons: one SPSC channel per (producer, consumer) pair. Never reorder.
enum class ChannelId : std::uint16_t {
  server_to_spawner = 0,
  monitor_to_spawner,
  master_to_spawner,
  spawner_to_server,
  spawner_to_monitor,
  monitor_to_server,
  server_to_monitor,
  count
};
inline constexpr std::size_t kChannelCount = static_cast<std::size_t>(ChannelId::count);

// Who reads each channel: posting to a channel rings that daemon's inbox doorbell.
constexpr DaemonId consumer_of(ChannelId c) noexcept {
  switch (c) {
    case ChannelId::server_to_spawner:
    case ChannelId::monitor_to_spawner:
    case ChannelId::master_to_spawner: return DaemonId::spawner;
    case ChannelId::spawner_to_server:
    case ChannelId::monitor_to_server: return DaemonId::server;
    case ChannelId::spawner_to_monitor:
    case ChannelId::server_to_monitor: return DaemonId::monitor;
    case ChannelId::count: break;
  }
  return DaemonId::count;
}

using MessageChannel = Channel<Message, kChannelCapacity>;

// Written once by the creator (hamon-master), layout_version last.
struct ControlHeader {
  std::uint64_t magic;             // kControlMagic                      → attach
  std::uint32_t layout_version;    // kControlLayoutVersion, release-stored last → attach
  std::uint32_t header_size;       // kControlHeaderSize                 → attach
  std::uint32_t max_processes;     // → attach; every daemon, view, liveness, bench (slot loops)
  std::uint32_t max_groups;        // → attach; server, spawner, monitor, view (group loops)
  std::uint64_t total_size;        // → attach
  std::uint64_t off_daemons;       // → attach, ControlSegment accessors
  std::uint64_t off_groups;        // → attach, ControlSegment accessors
  std::uint64_t off_processes;     // → attach, ControlSegment accessors
  std::uint64_t off_channels;      // → attach, ControlSegment accessors
  std::uint64_t off_events;        // → attach, ControlSegment accessors
  std::uint32_t event_capacity;    // → attach
  std::uint32_t channel_count;     // → attach
  std::uint32_t channel_capacity;  // → attach
  std::uint32_t creator_pid;       // → master, watcher: is the segment still the one they made
  std::uint64_t created_ns;        // CLOCK_MONOTONIC → master, watcher (with creator_pid)
  char cluster[kNameMax];          // → view, CLI (finding a node's runtime directory)
  char node[kNameMax];             // → view, CLI (the same)
  std::uint64_t off_peers;         // → attach, ControlSegment accessors
  std::uint32_t peer_count;        // kMaxPeers → attach
  std::uint32_t peer_slot_bytes;   // peer_slot_bytes(max_processes, max_groups) → attach
  std::uint8_t reserved[256 - 176];
};
static_assert(sizeof(ControlHeader) == kControlHeaderSize);
static_assert(offsetof(ControlHeader, magic) == offsetof(SegmentPrefix, magic));
static_assert(offsetof(ControlHeader, layout_version) == offsetof(SegmentPrefix, layout_version));
static_assert(offsetof(ControlHeader, header_size) == offsetof(SegmentPrefix, header_size));
static_assert(offsetof(ControlHeader, total_size) == offsetof(SegmentPrefix, total_size));
static_assert(offsetof(ControlHeader, cluster) == 96);

enum class DaemonState : std::uint32_t { absent = 0, starting, running, stopping, exited };

// One per daemon. The daemon writes its own fields; `restarts` is written by its watcher
// (hamon-master for most, hamon-watcher for the master), hence its own half-line.
struct alignas(kLine) DaemonSlot {
  std::atomic<std::uint32_t> pid;           // the daemon → its watcher, view, liveness
  std::atomic<std::uint32_t> state;         // the daemon (DaemonState); its watcher once it
                                            // exited → its watcher, view
  std::atomic<std::uint64_t> start_ticks;   // the daemon: /proc/self/stat field 22 → its
                                            // watcher, view, liveness (a reused pid is not it)
  std::atomic<std::uint64_t> heartbeat_ns;  // the daemon: CLOCK_MONOTONIC, every loop turn →
                                            // its watcher (a silent daemon), view
  std::atomic<std::uint64_t> started_ns;    // the daemon → the server (non-zero at start-up:
                                            // a predecessor ran, adopt its processes)
  std::atomic<std::uint64_t> channel_full;  // the daemon: messages that found their channel
                                            // full and waited in its outbox → view
  std::atomic<std::uint64_t> tick_ns;       // the daemon: the pace of its loop, 0 if none
                                            // (hamon-monitor: its clock tick) → view, tests
  std::uint8_t pad0[64 - 48];
  std::atomic<std::uint32_t> restarts;  // its watcher → view
  std::uint32_t pad1;
  Doorbell inbox;                            // rung by whoever posts to one of its channels;
                                             // waited on by the daemon (spawner, server)
  std::atomic<std::uint64_t> restart_at_ns;  // its watcher: when it starts the daemon again after
                                             // failed starts (0: not held back) → view
  std::atomic<std::uint32_t> failed_starts;  // its watcher: ended soon after starting, in a row
                                             // → view
  std::uint32_t pad2;
  std::uint8_t pad3[64 - 32];
};
static_assert(sizeof(DaemonSlot) == kLine);
static_assert(offsetof(DaemonSlot, channel_full) == 32);
static_assert(offsetof(DaemonSlot, tick_ns) == 40);
static_assert(offsetof(DaemonSlot, restart_at_ns) == 80);
static_assert(offsetof(DaemonSlot, restarts) == 64);
static_assert(offsetof(DaemonSlot, inbox) == 72);

enum class GroupKind : std::uint32_t { unused = 0, system, tenant };

struct GroupInfo {                  // hamon-server, when it adds the group
  char name[kNameMax];              // → monitor, spawner (log and event names), view
  char heartbeat_segment[128];      // shm name, no leading slash → monitor, spawner (the client's
                                    // environment), view
  GroupKind kind;                   // → view
  std::uint32_t slot_count;         // slots in its heartbeat segment → nobody yet (each reader
                                    // takes the count from the heartbeat segment itself)
  std::uint32_t role;               // enum hamon_role: the authoritative role (the heartbeat
                                    // segment holds a copy for the applications) → link, view
  std::uint32_t critical_failures;  // its critical processes that cannot be kept up → link, view
  std::uint64_t epoch;              // the tenant's term (docs/roles.md) → link, view
  std::uint32_t flags;              // bit 0: asks (a switchover asked here) → link
  std::uint32_t generation;         // how many times its heartbeat segment was made anew (its
                                    // tenant damaged it) → monitor: maps it again
};
inline constexpr std::uint32_t kGroupAsks = 1u << 0;
static_assert(sizeof(GroupInfo) <= 2 * kLine - 8);

struct alignas(kLine) GroupSlot {
  Seqlocked<GroupInfo> info;  // hamon-server
};
static_assert(sizeof(GroupSlot) == 2 * kLine);

// The lifecycle of a process slot, as the monitor sees it (and the server, for `failed`).
enum class ProcessState : std::uint32_t {
  unused = 0,  // no process configured in this slot
  down,        // configured, not running (not started yet, or stopped)
  starting,    // spawned, not ready yet
  ready,       // ready by its ready mode, first state after starting
  running,     // ready and beating
  hung,        // silent past its timeout
  exited,      // its pidfd became readable
  stopping,    // being stopped on request
  failed,      // restart budget exhausted: stays down
};
const char* to_string(ProcessState s) noexcept;

// When a started process counts as ready (the configuration's `ready`). Never renumber.
enum class ReadyMode : std::uint32_t {
  spawn = 0,       // "spawn": as soon as it runs
  heartbeat = 1,   // "heartbeat": at its first beat
  ready_call = 2,  // "explicit": when it calls ready()
};

// What a process is and how it is watched: the monitor's only source for a watch, so everything
// it needs is here, written before the start request that it describes is posted.
struct ProcessIdentity {      // hamon-server, when it assigns the slot and before each start
  std::uint64_t incarnation;  // grows on every (re)start; 0 = never started → server (on
                              // adoption: above every incarnation handed out)
  std::uint64_t interval_ns;  // → monitor (its tick follows the shortest watched)
  std::uint64_t timeout_ns;   // → monitor
  std::uint32_t group;        // index into the group table → monitor, spawner, server, view
  std::uint32_t hb_slot;      // slot in the group's heartbeat segment → monitor, spawner, view
  std::uint32_t family;       // warm spares: 1 + the slot of its family's first instance; 0
                              // for a process without spares (was the unread priority) → monitor
  ReadyMode ready_mode;       // → monitor
  std::uint32_t realtime;     // the real-time policy to apply at its ready: the kernel's policy
                              // << 8 | priority; 0 for none (node/apply_scheduling.hpp) → monitor
  std::uint32_t reserved1;    // once flags (critical), which none read
  char name[kNameMax];        // → monitor, spawner, server (adoption), view
};
static_assert(sizeof(ProcessIdentity) <= kLine - 8);
static_assert(offsetof(ProcessIdentity, ready_mode) == 36);
static_assert(offsetof(ProcessIdentity, name) == 48);

struct SpawnRecord {          // hamon-spawner
  std::uint64_t incarnation;  // of the process it last started → spawner (adoption), monitor
                              // (adoption), server, view, bench
  std::uint64_t start_ticks;  // /proc/<pid>/stat field 22: tells a reused pid apart →
                              // spawner and monitor (adoption), liveness
  std::uint64_t spawned_ns;   // → nobody yet
  std::uint64_t exited_ns;    // 0 while running → spawner, monitor, server, view, liveness, bench
  std::int32_t pid;           // → spawner and monitor (adoption), server, view, liveness, bench
  std::int32_t wait_status;   // valid when exited_ns != 0 → nobody yet (the exited message and
                              // event carry it)
};
static_assert(sizeof(SpawnRecord) <= kLine - 8);

// An instance of a process with spares, as the monitor last saw it (WatchRecord::spare).
enum class SpareState : std::uint32_t {
  none = 0,  // not an instance of a process with spares, or not parked yet
  parked,    // initialized, waiting to be promoted
  serving,   // the one promoted: it serves
};

struct WatchRecord {           // hamon-monitor
  std::uint64_t incarnation;   // → monitor (adoption), view, bench
  std::uint64_t since_ns;      // when `state` was entered → bench
  std::uint64_t last_beat_ns;  // the monitor's estimate of the latest beat → bench
  std::uint64_t beat_count;    // this incarnation's beats → bench
  ProcessState state;          // → monitor (adoption), view, bench
  SpareState spare;            // → view, bench, tests
};
static_assert(sizeof(WatchRecord) <= kLine - 8);

// hamon-server: its whole decision state, so a restarted server resumes. Every field → server
// (on restart); the ones the CLI shows also → view.
struct SuperviseRecord {
  std::uint64_t incarnation;      // → server, view
  std::uint64_t next_restart_ns;  // backoff: when the restart is due
  std::uint64_t window_start_ns;  // restart budget window
  std::uint64_t started_ns;       // when the current incarnation was started (uptime)
  std::uint32_t restarts;         // total since the node came up → server, view
  std::uint32_t window_restarts;
  std::uint32_t desired;      // 0 down, 1 up → server, view
  std::uint32_t phase;        // the supervisor's phase (engine::Phase): down, waiting,
                              // starting, up, stopping, backoff, failed → server, view
  std::uint32_t consecutive;  // restarts since the last stable run (backoff)
  std::uint32_t flags;        // bit 0: being stopped; bit 1: killed because it hung
};
static_assert(sizeof(SuperviseRecord) <= kLine - 8);

struct alignas(kLine) ProcessSlot {
  alignas(kLine) Seqlocked<ProcessIdentity> identity;   // hamon-server
  alignas(kLine) Seqlocked<SpawnRecord> spawn;          // hamon-spawner
  alignas(kLine) Seqlocked<WatchRecord> watch;          // hamon-monitor
  alignas(kLine) Seqlocked<SuperviseRecord> supervise;  // hamon-server
};
static_assert(sizeof(ProcessSlot) == 4 * kLine);
static_assert(offsetof(ProcessSlot, spawn) == kLine);
static_assert(offsetof(ProcessSlot, watch) == 2 * kLine);
static_assert(offsetof(ProcessSlot, supervise) == 3 * kLine);
static_assert(sizeof(MessageChannel) % kLine == 0);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

inline constexpr std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

// Where each region starts, for a segment of the given capacity.
struct ControlGeometry {
  std::uint32_t max_processes = 4096;
  std::uint32_t max_groups = 64;

  // A segment for a configuration of `processes` processes in `groups` groups. A reload can add
  // processes and groups but not grow the segment, so it holds twice the configuration (and
  // never less than the defaults above), within the layout's limits.
  [[nodiscard]] static ControlGeometry sized_for(std::size_t processes, std::size_t groups) {
    const auto room = [](std::size_t wanted, std::uint32_t floor, std::uint32_t limit) {
      return static_cast<std::uint32_t>(
          std::clamp<std::size_t>(2 * std::min<std::size_t>(wanted, limit), floor, limit));
    };
    ControlGeometry g;
    g.max_processes = room(processes, g.max_processes, kMaxProcessesLimit);
    g.max_groups = room(groups, g.max_groups, kMaxGroupsLimit);
    return g;
  }

  [[nodiscard]] std::size_t off_daemons() const { return kControlHeaderSize; }
  [[nodiscard]] std::size_t off_groups() const {
    return off_daemons() + kMaxDaemons * sizeof(DaemonSlot);
  }
  [[nodiscard]] std::size_t off_processes() const {
    return off_groups() + std::size_t{max_groups} * sizeof(GroupSlot);
  }
  [[nodiscard]] std::size_t off_channels() const {
    return off_processes() + std::size_t{max_processes} * sizeof(ProcessSlot);
  }
  [[nodiscard]] std::size_t off_events() const {
    return round_up(off_channels() + kChannelCount * sizeof(MessageChannel), 2 * kLine);
  }
  [[nodiscard]] std::size_t off_peers() const {
    return round_up(off_events() + EventRing::bytes_for(kEventCapacity), kLine);
  }
  [[nodiscard]] std::size_t peer_bytes() const {
    return peer_slot_bytes(max_processes, max_groups);
  }
  [[nodiscard]] std::size_t total_size() const { return off_peers() + kMaxPeers * peer_bytes(); }
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_CONTROL_LAYOUT_HPP
