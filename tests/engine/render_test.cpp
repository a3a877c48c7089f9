#include "hamon/engine/render.hpp"

#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace hamon::engine {
namespace {

constexpr std::string_view small_config = R"([[system.process]]
name = "db"
command = ["db"]
priority = 95
critical = true

[[system.process]]
name = "sipd"
command = ["sipd"]
priority = 90
depends_on = ["db"]

[[tenant]]
name = "acme"
standby = "cold"

[[tenant.process]]
name = "acd"
command = ["acd"]
priority = 80
critical = true
depends_on = ["system/sipd", "store"]

[[tenant.process]]
name = "store"
command = ["store"]
priority = 100
depends_on = ["system/db"]
)";

Config config() {
  ParseResult r = test::parse_with_cluster(small_config);
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(test::errors_of(r));
  return r.config ? std::move(*r.config) : Config{};
}

TEST(RenderPlanText, ListsEachWaveWithPriorityCriticalityAndWhatItWaitsFor) {
  const Config c = config();
  EXPECT_EQ(render_plan_text(c, make_start_plan(c)),
            "start plan for cluster c (4 processes, 3 waves)\n"
            "wave 1\n"
            "  system/db    priority 95   critical\n"
            "wave 2\n"
            "  acme/store   priority 100            after system/db\n"
            "  system/sipd  priority 90             after system/db\n"
            "wave 3\n"
            "  acme/acd     priority 80   critical  after system/sipd, acme/store\n");
}

TEST(RenderPlanText, UsesSingularForOne) {
  ParseResult r =
      test::parse_with_cluster("[[system.process]]\nname = \"db\"\ncommand = [\"db\"]\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(render_plan_text(*r.config, make_start_plan(*r.config)),
            "start plan for cluster c (1 process, 1 wave)\n"
            "wave 1\n"
            "  system/db  priority 50\n");
}

TEST(RenderSummary, CountsProcessesGroupsAndNodes) {
  EXPECT_EQ(render_summary(config()), "4 processes in 2 groups, 1 node");
}

TEST(RenderDot, DrawsOneClusterPerGroupAndEdgesFromDependencyToDependent) {
  EXPECT_EQ(render_dot(config()),
            "// Dependency graph of hamon cluster c.\n"
            "// An edge A -> B means B depends on A: A starts first, B stops first.\n"
            "// A double border marks a critical process.\n"
            "digraph \"c\" {\n"
            "  rankdir=LR;\n"
            "  node [shape=box];\n"
            "  subgraph \"cluster_system\" {\n"
            "    label=\"system\";\n"
            "    \"system/db\" [label=\"db\\npriority 95\", peripheries=2];\n"
            "    \"system/sipd\" [label=\"sipd\\npriority 90\"];\n"
            "  }\n"
            "  subgraph \"cluster_acme\" {\n"
            "    label=\"tenant acme (cold standby)\";\n"
            "    \"acme/acd\" [label=\"acd\\npriority 80\", peripheries=2];\n"
            "    \"acme/store\" [label=\"store\\npriority 100\"];\n"
            "  }\n"
            "  \"system/db\" -> \"system/sipd\";\n"
            "  \"system/sipd\" -> \"acme/acd\";\n"
            "  \"acme/store\" -> \"acme/acd\";\n"
            "  \"system/db\" -> \"acme/store\";\n"
            "}\n");
}

TEST(RenderDot, EscapesQuotesInNamesOfHandBuiltConfigs) {
  Config c;
  c.cluster.name = "a\"b";
  EXPECT_NE(render_dot(c).find("digraph \"a\\\"b\" {"), std::string::npos) << render_dot(c);
}

}  // namespace
}  // namespace hamon::engine
