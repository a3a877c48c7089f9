// Seqlocked<T>: one writer publishes a small struct; any number of readers in other processes
// take consistent snapshots without ever blocking the writer.
//
// The struct is stored as relaxed atomic 64-bit words (a plain memcpy would be a data race),
// bracketed by a sequence number (Boehm, "Can seqlocks get along with programming language
// memory models?", fig. 6):
//   writer: s = seq; seq = s+1; release fence; words...; seq = s+2 (release)
//   reader: s0 = seq (acquire); words...; acquire fence; s1 = seq; retry if s0 != s1 or s0 odd
// A writer that dies mid-write leaves seq odd forever: read() gives up after a bounded number of
// attempts and reports it, and the next writer (the restarted daemon) repairs it by writing.
#ifndef HAMON_SHM_SEQLOCK_HPP
#define HAMON_SHM_SEQLOCK_HPP

#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace hamon::shm {

template <class T>
class Seqlocked {
  static_assert(std::is_trivially_copyable_v<T>);
  static constexpr std::size_t kWords = (sizeof(T) + 7) / 8;

 public:
  // Writer (exactly one process at a time).
  void write(const T& value) noexcept {
    std::uint64_t buf[kWords] = {};
    std::memcpy(buf, &value, sizeof(T));
    // A dead predecessor may have left seq odd: restart from the next even number.
    const std::uint64_t s = seq_.load(std::memory_order_relaxed) | 1u;
    seq_.store(s, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t i = 0; i < kWords; ++i) words_[i].store(buf[i], std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_release);
  }

  // Reader. Returns false when no consistent snapshot was seen within `attempts` tries (a writer
  // is mid-write, or died mid-write); `out` is then unchanged.
  [[nodiscard]] bool read(T& out, int attempts = 1000) const noexcept {
    std::uint64_t buf[kWords];
    for (int a = 0; a < attempts; ++a) {
      const std::uint64_t s0 = seq_.load(std::memory_order_acquire);
      if (s0 & 1u) continue;
      for (std::size_t i = 0; i < kWords; ++i) buf[i] = words_[i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == s0) {
        std::memcpy(&out, buf, sizeof(T));
        return true;
      }
    }
    return false;
  }

  // Reader that may wait until `deadline_ns` (CLOCK_MONOTONIC), for views (status, top, the
  // exporter), never for the monitor's hot path: a writer preempted mid-write on a busy machine
  // holds seq odd for milliseconds, far longer than read()'s spins, and a view would then leave
  // the row out. A view gives all its reads one deadline, so that a writer that died mid-write
  // costs it that wait once, not once per row.
  [[nodiscard]] bool read_until(T& out, std::uint64_t deadline_ns) const noexcept {
    for (;;) {
      if (read(out)) return true;
      timespec now{};
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      const auto t = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000U +
                     static_cast<std::uint64_t>(now.tv_nsec);
      if (t >= deadline_ns) return false;
      timespec pause{0, 100'000};
      ::nanosleep(&pause, nullptr);
    }
  }

  // The writer's own view needs no protocol: it is the only writer.
  [[nodiscard]] std::uint64_t version() const noexcept {
    return seq_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> words_[kWords]{};
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

}  // namespace hamon::shm

#endif  // HAMON_SHM_SEQLOCK_HPP
