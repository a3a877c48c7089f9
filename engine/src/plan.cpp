#include "hamon/engine/plan.hpp"

#include <algorithm>
#include <cassert>
#include <string>
#include <unordered_map>

namespace hamon::engine {

DependencyGraph::DependencyGraph(const Config& config)
    : dependencies_(config.processes.size()), dependents_(config.processes.size()) {
  std::unordered_map<std::string, std::size_t> index;
  index.reserve(config.processes.size());
  for (std::size_t i = 0; i < config.processes.size(); ++i) {
    index.emplace(config.processes[i].qualified(), i);
    priority_.push_back(config.processes[i].priority);
  }
  for (std::size_t i = 0; i < config.processes.size(); ++i) {
    for (const std::string& dependency : config.processes[i].depends_on) {
      const auto it = index.find(dependency);
      assert(it != index.end() && "REQUIRES: a validated Config");
      if (it == index.end()) continue;
      dependencies_[i].push_back(it->second);
      dependents_[it->second].push_back(i);  // i ascends, so each list is sorted
    }
  }
}

std::span<const std::size_t> DependencyGraph::dependencies(std::size_t i) const {
  return dependencies_.at(i);
}

std::span<const std::size_t> DependencyGraph::dependents(std::size_t i) const {
  return dependents_.at(i);
}

bool DependencyGraph::starts_before(std::size_t a, std::size_t b) const noexcept {
  if (priority_[a] != priority_[b]) return priority_[a] > priority_[b];
  return a < b;
}

std::vector<std::size_t> DependencyGraph::startable(std::span<const StartState> states) const {
  std::vector<bool> ready(states.size());
  for (std::size_t i = 0; i < states.size(); ++i) ready[i] = states[i] == StartState::ready;
  return startable(states, ready);
}

std::vector<std::size_t> DependencyGraph::startable(std::span<const StartState> states,
                                                    const std::vector<bool>& dependable) const {
  assert(states.size() == size() && dependable.size() == size());
  std::vector<std::size_t> result;
  for (std::size_t i = 0; i < size(); ++i) {
    if (states[i] != StartState::pending) continue;
    const auto& deps = dependencies_[i];
    if (std::all_of(deps.begin(), deps.end(), [&](std::size_t d) { return dependable[d]; })) {
      result.push_back(i);
    }
  }
  std::sort(result.begin(), result.end(),
            [this](std::size_t a, std::size_t b) { return starts_before(a, b); });
  return result;
}

std::size_t Plan::process_count() const noexcept {
  std::size_t n = 0;
  for (const auto& wave : waves) n += wave.size();
  return n;
}

Plan make_start_plan(const DependencyGraph& graph) {
  const std::size_t n = graph.size();
  // Kahn's algorithm: a process is placed once its last dependency is, one wave after the
  // deepest of them.
  std::vector<std::size_t> waiting_for(n);
  std::vector<std::size_t> depth(n, 0);
  std::vector<std::size_t> placed;
  placed.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    waiting_for[i] = graph.dependencies(i).size();
    if (waiting_for[i] == 0) placed.push_back(i);
  }
  for (std::size_t head = 0; head < placed.size(); ++head) {
    const std::size_t done = placed[head];
    for (const std::size_t dependent : graph.dependents(done)) {
      depth[dependent] = std::max(depth[dependent], depth[done] + 1);
      if (--waiting_for[dependent] == 0) placed.push_back(dependent);
    }
  }
  assert(placed.size() == n && "REQUIRES: no dependency cycle");

  Plan plan;
  for (const std::size_t i : placed) {
    if (depth[i] >= plan.waves.size()) plan.waves.resize(depth[i] + 1);
    plan.waves[depth[i]].push_back(i);
  }
  for (auto& wave : plan.waves) {
    std::sort(wave.begin(), wave.end(),
              [&](std::size_t a, std::size_t b) { return graph.starts_before(a, b); });
  }
  return plan;
}

Plan make_start_plan(const Config& config) { return make_start_plan(DependencyGraph(config)); }

Plan make_stop_plan(const Plan& start_plan) {
  Plan plan{{start_plan.waves.rbegin(), start_plan.waves.rend()}};
  for (auto& wave : plan.waves) std::reverse(wave.begin(), wave.end());
  return plan;
}

}  // namespace hamon::engine
