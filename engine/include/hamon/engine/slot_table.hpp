// SlotTable: where each configured process sits — its slot in the control segment and its slot
// in its group's heartbeat segment. Pure bookkeeping; hamon-server keeps one and writes what it
// decides into the segments.
//
// Seats are given by qualified name (group/name) and kept: a process that stays configured keeps
// both its slots across reloads and server restarts, so its pid, incarnation and heartbeat stay
// where everyone looks for them. A process that is configured no more keeps its seats (it may
// still run and beat) until release(); only then can another process take them.
//
// Not thread-safe.
#ifndef HAMON_ENGINE_SLOT_TABLE_HPP
#define HAMON_ENGINE_SLOT_TABLE_HPP

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hamon/engine/config.hpp"
#include "hamon/result.hpp"

namespace hamon::engine {

class SlotTable {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;

  explicit SlotTable(std::uint32_t slots) : seats_(slots) {}

  // A process found in `slot` (a restarted server reading its predecessor's table).
  // REQUIRES: before the first place(); `slot` in range and not occupied.
  void occupy(std::uint32_t slot, std::string qualified, std::string group, std::uint32_t hb_slot);

  struct Placement {
    // Per process of the placed configuration: its index in the previous placement, or nullopt
    // when it is new.
    std::vector<std::optional<std::size_t>> previous;
    // Seats whose process is configured no more (left from before, or occupied and not
    // configured): held until release().
    std::vector<std::uint32_t> removed;
  };

  // Seats every process of `config`: a process already seated keeps its seats, a new one takes
  // the lowest free slot and the lowest free heartbeat slot of its group (`hb_capacity(group)`
  // of them). When the seats run out, fails and changes nothing.
  base::Result<Placement> place(
      const Config& config, const std::function<std::uint32_t(const std::string&)>& hb_capacity);

  // A removed process is gone: its seats are free again.
  void release(std::uint32_t slot);

  // REQUIRES: `process` < the placed configuration's process count.
  [[nodiscard]] std::uint32_t slot(std::size_t process) const { return slot_of_[process]; }
  [[nodiscard]] std::uint32_t hb_slot(std::size_t process) const {
    return seats_[slot_of_[process]].hb_slot;
  }
  // The configured process in `slot`; nullopt when the slot is free, removed or out of range.
  [[nodiscard]] std::optional<std::size_t> process_at(std::uint32_t slot) const;
  [[nodiscard]] bool removed(std::uint32_t slot) const {
    return slot < seats_.size() && seats_[slot].taken && !seats_[slot].configured;
  }
  [[nodiscard]] std::size_t free_slots() const;
  [[nodiscard]] std::uint32_t capacity() const { return static_cast<std::uint32_t>(seats_.size()); }

 private:
  struct Seat {
    bool taken = false;
    bool configured = false;  // taken by a process of the placed configuration
    bool found = false;       // occupy()'d, not placed yet
    std::size_t process = 0;  // its index there
    std::string qualified, group;
    std::uint32_t hb_slot = kNone;
  };
  std::vector<Seat> seats_;             // by control slot
  std::vector<std::uint32_t> slot_of_;  // by process of the placed configuration
};

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_SLOT_TABLE_HPP
