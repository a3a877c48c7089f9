// Specification of the duplex under a partition, on two real nodes of one machine whose link
// runs through an in-test relay that blackholes it (docs/roles.md, rules 4 and 5): under
// `takeover` both sides take the other's tenants and the heal keeps the higher epoch; under
// `fence` nothing moves until the fence command has fenced the peer (and it is told whom, as a
// fence agent expects); under `witness` nothing moves while the witness still sees the peer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "duplex.hpp"
#include "roles_support.hpp"
#include "test_node.hpp"
#include "proc_file.hpp"

namespace hamon::test {
namespace {

using namespace std::chrono_literals;

bool lost_at(const TestNode& n) {
  return n.wait([](const node::NodeView& v) {
    const auto p = peer_of(v);
    return p && p->state == "lost";
  });
}

TEST(Partition, UnderTakeoverBothSidesTakeOverAndTheHealKeepsTheHigherEpoch) {
  Duplex d(kTenants, {.relays = true, .peer_timeout = "100ms"});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  ASSERT_TRUE(d.b().wait(
      [&](const node::NodeView& v) { return epoch(v, "acme") == epoch(d.a().view(), "acme"); }));
  const auto acme = epoch(d.a().view(), "acme");
  const auto globex = epoch(d.b().view(), "globex");

  // Speed first: each side takes the other's tenant in a new term; both are active for both.
  d.relay(0).blackhole(true);
  EXPECT_TRUE(roles_are(d.b(), "active", "active", 5s)) << roles_of(d.b());
  EXPECT_TRUE(roles_are(d.a(), "active", "active", 5s)) << roles_of(d.a());
  EXPECT_EQ(epoch(d.b().view(), "acme"), acme + 1);
  EXPECT_EQ(epoch(d.a().view(), "globex"), globex + 1);
  EXPECT_EQ(epoch(d.a().view(), "acme"), acme);

  // The heal: for each tenant the side with the higher epoch keeps it — the one that took it
  // over — and the other steps down, saying why. Then both agree on one term.
  d.relay(0).blackhole(false);
  EXPECT_TRUE(roles_are(d.a(), "standby", "active")) << roles_of(d.a());
  EXPECT_TRUE(roles_are(d.b(), "active", "standby")) << roles_of(d.b());
  EXPECT_TRUE(d.b().wait([&](const node::NodeView& v) {
    const auto a = d.a().view();
    return epoch(v, "acme") == acme + 1 && epoch(a, "acme") == acme + 1 &&
           epoch(v, "globex") == globex + 1 && epoch(a, "globex") == globex + 1;
  })) << roles_of(d.a())
      << "; " << roles_of(d.b());
  const auto events = d.a().events();
  bool said = false;
  for (const auto& e : events) {
    said = said || (e.kind == shm::EventKind::role_changed && e.group == "acme" &&
                    e.detail.find("active too, with epoch " + std::to_string(acme + 1)) !=
                        std::string::npos);
  }
  EXPECT_TRUE(said) << "no step-down of acme at a saying why";
}

TEST(Partition, UnderFenceNothingMovesUntilThePeerIsFenced) {
  // The fence agent logs what it was given (standard input, environment) and succeeds only once
  // the test has powered a off (the flag file).
  const auto dir = std::filesystem::temp_directory_path();
  const std::string log = (dir / ("hamon-it-fence-" + std::to_string(::getpid()))).string();
  const std::string flag = log + ".fenced";
  for (const char* n : {".a", ".b"}) std::filesystem::remove(log + n);
  std::filesystem::remove(flag);
  std::string keys = "on_peer_lost = \"fence\"\nfence_timeout = \"300ms\"\n";
  // Each node's agent logs to a file of its own (both sides fence: a cannot see b either).
  keys.append("fence_command = [\"/bin/sh\", \"-c\", \"{ echo \\\"to $HAMON_PEER\\\"; cat; } >> ")
      .append(log)
      .append(".$HAMON_NODE; test -e ")
      .append(flag)
      .append("\"]\n");
  keys.append("fence_options = { ip = \"10.0.0.5\", username = \"fencer\" }\n");
  Duplex d(kTenants, {.relays = true, .peer_timeout = "100ms", .cluster_keys = keys});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());

  d.relay(0).blackhole(true);
  ASSERT_TRUE(lost_at(d.b())) << node::render_table(d.b().view());
  // Fences fail (a still runs): b takes nothing over, and says so. Watched throughout.
  bool moved = false;
  EXPECT_TRUE(d.b().wait([&](const node::NodeView& v) {
    moved = moved || role(v, "acme") != "standby";
    return find_event(d.b().events(), shm::EventKind::alarm, "", "") >= 0;
  })) << read_proc_file(log + ".b");
  const auto until = std::chrono::steady_clock::now() + 800ms;  // more fence attempts
  while (std::chrono::steady_clock::now() < until) {
    moved = moved || role(d.b().view(), "acme") != "standby";
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_FALSE(moved) << roles_of(d.b());
  EXPECT_EQ(role(d.a().view(), "acme"), "active");

  // The fence agent was told what to do and to whom, the ClusterLabs way, with the options.
  const std::string told = read_proc_file(log + ".b");
  EXPECT_NE(told.find("to a\naction=off\nnodename=a\nip=10.0.0.5\nusername=fencer\n"),
            std::string::npos)
      << told;

  // a is powered off; the next fence succeeds, and b takes acme in a new term.
  const auto acme = epoch(d.b().view(), "acme");
  kill_everything(d.a());
  { std::ofstream(flag) << "off\n"; }
  EXPECT_TRUE(roles_are(d.b(), "active", "active", 5s)) << roles_of(d.b());
  EXPECT_EQ(epoch(d.b().view(), "acme"), acme + 1);
  for (const char* n : {".a", ".b"}) std::filesystem::remove(log + n);
  std::filesystem::remove(flag);
}

TEST(Partition, UnderTheWitnessPolicyAPartitionTakesNothingOver) {
  // The witness (a second path to the peer) still sees a: b must not take anything over.
  Duplex d(kTenants, {.relays = true,
                      .peer_timeout = "100ms",
                      .cluster_keys = "on_peer_lost = \"witness\"\n"
                                      "witness_command = [\"/bin/false\"]\n"
                                      "witness_timeout = \"500ms\""});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(roles_are(d.a(), "active", "standby")) << roles_of(d.a());
  ASSERT_TRUE(roles_are(d.b(), "standby", "active")) << roles_of(d.b());
  d.relay(0).blackhole(true);
  ASSERT_TRUE(d.b().wait([](const node::NodeView& v) {
    const auto p = peer_of(v);
    return p && p->state == "lost";
  })) << node::render_table(d.b().view());
  std::this_thread::sleep_for(1500ms);  // three witness answers
  EXPECT_EQ(role(d.b().view(), "acme"), "standby") << roles_of(d.b());
  EXPECT_EQ(role(d.a().view(), "globex"), "standby") << roles_of(d.a());
  const auto events = d.b().events();
  EXPECT_GE(find_event(events, shm::EventKind::alarm, "", ""), 0);
  d.relay(0).blackhole(false);
}

}  // namespace
}  // namespace hamon::test
