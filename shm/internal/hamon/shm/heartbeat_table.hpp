// HeartbeatTable: the daemons' side of a heartbeat segment (one per tenant group). The layout is
// the client ABI of <hamon/heartbeat_abi.h>; the static_asserts below hold this view to it.
//
// Trust: every slot is written by a monitored process, so anything read from one may be garbage.
// Readers get plain values (snapshot()) and must validate them; nothing read from a slot is ever
// used as an index, size or pointer.
#ifndef HAMON_SHM_HEARTBEAT_TABLE_HPP
#define HAMON_SHM_HEARTBEAT_TABLE_HPP

#include <hamon/heartbeat_abi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hamon/shm/result.hpp"
#include "hamon/shm/segment.hpp"

namespace hamon::shm {

struct alignas(HAMON_HB_SLOT_SIZE) HeartbeatSlot {
  std::atomic<std::uint64_t> beat_count;   // the process
  std::atomic<std::uint64_t> beat_stamp;   // the process (a copy of the clock line)
  std::atomic<std::uint64_t> incarnation;  // the process, at attach
  std::atomic<std::uint32_t> ready;        // the process
  std::atomic<std::uint32_t> pid;          // the process, at attach
  std::atomic<std::uint64_t> drained;      // the process: the epoch it drained (docs/roles.md)
  std::atomic<std::uint32_t> parked;       // the process: its incarnation's low half, parked
  std::atomic<std::uint32_t> promoted;     // hamon-monitor: the low half it promoted (futex)
};
static_assert(sizeof(HeartbeatSlot) == HAMON_HB_SLOT_SIZE);
static_assert(offsetof(HeartbeatSlot, beat_count) == HAMON_HB_SLOT_BEAT_COUNT);
static_assert(offsetof(HeartbeatSlot, beat_stamp) == HAMON_HB_SLOT_BEAT_STAMP);
static_assert(offsetof(HeartbeatSlot, incarnation) == HAMON_HB_SLOT_INCARNATION);
static_assert(offsetof(HeartbeatSlot, ready) == HAMON_HB_SLOT_READY);
static_assert(offsetof(HeartbeatSlot, pid) == HAMON_HB_SLOT_PID);
static_assert(offsetof(HeartbeatSlot, drained) == HAMON_HB_SLOT_DRAINED);
static_assert(offsetof(HeartbeatSlot, parked) == HAMON_HB_SLOT_PARKED);
static_assert(offsetof(HeartbeatSlot, promoted) == HAMON_HB_SLOT_PROMOTED);

struct HeartbeatHeader {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t header_size;
  std::uint32_t slot_size;
  std::uint32_t slot_count;
  std::uint64_t total_size;
  char group[HAMON_HB_GROUP_MAX];
  std::uint8_t pad0[HAMON_HB_OFF_ROLE - 64];
  alignas(128) std::atomic<std::uint32_t> role;      // hamon-server
  std::atomic<std::uint32_t> role_seq;               // hamon-server: futex word
  std::atomic<std::uint64_t> role_term;              // hamon-server
  alignas(128) std::atomic<std::uint64_t> clock_ns;  // hamon-monitor
};
static_assert(offsetof(HeartbeatHeader, magic) == HAMON_HB_OFF_MAGIC);
static_assert(offsetof(HeartbeatHeader, layout_version) == HAMON_HB_OFF_VERSION);
static_assert(offsetof(HeartbeatHeader, header_size) == HAMON_HB_OFF_HEADER_SIZE);
static_assert(offsetof(HeartbeatHeader, slot_size) == HAMON_HB_OFF_SLOT_SIZE);
static_assert(offsetof(HeartbeatHeader, slot_count) == HAMON_HB_OFF_SLOT_COUNT);
static_assert(offsetof(HeartbeatHeader, total_size) == HAMON_HB_OFF_TOTAL_SIZE);
static_assert(offsetof(HeartbeatHeader, group) == HAMON_HB_OFF_GROUP);
static_assert(offsetof(HeartbeatHeader, role) == HAMON_HB_OFF_ROLE);
static_assert(offsetof(HeartbeatHeader, role_seq) == HAMON_HB_OFF_ROLE_SEQ);
static_assert(offsetof(HeartbeatHeader, role_term) == HAMON_HB_OFF_ROLE_TERM);
static_assert(offsetof(HeartbeatHeader, clock_ns) == HAMON_HB_OFF_CLOCK);
static_assert(sizeof(HeartbeatHeader) <= HAMON_HB_HEADER_SIZE);
static_assert(offsetof(HeartbeatHeader, magic) == offsetof(SegmentPrefix, magic));
static_assert(offsetof(HeartbeatHeader, total_size) == offsetof(SegmentPrefix, total_size));

// What a reader saw in a slot at one moment; untrusted.
struct BeatSnapshot {
  std::uint64_t beat_count;
  std::uint64_t beat_stamp;
  std::uint64_t incarnation;
  std::uint32_t ready;
  std::uint32_t pid;
};

class HeartbeatTable {
 public:
  // Creates the segment for `group` with `slots` slots; `mode` 0600 by default (owner only),
  // given to `owner` (the tenant's user).
  static Result<HeartbeatTable> create(const std::string& name, std::string_view group,
                                       std::uint32_t slots, unsigned mode = 0600, Owner owner = {});
  static Result<HeartbeatTable> attach(const std::string& name, Access access);

  // As checked when it was mapped: the header's own field is the tenant's to scribble on.
  [[nodiscard]] std::uint32_t slot_count() const noexcept { return slot_count_; }
  // False once the segment was truncated under us or its header no longer says what it said
  // when mapped: its tenant damaged it, and it must be made anew.
  [[nodiscard]] bool intact() const noexcept;
  [[nodiscard]] unsigned owner() const noexcept { return seg_.owner(); }
  [[nodiscard]] unsigned mode() const noexcept { return seg_.mode(); }
  [[nodiscard]] std::string group() const;

  // Untrusted snapshot of slot i. REQUIRES: i < slot_count().
  [[nodiscard]] BeatSnapshot snapshot(std::uint32_t i) const noexcept;
  HeartbeatSlot& slot(std::uint32_t i) const noexcept;

  // hamon-monitor: the clock that beats copy.
  void tick(std::uint64_t now_ns) noexcept {
    header().clock_ns.store(now_ns, std::memory_order_relaxed);
  }
  // hamon-server: publishes a role and wakes every process waiting for a change.
  void set_role(std::uint32_t role, std::uint64_t term) noexcept;
  [[nodiscard]] std::uint32_t role() const noexcept {
    return header().role.load(std::memory_order_acquire);
  }

  [[nodiscard]] const std::string& name() const noexcept { return seg_.name(); }
  // The name as processes pass it to shm_open (with a leading slash).
  [[nodiscard]] std::string client_name() const { return "/" + seg_.name(); }

 private:
  HeartbeatTable(Segment seg, std::uint32_t slots) : seg_(std::move(seg)), slot_count_(slots) {}
  HeartbeatHeader& header() const noexcept {
    return *reinterpret_cast<HeartbeatHeader*>(seg_.data());
  }
  Segment seg_;
  std::uint32_t slot_count_;
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_HEARTBEAT_TABLE_HPP
