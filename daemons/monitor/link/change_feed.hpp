// ChangeFeed: how the watch loop tells the peer link that a process's state changed, without
// ever waiting for it. A bounded single-producer single-consumer queue of slot numbers, and an
// eventfd that wakes the link only when the link said it is about to sleep (`arm()`), so a burst
// of a thousand exits costs the watch loop a thousand queue stores and at most one system call.
//
// A full queue is never waited on: the slot is dropped and `overflowed` set, and the link then
// rereads the whole table (nothing is lost, it only costs the link more).
//
// Thread-safety: changed() from the watch loop's thread only; the rest from the link's only.
#ifndef HAMON_MONITOR_LINK_CHANGE_FEED_HPP
#define HAMON_MONITOR_LINK_CHANGE_FEED_HPP

#include <atomic>
#include <cstdint>

#include <boost/lockfree/spsc_queue.hpp>

namespace hamon::link {

class ChangeFeed {
 public:
  static constexpr std::size_t kCapacity = 16384;

  ChangeFeed();
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Watch loop. Wait-free but for one eventfd write when the link is asleep.
  void changed(std::uint32_t slot) noexcept;

  // Link: the descriptor that becomes readable when armed and something changed.
  [[nodiscard]] int fd() const noexcept { return fd_; }
  // Link: calls f(slot) for at most `max` queued slots (a producer that keeps up must not keep
  // the link from its heartbeats); returns true if slots were dropped since the last call (the
  // queue was full): reread everything.
  template <class F>
  bool drain(F&& f, std::size_t max = kCapacity) {
    std::uint32_t slot = 0;
    for (std::size_t n = 0; n < max && queue_.pop(slot); ++n) f(slot);
    return overflowed_.exchange(false, std::memory_order_acq_rel);
  }
  // Link, before it sleeps: from now on a change wakes fd(). False if a change is already
  // queued (drain again instead of sleeping).
  [[nodiscard]] bool arm() noexcept;
  // Link, on waking: empties the eventfd.
  void clear() noexcept;

 private:
  int fd_ = -1;
  boost::lockfree::spsc_queue<std::uint32_t, boost::lockfree::capacity<kCapacity>> queue_;
  std::atomic<bool> armed_{false};
  std::atomic<bool> overflowed_{false};
};

}  // namespace hamon::link

#endif  // HAMON_MONITOR_LINK_CHANGE_FEED_HPP
