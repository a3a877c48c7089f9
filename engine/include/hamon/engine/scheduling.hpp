// How the kernel schedules a process: the settings operators give a process that must not be
// starved (a 1 ms beater beside a busy machine) — a real-time or batch policy, a nice value, the
// CPUs it may run on, and how readily the OOM killer picks it. Applied by the spawner before
// exec; absent settings are inherited from the spawner. docs/configuration.md lists the keys:
//
//   sched = "other" | "batch" | "idle" | "fifo:N" | "rr:N"   (N: real-time priority 1-99)
//   nice = -20..19
//   cpus = "0-3,6"                                           (taskset's list format)
//   oom_score_adjust = -1000..1000
//
// Pure parsing: each parser returns the value, or what is wrong with the text.
#ifndef HAMON_ENGINE_SCHEDULING_HPP
#define HAMON_ENGINE_SCHEDULING_HPP

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hamon::engine {

enum class SchedPolicy { other, batch, idle, fifo, rr };

struct Sched {
  SchedPolicy policy = SchedPolicy::other;
  int rt_priority = 0;  // 1-99 for fifo and rr, else 0

  friend bool operator==(const Sched&, const Sched&) = default;
};

struct Scheduling {
  std::optional<Sched> sched;
  std::optional<int> nice;
  std::vector<int> cpus;  // sorted, unique; empty = inherited
  std::optional<int> oom_score_adjust;

  [[nodiscard]] bool any() const { return sched || nice || !cpus.empty() || oom_score_adjust; }
  friend bool operator==(const Scheduling&, const Scheduling&) = default;
};

// CPUs are numbered below this (glibc's cpu_set_t).
inline constexpr int kMaxCpus = 1024;

// "fifo:10" → {fifo, 10}; an error text otherwise.
[[nodiscard]] std::variant<Sched, std::string> parse_sched(std::string_view text);

// "0-3,6" → {0, 1, 2, 3, 6}; an error text otherwise.
[[nodiscard]] std::variant<std::vector<int>, std::string> parse_cpus(std::string_view text);

// The text parse_sched reads back.
[[nodiscard]] std::string to_string(const Sched& s);

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_SCHEDULING_HPP
