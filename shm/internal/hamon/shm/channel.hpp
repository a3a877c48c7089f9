// Channel<T, N>: a single-producer/single-consumer queue of fixed capacity that lives inside a
// shared-memory segment, with a doorbell so the consumer can sleep until something arrives.
//
// The queue is Boost.Lockfree's compile-time-sized spsc_queue: its elements are stored inline
// and its two indices are plain atomics, so it holds no pointer and works at any mapping
// address. A producer killed in the middle of push() leaves the queue consistent: the element is
// published by one release store of the write index, so a consumer sees either nothing or the
// whole element, never a torn one. One channel per (producer role, consumer role) pair: a
// restarted daemon takes over its predecessor's end.
//
// REQUIRES: exactly one producer process and one consumer process use a channel at a time.
#ifndef HAMON_SHM_CHANNEL_HPP
#define HAMON_SHM_CHANNEL_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <type_traits>

#include <boost/lockfree/spsc_queue.hpp>

#include "hamon/shm/doorbell.hpp"

namespace hamon::shm {

template <class T, std::size_t N>
struct alignas(128) Channel {
  // 1.74 destroys leftover elements only in later releases: keep T trivial (lockfree#66).
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "messages cross processes: they must be flat, trivially copyable structs");
  static_assert(std::atomic<std::size_t>::is_always_lock_free,
                "a lock-based atomic would not be process-shared");

  boost::lockfree::spsc_queue<T, boost::lockfree::capacity<N>> queue;
  alignas(128) Doorbell bell;  // own line: the producer touches it on every push

  static constexpr std::size_t capacity = N;

  // Producer. Returns false (and publishes nothing) when the channel is full.
  [[nodiscard]] bool push(const T& m) noexcept {
    if (!queue.push(m)) return false;
    bell.ring();
    return true;
  }

  // Consumer, non-blocking.
  [[nodiscard]] bool pop(T& out) noexcept { return queue.pop(out); }

  // Consumer: waits at most `timeout` (negative: forever) for a message.
  [[nodiscard]] bool wait_pop(T& out, std::chrono::nanoseconds timeout) noexcept {
    if (queue.pop(out)) return true;
    if (!bell.wait([this] { return queue.read_available() > 0; }, timeout)) return false;
    return queue.pop(out);
  }

  [[nodiscard]] std::size_t size() const noexcept { return queue.read_available(); }
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_CHANNEL_HPP
