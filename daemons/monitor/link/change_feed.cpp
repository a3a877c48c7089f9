#include "change_feed.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

namespace hamon::link {

ChangeFeed::ChangeFeed() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

ChangeFeed::~ChangeFeed() {
  if (fd_ >= 0) ::close(fd_);
}

void ChangeFeed::changed(std::uint32_t slot) noexcept {
  if (!queue_.push(slot)) overflowed_.store(true, std::memory_order_release);
  // Dekker with arm(): the push is ordered before the look at `armed_`, as the link's store to
  // `armed_` is before its look at the queue; one of the two sides sees the other.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (armed_.load(std::memory_order_relaxed) && armed_.exchange(false)) {
    const std::uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
  }
}

bool ChangeFeed::arm() noexcept {
  armed_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (queue_.read_available() > 0 || overflowed_.load(std::memory_order_acquire)) {
    armed_.store(false, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void ChangeFeed::clear() noexcept {
  std::uint64_t n = 0;
  (void)!::read(fd_, &n, sizeof n);
}

}  // namespace hamon::link
