// Specification of the duplex role rules (engine/roles.hpp), one node's engine at a time: the
// peer is whatever the test says it reports. roles_random_test.cpp runs two engines against each
// other through an unreliable link.
#include "hamon/engine/roles.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace hamon::engine {
namespace {

constexpr std::uint64_t kMs = 1'000'000;

struct OneNode : ::testing::Test {
  RoleSettings settings(Side side, PeerLostPolicy policy = PeerLostPolicy::takeover) {
    RoleSettings s;
    s.side = side;
    s.on_peer_lost = policy;
    s.wait_for_peer_ns = 1000 * kMs;
    s.check_timeout_ns = 500 * kMs;
    s.max_role_changes = 3;
    s.role_change_window_ns = 10'000 * kMs;
    return s;
  }
  Roles make(Side side, PeerLostPolicy policy = PeerLostPolicy::takeover,
             Standby standby = Standby::hot) {
    return Roles({{"acme", Side::primary, standby}, {"globex", Side::secondary, standby}},
                 settings(side, policy), 0);
  }
  static PeerTenantView peer(Role r, std::uint64_t epoch, std::uint32_t critical = 0,
                             bool asks = false) {
    return {r, epoch, critical, asks};
  }
  static std::vector<Role> roles(const Roles& r) {
    std::vector<Role> out;
    for (std::size_t t = 0; t < r.size(); ++t) out.push_back(r.role(t));
    return out;
  }
};

TEST_F(OneNode, NothingIsActiveBeforeThePeerIsSeenOrWaitForPeerHasPassed) {
  Roles r = make(Side::primary);
  r.tick(999 * kMs);
  EXPECT_EQ(roles(r), (std::vector{Role::standby, Role::standby}));
  EXPECT_TRUE(r.take_changes().empty());
  EXPECT_EQ(r.next_deadline(), 1000 * kMs);
  r.tick(1000 * kMs);  // wait-for-all has passed: the policy (takeover) allows it
  EXPECT_EQ(roles(r), (std::vector{Role::active, Role::active}));
  const auto changes = r.take_changes();
  ASSERT_EQ(changes.size(), 4u);  // standby → taking_over → active, for each
  EXPECT_EQ(changes[0].to, Role::taking_over);
  EXPECT_EQ(changes[1].to, Role::active);
  EXPECT_EQ(changes[1].epoch, 1u);
}

TEST_F(OneNode, WithThePeerUpEachTenantGoesToItsPreferredSide) {
  Roles a = make(Side::primary);
  Roles b = make(Side::secondary);
  for (Roles* r : {&a, &b}) {
    r->peer_link(PeerLinkState::up, 5 * kMs);
    r->peer_tenant(0, peer(Role::standby, 0), 5 * kMs);
    r->peer_tenant(1, peer(Role::standby, 0), 5 * kMs);
  }
  EXPECT_EQ(roles(a), (std::vector{Role::active, Role::standby}));
  EXPECT_EQ(roles(b), (std::vector{Role::standby, Role::active}));
  EXPECT_EQ(a.epoch(0), 1u);
}

TEST_F(OneNode, AStandbyFollowsTheActivesEpoch) {
  Roles b = make(Side::secondary);
  b.peer_link(PeerLinkState::up, 0);
  b.peer_tenant(0, peer(Role::active, 7), 0);
  EXPECT_EQ(b.role(0), Role::standby);
  EXPECT_EQ(b.epoch(0), 7u);
  // Reported, with no change of role, so that it is published.
  auto changes = b.take_changes();
  std::erase_if(changes, [](const RoleChange& c) { return c.tenant != 0; });
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].from, Role::standby);
  EXPECT_EQ(changes[0].to, Role::standby);
  EXPECT_EQ(changes[0].epoch, 7u);
}

TEST_F(OneNode, ThePeerLostMakesTheStandbyActiveWithAHigherEpoch) {
  Roles b = make(Side::secondary);
  b.peer_tenant(0, peer(Role::active, 3), 0);
  b.peer_tenant(1, peer(Role::active, 2), 0);
  b.peer_link(PeerLinkState::up, 0);
  b.peer_link(PeerLinkState::lost, 10 * kMs);
  EXPECT_EQ(b.role(0), Role::active);
  EXPECT_EQ(b.epoch(0), 4u);
  auto changes = b.take_changes();
  std::erase_if(changes, [](const RoleChange& c) { return c.tenant != 0 || c.from == c.to; });
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes.front().to, Role::taking_over);
  EXPECT_EQ(changes.front().why, "the peer is lost (takeover)");
}

TEST_F(OneNode, UnderFenceNothingIsTakenOverUntilTheFencePasses) {
  Roles b = make(Side::secondary, PeerLostPolicy::fence);
  b.peer_link(PeerLinkState::up, 0);
  b.peer_tenant(0, peer(Role::active, 3), 0);
  b.peer_link(PeerLinkState::lost, 10 * kMs);
  EXPECT_EQ(b.role(0), Role::standby);
  EXPECT_TRUE(b.take_check());
  EXPECT_FALSE(b.take_check());  // once per ask
  b.check_done(false, 20 * kMs);
  EXPECT_EQ(b.role(0), Role::standby);
  // Asked again after check_timeout, then it passes.
  b.tick(519 * kMs);
  EXPECT_FALSE(b.take_check());
  b.tick(520 * kMs);
  EXPECT_TRUE(b.take_check());
  b.check_done(true, 530 * kMs);
  EXPECT_EQ(b.role(0), Role::active);
}

TEST_F(OneNode, ACheckThatDoesNotAnswerFails) {
  Roles b = make(Side::secondary, PeerLostPolicy::witness);
  b.peer_link(PeerLinkState::up, 0);
  b.peer_tenant(0, peer(Role::active, 3), 0);
  b.peer_link(PeerLinkState::lost, 10 * kMs);
  ASSERT_TRUE(b.take_check());
  b.tick(510 * kMs);
  b.check_done(true, 511 * kMs);  // too late: it was given up
  EXPECT_EQ(b.role(0), Role::standby);
  const auto notes = b.take_notes();
  ASSERT_FALSE(notes.empty());
  EXPECT_EQ(notes.back().kind, RoleNote::Kind::check_failed);
}

TEST_F(OneNode, ACheckPassedForALossIsNotReusedForTheNext) {
  Roles b = make(Side::secondary, PeerLostPolicy::fence);
  b.peer_link(PeerLinkState::up, 0);
  b.peer_tenant(0, peer(Role::active, 3), 0);
  b.peer_link(PeerLinkState::lost, 10 * kMs);
  ASSERT_TRUE(b.take_check());
  b.check_done(true, 20 * kMs);
  ASSERT_EQ(b.role(0), Role::active);
  // The peer comes back, takes it over by a switchover, and is lost again.
  b.peer_link(PeerLinkState::up, 30 * kMs);
  b.peer_tenant(0, peer(Role::standby, 4), 30 * kMs);
  b.peer_tenant(1, peer(Role::standby, 0), 30 * kMs);
  ASSERT_TRUE(b.switchover(0, 40 * kMs));
  b.peer_tenant(0, peer(Role::active, 5), 41 * kMs);
  ASSERT_EQ(b.role(0), Role::standby);
  b.peer_link(PeerLinkState::lost, 50 * kMs);
  EXPECT_EQ(b.role(0), Role::standby);
  EXPECT_TRUE(b.take_check());
}

TEST_F(OneNode, WhenBothAreActiveTheHigherEpochStaysAndTheOtherStepsDownWithoutHandingOver) {
  Roles a = make(Side::primary);
  a.peer_link(PeerLinkState::up, 0);
  a.peer_tenant(0, peer(Role::standby, 0), 0);
  ASSERT_EQ(a.role(0), Role::active);  // epoch 1
  a.take_changes();
  a.peer_tenant(0, peer(Role::active, 2), 10 * kMs);  // it took over during a partition
  EXPECT_EQ(a.role(0), Role::standby);
  EXPECT_EQ(a.epoch(0), 2u);
  const auto changes = a.take_changes();
  ASSERT_GE(changes.size(), 2u);
  EXPECT_EQ(changes[0].to, Role::stepping_down);
  EXPECT_EQ(changes[1].to, Role::standby);
  EXPECT_NE(changes[0].why.find("with epoch 2"), std::string::npos) << changes[0].why;
}

TEST_F(OneNode, OnATieThePreferredSideStays) {
  Roles a = make(Side::primary);
  Roles b = make(Side::secondary);
  for (Roles* r : {&a, &b}) ASSERT_TRUE(r->activate(0, 0));
  a.peer_link(PeerLinkState::up, kMs);
  b.peer_link(PeerLinkState::up, kMs);
  a.peer_tenant(0, peer(Role::active, 1), kMs);
  b.peer_tenant(0, peer(Role::active, 1), kMs);
  EXPECT_EQ(a.role(0), Role::active);  // acme prefers the primary
  EXPECT_EQ(b.role(0), Role::standby);
}

TEST_F(OneNode, ASwitchoverHandsTheNextEpochToThePeer) {
  Roles a = make(Side::primary);
  a.peer_link(PeerLinkState::up, 0);
  a.peer_tenant(0, peer(Role::standby, 0), 0);
  ASSERT_EQ(a.role(0), Role::active);
  ASSERT_TRUE(a.switchover(0, kMs));
  EXPECT_EQ(a.role(0), Role::standby);
  EXPECT_EQ(a.epoch(0), 2u);  // the peer's to take: it becomes active at 2
  // Not taken back while the peer has not taken it yet.
  a.tick(2 * kMs);
  EXPECT_EQ(a.role(0), Role::standby);
  a.peer_tenant(0, peer(Role::active, 2), 3 * kMs);
  EXPECT_EQ(a.role(0), Role::standby);
}

TEST_F(OneNode, ASwitchoverWaitsForTheDrainOrItsTimeout) {
  RoleSettings s = settings(Side::primary);
  s.drain_timeout_ns = 100 * kMs;
  Roles a({{"acme", Side::primary, Standby::hot}}, s, 0);
  a.peer_link(PeerLinkState::up, 0);
  a.peer_tenant(0, peer(Role::standby, 0), 0);
  ASSERT_TRUE(a.switchover(0, kMs));
  EXPECT_EQ(a.role(0), Role::stepping_down);
  EXPECT_EQ(a.next_deadline(), 101 * kMs);
  a.drained(0, 5 * kMs);  // the applications acknowledged early
  EXPECT_EQ(a.role(0), Role::standby);
}

TEST_F(OneNode, AStandbySideAsksAndTakesItWhenHandedOver) {
  Roles b = make(Side::secondary);
  b.peer_link(PeerLinkState::up, 0);
  b.peer_tenant(0, peer(Role::active, 1), 0);
  ASSERT_TRUE(b.switchover(0, kMs));
  EXPECT_TRUE(b.asks(0));
  EXPECT_EQ(b.role(0), Role::standby);
  b.peer_tenant(0, peer(Role::stepping_down, 1), 2 * kMs);
  EXPECT_EQ(b.role(0), Role::standby);
  b.peer_tenant(0, peer(Role::standby, 2), 3 * kMs);
  EXPECT_EQ(b.role(0), Role::active);
  EXPECT_EQ(b.epoch(0), 2u);
  EXPECT_FALSE(b.asks(0));
}

TEST_F(OneNode, TheActiveSideHandsOverWhenThePeerAsks) {
  Roles a = make(Side::primary);
  a.peer_link(PeerLinkState::up, 0);
  a.peer_tenant(0, peer(Role::standby, 0), 0);
  ASSERT_EQ(a.role(0), Role::active);
  a.peer_tenant(0, peer(Role::standby, 1, 0, true), kMs);
  EXPECT_EQ(a.role(0), Role::standby);
  EXPECT_EQ(a.epoch(0), 2u);
}

TEST_F(OneNode, ASwitchoverIsRefusedWithAReasonWhenThePeerCannotTakeIt) {
  Roles a = make(Side::primary);
  auto refused = [&](const char* why) {
    auto s = a.switchover(0, kMs);
    EXPECT_FALSE(s);
    return !s && s.error().message.find(why) != std::string::npos;
  };
  EXPECT_TRUE(refused("the peer is not up"));
  a.peer_link(PeerLinkState::up, 0);
  a.peer_tenant(0, peer(Role::standby, 0, 2), 0);
  ASSERT_EQ(a.role(0), Role::active);
  EXPECT_TRUE(refused("cannot keep its critical processes up"));
  EXPECT_EQ(a.role(0), Role::active);
}

TEST_F(OneNode, ACriticalFailureMovesOnlyThatTenantAndOnlyToAHealthyPeer) {
  Roles a = make(Side::primary);
  a.peer_link(PeerLinkState::up, 0);
  a.peer_tenant(0, peer(Role::standby, 0, 1), 0);  // the peer's side is not healthy either
  a.peer_tenant(1, peer(Role::active, 1), 0);
  ASSERT_EQ(a.role(0), Role::active);
  a.local_health(0, 1, kMs);
  EXPECT_EQ(a.role(0), Role::active);  // nowhere better to go
  a.peer_tenant(0, peer(Role::standby, 1, 0), 2 * kMs);
  EXPECT_EQ(a.role(0), Role::standby);
  EXPECT_EQ(a.role(1), Role::standby);  // globex was the peer's, and stays there
  EXPECT_EQ(a.epoch(0), 2u);
}

TEST_F(OneNode, FlappingIsDampedAndTheTenantHoldsWithAnAlarm) {
  Roles a = make(Side::primary);  // max 3 automatic changes in 10 s
  a.peer_link(PeerLinkState::up, 0);
  a.peer_tenant(0, peer(Role::standby, 0), 0);
  std::uint64_t epoch = a.epoch(0);
  std::uint64_t now = kMs;
  for (int round = 0; round < 3; ++round) {
    // Its critical process fails; the peer takes it; the peer hands it back the same way.
    ASSERT_EQ(a.role(0), Role::active) << round;
    a.local_health(0, 1, now);
    ASSERT_EQ(a.role(0), Role::standby) << round;
    a.local_health(0, 0, now);
    epoch = a.epoch(0);
    a.peer_tenant(0, peer(Role::active, epoch), now);
    a.peer_tenant(0, peer(Role::standby, epoch + 1), now);
    now += kMs;
  }
  ASSERT_EQ(a.role(0), Role::active);
  a.local_health(0, 1, now);
  EXPECT_EQ(a.role(0), Role::active);  // held
  EXPECT_TRUE(a.held(0));
  const auto notes = a.take_notes();
  ASSERT_FALSE(notes.empty());
  EXPECT_EQ(notes.back().kind, RoleNote::Kind::held);
  // The operator may still move it.
  EXPECT_TRUE(a.switchover(0, now + kMs));
  EXPECT_EQ(a.role(0), Role::standby);
}

TEST_F(OneNode, AForcedActivationTakesTheTenantWhateverThePolicy) {
  Roles b = make(Side::secondary, PeerLostPolicy::fence);
  b.peer_link(PeerLinkState::up, 0);
  b.peer_tenant(0, peer(Role::active, 4), 0);
  b.peer_link(PeerLinkState::lost, kMs);
  ASSERT_EQ(b.role(0), Role::standby);
  ASSERT_TRUE(b.activate(0, 2 * kMs));
  EXPECT_EQ(b.role(0), Role::active);
  EXPECT_EQ(b.epoch(0), 5u);
  EXPECT_FALSE(b.activate(0, 3 * kMs));
}

TEST_F(OneNode, ColdStandbyIsTakingOverUntilItsProcessesAreReady) {
  Roles b = make(Side::secondary, PeerLostPolicy::takeover, Standby::cold);
  b.peer_link(PeerLinkState::up, 0);
  b.peer_tenant(0, peer(Role::active, 1), 0);
  b.peer_link(PeerLinkState::lost, kMs);
  EXPECT_EQ(b.role(0), Role::taking_over);
  b.ready(0, 5 * kMs);
  EXPECT_EQ(b.role(0), Role::active);
}

TEST_F(OneNode, ARestartedServerGoesOnWithWhatWasPublished) {
  Roles b = make(Side::secondary);
  b.restore(0, Role::active, 9);
  b.restore(1, Role::stepping_down, 4);
  EXPECT_EQ(b.role(0), Role::active);
  EXPECT_EQ(b.role(1), Role::standby);  // a hand-over it may not have published is not made
  EXPECT_EQ(b.epoch(1), 4u);
  EXPECT_TRUE(b.take_changes().empty());
}

}  // namespace
}  // namespace hamon::engine
