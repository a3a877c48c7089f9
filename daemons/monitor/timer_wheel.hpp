// TimerWheel: the monitor's deadlines. Thousands of processes each come due every few
// milliseconds, so insertion and expiry must cost O(1), not a heap's O(log n) of cache misses.
//
// Buckets of `granularity` nanoseconds; a deadline further away than the wheel's span is filed
// in the last bucket of the span and simply checked early (the check reschedules it). Expired
// entries are returned in deadline order within a bucket's resolution, never before their time.
#ifndef HAMON_MONITOR_TIMER_WHEEL_HPP
#define HAMON_MONITOR_TIMER_WHEEL_HPP

#include <cstdint>
#include <vector>

namespace hamon::monitor {

class TimerWheel {
 public:
  struct Entry {
    std::uint64_t at;
    std::uint32_t slot;
    std::uint64_t incarnation;
  };

  // REQUIRES: buckets a power of two.
  TimerWheel(std::uint64_t granularity_ns, std::uint32_t buckets, std::uint64_t now)
      : g_(granularity_ns), mask_(buckets - 1), wheel_(buckets), cursor_(now / granularity_ns) {}

  void add(std::uint64_t at, std::uint32_t slot, std::uint64_t incarnation) {
    std::uint64_t b = at / g_;
    if (b < cursor_) b = cursor_;
    if (b > cursor_ + mask_) b = cursor_ + mask_;
    wheel_[b & mask_].push_back({at, slot, incarnation});
    ++size_;
  }

  // Moves every entry due at `now` into `out` (appended).
  void expire(std::uint64_t now, std::vector<Entry>& out) {
    const std::uint64_t last = now / g_;
    for (; cursor_ <= last && size_ > 0; ++cursor_) {
      auto& bucket = wheel_[cursor_ & mask_];
      if (cursor_ < last) {  // wholly in the past
        size_ -= bucket.size();
        out.insert(out.end(), bucket.begin(), bucket.end());
        bucket.clear();
        continue;
      }
      // The current bucket: only what is due; the rest waits in place.
      std::size_t keep = 0;
      for (const Entry& e : bucket) {
        if (e.at <= now) {
          out.push_back(e);
          --size_;
        } else {
          bucket[keep++] = e;
        }
      }
      bucket.resize(keep);
      return;  // cursor stays on the current bucket
    }
    if (size_ == 0 && cursor_ < last) cursor_ = last;
  }

  // The earliest time worth waking for: the start of the next non-empty bucket (or `limit`).
  [[nodiscard]] std::uint64_t next(std::uint64_t limit) const {
    if (size_ == 0) return limit;
    for (std::uint64_t b = cursor_; b <= cursor_ + mask_; ++b) {
      const auto& bucket = wheel_[b & mask_];
      if (bucket.empty()) continue;
      std::uint64_t earliest = UINT64_MAX;
      for (const Entry& e : bucket) earliest = e.at < earliest ? e.at : earliest;
      return earliest < limit ? earliest : limit;
    }
    return limit;
  }

  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  std::uint64_t g_;
  std::uint64_t mask_;
  std::vector<std::vector<Entry>> wheel_;
  std::uint64_t cursor_;
  std::size_t size_ = 0;
};

}  // namespace hamon::monitor

#endif  // HAMON_MONITOR_TIMER_WHEEL_HPP
