#include "hamon/shm/event_cursor.hpp"

namespace hamon::shm {

EventCursor::Step EventCursor::next(Event& out, std::uint64_t now_ns) noexcept {
  switch (ring_.read(pos_, out)) {
    case EventRing::Read::ok:
      ++pos_;
      waiting_ = false;
      return {Kind::event};
    case EventRing::Read::empty:
      // Ahead of the ring: its head was garbage when we last moved, and has been repaired.
      if (const std::uint64_t h = ring_.head(); pos_ > h && h < EventRing::kPlausibleHead) {
        pos_ = h;
      }
      return {Kind::caught_up};
    case EventRing::Read::lapped: {
      // Writers may have moved on again since the read: start from what is oldest now. At least
      // the entry that was overwritten is gone.
      const std::uint64_t oldest = ring_.oldest();
      const std::uint64_t resume = oldest > pos_ ? oldest : pos_ + 1;
      const std::uint64_t lost = resume - pos_;
      pos_ = resume;
      waiting_ = false;
      return {Kind::lost, lost};
    }
    case EventRing::Read::pending:
      if (!waiting_) {
        waiting_ = true;
        waiting_since_ = now_ns;
      } else if (now_ns - waiting_since_ >= patience_) {
        ++pos_;  // its writer died mid-post: the entry never comes
        waiting_ = false;
        return {Kind::lost, 1};
      }
      return {Kind::pending};
  }
  return {Kind::caught_up};
}

}  // namespace hamon::shm
