#include "hamon/engine/timer_wheel.hpp"

#include <algorithm>

namespace hamon::engine {

TimerWheel::TimerWheel(std::uint64_t granularity_ns, std::uint32_t buckets, std::uint64_t now)
    : g_(granularity_ns), mask_(buckets - 1), wheel_(buckets), cursor_(now / granularity_ns) {}

void TimerWheel::add(std::uint64_t at, std::uint32_t slot, std::uint64_t incarnation) {
  const std::uint64_t b = std::clamp(at / g_, cursor_, cursor_ + mask_);
  wheel_[b & mask_].push_back({at, slot, incarnation});
  ++size_;
}

void TimerWheel::expire(std::uint64_t now, std::vector<Entry>& out) {
  const std::uint64_t last = now / g_;
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
    auto& bucket = wheel_[cursor_ & mask_];
    refile_.clear();
    std::size_t keep = 0;
    for (const Entry& e : bucket) {
      if (e.at <= now) {
        out.push_back(e);
      } else if (cursor_ == last) {
        bucket[keep++] = e;  // the current bucket: not due yet, waits in place
      } else {
        refile_.push_back(e);  // a far deadline parked at the end of an earlier span
      }
    }
    size_ -= bucket.size() - keep;
    bucket.resize(keep);
    if (cursor_ == last) return;
    ++cursor_;
    for (const Entry& e : refile_) add(e.at, e.slot, e.incarnation);
    if (size_ == 0) {
      cursor_ = last;
      return;
    }
  }
}

void TimerWheel::sweep(std::uint64_t now, std::vector<Entry>& out) {
  refile_.clear();
  for (auto& bucket : wheel_) {
    refile_.insert(refile_.end(), bucket.begin(), bucket.end());
    bucket.clear();
  }
  size_ = 0;
  cursor_ = std::max(cursor_, now / g_);
  const std::size_t first = out.size();
  for (const Entry& e : refile_) {
    if (e.at <= now) {
      out.push_back(e);
    } else {
      add(e.at, e.slot, e.incarnation);
    }
  }
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
            [](const Entry& a, const Entry& b) { return a.at < b.at; });
}

std::uint64_t TimerWheel::next(std::uint64_t limit) const {
  std::uint64_t best = limit;
  if (size_ == 0) return best;
  for (std::uint64_t b = cursor_; b <= cursor_ + mask_; ++b) {
    // Past the cursor's bucket, a bucket holds nothing earlier than its own start.
    if (b != cursor_ && b * g_ >= best) break;
    for (const Entry& e : wheel_[b & mask_]) best = std::min(best, e.at);
  }
  return best;
}

void TimerWheel::set_granularity(std::uint64_t granularity_ns, std::uint64_t now) {
  refile_.clear();
  for (auto& bucket : wheel_) {
    refile_.insert(refile_.end(), bucket.begin(), bucket.end());
    bucket.clear();
  }
  size_ = 0;
  g_ = granularity_ns;
  cursor_ = now / g_;
  for (const Entry& e : refile_) add(e.at, e.slot, e.incarnation);
}

}  // namespace hamon::engine
