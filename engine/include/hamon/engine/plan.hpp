// Start and stop order of a configuration's processes, by index into Config::processes.
//
// The runtime rule (DESIGN.md, "Configuration"): a process starts once everything it depends
// on is ready; among those that may start, higher priority first, ties in configuration order;
// independent processes start in parallel. DependencyGraph::startable() applies that rule to a
// live state; make_start_plan() is the same rule laid out in waves, for display and for tests.
//
// REQUIRES for everything here: a Config returned by parse_config() (every dependency
// resolves, no cycle). Pure functions; a DependencyGraph is immutable once built, so
// concurrent reads are safe.
#ifndef HAMON_ENGINE_PLAN_HPP
#define HAMON_ENGINE_PLAN_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hamon/engine/config.hpp"

namespace hamon::engine {

// Where a process stands in a start sequence, as startable() sees it.
enum class StartState : std::uint8_t {
  pending,  // not started
  started,  // started, not ready yet
  ready,
};

class DependencyGraph {
 public:
  explicit DependencyGraph(const Config& config);

  [[nodiscard]] std::size_t size() const noexcept { return priority_.size(); }

  // What process `i` depends on, in the order written.
  [[nodiscard]] std::span<const std::size_t> dependencies(std::size_t i) const;
  // What depends on process `i`, in ascending index order.
  [[nodiscard]] std::span<const std::size_t> dependents(std::size_t i) const;

  // Whether `a` goes before `b` when both may start: higher priority, then lower index.
  [[nodiscard]] bool starts_before(std::size_t a, std::size_t b) const noexcept;

  // The pending processes whose dependencies are all ready, in start order.
  // REQUIRES: states.size() == size().
  [[nodiscard]] std::vector<std::size_t> startable(std::span<const StartState> states) const;
  // The same, where `dependable[d]` says whether d counts as ready for what depends on it.
  // REQUIRES: dependable.size() == size().
  [[nodiscard]] std::vector<std::size_t> startable(std::span<const StartState> states,
                                                   const std::vector<bool>& dependable) const;

 private:
  std::vector<std::vector<std::size_t>> dependencies_;
  std::vector<std::vector<std::size_t>> dependents_;
  std::vector<int> priority_;
};

// Processes in waves. In a start plan, a process is in the wave after the last of its
// dependencies (waves[0] if it has none): its depth is the longest dependency chain below it,
// so every process starts as early as it can. Each wave is in start order (starts_before).
struct Plan {
  std::vector<std::vector<std::size_t>> waves;

  [[nodiscard]] std::size_t process_count() const noexcept;
};

[[nodiscard]] Plan make_start_plan(const DependencyGraph& graph);
[[nodiscard]] Plan make_start_plan(const Config& config);

// The exact reverse of a start plan: last wave first, each wave reversed, so dependents stop
// before what they depend on.
[[nodiscard]] Plan make_stop_plan(const Plan& start_plan);

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_PLAN_HPP
