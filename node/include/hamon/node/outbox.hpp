// Outbox: a daemon's messages for one channel that the channel could not take yet. They are
// posted in order before anything newer, so a full channel delays a request — it never loses or
// reorders one. Every message that has to wait counts in the daemon's `channel_full` counter (in
// its DaemonSlot, shown by `hamon status`).
//
// Not thread-safe: one outbox per (daemon, channel), used from that daemon's loop.
#ifndef HAMON_NODE_OUTBOX_HPP
#define HAMON_NODE_OUTBOX_HPP

#include <cstddef>
#include <deque>

#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

class Outbox {
 public:
  Outbox(const shm::ControlSegment& ctl, shm::ChannelId channel, shm::DaemonId owner)
      : ctl_(ctl), channel_(channel), owner_(owner) {}

  // Posts `m` now, or after everything already waiting.
  void send(const shm::Message& m) {
    if (!waiting_.empty() || !ctl_.send(channel_, m)) {
      note_full();
      waiting_.push_back(m);
    }
  }
  // Posts what the channel takes now, in order. Returns how many went out.
  std::size_t flush() {
    std::size_t n = 0;
    while (!waiting_.empty() && ctl_.send(channel_, waiting_.front())) {
      waiting_.pop_front();
      ++n;
    }
    return n;
  }
  [[nodiscard]] std::size_t backlog() const noexcept { return waiting_.size(); }

 private:
  void note_full() { ctl_.daemon(owner_).channel_full.fetch_add(1, std::memory_order_relaxed); }

  const shm::ControlSegment& ctl_;
  shm::ChannelId channel_;
  shm::DaemonId owner_;
  std::deque<shm::Message> waiting_;
};

}  // namespace hamon::node

#endif  // HAMON_NODE_OUTBOX_HPP
