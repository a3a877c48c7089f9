// Properties of the start plan and of cycle detection on seeded random dependency graphs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "config_test_support.hpp"
#include "hamon/engine/plan.hpp"

namespace hamon::engine {
namespace {

using test::ProcessSpec;

constexpr int graph_count = 500;
constexpr int max_processes = 60;

std::string group_of(const std::string& qualified) {
  return qualified.substr(0, qualified.find('/'));
}

// Whether `from` may depend on `to`: its own group, or the system group.
bool may_depend(const std::string& from, const std::string& to) {
  return group_of(to) == "system" || group_of(to) == group_of(from);
}

// Up to 60 processes across system and up to 4 tenants, listed in configuration order (so
// spec i is process i). Dependencies follow a random topological rank unrelated to that order,
// so the plan cannot get away with walking processes by index. Priorities are drawn from a few
// values so that ties are common.
std::vector<ProcessSpec> random_dag(std::mt19937& rng) {
  const int n = std::uniform_int_distribution<int>(1, max_processes)(rng);
  const int tenants = std::uniform_int_distribution<int>(0, 4)(rng);
  const double density = std::uniform_real_distribution<double>(0.0, 0.25)(rng);

  std::vector<std::pair<int, ProcessSpec>> by_group;  // group number (0 = system), spec
  for (int i = 0; i < n; ++i) {
    const int group = tenants == 0 ? 0 : std::uniform_int_distribution<int>(0, tenants)(rng);
    // Appended, not `"t" + std::to_string(...)`: GCC 12 at -O3 reports a false -Wrestrict
    // overlap for a literal plus a temporary string (its bug 105651).
    const std::string prefix =
        group == 0 ? "system/" : std::string("t").append(std::to_string(group)).append("/");
    by_group.push_back({group,
                        {std::string(prefix).append("p").append(std::to_string(i)),
                         20 * std::uniform_int_distribution<int>(0, 5)(rng),
                         {}}});
  }
  std::stable_sort(by_group.begin(), by_group.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ProcessSpec> specs;
  for (auto& [group, spec] : by_group) specs.push_back(std::move(spec));

  std::vector<std::size_t> rank(specs.size());
  for (std::size_t i = 0; i < rank.size(); ++i) rank[i] = i;
  std::shuffle(rank.begin(), rank.end(), rng);
  std::bernoulli_distribution edge(density);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    for (std::size_t j = 0; j < specs.size(); ++j) {
      if (rank[j] < rank[i] && may_depend(specs[i].qualified, specs[j].qualified) && edge(rng)) {
        specs[i].depends_on.push_back(specs[j].qualified);
      }
    }
    std::shuffle(specs[i].depends_on.begin(), specs[i].depends_on.end(), rng);
  }
  return specs;
}

// Longest dependency chain below each process, computed independently of the plan.
std::vector<std::size_t> depths(const Config& config) {
  std::vector<std::optional<std::size_t>> memo(config.processes.size());
  std::function<std::size_t(std::size_t)> depth = [&](std::size_t i) -> std::size_t {
    if (!memo[i]) {
      std::size_t d = 0;
      for (const std::string& dep : config.processes[i].depends_on) {
        d = std::max(d, depth(*config.process_index(dep)) + 1);
      }
      memo[i] = d;
    }
    return *memo[i];
  };
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < config.processes.size(); ++i) out.push_back(depth(i));
  return out;
}

TEST(RandomGraphs, StartPlanPutsEveryProcessRightAfterItsDependenciesInPriorityOrder) {
  for (int seed = 1; seed <= graph_count; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(static_cast<unsigned>(seed));
    const std::vector<ProcessSpec> specs = random_dag(rng);
    const ParseResult parsed = test::parse(test::toml_of(specs));
    ASSERT_TRUE(parsed.ok()) << ::testing::PrintToString(test::errors_of(parsed));
    const Config& config = *parsed.config;
    ASSERT_EQ(config.processes.size(), specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i)
      ASSERT_EQ(config.processes[i].qualified(), specs[i].qualified);

    const DependencyGraph graph(config);
    const Plan plan = make_start_plan(graph);

    // Every process exactly once.
    std::vector<std::size_t> wave_of(specs.size(), SIZE_MAX);
    for (std::size_t w = 0; w < plan.waves.size(); ++w) {
      ASSERT_FALSE(plan.waves[w].empty());
      for (const std::size_t i : plan.waves[w]) {
        ASSERT_LT(i, specs.size());
        ASSERT_EQ(wave_of[i], SIZE_MAX) << config.processes[i].qualified() << " appears twice";
        wave_of[i] = w;
      }
    }
    ASSERT_EQ(plan.process_count(), specs.size());

    // Strictly after every dependency, and no later than needed.
    const std::vector<std::size_t> depth = depths(config);
    for (std::size_t i = 0; i < specs.size(); ++i) {
      for (const std::size_t d : graph.dependencies(i)) {
        EXPECT_GT(wave_of[i], wave_of[d]) << specs[i].qualified << " vs " << specs[d].qualified;
      }
      EXPECT_EQ(wave_of[i], depth[i]) << specs[i].qualified;
    }

    // Each wave by descending priority, ties in configuration order.
    for (const auto& wave : plan.waves) {
      for (std::size_t k = 1; k < wave.size(); ++k) {
        const int before = config.processes[wave[k - 1]].priority;
        const int after = config.processes[wave[k]].priority;
        EXPECT_TRUE(before > after || (before == after && wave[k - 1] < wave[k]))
            << specs[wave[k - 1]].qualified << " before " << specs[wave[k]].qualified;
      }
    }

    // The stop plan is the exact reverse.
    const Plan stop = make_stop_plan(plan);
    ASSERT_EQ(stop.waves.size(), plan.waves.size());
    for (std::size_t w = 0; w < plan.waves.size(); ++w) {
      std::vector<std::size_t> reversed(plan.waves[w].rbegin(), plan.waves[w].rend());
      EXPECT_EQ(stop.waves[plan.waves.size() - 1 - w], reversed);
    }

    // The runtime rule, with everything it starts becoming ready at once, replays the waves.
    std::vector<StartState> states(specs.size(), StartState::pending);
    for (const auto& wave : plan.waves) {
      const std::vector<std::size_t> batch = graph.startable(states);
      EXPECT_EQ(batch, wave);
      for (const std::size_t i : batch) states[i] = StartState::ready;
    }
    EXPECT_TRUE(graph.startable(states).empty());
  }
}

std::vector<std::string> split_cycle(const std::string& message) {
  const std::string prefix = "dependency cycle: ";
  EXPECT_EQ(message.rfind(prefix, 0), 0u) << message;
  std::vector<std::string> names;
  std::size_t start = prefix.size();
  for (std::size_t arrow; (arrow = message.find(" -> ", start)) != std::string::npos;
       start = arrow + 4) {
    names.push_back(message.substr(start, arrow - start));
  }
  names.push_back(message.substr(start));
  return names;
}

// Where toml_of() wrote `dependency` in the depends_on line of `process` (three lines below
// its name).
SourcePos position_of_dependency(const std::string& text, const std::string& process,
                                 const std::string& dependency) {
  const std::string name_line = "name = \"" + process.substr(process.find('/') + 1) + "\"\n";
  const std::size_t name_at = text.find(name_line);
  std::size_t line_start = name_at;
  for (int k = 0; k < 3; ++k) line_start = text.find('\n', line_start) + 1;
  const std::size_t entry = text.find("\"" + dependency + "\"", line_start);
  const auto line = static_cast<std::uint32_t>(
      std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(line_start), '\n') + 1);
  return {"test.toml", line, static_cast<std::uint32_t>(entry - line_start + 1)};
}

TEST(RandomGraphs, AnInjectedCycleIsRejectedAndNamedAlongRealEdges) {
  int injected = 0;
  for (int seed = 1; seed <= graph_count; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(static_cast<unsigned>(seed) + 1000000u);
    std::vector<ProcessSpec> specs = random_dag(rng);
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < specs.size(); ++i) index[specs[i].qualified] = i;

    // Close a loop: some u that v (transitively) depends on is made to depend on v.
    std::vector<std::pair<std::size_t, std::size_t>> candidates;  // (u, v)
    for (std::size_t v = 0; v < specs.size(); ++v) {
      std::set<std::size_t> below;
      std::vector<std::size_t> todo{v};
      while (!todo.empty()) {
        const std::size_t x = todo.back();
        todo.pop_back();
        for (const std::string& dep : specs[x].depends_on) {
          if (below.insert(index[dep]).second) todo.push_back(index[dep]);
        }
      }
      for (const std::size_t u : below) {
        if (may_depend(specs[u].qualified, specs[v].qualified)) candidates.emplace_back(u, v);
      }
    }
    if (candidates.empty()) continue;
    const auto [u, v] =
        candidates[std::uniform_int_distribution<std::size_t>(0, candidates.size() - 1)(rng)];
    specs[u].depends_on.push_back(specs[v].qualified);
    ++injected;

    const std::string text = test::toml_of(specs);
    const ParseResult parsed = test::parse(text);
    ASSERT_FALSE(parsed.ok());
    // Every cycle now runs through the new edge, so all of them form a single knot: one error.
    ASSERT_EQ(parsed.errors.size(), 1u) << ::testing::PrintToString(test::errors_of(parsed));
    const std::vector<std::string> cycle = split_cycle(parsed.errors[0].message);
    ASSERT_GE(cycle.size(), 3u);
    EXPECT_EQ(cycle.front(), cycle.back());
    EXPECT_EQ(std::set<std::string>(cycle.begin(), cycle.end() - 1).size(), cycle.size() - 1)
        << "a cycle names each member once";
    bool uses_new_edge = false;
    for (std::size_t k = 0; k + 1 < cycle.size(); ++k) {
      ASSERT_TRUE(index.contains(cycle[k])) << cycle[k];
      const auto& deps = specs[index[cycle[k]]].depends_on;
      EXPECT_NE(std::find(deps.begin(), deps.end(), cycle[k + 1]), deps.end())
          << cycle[k] << " does not depend on " << cycle[k + 1];
      uses_new_edge |= cycle[k] == specs[u].qualified && cycle[k + 1] == specs[v].qualified;
    }
    EXPECT_TRUE(uses_new_edge);
    // It points at the first member's depends_on entry that names the second member.
    EXPECT_EQ(parsed.errors[0].where, position_of_dependency(text, cycle[0], cycle[1]));
  }
  EXPECT_GT(injected, graph_count / 2) << "too few graphs had a place for a cycle";
}

}  // namespace
}  // namespace hamon::engine
