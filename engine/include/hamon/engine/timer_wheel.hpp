// TimerWheel: deadlines for thousands of watched processes. Each comes due every few
// milliseconds, so adding and expiring must cost O(1) per entry, not a heap's O(log n) of cache
// misses. Pure: time is passed in, in nanoseconds of any monotonic clock.
//
// Buckets of `granularity` nanoseconds cover a span of granularity × buckets from the cursor. A
// deadline beyond the span is filed in the span's last bucket and filed again when the cursor
// reaches it: it is never lost and never returned before its time. Expired entries come out in
// bucket order (deadline order to within a granularity), each at the first expire() at or after
// its deadline.
//
// Entries live in one pool, linked into their bucket: memory follows the entries held. (A vector
// per bucket kept, in every one of its thousands of buckets, room for the largest crowd it ever
// held: processes beating in step crowd one bucket after another, and a monitor of 4096 of them
// grew by 20 MB a second, copying as it grew.)
//
// Thread-safety: none; one owner.
#ifndef HAMON_ENGINE_TIMER_WHEEL_HPP
#define HAMON_ENGINE_TIMER_WHEEL_HPP

#include <cstdint>
#include <vector>

namespace hamon::engine {

class TimerWheel {
 public:
  struct Entry {
    std::uint64_t at;
    std::uint32_t slot;
    std::uint64_t incarnation;
  };

  // REQUIRES: granularity_ns > 0; buckets a power of two.
  TimerWheel(std::uint64_t granularity_ns, std::uint32_t buckets, std::uint64_t now);

  // O(1). A deadline already past is due at the next expire().
  void add(std::uint64_t at, std::uint32_t slot, std::uint64_t incarnation);

  // Appends to `out` every entry due at `now` (at <= now) and removes it.
  // REQUIRES: now never decreases between calls.
  void expire(std::uint64_t now, std::vector<Entry>& out);

  // The earliest deadline held, or `limit` if none is earlier. Looks no further than `limit`.
  [[nodiscard]] std::uint64_t next(std::uint64_t limit) const;

  // Re-files every entry at a new granularity; deadlines are kept exactly. O(entries + buckets).
  // REQUIRES: granularity_ns > 0.
  void set_granularity(std::uint64_t granularity_ns, std::uint64_t now);

  [[nodiscard]] std::uint64_t granularity() const noexcept { return g_; }
  [[nodiscard]] std::uint64_t span() const noexcept { return g_ * (mask_ + 1); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // How many entries the memory held has room for, in use or kept for reuse.
  [[nodiscard]] std::size_t reserved() const noexcept;

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  struct Node {
    Entry entry;
    std::uint32_t next;  // in its bucket, or in the free list
  };

  // Files node `i` in the bucket its deadline falls in (or the span's last).
  void file(std::uint32_t i);
  void release(std::uint32_t i);
  // Every node out of every bucket, into refile_.
  void take_all();
  // Every entry out of the wheel, the cursor moved to `now`, and each filed again or expired.
  void sweep(std::uint64_t now, std::vector<Entry>& out);

  std::uint64_t g_;
  std::uint64_t mask_;
  std::vector<std::uint32_t> heads_;  // by bucket: its first node, or kNone
  std::vector<Node> pool_;
  std::uint32_t free_ = kNone;
  std::uint64_t
      cursor_;  // the bucket number (at / g_) of the earliest bucket that may hold entries
  std::size_t size_ = 0;
  std::vector<std::uint32_t> refile_;  // scratch, kept to reuse its capacity
};

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_TIMER_WHEEL_HPP
