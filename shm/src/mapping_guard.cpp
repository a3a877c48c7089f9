#include "hamon/shm/mapping_guard.hpp"

#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace hamon::shm {
namespace {

struct Range {
  std::atomic<std::uintptr_t> base{0};  // 0: free
  std::atomic<std::size_t> size{0};
  std::atomic<bool> damaged{false};
};

// Lock-free for the handler: it may run on any thread at any moment, so it only loads atomics.
constexpr int kRanges = 4096;
Range g_ranges[kRanges];
struct sigaction g_previous {};
std::once_flag g_installed;

void not_ours(int sig, siginfo_t* info, void* context) {
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
      g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
    return;
  }
  // The default action: on return the access faults again and the kernel ends us with a core.
  ::signal(SIGBUS, SIG_DFL);
  if (info == nullptr || info->si_code <= 0) ::raise(SIGBUS);  // sent, not a fault
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  if (info != nullptr && info->si_code > 0) {
    const auto at = reinterpret_cast<std::uintptr_t>(info->si_addr);
    for (auto& r : g_ranges) {
      const std::uintptr_t base = r.base.load(std::memory_order_acquire);
      const std::size_t size = r.size.load(std::memory_order_acquire);
      if (base <= 1 || at < base || at - base >= size) continue;  // 1: being claimed
      // mmap is a plain system call on Linux, safe in a handler.
      void* p = ::mmap(reinterpret_cast<void*>(base), size, PROT_READ | PROT_WRITE,
                       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) break;
      r.damaged.store(true, std::memory_order_release);
      return;
    }
  }
  not_ours(sig, info, context);
}

void install() {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

MappingGuard::MappingGuard(void* base, std::size_t size) noexcept {
  if (base == nullptr || size == 0) return;
  try {
    std::call_once(g_installed, install);
  } catch (...) {
    return;
  }
  for (int i = 0; i < kRanges; ++i) {
    std::uintptr_t expected = 0;
    // Claimed with a marker first, so the handler never sees a base without its size.
    if (g_ranges[i].base.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      g_ranges[i].size.store(size, std::memory_order_release);
      g_ranges[i].damaged.store(false, std::memory_order_release);
      g_ranges[i].base.store(reinterpret_cast<std::uintptr_t>(base), std::memory_order_release);
      entry_ = i;
      return;
    }
  }
}

MappingGuard::~MappingGuard() {
  if (entry_ >= 0) g_ranges[entry_].base.store(0, std::memory_order_release);
}

MappingGuard& MappingGuard::operator=(MappingGuard&& other) noexcept {
  if (this != &other) {
    if (entry_ >= 0) g_ranges[entry_].base.store(0, std::memory_order_release);
    entry_ = other.entry_;
    other.entry_ = -1;
  }
  return *this;
}

bool MappingGuard::damaged() const noexcept {
  return entry_ >= 0 && g_ranges[entry_].damaged.load(std::memory_order_acquire);
}

}  // namespace hamon::shm
