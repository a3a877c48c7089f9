// CpuSentinels: one thread per CPU, pinned there, at the monitor's own scheduling policy, that
// asks to wake every `period` and reports each wake that came later than kAllowance as a stall
// of that CPU: the time nothing of its priority could run there — counted from when it last ran
// (plus the allowance), since the stall may have begun any time after that: generous by up to
// a period, so that a silence the CPU caused is never taken for a hang. On a virtual machine a vCPU
// the host does not run stalls everything queued on it — beaters included — while the monitor on
// another CPU runs on time; only a witness on that CPU sees it (docs/architecture.md, "A stall
// is not a hang").
//
// Each sentinel publishes when it is next due (a stall in progress shows as a sentinel overdue)
// and its finished stalls through a single-producer ring that the monitor drains each turn.
#ifndef HAMON_MONITOR_CPU_SENTINELS_HPP
#define HAMON_MONITOR_CPU_SENTINELS_HPP

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "hamon/engine/stall_log.hpp"

namespace hamon::monitor {

class CpuSentinels {
 public:
  // A wake later than this past its time is a stall (from the due time plus this).
  static constexpr std::uint64_t kAllowance = 250'000;

  // Starts a sentinel on each online CPU a thread can be pinned to.
  explicit CpuSentinels(std::uint64_t period_ns);
  ~CpuSentinels();
  CpuSentinels(const CpuSentinels&) = delete;
  CpuSentinels& operator=(const CpuSentinels&) = delete;

  void set_period(std::uint64_t period_ns) noexcept {
    period_.store(period_ns, std::memory_order_relaxed);
  }
  // One past the highest CPU watched (logs are indexed by CPU).
  [[nodiscard]] std::size_t cpu_limit() const noexcept { return sentinels_.size(); }
  [[nodiscard]] bool watches(std::size_t cpu) const noexcept {
    return cpu < sentinels_.size() && sentinels_[cpu] != nullptr;
  }
  // Moves the stalls that ended since the last call into logs[cpu].
  void collect(std::vector<engine::StallLog>& logs);
  // When the stall in progress on `cpu` at `now` began; 0 for none.
  [[nodiscard]] std::uint64_t stalled_since(std::size_t cpu, std::uint64_t now) const noexcept;

 private:
  static constexpr std::size_t kRing = 64;
  struct Sentinel {
    int cpu = 0;
    std::atomic<std::uint64_t> due{0};                         // 0: not running (yet, or any more)
    std::atomic<std::uint64_t> ran{0};                         // when it last went to sleep
    std::array<std::atomic<std::uint64_t>, 2 * kRing> ring{};  // start, end pairs
    std::atomic<std::uint64_t> written{0};
    std::uint64_t read = 0;  // the monitor's
    std::thread thread;
  };
  void run(Sentinel& s);

  std::atomic<std::uint64_t> period_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Sentinel>> sentinels_;  // by CPU; null where none runs
};

}  // namespace hamon::monitor

#endif  // HAMON_MONITOR_CPU_SENTINELS_HPP
