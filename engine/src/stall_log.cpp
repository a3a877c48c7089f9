#include "hamon/engine/stall_log.hpp"

#include <algorithm>

namespace hamon::engine {

void StallLog::add(std::uint64_t start, std::uint64_t end) {
  if (end <= start) return;
  // The first piece that ends at or after `start` (touching pieces merge), and every piece from
  // it that begins at or before `end`, become one.
  auto first = std::lower_bound(pieces_.begin(), pieces_.end(), start,
                                [](const Piece& p, std::uint64_t s) { return p.end < s; });
  auto last = first;
  while (last != pieces_.end() && last->start <= end) {
    start = std::min(start, last->start);
    end = std::max(end, last->end);
    ++last;
  }
  first = pieces_.erase(first, last);
  pieces_.insert(first, Piece{start, end});
  if (pieces_.size() > capacity_) pieces_.erase(pieces_.begin());
}

std::uint64_t StallLog::measure(std::uint64_t from, std::uint64_t to) const noexcept {
  std::uint64_t sum = 0;
  // From the latest back: a silence asks about the recent past.
  for (auto it = pieces_.rbegin(); it != pieces_.rend() && it->end > from; ++it) {
    const std::uint64_t s = std::max(it->start, from), e = std::min(it->end, to);
    if (e > s) sum += e - s;
  }
  return sum;
}

}  // namespace hamon::engine
