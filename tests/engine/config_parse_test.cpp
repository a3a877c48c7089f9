// What a valid configuration becomes: values, defaults, inheritance, lookups, order.
#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace hamon::engine {
namespace {

using namespace std::chrono_literals;
using test::errors_of;
using test::parse;
using test::parse_with_cluster;

const Config& ok(const ParseResult& result) {
  EXPECT_TRUE(result.ok()) << ::testing::PrintToString(errors_of(result));
  static const Config empty;
  return result.config ? *result.config : empty;
}

TEST(ConfigParsing, ReadsTheClusterAndItsNodes) {
  const ParseResult r = parse(R"([cluster]
name = "cc1"
peer_interval = "3ms"
peer_timeout = "300ms"
auth_key_file = "/etc/hamon/peer.key"

[[cluster.node]]
id = "a"
side = "primary"
address = "10.0.0.1:7401"

[[cluster.node]]
id = "b"
side = "secondary"
address = "[fd00::2]:7402"

[[system.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  EXPECT_EQ(c.source, "test.toml");
  EXPECT_EQ(c.cluster.name, "cc1");
  EXPECT_EQ(c.cluster.peer_interval, 3ms);
  EXPECT_EQ(c.cluster.peer_timeout, 300ms);
  EXPECT_EQ(c.cluster.auth_key_file, "/etc/hamon/peer.key");
  EXPECT_EQ(c.cluster.auth, PeerAuth::key);
  ASSERT_EQ(c.cluster.nodes.size(), 2u);
  EXPECT_EQ(c.cluster.nodes[0].id, "a");
  EXPECT_EQ(c.cluster.nodes[0].side, Side::primary);
  EXPECT_EQ(c.cluster.nodes[0].addresses, (std::vector<HostPort>{{"10.0.0.1", 7401}}));
  EXPECT_EQ(c.cluster.nodes[0].where, (SourcePos{"test.toml", 7, 1}));
  EXPECT_EQ(c.cluster.nodes[1].side, Side::secondary);
  EXPECT_EQ(c.cluster.nodes[1].addresses, (std::vector<HostPort>{{"fd00::2", 7402}}));
}

TEST(ConfigParsing, ReadsTwoPeerLinkAddressesInFileOrder) {
  const ParseResult r = parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"

[[cluster.node]]
id = "a"
side = "primary"
address = ["10.0.0.1:7401", "[fd00::1]:7401"]

[[cluster.node]]
id = "b"
side = "secondary"
address = ["10.0.0.2:7401", "192.168.7.2:7402"]

[[system.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  ASSERT_EQ(c.cluster.nodes.size(), 2u);
  EXPECT_EQ(c.cluster.nodes[0].addresses,
            (std::vector<HostPort>{{"10.0.0.1", 7401}, {"fd00::1", 7401}}));
  EXPECT_EQ(c.cluster.nodes[1].addresses,
            (std::vector<HostPort>{{"10.0.0.2", 7401}, {"192.168.7.2", 7402}}));
}

TEST(ConfigParsing, ReadsAnArrayOfOneAddressLikeTheStringForm) {
  const ParseResult r = parse(R"([cluster]
name = "c"
[[cluster.node]]
id = "a"
side = "primary"
address = ["10.0.0.1:7401"]
[[system.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  ASSERT_EQ(c.cluster.nodes.size(), 1u);
  EXPECT_EQ(c.cluster.nodes[0].addresses, (std::vector<HostPort>{{"10.0.0.1", 7401}}));
}

TEST(ConfigParsing, AuthNoneLetsTwoNodesRunWithoutAKey) {
  const ParseResult r = parse(R"([cluster]
name = "c"
auth = "none"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[cluster.node]]
id = "b"
side = "secondary"
address = "127.0.0.1:7402"
[[system.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  EXPECT_EQ(c.cluster.auth, PeerAuth::none);
  EXPECT_EQ(c.cluster.auth_key_file, std::nullopt);
  EXPECT_EQ(c.cluster.nodes.size(), 2u);
}

TEST(ConfigParsing, ASingleNodeNeedsNoKey) {
  // Its peer link never opens, so there is nothing to authenticate.
  const ParseResult r = parse(R"([cluster]
name = "c"
auth = "key"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  EXPECT_EQ(c.cluster.auth, PeerAuth::key);
  EXPECT_EQ(c.cluster.auth_key_file, std::nullopt);
}

TEST(ConfigParsing, NamesThePeerAuthentication) {
  EXPECT_EQ(to_string(PeerAuth::key), "key");
  EXPECT_EQ(to_string(PeerAuth::none), "none");
}

TEST(ConfigParsing, AppliesBuiltInDefaults) {
  const ParseResult r = parse(R"([cluster]
name = "c"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  EXPECT_EQ(c.cluster.peer_interval, 2ms);
  EXPECT_EQ(c.cluster.peer_timeout, 250ms);
  EXPECT_EQ(c.cluster.auth_key_file, std::nullopt);
  EXPECT_EQ(c.cluster.auth, PeerAuth::key);
  ASSERT_EQ(c.processes.size(), 1u);
  const ProcessConfig& p = c.processes[0];
  EXPECT_EQ(p.interval, 100ms);
  EXPECT_EQ(p.timeout, 300ms);
  EXPECT_EQ(p.restart, RestartPolicy::always);
  EXPECT_EQ(p.ready, Readiness::on_heartbeat);
  EXPECT_EQ(p.priority, 50);
  EXPECT_FALSE(p.critical);
  EXPECT_EQ(p.restart_delay, 100ms);
  EXPECT_EQ(p.restart_delay_max, 5s);
  EXPECT_EQ(p.restart_budget, 5u);
  EXPECT_EQ(p.restart_window, 60s);
  EXPECT_EQ(p.stop_timeout, 2s);
  EXPECT_TRUE(p.restart_with_dependencies);
  EXPECT_TRUE(p.env.empty());
  EXPECT_EQ(p.working_dir, std::nullopt);
  EXPECT_EQ(p.user, std::nullopt);
  EXPECT_EQ(p.unix_group, std::nullopt);
  EXPECT_EQ(p.limits, Limits{});
  EXPECT_TRUE(p.depends_on.empty());
}

TEST(ConfigParsing, ReadsEveryProcessKey) {
  const ParseResult r = parse_with_cluster(R"([[system.process]]
name = "db"
command = ["/opt/cc/bin/db", "--port", "5432"]

[[system.process]]
name = "sipd"
command = ["sipd"]
depends_on = ["db"]
interval = "1ms"
timeout = "3ms"
restart = "on-failure"
ready = "explicit"
priority = 90
critical = true
restart_delay = "0ms"
restart_delay_max = "2s"
restart_budget = 10
restart_window = "30s"
stop_timeout = "500ms"
restart_with_dependencies = false
env = { SIP_PORT = "5060", LANG = "C" }
working_dir = "/var/lib/sipd"
user = "sip"
group = "voip"
limits = { nofile = 65536, nproc = 512, core = "unlimited", memlock = 0 }
)");
  const Config& c = ok(r);
  ASSERT_EQ(c.processes.size(), 2u);
  EXPECT_EQ(c.processes[0].command, (std::vector<std::string>{"/opt/cc/bin/db", "--port", "5432"}));
  const ProcessConfig& p = c.processes[1];
  EXPECT_EQ(p.group, "system");
  EXPECT_EQ(p.name, "sipd");
  EXPECT_EQ(p.qualified(), "system/sipd");
  EXPECT_TRUE(p.is_system());
  EXPECT_EQ(p.where, (SourcePos{"test.toml", 5, 1}));
  EXPECT_EQ(p.depends_on, (std::vector<std::string>{"system/db"}));
  EXPECT_EQ(p.interval, 1ms);
  EXPECT_EQ(p.timeout, 3ms);
  EXPECT_EQ(p.restart, RestartPolicy::on_failure);
  EXPECT_EQ(p.ready, Readiness::on_ready_call);
  EXPECT_EQ(p.priority, 90);
  EXPECT_TRUE(p.critical);
  EXPECT_EQ(p.restart_delay, 0ms);
  EXPECT_EQ(p.restart_delay_max, 2s);
  EXPECT_EQ(p.restart_budget, 10u);
  EXPECT_EQ(p.restart_window, 30s);
  EXPECT_EQ(p.stop_timeout, 500ms);
  EXPECT_FALSE(p.restart_with_dependencies);
  EXPECT_EQ(p.env, (std::map<std::string, std::string>{{"LANG", "C"}, {"SIP_PORT", "5060"}}));
  EXPECT_EQ(p.working_dir, "/var/lib/sipd");
  EXPECT_EQ(p.user, "sip");
  EXPECT_EQ(p.unix_group, "voip");
  EXPECT_EQ(p.limits.nofile, 65536u);
  EXPECT_EQ(p.limits.nproc, 512u);
  EXPECT_EQ(p.limits.core, Limits::unlimited);
  EXPECT_EQ(p.limits.memlock, 0u);
}

TEST(ConfigParsing, ProcessesStartFromDefaultsAndOverrideKeyByKey) {
  const ParseResult r = parse_with_cluster(R"([defaults]
interval = "10ms"
timeout = "40ms"
priority = 30
env = { LANG = "C", TZ = "UTC" }
limits = { nofile = 1024, core = 0 }
user = "cc"

[[system.process]]
name = "plain"
command = ["plain"]

[[system.process]]
name = "custom"
command = ["custom"]
timeout = "90ms"
env = { TZ = "Europe/Paris", EXTRA = "1" }
limits = { nofile = 4096 }
)");
  const Config& c = ok(r);
  ASSERT_EQ(c.processes.size(), 2u);
  const ProcessConfig& plain = c.processes[0];
  EXPECT_EQ(plain.interval, 10ms);
  EXPECT_EQ(plain.timeout, 40ms);
  EXPECT_EQ(plain.priority, 30);
  EXPECT_EQ(plain.user, "cc");
  EXPECT_EQ(plain.env, (std::map<std::string, std::string>{{"LANG", "C"}, {"TZ", "UTC"}}));
  const ProcessConfig& custom = c.processes[1];
  EXPECT_EQ(custom.interval, 10ms);
  EXPECT_EQ(custom.timeout, 90ms);
  EXPECT_EQ(custom.env, (std::map<std::string, std::string>{
                            {"EXTRA", "1"}, {"LANG", "C"}, {"TZ", "Europe/Paris"}}));
  EXPECT_EQ(custom.limits.nofile, 4096u);
  EXPECT_EQ(custom.limits.core, 0u);
  EXPECT_EQ(custom.limits.nproc, std::nullopt);
  EXPECT_EQ(c.defaults.interval, 10ms);
}

TEST(ConfigParsing, ReadsATenantsCapsInBytesOrUnitsAndLeavesOthersUncapped) {
  const ParseResult r = parse_with_cluster(R"([[tenant]]
name = "acme"
caps = { memory = "512MiB", cpu_weight = 250, pids = 300 }

[[tenant]]
name = "globex"
[tenant.caps]
memory = 1073741824

[[tenant]]
name = "initech"
caps = { memory = "2G" }

[[tenant]]
name = "hooli"

[[tenant.process]]
name = "acd"
command = ["acd"]
)");
  const Config& c = ok(r);
  ASSERT_EQ(c.tenants.size(), 4u);
  EXPECT_EQ(c.tenants[0].caps.memory, 512ULL << 20);
  EXPECT_EQ(c.tenants[0].caps.cpu_weight, 250u);
  EXPECT_EQ(c.tenants[0].caps.pids, 300u);
  EXPECT_EQ(c.tenants[1].caps.memory, 1ULL << 30);
  EXPECT_FALSE(c.tenants[1].caps.pids.has_value());
  EXPECT_EQ(c.tenants[2].caps.memory, 2ULL << 30);
  EXPECT_FALSE(c.tenants[3].caps.any());
}

TEST(ConfigParsing, ATenantsUserRunsItsProcesses) {
  const ParseResult r = parse_with_cluster(R"([defaults]
user = "cc"

[[tenant]]
name = "acme"
user = "acme"
standby = "cold"

[[tenant.process]]
name = "acd"
command = ["acd"]

[[tenant]]
name = "globex"

[[tenant.process]]
name = "acd"
command = ["acd"]
)");
  const Config& c = ok(r);
  ASSERT_EQ(c.tenants.size(), 2u);
  EXPECT_EQ(c.tenants[0].user, "acme");
  EXPECT_EQ(c.tenants[0].standby, Standby::cold);
  EXPECT_EQ(c.tenants[0].where, (SourcePos{"test.toml", 4, 1}));
  EXPECT_EQ(c.tenants[1].standby, Standby::hot);
  ASSERT_EQ(c.processes.size(), 2u);
  EXPECT_EQ(c.processes[0].user, "acme");
  EXPECT_EQ(c.processes[1].user, "cc");
}

TEST(ConfigParsing, ABareDependencyMeansTheSameGroup) {
  const ParseResult r = parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]

[[tenant]]
name = "acme"

[[tenant.process]]
name = "db"
command = ["db"]

[[tenant.process]]
name = "acd"
command = ["acd"]
depends_on = ["db", "system/db", "acme/db2"]

[[tenant.process]]
name = "db2"
command = ["db2"]
)");
  const Config& c = ok(r);
  const ProcessConfig* acd = c.find_process("acme/acd");
  ASSERT_NE(acd, nullptr);
  EXPECT_EQ(acd->depends_on, (std::vector<std::string>{"acme/db", "system/db", "acme/db2"}));
}

TEST(ConfigParsing, SystemProcessesComeFirstThenEachTenantsInFileOrder) {
  // The file lists a tenant before the system processes; indices still follow the rule.
  const ParseResult r = parse_with_cluster(R"([[tenant]]
name = "t1"
[[tenant.process]]
name = "x"
command = ["x"]
[[tenant.process]]
name = "y"
command = ["y"]

[[system.process]]
name = "s2"
command = ["s"]
[[system.process]]
name = "s1"
command = ["s"]

[[tenant]]
name = "t0"
[[tenant.process]]
name = "z"
command = ["z"]
)");
  const Config& c = ok(r);
  std::vector<std::string> order;
  for (const ProcessConfig& p : c.processes) order.push_back(p.qualified());
  EXPECT_EQ(order, (std::vector<std::string>{"system/s2", "system/s1", "t1/x", "t1/y", "t0/z"}));
  EXPECT_EQ(c.groups(), (std::vector<std::string>{"system", "t1", "t0"}));
}

TEST(ConfigParsing, LooksUpProcessesTenantsAndNodesByName) {
  const ParseResult r = parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
[[tenant]]
name = "acme"
[[tenant.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  EXPECT_EQ(c.process_index("system/db"), 0u);
  EXPECT_EQ(c.process_index("acme/db"), 1u);
  EXPECT_EQ(c.process_index("db"), std::nullopt);
  EXPECT_EQ(c.process_index("globex/db"), std::nullopt);
  EXPECT_EQ(c.find_process("acme/db"), &c.processes[1]);
  EXPECT_EQ(c.find_process("acme/nope"), nullptr);
  ASSERT_NE(c.find_tenant("acme"), nullptr);
  EXPECT_EQ(c.find_tenant("acme")->name, "acme");
  EXPECT_EQ(c.find_tenant("system"), nullptr);
  ASSERT_NE(c.find_node("a"), nullptr);
  EXPECT_EQ(c.find_node("a")->addresses.at(0).port, 7401);
  EXPECT_EQ(c.find_node("b"), nullptr);
}

TEST(ConfigParsing, ThePeerOfANodeIsTheOtherNode) {
  const ParseResult r = parse(R"([cluster]
name = "c"
auth = "none"
[[cluster.node]]
id = "b"
side = "primary"
address = "127.0.0.1:7401"
[[cluster.node]]
id = "a"
side = "secondary"
address = "127.0.0.1:7402"
[[system.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  ASSERT_EQ(c.cluster.nodes.size(), 2u);
  const NodeConfig* b = &c.cluster.nodes[0];
  const NodeConfig* a = &c.cluster.nodes[1];
  EXPECT_EQ(c.peers_of("b"), (std::vector<const NodeConfig*>{a}));
  EXPECT_EQ(c.peers_of("a"), (std::vector<const NodeConfig*>{b}));
  // A node that is not in the cluster has no peers: it must not talk to every node.
  EXPECT_TRUE(c.peers_of("d").empty());
}

TEST(ConfigParsing, ASingleNodeHasNoPeers) {
  const ParseResult r = parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
)");
  const Config& c = ok(r);
  EXPECT_TRUE(c.peers_of("a").empty());
}

TEST(ConfigParsing, ATenantMayHaveNoProcesses) {
  const ParseResult r = parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
[[tenant]]
name = "idle"
)");
  const Config& c = ok(r);
  EXPECT_EQ(c.tenants.size(), 1u);
  EXPECT_EQ(c.groups(), (std::vector<std::string>{"system"}));
}

TEST(ConfigParsing, AcceptsInlineTablesForProcesses) {
  const ParseResult r =
      parse_with_cluster(R"(system = { process = [ { name = "db", command = ["db"] } ] }
)");
  const Config& c = ok(r);
  ASSERT_EQ(c.processes.size(), 1u);
  EXPECT_EQ(c.processes[0].qualified(), "system/db");
}

TEST(ConfigParsing, ReportsEveryErrorNotJustTheFirstInFileOrder) {
  const ParseResult r = parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
priority = 101
depends_on = ["nope"]

[[system.process]]
name = "db"
timeout = "forever"
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(errors_of(r),
            (std::vector<std::string>{
                "test.toml:4:12: error: priority 101 is out of range 0..100",
                "test.toml:5:15: error: system/db depends on unknown process 'system/nope'",
                "test.toml:7:1: error: missing required key 'command' in [[system.process]]",
                "test.toml:8:8: error: duplicate process 'system/db' (first on line 2)",
                "test.toml:9:11: error: invalid timeout 'forever': missing number",
            }));
}

TEST(ConfigParsing, ConfigErrorPrintsLikeACompiler) {
  // SourcePos named: GCC 12 at -O3 warns falsely (maybe-uninitialized) on a nested braced one.
  const ConfigError e{SourcePos{std::string("a.toml"), 12, 3}, "unknown key 'x' in [cluster]"};
  EXPECT_EQ(e.to_string(), "a.toml:12:3: error: unknown key 'x' in [cluster]");
}

}  // namespace
}  // namespace hamon::engine

namespace hamon::engine {
namespace {

TEST(ConfigParsing, ReadsTheDuplexRoleSettings) {
  const ParseResult r = parse(R"([cluster]
name = "c"
auth = "none"
on_peer_lost = "fence"
wait_for_peer = "30s"
fence_command = ["/usr/sbin/fence_ipmilan", "--ip", "10.0.0.9"]
fence_timeout = "20s"
fence_options = { ip = "10.0.0.9", username = "fencer", password_script = "/etc/hamon/pw" }
witness_command = ["/usr/local/bin/ping-site-c"]
witness_timeout = "2s"
max_role_changes = 3
role_change_window = "5m"
drain_timeout = "500ms"
hook_timeout = "1s"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[tenant]]
name = "acme"
preferred_side = "secondary"
on_role_change = ["/etc/hamon/move-vip", "acme"]
[[tenant.process]]
name = "acd"
command = ["acd"]
critical = true
failover = "immediate"
)");
  const Config& c = ok(r);
  EXPECT_EQ(c.cluster.on_peer_lost, PeerLostPolicy::fence);
  EXPECT_EQ(c.cluster.wait_for_peer, std::chrono::seconds(30));
  EXPECT_EQ(c.cluster.fence_command,
            (std::vector<std::string>{"/usr/sbin/fence_ipmilan", "--ip", "10.0.0.9"}));
  EXPECT_EQ(c.cluster.fence_timeout, std::chrono::seconds(20));
  // The fence agent's input lines, in key order (an agent reads them in any).
  EXPECT_EQ(c.cluster.fence_options,
            (std::vector<std::pair<std::string, std::string>>{
                {"ip", "10.0.0.9"}, {"password_script", "/etc/hamon/pw"}, {"username", "fencer"}}));
  EXPECT_EQ(c.cluster.witness_command, (std::vector<std::string>{"/usr/local/bin/ping-site-c"}));
  EXPECT_EQ(c.cluster.witness_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.cluster.max_role_changes, 3u);
  EXPECT_EQ(c.cluster.role_change_window, std::chrono::minutes(5));
  EXPECT_EQ(c.cluster.drain_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c.cluster.hook_timeout, std::chrono::seconds(1));
  ASSERT_EQ(c.tenants.size(), 1u);
  EXPECT_EQ(c.tenants[0].preferred_side, Side::secondary);
  EXPECT_EQ(c.tenants[0].on_role_change, (std::vector<std::string>{"/etc/hamon/move-vip", "acme"}));
  ASSERT_EQ(c.processes.size(), 1u);
  EXPECT_EQ(c.processes[0].failover, Failover::immediate);
}

TEST(ConfigParsing, TheRoleSettingsHaveSafeDefaults) {
  // Kept: `c` refers into it.
  const ParseResult r = parse_with_cluster(R"([[tenant]]
name = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
)");
  const Config& c = ok(r);
  EXPECT_EQ(c.cluster.on_peer_lost, PeerLostPolicy::takeover);
  EXPECT_EQ(c.cluster.wait_for_peer, std::chrono::seconds(10));
  EXPECT_EQ(c.cluster.drain_timeout, std::chrono::nanoseconds(0));
  EXPECT_EQ(c.tenants[0].preferred_side, Side::primary);
  EXPECT_TRUE(c.tenants[0].on_role_change.empty());
  EXPECT_EQ(c.processes[0].failover, Failover::budget);
}

}  // namespace
}  // namespace hamon::engine
