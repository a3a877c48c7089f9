// StallLog: the times a CPU could not run what waited for it (a virtual CPU the host did not
// schedule, a real-time hog above everything, a paused machine), as the intervals a sentinel
// measured; the monitor asks how much of a process's silence fell in them. Pure logic.
//
// Intervals arrive out of order (each CPU's sentinel reports when its stall ends) and may
// overlap; the log keeps their union, the latest `capacity` disjoint pieces of it.
#ifndef HAMON_ENGINE_STALL_LOG_HPP
#define HAMON_ENGINE_STALL_LOG_HPP

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hamon::engine {

class StallLog {
 public:
  explicit StallLog(std::size_t capacity = 128) : capacity_(capacity) {}

  // The CPU stalled from `start` to `end` (ignored when end <= start).
  void add(std::uint64_t start, std::uint64_t end);
  // How much of [from, to) the stalls cover.
  [[nodiscard]] std::uint64_t measure(std::uint64_t from, std::uint64_t to) const noexcept;
  // The latest time a stall covers; 0 for none.
  [[nodiscard]] std::uint64_t last_end() const noexcept {
    return pieces_.empty() ? 0 : pieces_.back().end;
  }

 private:
  struct Piece {
    std::uint64_t start, end;
  };
  std::size_t capacity_;
  std::vector<Piece> pieces_;  // disjoint, in increasing order
};

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_STALL_LOG_HPP
