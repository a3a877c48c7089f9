// config/demo-duplex.toml, the configuration users try first, stays valid and sensible.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "hamon/engine/duration.hpp"
#include "hamon/engine/parse_config.hpp"
#include "hamon/engine/plan.hpp"

namespace hamon::engine {
namespace {

using namespace std::chrono_literals;

ParseResult parse_demo() {
  std::ifstream in(HAMON_DEMO_CONFIG);
  EXPECT_TRUE(in.good()) << "cannot open " << HAMON_DEMO_CONFIG;
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), "demo-duplex.toml");
}

TEST(DemoConfig, IsValid) {
  const ParseResult r = parse_demo();
  for (const ConfigError& e : r.errors) ADD_FAILURE() << e.to_string();
  ASSERT_TRUE(r.config.has_value());
}

TEST(DemoConfig, IsADuplexOnLoopback) {
  const ParseResult r = parse_demo();
  ASSERT_TRUE(r.ok());
  const ClusterConfig& cluster = r.config->cluster;
  EXPECT_EQ(cluster.name, "demo");
  ASSERT_EQ(cluster.nodes.size(), 2u);
  EXPECT_EQ(cluster.nodes[0].side, Side::primary);
  EXPECT_EQ(cluster.nodes[1].side, Side::secondary);
  for (const NodeConfig& node : cluster.nodes) {
    ASSERT_EQ(node.addresses.size(), 1u) << node.id;
    EXPECT_EQ(node.addresses[0].host, "127.0.0.1") << node.id;
  }
  // Two nodes: the link is authenticated, as a real cluster's must be.
  EXPECT_EQ(cluster.auth, PeerAuth::key);
  EXPECT_TRUE(cluster.auth_key_file.has_value());
  EXPECT_EQ(cluster.peer_interval, 2ms);
  // One lost TCP segment stalls the link for Linux's minimum RTO of 200 ms.
  EXPECT_GE(cluster.peer_timeout, 3 * cluster.peer_interval + 200ms);
}

TEST(DemoConfig, HasAHotAndAColdTenantEachWithOneCriticalProcess) {
  const ParseResult r = parse_demo();
  ASSERT_TRUE(r.ok());
  const Config& c = *r.config;
  EXPECT_EQ(c.groups(), (std::vector<std::string>{"system", "acme", "globex"}));
  ASSERT_NE(c.find_tenant("acme"), nullptr);
  ASSERT_NE(c.find_tenant("globex"), nullptr);
  EXPECT_EQ(c.find_tenant("acme")->standby, Standby::hot);
  EXPECT_EQ(c.find_tenant("globex")->standby, Standby::cold);
  for (const std::string tenant : {"acme", "globex"}) {
    int critical = 0;
    for (const ProcessConfig& p : c.processes) critical += p.group == tenant && p.critical ? 1 : 0;
    EXPECT_EQ(critical, 1) << tenant;
  }
}

TEST(DemoConfig, RunsTheDemoAppAtEachProcesssInterval) {
  const ParseResult r = parse_demo();
  ASSERT_TRUE(r.ok());
  for (const ProcessConfig& p : r.config->processes) {
    EXPECT_EQ(p.command, (std::vector<std::string>{"hamon-demo-app", "--interval",
                                                   format_duration(p.interval)}))
        << p.qualified();
  }
}

TEST(DemoConfig, StartsEveryProcessAfterItsDependencies) {
  const ParseResult r = parse_demo();
  ASSERT_TRUE(r.ok());
  const Config& c = *r.config;
  const DependencyGraph graph(c);
  const Plan plan = make_start_plan(graph);
  ASSERT_EQ(plan.process_count(), c.processes.size());
  std::vector<std::size_t> wave_of(c.processes.size());
  for (std::size_t w = 0; w < plan.waves.size(); ++w) {
    for (const std::size_t i : plan.waves[w]) wave_of[i] = w;
  }
  std::size_t edges = 0;
  for (std::size_t i = 0; i < c.processes.size(); ++i) {
    for (const std::size_t d : graph.dependencies(i)) {
      EXPECT_LT(wave_of[d], wave_of[i]) << c.processes[i].qualified();
      ++edges;
    }
  }
  EXPECT_GE(edges, 5u)
      << "the demo should show dependencies within tenants and on system processes";
  ASSERT_FALSE(plan.waves.empty());
  EXPECT_EQ(c.processes[plan.waves[0][0]].qualified(), "system/db");
}

}  // namespace
}  // namespace hamon::engine
