// Doorbell: lets a consumer sleep until a producer in another process has published something,
// without a lost wake-up and without a system call on the producer's side while nobody sleeps.
//
// Protocol (Dekker-style, both sides use seq_cst):
//   consumer: sleepers += 1; s = seq; if (ready()) done; else futex_wait(seq, s); sleepers -= 1
//   producer: publish; fence; if (sleepers) { seq += 1; futex_wake(seq) }
// Either the producer sees the sleeper, or the consumer sees the published item on its re-check.
// Anything the producer published before ring() is visible to the consumer after wait() returns
// true, provided `ready` acquires what was published (as spsc_queue's read does).
#ifndef HAMON_SHM_DOORBELL_HPP
#define HAMON_SHM_DOORBELL_HPP

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>

#include "hamon/shm/futex.hpp"

namespace hamon::shm {

struct Doorbell {
  std::atomic<std::uint32_t> seq{0};       // futex word; bumped by producers that saw a sleeper
  std::atomic<std::uint32_t> sleepers{0};  // consumers inside wait()

  // Producer side, after publishing. Costs one fence and a load while nobody sleeps.
  void ring() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_relaxed) != 0) {
      seq.fetch_add(1, std::memory_order_seq_cst);
      futex_wake(seq, INT_MAX);
    }
  }

  // Consumer side: returns true as soon as ready() holds, false if `timeout` passes first
  // (negative: wait forever). Spins `spins` times before sleeping: a sleep costs microseconds of
  // wake-up latency, a short spin costs nothing when the producer is about to publish.
  template <class Ready>
  bool wait(Ready&& ready, std::chrono::nanoseconds timeout, int spins = 64) noexcept {
    for (int i = 0; i < spins; ++i) {
      if (ready()) return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      sleepers.fetch_add(1, std::memory_order_seq_cst);
      const std::uint32_t s = seq.load(std::memory_order_seq_cst);
      if (ready()) {
        sleepers.fetch_sub(1, std::memory_order_relaxed);
        return true;
      }
      std::chrono::nanoseconds left{-1};
      if (timeout.count() >= 0) {
        left = deadline - std::chrono::steady_clock::now();
        if (left.count() <= 0) {
          sleepers.fetch_sub(1, std::memory_order_relaxed);
          return ready();
        }
      }
      futex_wait(seq, s, left);
      sleepers.fetch_sub(1, std::memory_order_relaxed);
      if (ready()) return true;
    }
  }
};

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(sizeof(Doorbell) == 8);

}  // namespace hamon::shm

#endif  // HAMON_SHM_DOORBELL_HPP
