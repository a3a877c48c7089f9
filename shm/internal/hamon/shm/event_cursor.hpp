// EventCursor: follows an EventRing from a position, as `hamon events --follow` and a peer link
// do. Each published entry comes out once, in order; a reader that fell a whole ring behind is
// told how many entries it lost and resumes at the oldest one held; a hole left by a writer that
// died between claim and publish is skipped once it has stayed a hole for `patience`.
//
// Never blocks and never makes the ring's writers wait. Time is passed in (any monotonic clock,
// in ns) so the hole rule can be tested without sleeping.
//
// Thread-safety: one cursor per reader thread; any number of cursors may follow one ring.
#ifndef HAMON_SHM_EVENT_CURSOR_HPP
#define HAMON_SHM_EVENT_CURSOR_HPP

#include <cstdint>

#include "hamon/shm/event_ring.hpp"

namespace hamon::shm {

class EventCursor {
 public:
  static constexpr std::uint64_t kDefaultPatienceNs = 100'000'000;

  // REQUIRES: the ring's memory outlives the cursor. `from`: ring.oldest() for all it holds,
  // ring.head() for only what comes next.
  EventCursor(const EventRing& ring, std::uint64_t from,
              std::uint64_t patience_ns = kDefaultPatienceNs) noexcept
      : ring_(ring), pos_(from), patience_(patience_ns) {}

  enum class Kind {
    event,      // `out` holds the next entry
    lost,       // `lost` entries went by unread (overwritten, or a hole skipped); call again
    pending,    // the next entry is being written (or its writer died): call again later
    caught_up,  // nothing newer has been posted
  };
  struct Step {
    Kind kind;
    std::uint64_t lost = 0;
  };

  // Moves past the next entry, if there is one to move past.
  [[nodiscard]] Step next(Event& out, std::uint64_t now_ns) noexcept;

  // The position of the next entry it will return.
  [[nodiscard]] std::uint64_t position() const noexcept { return pos_; }

 private:
  EventRing ring_;
  std::uint64_t pos_;
  std::uint64_t patience_;
  bool waiting_ = false;  // the entry at pos_ was pending at the last look
  std::uint64_t waiting_since_ = 0;
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_EVENT_CURSOR_HPP
