// What a reader of the event ring learns over time (node/event_stats.hpp): events by kind, the
// time hamon took to bring a process back, and how long a process was silent when declared hung.
#include "hamon/node/event_stats.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace hamon::node {
namespace {

constexpr std::uint64_t kMs = 1'000'000;

shm::Event event(shm::EventKind kind, std::uint64_t t_ns, std::uint64_t inc,
                 const char* tenant = "acme", const char* name = "acd") {
  shm::Event e;
  e.kind = kind;
  e.t_ns = t_ns;
  e.incarnation = inc;
  e.slot = 7;
  e.set_group(tenant);
  e.set_name(name);
  return e;
}

TEST(Histogram, CountsEachValueUnderTheFirstBoundItDoesNotExceed) {
  Histogram h;
  h.observe(0.0001);  // on a bound: that bound's
  h.observe(0.0003);
  h.observe(42);  // above them all
  EXPECT_EQ(h.buckets[0], 1u);
  EXPECT_EQ(h.buckets[2], 1u);
  EXPECT_EQ(h.buckets.back(), 1u);
  EXPECT_EQ(h.count, 3u);
  EXPECT_DOUBLE_EQ(h.sum, 42.0004);
}

TEST(EventStats, CountsEveryEventByKindAndWhatWentByUnread) {
  EventStats s;
  s.observe(event(shm::EventKind::spawned, 1, 1));
  s.observe(event(shm::EventKind::spawned, 2, 2));
  s.observe(event(shm::EventKind::exited, 3, 2));
  s.lost(5);
  EXPECT_EQ(s.counts().at("spawned"), 2u);
  EXPECT_EQ(s.counts().at("exited"), 1u);
  EXPECT_EQ(s.counts().at("lost"), 5u);
}

TEST(EventStats, ARestartLastsFromTheEndToTheReadyOfItsSuccessor) {
  EventStats s;
  s.observe(event(shm::EventKind::exited, 100 * kMs, 1));
  s.observe(event(shm::EventKind::restarting, 100 * kMs, 1));
  s.observe(event(shm::EventKind::spawned, 101 * kMs, 2));
  s.observe(event(shm::EventKind::ready, 103 * kMs, 2));
  const auto& h = s.restart_seconds().at("acme");
  EXPECT_EQ(h.count, 1u);
  EXPECT_DOUBLE_EQ(h.sum, 0.003);
  // A second ready of the same incarnation is no second restart.
  s.observe(event(shm::EventKind::ready, 104 * kMs, 2));
  EXPECT_EQ(s.restart_seconds().at("acme").count, 1u);
}

// The server hears of a crash from the monitor and may post its restart before the spawner,
// which reaps the process, posts the exit.
TEST(EventStats, ARestartDecidedBeforeTheExitWasPostedIsStillOne) {
  EventStats s;
  s.observe(event(shm::EventKind::restarting, 100 * kMs, 1));
  s.observe(event(shm::EventKind::exited, 101 * kMs, 1));
  s.observe(event(shm::EventKind::ready, 105 * kMs, 2));
  ASSERT_EQ(s.restart_seconds().count("acme"), 1u);
  EXPECT_DOUBLE_EQ(s.restart_seconds().at("acme").sum, 0.005);
}

TEST(EventStats, AHangCountsItsSilenceAndItsRestartFromTheHangNotTheKill) {
  EventStats s;
  auto hung = event(shm::EventKind::hung, 500 * kMs, 4);
  hung.value = static_cast<std::int64_t>(310 * kMs);
  s.observe(hung);
  s.observe(event(shm::EventKind::exited, 520 * kMs, 4));  // killed for it
  s.observe(event(shm::EventKind::restarting, 520 * kMs, 4));
  s.observe(event(shm::EventKind::ready, 530 * kMs, 5));
  EXPECT_EQ(s.hang_silence_seconds().at("acme").count, 1u);
  EXPECT_DOUBLE_EQ(s.hang_silence_seconds().at("acme").sum, 0.31);
  EXPECT_DOUBLE_EQ(s.restart_seconds().at("acme").sum, 0.03);
}

TEST(EventStats, FailedStartsInBetweenBelongToTheRestart) {
  EventStats s;
  s.observe(event(shm::EventKind::exited, 0, 1));
  s.observe(event(shm::EventKind::restarting, 0, 1));
  s.observe(event(shm::EventKind::exited, 5 * kMs, 2));  // cannot start
  s.observe(event(shm::EventKind::restarting, 5 * kMs, 2));
  s.observe(event(shm::EventKind::ready, 20 * kMs, 3));
  EXPECT_DOUBLE_EQ(s.restart_seconds().at("acme").sum, 0.02);
}

TEST(EventStats, AStopAGiveUpOrAnOperatorsStartIsNoRestart) {
  EventStats s;
  s.observe(event(shm::EventKind::stopped, 0, 1));
  s.observe(event(shm::EventKind::exited, 1 * kMs, 1));
  s.observe(event(shm::EventKind::ready, 900 * kMs, 2));  // started again by hand
  s.observe(event(shm::EventKind::exited, 1000 * kMs, 2));
  s.observe(event(shm::EventKind::restarting, 1000 * kMs, 2));
  s.observe(event(shm::EventKind::failed, 1001 * kMs, 3));
  s.observe(event(shm::EventKind::ready, 5000 * kMs, 4));
  EXPECT_TRUE(s.restart_seconds().empty());
}

TEST(EventStats, EachTenantAndProcessIsItsOwn) {
  EventStats s;
  s.observe(event(shm::EventKind::exited, 0, 1, "acme", "acd"));
  s.observe(event(shm::EventKind::restarting, 0, 1, "acme", "acd"));
  s.observe(event(shm::EventKind::exited, 0, 1, "beta", "acd"));
  s.observe(event(shm::EventKind::restarting, 0, 1, "beta", "acd"));
  s.observe(event(shm::EventKind::ready, 2 * kMs, 2, "beta", "acd"));
  EXPECT_EQ(s.restart_seconds().count("acme"), 0u);
  EXPECT_DOUBLE_EQ(s.restart_seconds().at("beta").sum, 0.002);
  s.observe(event(shm::EventKind::ready, 4 * kMs, 2, "acme", "acd"));
  EXPECT_DOUBLE_EQ(s.restart_seconds().at("acme").sum, 0.004);
}

TEST(EventStats, ADaemonsHangIsCountedButIsNoProcesssHang) {
  EventStats s;
  auto hung = event(shm::EventKind::hung, 0, 0, "", "hamon-monitor");
  hung.slot = UINT32_MAX;
  hung.value = static_cast<std::int64_t>(kMs);
  s.observe(hung);
  EXPECT_EQ(s.counts().at("hung"), 1u);
  EXPECT_TRUE(s.hang_silence_seconds().empty());
}

TEST(EventStats, ANewNodeForgetsTheEndsItsPredecessorSaw) {
  EventStats s;
  s.observe(event(shm::EventKind::exited, 0, 1));
  s.observe(event(shm::EventKind::restarting, 0, 1));
  s.restart_node();
  s.observe(event(shm::EventKind::ready, 9 * kMs, 2));
  EXPECT_TRUE(s.restart_seconds().empty());
}

}  // namespace
}  // namespace hamon::node
