#include "hamon/shm/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace hamon::shm {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

int futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
               std::chrono::nanoseconds timeout) noexcept {
  timespec rel{};
  const timespec* prel = nullptr;
  if (timeout.count() >= 0) {
    rel.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    rel.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    prel = &rel;
  }
  // FUTEX_WAIT (not FUTEX_WAIT_PRIVATE): the waker is another process.
  long rc = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, prel,
                    nullptr, 0);
  return rc == 0 ? 0 : -errno;
}

int futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  long rc = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, count, nullptr,
                    nullptr, 0);
  return rc >= 0 ? static_cast<int>(rc) : -errno;
}

}  // namespace hamon::shm
