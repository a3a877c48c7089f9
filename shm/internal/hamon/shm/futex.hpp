// Cross-process futex on a 32-bit word in a MAP_SHARED segment.
//
// Deliberately not std::atomic::wait: libstdc++ 12 issues FUTEX_WAIT_PRIVATE and skips the wake
// when its process-local waiter table is empty, so wake-ups from another process are lost.
// Shared futexes are keyed by (inode, offset), so the processes may map the segment anywhere.
#ifndef HAMON_SHM_FUTEX_HPP
#define HAMON_SHM_FUTEX_HPP

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hamon::shm {

// Sleeps while *word == expected, at most `timeout` (negative: forever). Returns 0 when woken,
// -EAGAIN when the word had already changed, -ETIMEDOUT, -EINTR, or another -errno.
int futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
               std::chrono::nanoseconds timeout) noexcept;

// Wakes up to `count` waiters. Returns the number woken, or -errno.
int futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept;

}  // namespace hamon::shm

#endif  // HAMON_SHM_FUTEX_HPP
