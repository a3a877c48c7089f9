// Human views of a configuration: the start plan as text (`hamon graph`) and the dependency
// graph in Graphviz dot (`hamon graph --dot`). Pure string builders.
#ifndef HAMON_ENGINE_RENDER_HPP
#define HAMON_ENGINE_RENDER_HPP

#include <string>

#include "hamon/engine/config.hpp"
#include "hamon/engine/plan.hpp"

namespace hamon::engine {

// "7 processes in 3 groups, 2 nodes"
[[nodiscard]] std::string render_summary(const Config& config);

// A header line, then each wave and its processes in start order, one per line with priority,
// "critical" and what it waits for:
//   start plan for cluster demo (7 processes, 4 waves)
//   wave 1
//     system/db    priority 95  critical
//   wave 2
//     system/sipd  priority 90  after system/db
// REQUIRES: `plan` was made from `config`.
[[nodiscard]] std::string render_plan_text(const Config& config, const Plan& plan);

// A digraph with one cluster per group (system, then each tenant) and an edge from each
// dependency to the process that depends on it (the start direction). Critical processes have
// a double border.
[[nodiscard]] std::string render_dot(const Config& config);

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_RENDER_HPP
