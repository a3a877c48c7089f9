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
//   total_size        +-------------------------------------------+
//
// Every region starts on a 128-byte boundary (the event ring on a 256-byte one). A layout change
// bumps kControlLayoutVersion.
#ifndef HAMON_SHM_CONTROL_LAYOUT_HPP
#define HAMON_SHM_CONTROL_LAYOUT_HPP

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "hamon/shm/channel.hpp"
#include "hamon/shm/event_ring.hpp"
#include "hamon/shm/message.hpp"
#include "hamon/shm/seqlock.hpp"
#include "hamon/shm/segment.hpp"

namespace hamon::shm {

inline constexpr std::uint64_t kControlMagic = 0x3154434e4f4d4148ULL;  // the bytes "HAMONCT1"
inline constexpr std::uint32_t kControlLayoutVersion = 1;
inline constexpr std::uint32_t kControlHeaderSize = 256;
inline constexpr std::size_t kLine = 128;  // false-sharing range (two 64 B lines: adjacent prefetch)
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

struct ControlHeader {
  std::uint64_t magic;            // kControlMagic
  std::uint32_t layout_version;   // kControlLayoutVersion, release-stored last
  std::uint32_t header_size;      // kControlHeaderSize
  std::uint32_t max_processes;
  std::uint32_t max_groups;
  std::uint64_t total_size;
  // everything below: written once by the creator, before layout_version
  std::uint64_t off_daemons;
  std::uint64_t off_groups;
  std::uint64_t off_processes;
  std::uint64_t off_channels;
  std::uint64_t off_events;
  std::uint32_t event_capacity;
  std::uint32_t channel_count;
  std::uint32_t channel_capacity;
  std::uint32_t creator_pid;
  std::uint64_t created_ns;       // CLOCK_MONOTONIC
  char cluster[kNameMax];
  char node[kNameMax];
  std::uint8_t reserved[256 - 160];
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
  std::atomic<std::uint32_t> pid;           // the daemon
  std::atomic<std::uint32_t> state;         // the daemon (DaemonState)
  std::atomic<std::uint64_t> start_ticks;   // the daemon: /proc/self/stat field 22
  std::atomic<std::uint64_t> heartbeat_ns;  // the daemon: CLOCK_MONOTONIC, every loop turn
  std::atomic<std::uint64_t> started_ns;    // the daemon
  std::atomic<std::uint64_t> channel_full;  // the daemon: times it found a channel full (its
                                            // message waited in its outbox); read by the views
  std::uint8_t pad0[64 - 40];
  std::atomic<std::uint32_t> restarts;      // its watcher; read by the views
  std::uint32_t pad1;
  Doorbell inbox;                           // rung by whoever posts to one of its channels
  std::atomic<std::uint64_t> restart_at_ns; // its watcher: when it starts the daemon again after
                                            // failed starts (0: not held back); read by views
  std::atomic<std::uint32_t> failed_starts; // its watcher: ended soon after starting, in a row
  std::uint32_t pad2;
  std::uint8_t pad3[64 - 32];
};
static_assert(sizeof(DaemonSlot) == kLine);
static_assert(offsetof(DaemonSlot, restarts) == 64);
static_assert(offsetof(DaemonSlot, inbox) == 72);

enum class GroupKind : std::uint32_t { unused = 0, system, tenant };

struct GroupInfo {
  char name[kNameMax];
  char heartbeat_segment[128]; // shm name, no leading slash
  GroupKind kind;
  std::uint32_t slot_count;     // slots in its heartbeat segment
  std::uint32_t role;           // enum hamon_role, mirrored from the heartbeat segment
  std::uint32_t reserved;
};
static_assert(sizeof(GroupInfo) <= 2 * kLine - 8);

struct alignas(kLine) GroupSlot {
  Seqlocked<GroupInfo> info;  // hamon-server
};
static_assert(sizeof(GroupSlot) == 2 * kLine);

// The lifecycle of a process slot, as the monitor sees it (and the server, for `failed`).
enum class ProcessState : std::uint32_t {
  unused = 0,   // no process configured in this slot
  down,         // configured, not running (not started yet, or stopped)
  starting,     // spawned, not ready yet
  ready,        // ready by its ready mode, first state after starting
  running,      // ready and beating
  hung,         // silent past its timeout
  exited,       // its pidfd became readable
  stopping,     // being stopped on request
  failed,       // restart budget exhausted: stays down
};
const char* to_string(ProcessState s) noexcept;

struct ProcessIdentity {  // hamon-server, when it assigns the slot
  std::uint64_t incarnation;  // grows on every (re)start; 0 = never started
  std::uint64_t interval_ns;
  std::uint64_t timeout_ns;
  std::uint32_t group;        // index into the group table
  std::uint32_t hb_slot;      // slot in the group's heartbeat segment
  std::uint32_t priority;
  std::uint32_t ready_mode;   // 0 spawn, 1 heartbeat, 2 explicit
  std::uint32_t flags;        // bit 0: critical
  std::uint32_t config_hash;  // of the process's configuration, for reload
  char name[kNameMax];
};
static_assert(sizeof(ProcessIdentity) <= kLine - 8);

struct SpawnRecord {  // hamon-spawner
  std::uint64_t incarnation;   // of the process it last started
  std::uint64_t start_ticks;   // /proc/<pid>/stat field 22: tells a reused pid apart
  std::uint64_t spawned_ns;
  std::uint64_t exited_ns;     // 0 while running
  std::int32_t pid;
  std::int32_t wait_status;    // valid when exited_ns != 0
};
static_assert(sizeof(SpawnRecord) <= kLine - 8);

struct WatchRecord {  // hamon-monitor
  std::uint64_t incarnation;
  std::uint64_t since_ns;      // when `state` was entered
  std::uint64_t last_beat_ns;  // monitor's estimate of the latest beat
  std::uint64_t beat_count;
  ProcessState state;
  std::uint32_t reserved;
};
static_assert(sizeof(WatchRecord) <= kLine - 8);

struct SuperviseRecord {  // hamon-server: its whole decision state, so a restarted server resumes
  std::uint64_t incarnation;
  std::uint64_t next_restart_ns;   // backoff: when the restart is due
  std::uint64_t window_start_ns;   // restart budget window
  std::uint64_t started_ns;        // when the current incarnation was started (uptime)
  std::uint32_t restarts;          // total since the node came up
  std::uint32_t window_restarts;
  std::uint32_t desired;           // 0 down, 1 up
  std::uint32_t phase;             // the supervisor's phase (engine::Phase): down, waiting,
                                   // starting, up, stopping, backoff, failed
  std::uint32_t consecutive;       // restarts since the last stable run (backoff)
  std::uint32_t flags;             // bit 0: being stopped; bit 1: killed because it hung
};
static_assert(sizeof(SuperviseRecord) <= kLine - 8);

struct alignas(kLine) ProcessSlot {
  alignas(kLine) Seqlocked<ProcessIdentity> identity;  // hamon-server
  alignas(kLine) Seqlocked<SpawnRecord> spawn;         // hamon-spawner
  alignas(kLine) Seqlocked<WatchRecord> watch;         // hamon-monitor
  alignas(kLine) Seqlocked<SuperviseRecord> supervise; // hamon-server
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
      return static_cast<std::uint32_t>(std::clamp<std::size_t>(2 * std::min<std::size_t>(wanted, limit), floor, limit));
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
  [[nodiscard]] std::size_t total_size() const {
    return off_events() + EventRing::bytes_for(kEventCapacity);
  }
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_CONTROL_LAYOUT_HPP
