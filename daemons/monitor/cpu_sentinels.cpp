#include "cpu_sentinels.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <fstream>
#include <string>
#include <variant>

#include "hamon/engine/scheduling.hpp"
#include "hamon/node/clock.hpp"

namespace hamon::monitor {

namespace {

std::vector<int> online_cpus() {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string text;
  std::getline(in, text);
  auto parsed = engine::parse_cpus(text);
  if (auto* cpus = std::get_if<std::vector<int>>(&parsed)) return *cpus;
  return {};
}

}  // namespace

CpuSentinels::CpuSentinels(std::uint64_t period_ns) : period_(period_ns) {
  const std::vector<int> cpus = online_cpus();
  if (cpus.empty()) return;
  sentinels_.resize(static_cast<std::size_t>(cpus.back()) + 1);
  for (const int cpu : cpus) {
    auto s = std::make_unique<Sentinel>();
    s->cpu = cpu;
    Sentinel& ref = *s;
    s->thread = std::thread([this, &ref] { run(ref); });
    sentinels_[static_cast<std::size_t>(cpu)] = std::move(s);
  }
}

CpuSentinels::~CpuSentinels() {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& s : sentinels_) {
    if (s && s->thread.joinable()) s->thread.join();
  }
}

void CpuSentinels::run(Sentinel& s) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<unsigned>(s.cpu), &set);
  // Not there (a cpuset without it): no witness for that CPU, and no stall reported for it.
  if (::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) != 0) return;
  std::uint64_t ran = node::now_ns();
  std::uint64_t due = ran + period_.load(std::memory_order_relaxed);
  while (!stop_.load(std::memory_order_relaxed)) {
    s.ran.store(ran, std::memory_order_relaxed);
    s.due.store(due, std::memory_order_release);
    timespec ts{static_cast<time_t>(due / 1'000'000'000), static_cast<long>(due % 1'000'000'000)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    const std::uint64_t now = node::now_ns();
    if (now > due + kAllowance) {
      const std::uint64_t n = s.written.load(std::memory_order_relaxed);
      s.ring[2 * (n % kRing)].store(ran + kAllowance, std::memory_order_relaxed);
      s.ring[2 * (n % kRing) + 1].store(now, std::memory_order_relaxed);
      s.written.store(n + 1, std::memory_order_release);
    }
    ran = now;
    due = now + period_.load(std::memory_order_relaxed);
  }
  s.due.store(0, std::memory_order_release);
}

void CpuSentinels::collect(std::vector<engine::StallLog>& logs) {
  logs.resize(sentinels_.size());
  for (std::size_t cpu = 0; cpu < sentinels_.size(); ++cpu) {
    Sentinel* s = sentinels_[cpu].get();
    if (s == nullptr) continue;
    const std::uint64_t written = s->written.load(std::memory_order_acquire);
    if (written - s->read > kRing) s->read = written - kRing;  // lost to overwriting
    for (; s->read < written; ++s->read) {
      const std::uint64_t start = s->ring[2 * (s->read % kRing)].load(std::memory_order_relaxed);
      const std::uint64_t end = s->ring[2 * (s->read % kRing) + 1].load(std::memory_order_relaxed);
      logs[cpu].add(start, end);
    }
  }
}

std::uint64_t CpuSentinels::stalled_since(std::size_t cpu, std::uint64_t now) const noexcept {
  if (!watches(cpu)) return 0;
  const Sentinel& s = *sentinels_[cpu];
  const std::uint64_t due = s.due.load(std::memory_order_acquire);
  return due != 0 && now > due + kAllowance ? s.ran.load(std::memory_order_relaxed) + kAllowance
                                            : 0;
}

}  // namespace hamon::monitor
