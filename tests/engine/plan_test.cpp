// Start and stop order on small, hand-made dependency graphs.
#include "hamon/engine/plan.hpp"

#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace hamon::engine {
namespace {

using test::ProcessSpec;
using Waves = std::vector<std::vector<std::string>>;

Config config_of(const std::vector<ProcessSpec>& specs) {
  ParseResult r = test::parse(test::toml_of(specs));
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(test::errors_of(r));
  return r.config ? std::move(*r.config) : Config{};
}

Waves names(const Config& config, const Plan& plan) {
  Waves out;
  for (const auto& wave : plan.waves) {
    out.emplace_back();
    for (const std::size_t i : wave) out.back().push_back(config.processes[i].qualified());
  }
  return out;
}

std::vector<std::string> names(const Config& config, const std::vector<std::size_t>& indices) {
  std::vector<std::string> out;
  for (const std::size_t i : indices) out.push_back(config.processes[i].qualified());
  return out;
}

TEST(StartPlan, StartsAChainOneWaveAfterAnother) {
  const Config c = config_of(
      {{"system/c", 90, {"system/b"}}, {"system/b", 10, {"system/a"}}, {"system/a", 50, {}}});
  EXPECT_EQ(names(c, make_start_plan(c)), (Waves{{"system/a"}, {"system/b"}, {"system/c"}}));
}

TEST(StartPlan, JoinsADiamondAfterBothBranches) {
  const Config c = config_of({{"system/top", 50, {}},
                              {"system/left", 40, {"system/top"}},
                              {"system/right", 60, {"system/top"}},
                              {"system/bottom", 50, {"system/left", "system/right"}}});
  EXPECT_EQ(names(c, make_start_plan(c)),
            (Waves{{"system/top"}, {"system/right", "system/left"}, {"system/bottom"}}));
}

TEST(StartPlan, StartsIndependentProcessesTogetherHighestPriorityFirst) {
  const Config c = config_of(
      {{"system/a", 10, {}}, {"system/b", 90, {}}, {"system/c", 50, {}}, {"system/d", 70, {}}});
  EXPECT_EQ(names(c, make_start_plan(c)),
            (Waves{{"system/b", "system/d", "system/c", "system/a"}}));
}

TEST(StartPlan, BreaksPriorityTiesByConfigurationOrder) {
  const Config c = config_of({{"system/zeta", 50, {}},
                              {"system/alpha", 50, {}},
                              {"acme/mid", 50, {}},
                              {"acme/first", 50, {}},
                              {"acme/high", 51, {}}});
  EXPECT_EQ(names(c, make_start_plan(c)),
            (Waves{{"acme/high", "system/zeta", "system/alpha", "acme/mid", "acme/first"}}));
}

TEST(StartPlan, StartsEachProcessRightAfterItsDeepestDependency) {
  // d only needs a, so it starts beside b, not after c; e waits for the longer chain a-b-c.
  const Config c = config_of({{"system/a", 50, {}},
                              {"system/b", 50, {"system/a"}},
                              {"system/c", 50, {"system/b"}},
                              {"system/d", 50, {"system/a"}},
                              {"system/e", 50, {"system/d", "system/c"}}});
  EXPECT_EQ(names(c, make_start_plan(c)),
            (Waves{{"system/a"}, {"system/b", "system/d"}, {"system/c"}, {"system/e"}}));
}

TEST(StartPlan, LetsTenantProcessesStartAlongsideSystemProcesses) {
  const Config c = config_of({{"system/db", 95, {}},
                              {"system/sipd", 90, {"system/db"}},
                              {"acme/store", 70, {"system/db"}},
                              {"acme/web", 99, {}}});
  EXPECT_EQ(names(c, make_start_plan(c)),
            (Waves{{"acme/web", "system/db"}, {"system/sipd", "acme/store"}}));
}

TEST(StartPlan, CountsItsProcesses) {
  const Config c =
      config_of({{"system/a", 50, {}}, {"system/b", 50, {"system/a"}}, {"system/c", 50, {}}});
  EXPECT_EQ(make_start_plan(c).process_count(), 3u);
  EXPECT_EQ(Plan{}.process_count(), 0u);
}

TEST(StopPlan, IsTheExactReverseOfTheStartPlan) {
  const Config c = config_of({{"system/top", 50, {}},
                              {"system/left", 40, {"system/top"}},
                              {"system/right", 60, {"system/top"}},
                              {"system/solo", 10, {}},
                              {"system/bottom", 50, {"system/left", "system/right"}}});
  const Plan start = make_start_plan(c);
  EXPECT_EQ(
      names(c, start),
      (Waves{{"system/top", "system/solo"}, {"system/right", "system/left"}, {"system/bottom"}}));
  EXPECT_EQ(
      names(c, make_stop_plan(start)),
      (Waves{{"system/bottom"}, {"system/left", "system/right"}, {"system/solo", "system/top"}}));
}

TEST(DependencyGraph, ListsDependenciesAsWrittenAndDependentsByIndex) {
  const Config c = config_of({{"system/top", 50, {}},
                              {"system/left", 40, {"system/top"}},
                              {"system/right", 60, {"system/top"}},
                              {"system/bottom", 50, {"system/right", "system/left"}}});
  const DependencyGraph g(c);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(std::vector<std::size_t>(g.dependencies(3).begin(), g.dependencies(3).end()),
            (std::vector<std::size_t>{2, 1}));
  EXPECT_EQ(std::vector<std::size_t>(g.dependents(0).begin(), g.dependents(0).end()),
            (std::vector<std::size_t>{1, 2}));
  EXPECT_TRUE(g.dependencies(0).empty());
  EXPECT_TRUE(g.dependents(3).empty());
}

TEST(DependencyGraph, StartsAProcessOnlyOnceEveryDependencyIsReady) {
  const Config c = config_of({{"system/top", 50, {}},
                              {"system/left", 40, {"system/top"}},
                              {"system/right", 60, {"system/top"}},
                              {"system/bottom", 50, {"system/left", "system/right"}}});
  const DependencyGraph g(c);
  using S = StartState;
  std::vector<S> states(4, S::pending);
  EXPECT_EQ(names(c, g.startable(states)), (std::vector<std::string>{"system/top"}));

  states[0] = S::started;  // running is not enough
  EXPECT_TRUE(g.startable(states).empty());

  states[0] = S::ready;
  EXPECT_EQ(names(c, g.startable(states)),
            (std::vector<std::string>{"system/right", "system/left"}));

  states[2] = S::started;  // what has started is not offered again
  EXPECT_EQ(names(c, g.startable(states)), (std::vector<std::string>{"system/left"}));

  states[1] = S::ready;  // bottom still waits for right
  EXPECT_TRUE(g.startable(states).empty());

  states[2] = S::ready;
  EXPECT_EQ(names(c, g.startable(states)), (std::vector<std::string>{"system/bottom"}));
}

TEST(DependencyGraph, OrdersStartableProcessesByPriorityThenIndex) {
  const Config c = config_of({{"system/a", 50, {}}, {"system/b", 70, {}}, {"system/c", 50, {}}});
  const DependencyGraph g(c);
  EXPECT_TRUE(g.starts_before(1, 0));
  EXPECT_TRUE(g.starts_before(0, 2));
  EXPECT_FALSE(g.starts_before(2, 0));
  EXPECT_FALSE(g.starts_before(0, 0));
  EXPECT_EQ(g.startable(std::vector<StartState>(3, StartState::pending)),
            (std::vector<std::size_t>{1, 0, 2}));
}

}  // namespace
}  // namespace hamon::engine
