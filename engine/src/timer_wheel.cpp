#include "hamon/engine/timer_wheel.hpp"

#include <algorithm>

namespace hamon::engine {

TimerWheel::TimerWheel(std::uint64_t granularity_ns, std::uint32_t buckets, std::uint64_t now)
    : g_(granularity_ns),
      mask_(buckets - 1),
      heads_(buckets, kNone),
      cursor_(now / granularity_ns) {}

void TimerWheel::file(std::uint32_t i) {
  const std::uint64_t b = std::clamp(pool_[i].entry.at / g_, cursor_, cursor_ + mask_);
  pool_[i].next = heads_[b & mask_];
  heads_[b & mask_] = i;
}

void TimerWheel::release(std::uint32_t i) {
  pool_[i].next = free_;
  free_ = i;
}

void TimerWheel::add(std::uint64_t at, std::uint32_t slot, std::uint64_t incarnation) {
  std::uint32_t i = free_;
  if (i != kNone) {
    free_ = pool_[i].next;
  } else {
    i = static_cast<std::uint32_t>(pool_.size());
    pool_.push_back({});
  }
  pool_[i].entry = {at, slot, incarnation};
  file(i);
  ++size_;
}

void TimerWheel::expire(std::uint64_t now, std::vector<Entry>& out) {
  // Never behind the cursor (a clock that went back): the walk below must reach `last`.
  const std::uint64_t last = std::max(now / g_, cursor_);
  if (size_ == 0) {
    cursor_ = std::max(cursor_, last);
    return;
  }
  // A whole turn or more went by (a long stall): every bucket is behind, visit each once.
  if (last > cursor_ + mask_) {
    sweep(now, out);
    return;
  }
  for (;;) {
    std::uint32_t& head = heads_[cursor_ & mask_];
    std::uint32_t i = head;
    head = kNone;
    refile_.clear();
    while (i != kNone) {
      const std::uint32_t next = pool_[i].next;
      if (pool_[i].entry.at <= now) {
        out.push_back(pool_[i].entry);
        release(i);
        --size_;
      } else if (cursor_ == last) {
        pool_[i].next = head;  // the current bucket: not due yet, waits in place
        head = i;
      } else {
        refile_.push_back(i);  // a far deadline parked at the end of an earlier span
      }
      i = next;
    }
    if (cursor_ == last) return;
    ++cursor_;
    for (const std::uint32_t r : refile_) file(r);
    if (size_ == 0) {
      cursor_ = last;
      return;
    }
  }
}

void TimerWheel::take_all() {
  refile_.clear();
  for (std::uint32_t& head : heads_) {
    for (std::uint32_t i = head; i != kNone; i = pool_[i].next) refile_.push_back(i);
    head = kNone;
  }
}

void TimerWheel::sweep(std::uint64_t now, std::vector<Entry>& out) {
  take_all();
  cursor_ = std::max(cursor_, now / g_);
  const std::size_t first = out.size();
  for (const std::uint32_t i : refile_) {
    if (pool_[i].entry.at <= now) {
      out.push_back(pool_[i].entry);
      release(i);
      --size_;
    } else {
      file(i);
    }
  }
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
            [](const Entry& a, const Entry& b) { return a.at < b.at; });
}

std::size_t TimerWheel::reserved() const noexcept { return pool_.capacity(); }

std::uint64_t TimerWheel::next(std::uint64_t limit) const {
  std::uint64_t best = limit;
  if (size_ == 0) return best;
  for (std::uint64_t b = cursor_; b <= cursor_ + mask_; ++b) {
    // Past the cursor's bucket, a bucket holds nothing earlier than its own start.
    if (b != cursor_ && b * g_ >= best) break;
    for (std::uint32_t i = heads_[b & mask_]; i != kNone; i = pool_[i].next) {
      best = std::min(best, pool_[i].entry.at);
    }
  }
  return best;
}

void TimerWheel::set_granularity(std::uint64_t granularity_ns, std::uint64_t now) {
  take_all();
  g_ = granularity_ns;
  cursor_ = now / g_;
  for (const std::uint32_t i : refile_) file(i);
}

}  // namespace hamon::engine
