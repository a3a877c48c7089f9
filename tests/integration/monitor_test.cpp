// Specification of the monitor's pace on real daemons: it watches each process at that process's
// own interval — its clock tick follows the shortest interval it watches, including one a reload
// added, and relaxes again when that process is gone.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "test_node.hpp"

namespace hamon::test {
namespace {

using shm::EventKind;

std::string process(const std::string& name, const std::string& timing,
                    const std::string& args = "") {
  return "\n[[system.process]]\nname = \"" + name + "\"\ncommand = [\"@APP@\"" + args + "]\n" +
         timing + "\n";
}

const char* kSlow = "interval = \"50ms\"\ntimeout = \"400ms\"";
// A timeout a busy machine will not reach: this one is about the tick, not hangs.
const char* kFast = "interval = \"1ms\"\ntimeout = \"200ms\"";
// Hangs after about 100 ms of beats (it beats twice per interval), and stays down once killed.
// Not sooner: beats made before the monitor watches the process (it may come up after the spawn
// and adopt it) are not counted, and a process never seen beating is hung only at its start
// timeout.
const char* kFastOnce = "interval = \"1ms\"\ntimeout = \"3ms\"\nrestart = \"never\"";
const char* kHang = ", \"--hang-after\", \"200\"";
constexpr std::int64_t kFastTimeoutNs = 3'000'000;
// Half the shortest interval watched, at most 5 ms (engine::tick_for).
constexpr std::uint64_t kSlowTick = 5'000'000, kFastTick = 500'000;

bool tick_is(const TestNode& node, std::uint64_t tick) {
  return node.wait([&](const node::NodeView&) { return node.monitor_tick_ns() == tick; });
}

// The silence the monitor measured when it declared `name` hung (the hung event's value), or -1.
std::int64_t measured_silence(const TestNode& node, const std::string& name) {
  const auto ev = node.events();
  const int i = find_event(ev, EventKind::hung, "system", name);
  return i < 0 ? -1 : ev[static_cast<std::size_t>(i)].value;
}

bool hung_seen(const TestNode& node, const std::string& name) {
  return node.wait([&](const node::NodeView&) { return measured_silence(node, name) >= 0; });
}

// The monitor measures silence from the latest moment a beat can have happened, so the figure
// does not grow with the machine's noise, only with the monitor's own pace.
void expect_hang_seen_at_its_timeout(const TestNode& node, const std::string& name) {
  const std::int64_t silence = measured_silence(node, name);
  EXPECT_GE(silence, kFastTimeoutNs) << "declared hung before its timeout";
  EXPECT_LT(silence, kFastTimeoutNs + 10'000'000);
}

TEST(Monitor, TicksAtHalfTheShortestIntervalOfTheProcessesPresentAtStart) {
  TestNode node(process("slow", kSlow) + process("fast", kFast));
  ASSERT_EQ(node.up().code, 0);
  EXPECT_TRUE(tick_is(node, kFastTick)) << "the tick is " << node.monitor_tick_ns() << " ns";
}

TEST(Monitor, TheTickFollowsAReloadThatAddsAndThenRemovesAFasterProcess) {
  TestNode node(process("slow", kSlow) + process("slower", kSlow));
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(tick_is(node, kSlowTick)) << "the tick is " << node.monitor_tick_ns() << " ns";
  node.rewrite(process("slow", kSlow) + process("slower", kSlow) + process("fast", kFast));
  auto r = node.hamon({"reload"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(tick_is(node, kFastTick)) << "the tick stayed at " << node.monitor_tick_ns() << " ns";
  node.rewrite(process("slow", kSlow) + process("slower", kSlow));
  r = node.hamon({"reload"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(tick_is(node, kSlowTick))
      << "the tick stayed at " << node.monitor_tick_ns() << " ns with no fast process left";
}

TEST(Monitor, SeesAHangAtItsTimeoutInAProcessPresentAtStart) {
  TestNode node(process("slow", kSlow) + process("fast", kFastOnce, kHang));
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(hung_seen(node, "fast")) << "the hang was never seen";
  expect_hang_seen_at_its_timeout(node, "fast");
}

TEST(Monitor, SeesAHangAtItsTimeoutInAProcessAReloadAdded) {
  TestNode node(process("slow", kSlow) + process("slower", kSlow));
  ASSERT_EQ(node.up().code, 0);
  node.rewrite(process("slow", kSlow) + process("slower", kSlow) +
               process("fast", kFastOnce, kHang));
  const auto r = node.hamon({"reload"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(hung_seen(node, "fast")) << "the hang was never seen";
  expect_hang_seen_at_its_timeout(node, "fast");
}

// A process that hangs while hamon-monitor is down (killed, on its way back) beats no more for
// the next monitor to see: that monitor must still find it hung, one timeout after it took over,
// and leave alone the healthy process it adopted beside it.
TEST(Monitor, FindsAHangThatBeganWhileNoMonitorRan) {
  TestNode node(process("healthy", kSlow) + process("frozen", kSlow));
  ASSERT_EQ(node.up().code, 0);
  const auto healthy = node.process("system", "healthy");
  const auto frozen = node.process("system", "frozen");
  const auto monitor = daemon_row(node.view(), "hamon-monitor");
  ASSERT_TRUE(healthy && frozen && monitor && monitor->pid > 0);
  // Frozen, then the monitor gone at once: far within the 400 ms timeout, so no monitor saw the
  // silence begin.
  ASSERT_EQ(::kill(frozen->pid, SIGSTOP), 0);
  ASSERT_EQ(::kill(monitor->pid, SIGKILL), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "frozen");
    return p && p->pid != frozen->pid && p->state == "running";
  })) << "the frozen process was never found hung\n"
      << node::render_table(node.view());
  EXPECT_GE(find_event(node.events(), EventKind::hung, "system", "frozen"), 0);
  const auto h = node.process("system", "healthy");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->pid, healthy->pid) << "a healthy process was restarted";
  EXPECT_EQ(h->restarts, 0u);
}

// The same for a process ready at its spawn (ready = "spawn") that beats all the same: no beat
// made it ready, but its beats are in its slot, and they say it must go on beating.
TEST(Monitor, FindsAHangThatBeganWhileNoMonitorRanInAProcessReadyAtSpawn) {
  TestNode node(process("healthy", kSlow) +
                process("frozen", std::string(kSlow) + "\nready = \"spawn\""));
  ASSERT_EQ(node.up().code, 0);
  // It has beaten, and the monitor has seen it.
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "frozen");
    return p && p->state == "running" && p->heartbeat_age_us && *p->heartbeat_age_us < 200'000;
  })) << node::render_table(node.view());
  const auto frozen = node.process("system", "frozen");
  const auto monitor = daemon_row(node.view(), "hamon-monitor");
  ASSERT_TRUE(frozen && monitor && monitor->pid > 0);
  ASSERT_EQ(::kill(frozen->pid, SIGSTOP), 0);
  ASSERT_EQ(::kill(monitor->pid, SIGKILL), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "frozen");
    return p && p->pid != frozen->pid && p->state == "running";
  })) << "the frozen process was never found hung\n"
      << node::render_table(node.view());
  EXPECT_GE(find_event(node.events(), EventKind::hung, "system", "frozen"), 0);
}

}  // namespace
}  // namespace hamon::test
