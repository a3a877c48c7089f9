// Every kind of configuration error: its message and the line:column it points at.
// Texts under test start at line 1; a valid [cluster] is appended after them when the test is
// not about the cluster (see config_test_support.hpp).
#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace hamon::engine {
namespace {

using test::errors_of;
using test::parse;
using test::parse_with_cluster;
using Errors = std::vector<std::string>;

// --- unknown keys, at every level ---

TEST(ConfigValidation, RejectsUnknownTopLevelKey) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"(clutser = 1
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:1:1: error: unknown key 'clutser' at the top level"});
}

TEST(ConfigValidation, RejectsUnknownKeyInCluster) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
peer_intervall = "2ms"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:3:1: error: unknown key 'peer_intervall' in [cluster]"});
}

TEST(ConfigValidation, RejectsUnknownKeyInClusterNode) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
  port = 7401
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:7:3: error: unknown key 'port' in [[cluster.node]]"});
}

TEST(ConfigValidation, RejectsUnknownKeyInDefaults) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([defaults]
interval = "10ms"
timeuot = "30ms"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:3:1: error: unknown key 'timeuot' in [defaults]"});
}

TEST(ConfigValidation, RejectsPerProcessOnlyKeysInDefaults) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([defaults]
command = ["x"]
depends_on = ["db"]
name = "x"
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:2:1: error: unknown key 'command' in [defaults]",
                    "test.toml:3:1: error: unknown key 'depends_on' in [defaults]",
                    "test.toml:4:1: error: unknown key 'name' in [defaults]"}));
}

TEST(ConfigValidation, RejectsUnknownKeyInSystem) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([system]
user = "root"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:2:1: error: unknown key 'user' in [system]"});
}

TEST(ConfigValidation, RejectsUnknownKeyInSystemProcess) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
pirority = 3
)")),
            Errors{"test.toml:4:1: error: unknown key 'pirority' in [[system.process]]"});
}

TEST(ConfigValidation, RejectsUnknownKeyInTenant) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
standbye = "hot"
[[tenant.process]]
name = "acd"
command = ["acd"]
)")),
            Errors{"test.toml:3:1: error: unknown key 'standbye' in [[tenant]]"});
}

TEST(ConfigValidation, RejectsUnknownKeyInTenantProcess) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
intervall = "1ms"
)")),
            Errors{"test.toml:6:1: error: unknown key 'intervall' in [[tenant.process]]"});
}

TEST(ConfigValidation, RejectsUnknownKeyInLimits) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
limits = { nofile = 10, stack = 8192 }
)")),
            Errors{"test.toml:4:25: error: unknown key 'stack' in 'limits' of [[system.process]]"});
}

// --- wrong value types ---

TEST(ConfigValidation, RejectsWrongValueType) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
priority = "high"
critical = "yes"
)")),
      (Errors{"test.toml:4:12: error: wrong type for 'priority' in [[system.process]]: expected "
              "integer, found string",
              "test.toml:5:12: error: wrong type for 'critical' in [[system.process]]: expected "
              "boolean, found string"}));
}

TEST(ConfigValidation, RejectsADurationThatIsNotAString) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
interval = 100
)")),
            Errors{"test.toml:4:12: error: wrong type for 'interval' in [[system.process]]: "
                   "expected duration "
                   "string such as \"100ms\", found integer"});
}

TEST(ConfigValidation, RejectsACommandThatIsAStringOrHoldsNonStrings) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = "db --fast"
[[system.process]]
name = "sipd"
command = ["sipd", 5060]
)")),
            (Errors{"test.toml:3:11: error: wrong type for 'command' in [[system.process]]: "
                    "expected array of "
                    "strings, found string",
                    "test.toml:6:20: error: wrong type for an element of 'command' in "
                    "[[system.process]]: expected "
                    "string, found integer"}));
}

TEST(ConfigValidation, RejectsSectionsOfTheWrongShape) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"(defaults = 5
[tenant]
name = "acme"
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:1:12: error: wrong type for 'defaults' at the top level: expected "
                    "table, found integer",
                    "test.toml:2:1: error: wrong type for 'tenant' at the top level: expected "
                    "array of tables "
                    "([[tenant]]), found table"}));
}

// --- commands ---

TEST(ConfigValidation, RejectsMissingCommand) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
)")),
            Errors{"test.toml:1:1: error: missing required key 'command' in [[system.process]]"});
}

TEST(ConfigValidation, RejectsEmptyCommand) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = []
)")),
            Errors{"test.toml:3:11: error: 'command' must not be empty"});
}

TEST(ConfigValidation, RejectsAnEmptyProgramName) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["", "--fast"]
)")),
      Errors{"test.toml:3:12: error: the program (first element of 'command') must not be empty"});
}

TEST(ConfigValidation, RejectsANulCharacterInAnArgument) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db", "a\u0000b"]
)")),
            Errors{"test.toml:3:18: error: 'command' must not contain a NUL character"});
}

// --- dependencies ---

TEST(ConfigValidation, RejectsUnknownDependency) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
depends_on = ["system/sipd", "store"]
)")),
            (Errors{"test.toml:6:15: error: acme/acd depends on unknown process 'system/sipd'",
                    "test.toml:6:30: error: acme/acd depends on unknown process 'acme/store'"}));
}

TEST(ConfigValidation, RejectsDependencyOnUnknownTenant) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
depends_on = ["nosuch/x"]
)")),
            Errors{"test.toml:6:15: error: acme/acd depends on 'nosuch/x', but there is no tenant "
                   "'nosuch'"});
}

TEST(ConfigValidation, RejectsTenantProcessDependingOnAnotherTenant) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
depends_on = ["globex/db"]
[[tenant]]
name = "globex"
[[tenant.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:6:15: error: acme/acd may not depend on globex/db: a tenant's "
                   "processes may depend "
                   "only on its own and on system processes"});
}

TEST(ConfigValidation, RejectsSystemProcessDependingOnTenantProcess) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "sipd"
command = ["sipd"]
depends_on = ["acme/db"]
[[tenant]]
name = "acme"
[[tenant.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:4:15: error: system process system/sipd may not depend on tenant "
                   "process acme/db: "
                   "system processes run whatever the tenants' roles"});
}

TEST(ConfigValidation, RejectsMalformedDependency) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
depends_on = ["a/b/c", "/x", "x/", ""]
)")),
      (Errors{"test.toml:4:15: error: invalid dependency 'a/b/c': expected NAME or GROUP/NAME",
              "test.toml:4:24: error: invalid dependency '/x': expected NAME or GROUP/NAME",
              "test.toml:4:30: error: invalid dependency 'x/': expected NAME or GROUP/NAME",
              "test.toml:4:36: error: invalid dependency '': expected NAME or GROUP/NAME"}));
}

TEST(ConfigValidation, RejectsDuplicateDependency) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
[[system.process]]
name = "sipd"
command = ["sipd"]
depends_on = ["db", "system/db"]
)")),
            Errors{"test.toml:7:21: error: duplicate dependency 'system/db'"});
}

TEST(ConfigValidation, NamesTheMembersOfADependencyCycleInOrder) {
  // b is the first member in the file; the cycle is named from it, at its depends_on entry.
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
[[tenant.process]]
name = "b"
command = ["b"]
depends_on = ["c"]
[[tenant.process]]
name = "a"
command = ["a"]
depends_on = ["b"]
[[tenant.process]]
name = "c"
command = ["c"]
depends_on = ["a"]
)")),
      Errors{"test.toml:6:15: error: dependency cycle: acme/b -> acme/c -> acme/a -> acme/b"});
}

TEST(ConfigValidation, ReportsASelfDependencyAsACycle) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
depends_on = ["db"]
)")),
            Errors{"test.toml:4:15: error: dependency cycle: system/db -> system/db"});
}

TEST(ConfigValidation, ReportsEachCycleOnceWithItsShortestLoop) {
  // x and y form one cycle; p, q, r form one knot with two loops (p-q and p-q-r). Each knot is
  // one error, named by its shortest loop through its first member.
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "x"
command = ["x"]
depends_on = ["y"]
[[system.process]]
name = "y"
command = ["y"]
depends_on = ["x"]
[[system.process]]
name = "p"
command = ["p"]
depends_on = ["q"]
[[system.process]]
name = "q"
command = ["q"]
depends_on = ["r", "p"]
[[system.process]]
name = "r"
command = ["r"]
depends_on = ["p"]
)")),
            (Errors{"test.toml:4:15: error: dependency cycle: system/x -> system/y -> system/x",
                    "test.toml:12:15: error: dependency cycle: system/p -> system/q -> system/p"}));
}

TEST(ConfigValidation, ProcessesOutsideACycleAreNotReportedInIt) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "top"
command = ["top"]
depends_on = ["a"]
[[system.process]]
name = "a"
command = ["a"]
depends_on = ["b", "leaf"]
[[system.process]]
name = "b"
command = ["b"]
depends_on = ["a"]
[[system.process]]
name = "leaf"
command = ["leaf"]
)")),
            Errors{"test.toml:8:15: error: dependency cycle: system/a -> system/b -> system/a"});
}

// --- duplicates and reserved names ---

TEST(ConfigValidation, RejectsDuplicateProcessNameInAGroup) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
[[tenant.process]]
name = "acd"
command = ["acd2"]
)")),
            Errors{"test.toml:7:8: error: duplicate process 'acme/acd' (first on line 4)"});
}

TEST(ConfigValidation, AllowsTheSameProcessNameInDifferentGroups) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "acd"
command = ["acd"]
[[tenant]]
name = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
)")),
            Errors{});
}

TEST(ConfigValidation, RejectsDuplicateTenantName) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
[[tenant]]
name = "acme"
)")),
            Errors{"test.toml:7:8: error: duplicate tenant 'acme' (first on line 2)"});
}

TEST(ConfigValidation, ReservesTheTenantNameSystem) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
[[tenant]]
name = "system"
)")),
            Errors{"test.toml:5:8: error: tenant name 'system' is reserved for system processes"});
}

TEST(ConfigValidation, RejectsDuplicateNodeId) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[cluster.node]]
id = "a"
side = "secondary"
address = "127.0.0.1:7402"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:9:6: error: duplicate node id 'a' (first on line 5)"});
}

TEST(ConfigValidation, RejectsAThirdNodeBecauseAClusterIsADuplex) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[cluster.node]]
id = "b"
side = "secondary"
address = "127.0.0.1:7402"
[[cluster.node]]
id = "c"
side = "secondary"
address = "127.0.0.1:7403"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:12:1: error: node c is one node too many: a cluster is a duplex of "
                   "at most 2 nodes (each tenant active on one side, standby on the other)"});
}

TEST(ConfigValidation, RejectsTwoNodesOnOneAddress) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[cluster.node]]
id = "b"
side = "secondary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:11:11: error: address 127.0.0.1:7401 is already used by node a"});
}

TEST(ConfigValidation, RejectsAnAddressUsedTwiceAnywhereInTheCluster) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"
[[cluster.node]]
id = "a"
side = "primary"
address = ["10.0.0.1:7401", "10.0.0.1:7401"]
[[cluster.node]]
id = "b"
side = "secondary"
address = ["10.0.0.2:7401", "10.0.0.1:7401"]
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:7:29: error: address 10.0.0.1:7401 is already used by node a",
                    "test.toml:11:29: error: address 10.0.0.1:7401 is already used by node a"}));
}

TEST(ConfigValidation, RejectsNodesWithDifferentNumbersOfAddresses) {
  // Link i of one node talks to link i of the other: a link without a partner cannot open.
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"
[[cluster.node]]
id = "a"
side = "primary"
address = ["10.0.0.1:7401", "10.1.0.1:7401"]
[[cluster.node]]
id = "b"
side = "secondary"
address = "10.0.0.2:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:11:11: error: node b has 1 peer-link address, node a has 2: link i "
                   "of a node pairs with link i of its peer, so every node needs the same "
                   "number"});
}

TEST(ConfigValidation, RejectsAnEmptyAddressArray) {
  EXPECT_EQ(
      errors_of(parse(R"([cluster]
name = "c"
[[cluster.node]]
id = "a"
side = "primary"
address = []
[[system.process]]
name = "db"
command = ["db"]
)")),
      Errors{"test.toml:6:11: error: 'address' must not be empty: a node has 1 or 2 peer-link "
             "addresses"});
}

TEST(ConfigValidation, RejectsMoreThanTwoAddresses) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
[[cluster.node]]
id = "a"
side = "primary"
address = ["10.0.0.1:7401", "10.1.0.1:7401", "10.2.0.1:7401"]
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:6:46: error: 'address' has 3 elements: a node has at most 2 "
                   "peer-link addresses"});
}

TEST(ConfigValidation, RejectsAnAddressThatIsNotAStringOrHoldsNonStrings) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"
[[cluster.node]]
id = "a"
side = "primary"
address = 7401
[[cluster.node]]
id = "b"
side = "secondary"
address = ["10.0.0.2:7401", 7402]
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:7:11: error: wrong type for 'address' in [[cluster.node]]: "
                    "expected string or array of strings, found integer",
                    "test.toml:11:29: error: wrong type for an element of 'address' in "
                    "[[cluster.node]]: expected string, found integer"}));
}

TEST(ConfigValidation, RejectsAnInvalidAddressInAnArray) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
[[cluster.node]]
id = "a"
side = "primary"
address = ["10.0.0.1:7401", "10.1.0.1"]
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:6:29: error: invalid address '10.1.0.1': expected HOST:PORT with a "
                   "port from 1 to 65535 (IPv6 in brackets)"});
}

TEST(ConfigValidation, RejectsNamesOutsideTheAllowedCharacters) {
  const std::string rule =
      "use 1-31 characters of letters, digits, '_', '.', '-', not starting with '.' or '-'";
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "call center"
[[cluster.node]]
id = "-a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
[[system.process]]
name = "db/main"
command = ["db"]
[[tenant]]
name = ".acme"
)")),
            (Errors{"test.toml:2:8: error: invalid cluster name 'call center': " + rule,
                    "test.toml:4:6: error: invalid node id '-a': " + rule,
                    "test.toml:11:8: error: invalid process name 'db/main': " + rule,
                    "test.toml:14:8: error: invalid tenant name '.acme': " + rule}));
}

// --- durations and timings ---

TEST(ConfigValidation, RejectsUnparseableDuration) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
interval = "5"
timeout = "1.5ns"
stop_timeout = "-1s"
)")),
      (Errors{
          "test.toml:4:12: error: invalid interval '5': missing unit (expected ns, us, ms, s or m)",
          "test.toml:5:11: error: invalid timeout '1.5ns': finer than a nanosecond",
          "test.toml:6:16: error: invalid stop_timeout '-1s': negative"}));
}

TEST(ConfigValidation, RejectsZeroWhereAPeriodIsNeeded) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
interval = "0ms"
restart_window = "0s"
restart_delay = "0ms"
stop_timeout = "0s"
)")),
            (Errors{"test.toml:4:12: error: interval must be longer than 0",
                    "test.toml:5:18: error: restart_window must be longer than 0"}));
}

TEST(ConfigValidation, RejectsTimeoutNotLongerThanInterval) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
interval = "5ms"
timeout = "5ms"
)")),
      Errors{"test.toml:5:11: error: system/db: timeout (5ms) must be longer than interval (5ms)"});
}

TEST(ConfigValidation, RejectsAnIntervalNotShorterThanTheInheritedTimeout) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([defaults]
timeout = "300ms"
[[system.process]]
name = "db"
command = ["db"]
interval = "1s"
)")),
      Errors{
          "test.toml:6:12: error: system/db: timeout (300ms, from [defaults]) must be longer than "
          "interval (1s)"});
}

TEST(ConfigValidation, RejectsAnIntervalNotShorterThanTheBuiltInTimeout) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
interval = "300ms"
)")),
      Errors{"test.toml:4:12: error: system/db: timeout (300ms, the default) must be longer than "
             "interval (300ms)"});
}

TEST(ConfigValidation, ChecksImpossibleDefaultsOnceNotPerProcess) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([defaults]
interval = "1s"
[[system.process]]
name = "db"
command = ["db"]
[[system.process]]
name = "sipd"
command = ["sipd"]
)")),
      Errors{"test.toml:2:12: error: [defaults]: timeout (300ms, the default) must be longer than "
             "interval (1s)"});
}

TEST(ConfigValidation, RejectsRestartDelayMaxShorterThanRestartDelay) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
restart_delay = "10s"
)")),
            Errors{"test.toml:4:17: error: system/db: restart_delay_max (5s, the default) must not "
                   "be shorter "
                   "than restart_delay (10s)"});
}

TEST(ConfigValidation, RejectsPeerTimeoutNotLongerThanPeerInterval) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
peer_interval = "10ms"
peer_timeout = "10ms"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:4:16: error: [cluster]: peer_timeout (10ms) must be longer than "
                   "peer_interval (10ms)"});
}

// --- ranges and choices ---

TEST(ConfigValidation, RejectsPriorityOutOfRange) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
priority = 101
[[system.process]]
name = "sipd"
command = ["sipd"]
priority = -1
)")),
            (Errors{"test.toml:4:12: error: priority 101 is out of range 0..100",
                    "test.toml:8:12: error: priority -1 is out of range 0..100"}));
}

TEST(ConfigValidation, RejectsARestartBudgetOfZero) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
restart_budget = 0
)")),
            Errors{"test.toml:4:18: error: restart_budget 0 is out of range 1..4294967295"});
}

TEST(ConfigValidation, RejectsInvalidSide) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
[[cluster.node]]
id = "a"
side = "left"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:5:8: error: invalid side 'left': expected primary or secondary"}));
}

TEST(ConfigValidation, RejectsUnknownRestartReadyAndStandbyValues) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
standby = "warm"
[[tenant.process]]
name = "acd"
command = ["acd"]
restart = "sometimes"
ready = "soon"
)")),
      (Errors{
          "test.toml:3:11: error: invalid standby 'warm': expected hot or cold",
          "test.toml:7:11: error: invalid restart 'sometimes': expected always, on-failure or "
          "never",
          "test.toml:8:9: error: invalid ready 'soon': expected spawn, heartbeat or explicit"}));
}

TEST(ConfigValidation, RejectsInvalidAddress) {
  const std::string expected =
      "': expected HOST:PORT with a port from 1 to 65535 (IPv6 in brackets)";
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:0"
[[cluster.node]]
id = "b"
side = "secondary"
address = "127.0.0.1:65536"
[[cluster.node]]
id = "c"
side = "secondary"
address = "127.0.0.1"
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:7:11: error: invalid address '127.0.0.1:0" + expected,
                    "test.toml:11:11: error: invalid address '127.0.0.1:65536" + expected,
                    "test.toml:15:11: error: invalid address '127.0.0.1" + expected}));
}

// --- peer-link authentication ---

TEST(ConfigValidation, RequiresAKeyForAClusterOfTwoNodes) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
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
)")),
            Errors{"test.toml:1:1: error: the peer link of a cluster of 2 nodes must be "
                   "authenticated: create a key with 'hamon keygen FILE' and name it in "
                   "auth_key_file, or set auth = \"none\" for a loopback demo"});
}

TEST(ConfigValidation, RequiresAKeyEvenWhenANodeIsInvalid) {
  // Counted by [[cluster.node]] tables: fixing the node must not reveal a new error.
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth = "key"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[cluster.node]]
id = "b"
side = "secondary"
address = "127.0.0.1"
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:1:1: error: the peer link of a cluster of 2 nodes must be "
                    "authenticated: create a key with 'hamon keygen FILE' and name it in "
                    "auth_key_file, or set auth = \"none\" for a loopback demo",
                    "test.toml:11:11: error: invalid address '127.0.0.1': expected HOST:PORT "
                    "with a port from 1 to 65535 (IPv6 in brackets)"}));
}

TEST(ConfigValidation, RejectsAuthNoneWithAKeyFile) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth_key_file = "peer.key"
auth = "none"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:4:8: error: auth = \"none\" contradicts auth_key_file (line 3): "
                   "remove one of them"});
}

TEST(ConfigValidation, RejectsAnUnknownAuthAndSaysNothingMoreAboutIt) {
  // The key the user meant is unknown, so whether one is missing is not reported.
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth = "psk"
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
)")),
            Errors{"test.toml:3:8: error: invalid auth 'psk': expected key or none"});
}

// --- missing required keys ---

TEST(ConfigValidation, RejectsAnEmptyFile) {
  EXPECT_EQ(errors_of(parse("")), (Errors{"test.toml:1:1: error: missing required table [cluster]",
                                          "test.toml:1:1: error: no processes configured"}));
}

TEST(ConfigValidation, RejectsAConfigurationWithoutProcesses) {
  EXPECT_EQ(errors_of(parse_with_cluster("[[tenant]]\nname = \"acme\"\n")),
            Errors{"test.toml:1:1: error: no processes configured"});
}

TEST(ConfigValidation, RejectsAClusterWithoutNameOrNodes) {
  EXPECT_EQ(errors_of(parse(R"([[system.process]]
name = "db"
command = ["db"]
[cluster]
peer_interval = "2ms"
)")),
            (Errors{"test.toml:4:1: error: missing required key 'name' in [cluster]",
                    "test.toml:4:1: error: no nodes configured: add a [[cluster.node]]"}));
}

TEST(ConfigValidation, RejectsANodeWithoutIdSideOrAddress) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
[[cluster.node]]
side = "primary"
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:3:1: error: missing required key 'id' in [[cluster.node]]",
                    "test.toml:3:1: error: missing required key 'address' in [[cluster.node]]"}));
}

TEST(ConfigValidation, RejectsAProcessOrTenantWithoutName) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
command = ["db"]
[[tenant]]
standby = "hot"
[[tenant.process]]
command = ["acd"]
)")),
            (Errors{"test.toml:1:1: error: missing required key 'name' in [[system.process]]",
                    // Nameless processes are not kept, so nothing is left to run.
                    "test.toml:1:1: error: no processes configured",
                    "test.toml:3:1: error: missing required key 'name' in [[tenant]]",
                    "test.toml:5:1: error: missing required key 'name' in [[tenant.process]]"}));
}

// --- environment, directories, users, limits ---

TEST(ConfigValidation, RejectsATenantCapThatIsNoSizeOrOutOfRangeOrUnknown) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
caps = { memory = "lots", cpu_weight = 0, pids = 10, swap = 1 }

[[tenant]]
name = "globex"
caps = { memory = "64KiB", pids = 5000000 }

[[tenant]]
name = "initech"
caps = { memory = "99999999999999999999T" }

[[tenant]]
name = "hooli"
caps = { memory = -5 }

[[tenant.process]]
name = "acd"
command = ["acd"]
)")),
            (Errors{
                "test.toml:3:19: error: memory 'lots' is not a size: bytes, or a number with "
                "KiB, MiB, GiB or TiB",
                "test.toml:3:40: error: cpu_weight 0 is out of range 1..10000",
                "test.toml:3:54: error: unknown key 'swap' in 'caps' of [[tenant]]",
                "test.toml:7:19: error: memory cap of 65536 bytes is under 1 MiB: no process "
                "could run in it",
                "test.toml:7:35: error: pids 5000000 is out of range 1..4194304",
                "test.toml:11:19: error: memory '99999999999999999999T' is not a size: bytes, or "
                "a number with KiB, MiB, GiB or TiB",
                "test.toml:15:19: error: memory cap of 0 bytes is under 1 MiB: no process could "
                "run in it",
            }));
}

TEST(ConfigValidation, RejectsInvalidOrReservedEnvironmentVariables) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
env = { "1X" = "a", HAMON_SLOT = "3", PORT = 5432 }
)")),
            (Errors{"test.toml:4:9: error: invalid environment variable name '1X': use letters, "
                    "digits and '_'",
                    "test.toml:4:21: error: environment variable 'HAMON_SLOT' is reserved: hamon "
                    "sets HAMON_* "
                    "variables itself",
                    "test.toml:4:46: error: wrong type for environment variable 'PORT': expected "
                    "string, found "
                    "integer"}));
}

TEST(ConfigValidation, RejectsARelativeWorkingDirectory) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
working_dir = "var/db"
)")),
            Errors{"test.toml:4:15: error: working_dir 'var/db' must be an absolute path"});
}

TEST(ConfigValidation, RejectsAProcessUserOtherThanItsTenantsUser) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(R"([[tenant]]
name = "acme"
user = "acme"
[[tenant.process]]
name = "acd"
command = ["acd"]
user = "root"
)")),
      Errors{
          "test.toml:7:8: error: user 'root' differs from tenant acme's user 'acme', who owns its "
          "heartbeat segment"});
}

TEST(ConfigValidation, RejectsNegativeOrMistypedLimits) {
  EXPECT_EQ(errors_of(parse_with_cluster(R"([[system.process]]
name = "db"
command = ["db"]
limits = { nofile = -1, core = "none" }
)")),
            (Errors{"test.toml:4:21: error: nofile -1 must not be negative",
                    "test.toml:4:32: error: wrong type for 'core' in 'limits' of "
                    "[[system.process]]: expected "
                    "integer or \"unlimited\", found string"}));
}

// --- TOML syntax ---

TEST(ConfigValidation, ReportsATomlSyntaxErrorAtItsPosition) {
  const ParseResult r = parse(R"([cluster]
name = "c"
name = "d"
)");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where, (SourcePos{"test.toml", 3, 8}));
  EXPECT_EQ(r.errors[0].message.rfind("invalid TOML in ", 0), 0u) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("'name'"), std::string::npos) << r.errors[0].message;
}

TEST(ConfigValidation, ReportsAnUnterminatedStringAsSyntaxError) {
  const ParseResult r = parse("[cluster]\nname = \"c\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.line, 2u);
  EXPECT_EQ(r.errors[0].message.rfind("invalid TOML", 0), 0u) << r.errors[0].message;
}

}  // namespace
}  // namespace hamon::engine

namespace hamon::engine {
namespace {

TEST(ConfigValidation, APolicyNeedsItsCommand) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
on_peer_lost = "fence"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            Errors{"test.toml:3:16: error: on_peer_lost = \"fence\" needs fence_command (the "
                   "program that fences the peer; exit status 0 = fenced)"});
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
on_peer_lost = "witness"
witness_command = []
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:3:16: error: on_peer_lost = \"witness\" needs witness_command (the "
                    "program that says whether the peer is gone; exit status 0 = gone)",
                    "test.toml:4:19: error: 'witness_command' must name a program"}));
}

TEST(ConfigValidation, AFenceOptionThatWouldBreakTheAgentsInputIsRejected) {
  EXPECT_EQ(errors_of(parse(R"([cluster]
name = "c"
auth = "none"
on_peer_lost = "fence"
fence_command = ["fence_ipmilan"]
fence_options = { ip = 10, "a=b" = "x", passwd = "x\ny" }
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[system.process]]
name = "db"
command = ["db"]
)")),
            (Errors{"test.toml:6:24: error: wrong type for fence option 'ip': expected string, "
                    "found integer",
                    "test.toml:6:28: error: fence option name 'a=b' must be non-empty, without "
                    "'=' or line breaks",
                    "test.toml:6:50: error: fence option 'passwd' must not contain line breaks"}));
}

TEST(ConfigValidation, RejectsRoleSettingsOutOfRange) {
  const auto errors = errors_of(parse(R"([cluster]
name = "c"
on_peer_lost = "pray"
max_role_changes = 0
fence_timeout = "0s"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
[[tenant]]
name = "acme"
preferred_side = "left"
[[tenant.process]]
name = "acd"
command = ["acd"]
failover = "sometimes"
)"));
  EXPECT_EQ(errors,
            (Errors{"test.toml:3:16: error: invalid on_peer_lost 'pray': expected takeover, fence "
                    "or witness",
                    "test.toml:4:20: error: max_role_changes 0 is out of range 1..1000",
                    "test.toml:5:17: error: fence_timeout must be longer than 0",
                    "test.toml:12:18: error: invalid preferred_side 'left': expected primary or "
                    "secondary",
                    "test.toml:16:12: error: invalid failover 'sometimes': expected budget or "
                    "immediate"}));
}

TEST(ConfigSpares, AProcessWithSparesIsFollowedByItsInstances) {
  const auto r = test::parse_with_cluster(R"([[system.process]]
name = "svc"
command = ["/bin/svc"]
ready = "explicit"
spares = 2
[[system.process]]
name = "dep"
command = ["/bin/dep"]
depends_on = ["svc"]
)");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(test::errors_of(r));
  const auto& p = r.config->processes;
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].name, "svc");
  EXPECT_EQ(p[0].spares, 2u);
  EXPECT_EQ(p[0].family(), "svc");
  EXPECT_EQ(p[1].name, "svc~1");
  EXPECT_EQ(p[2].name, "svc~2");
  EXPECT_EQ(p[2].spare_of, "svc");
  EXPECT_EQ(p[2].family(), "svc");
  EXPECT_EQ(p[2].command, p[0].command);
  EXPECT_EQ(p[3].name, "dep");
  EXPECT_EQ(p[3].family(), "");
  EXPECT_EQ(p[3].depends_on, std::vector<std::string>{"system/svc"});
}

TEST(ConfigSpares, SparesNeedExplicitReadinessAndANameThatLeavesRoom) {
  EXPECT_EQ(test::errors_of(test::parse_with_cluster(R"([[system.process]]
name = "svc"
command = ["/bin/svc"]
spares = 1
)")),
            std::vector<std::string>{
                "test.toml:4:10: error: system/svc: spares need ready = \"explicit\": an instance "
                "is ready when it parks (hamon_park() / Heartbeat::park()), initialized"});
  EXPECT_EQ(test::errors_of(test::parse_with_cluster(R"([[system.process]]
name = "abcdefghijklmnopqrstuvwxyz01234"
command = ["/bin/svc"]
ready = "explicit"
spares = 1
)")),
            std::vector<std::string>{
                "test.toml:5:10: error: system/abcdefghijklmnopqrstuvwxyz01234: with spares its "
                "name must be at most 29 characters (its instances are named "
                "abcdefghijklmnopqrstuvwxyz01234~1…)"});
  EXPECT_FALSE(test::parse_with_cluster(R"([[system.process]]
name = "svc"
command = ["/bin/svc"]
ready = "explicit"
spares = 17
)")
                   .ok());
}

}  // namespace
}  // namespace hamon::engine
