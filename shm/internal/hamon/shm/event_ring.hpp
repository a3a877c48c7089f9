// EventRing: the node's ring of recent events (spawned, ready, exited, hung, role changes, ...).
//
// Any daemon may post; any number of readers (hamon events, hamon top) follow it without the
// writers ever waiting for them. A writer claims a position with one fetch_add on `head`, then
// publishes the entry under that entry's own sequence word (odd while writing, 2*pos+2 when
// done). A reader that falls N entries behind is lapped and told how many it lost; a writer that
// dies between claim and publish leaves a hole that readers skip once later entries exist.
#ifndef HAMON_SHM_EVENT_RING_HPP
#define HAMON_SHM_EVENT_RING_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hamon::shm {

enum class EventKind : std::uint16_t {
  none = 0,
  spawned,       // a process was started (pid, incarnation)
  ready,         // it became ready
  exited,        // it exited; value = wait status
  hung,          // it stopped beating for its timeout; value = silence in ns
  restarting,    // a restart was scheduled; value = delay in ns
  failed,        // restart budget exhausted, it stays down
  stopped,       // stopped on request
  role_changed,  // a tenant's role; value = new role
  peer_up,       // a peer's first link came up after it was lost or never seen; name = peer
  peer_lost,     // every link to the peer silent for peer_timeout; value = silence in ns
  daemon_started,
  daemon_exited,
  config_loaded,
  note,            // free text in detail
  link_up,         // a peer link's handshake completed; name = peer, value = link index
  link_down,       // a peer link closed or fell silent; detail says why
  frame_rejected,  // the link refused a frame and dropped the connection; value = Reason, detail
  alarm,           // needs an operator: a tenant held by flap damping, a fence that failed
  refused,         // a control request its caller may not make; pid = caller, value = uid
  promoted,        // a parked spare instance serves now; value = ns from the trigger, detail why
};

const char* to_string(EventKind k) noexcept;

// One event as posted and as read. Flat, so it can be stored word by word.
struct Event {
  std::uint64_t t_ns = 0;  // CLOCK_MONOTONIC
  std::uint64_t incarnation = 0;
  std::int64_t value = 0;  // kind-specific (see EventKind)
  std::int32_t pid = 0;
  EventKind kind = EventKind::none;
  std::uint16_t source = 0;         // DaemonId of the poster
  std::uint32_t slot = UINT32_MAX;  // process slot, or UINT32_MAX
  char group[32] = {};              // tenant or "system"
  char name[32] = {};               // process or daemon name
  char detail[144] = {};            // short text, NUL-terminated

  void set_group(std::string_view s) noexcept;
  void set_name(std::string_view s) noexcept;
  void set_detail(std::string_view s) noexcept;
};
static_assert(sizeof(Event) == 248);

// A view of a ring in shared memory. Its capacity is the viewer's own (the control segment's
// layout constant), never read back from the shared head: anyone who may write the ring may write
// that too, and every index is taken modulo the trusted capacity.
class EventRing {
 public:
  static constexpr std::size_t kEntryWords = (sizeof(Event) + 7) / 8;

  struct alignas(256) Entry {
    std::atomic<std::uint64_t> seq;  // 2*pos+1 while written, 2*pos+2 once published
    std::atomic<std::uint64_t> words[kEntryWords];
  };
  static_assert(sizeof(Entry) == 256);

  // The shared head line, then Entry[capacity].
  struct alignas(256) Head {
    std::atomic<std::uint64_t> next;  // written by every poster (fetch_add)
    std::uint32_t capacity;           // written once at init: for a reader's curiosity only
    std::uint32_t mask;
  };
  static_assert(sizeof(Head) == 256);

  // Bytes needed for a ring of `capacity` entries (a power of two).
  static constexpr std::size_t bytes_for(std::size_t capacity) {
    return sizeof(Head) + capacity * sizeof(Entry);
  }

  // REQUIRES: memory of bytes_for(capacity) zeroed bytes, 256-byte aligned; capacity a power of 2.
  static EventRing init(void* memory, std::uint32_t capacity) noexcept;
  // A view of the ring initialised at `memory` with `capacity` (a power of two).
  EventRing(void* memory, std::uint32_t capacity) noexcept
      : head_(static_cast<Head*>(memory)),
        entries_(reinterpret_cast<Entry*>(static_cast<Head*>(memory) + 1)),
        capacity_(capacity),
        mask_(capacity - 1) {}

  // No ring ever gets this far (2^48 events: nine years at a million a second): a head beyond it
  // was written by someone else, and the ring is repaired by its next post.
  static constexpr std::uint64_t kPlausibleHead = std::uint64_t{1} << 48;

  // Any process, any thread. Wait-free. Returns the position.
  std::uint64_t post(const Event& e) const noexcept;
  // Whether the head is garbage: reads say empty until a post repairs it.
  [[nodiscard]] bool corrupt() const noexcept { return head() >= kPlausibleHead; }

  // The position the next post() will take.
  [[nodiscard]] std::uint64_t head() const noexcept {
    return head_->next.load(std::memory_order_acquire);
  }
  // The oldest position still held.
  [[nodiscard]] std::uint64_t oldest() const noexcept;
  [[nodiscard]] std::uint32_t capacity() const noexcept { return capacity_; }

  enum class Read { ok, empty, pending, lapped };
  // Reads position `pos`. ok: `out` holds it. empty: not posted yet. pending: claimed but not
  // published yet (or its writer died: the caller may skip it after a while). lapped: overwritten;
  // resume from oldest().
  Read read(std::uint64_t pos, Event& out) const noexcept;

 private:
  // Puts the head back after the newest entry published (each entry's sequence word says its
  // position), unless another poster did first.
  void repair() const noexcept;

  Head* head_;
  Entry* entries_;
  std::uint32_t capacity_;
  std::uint64_t mask_;
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_EVENT_RING_HPP
