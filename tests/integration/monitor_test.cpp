// Specification of the monitor's pace on real daemons: it watches each process at that process's
// own interval — its clock tick follows the shortest interval it watches, including one a reload
// added, and relaxes again when that process is gone.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <ctime>
#include <string>
#include <vector>
#include <thread>

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

// What of the silence the monitor excused, as the hung event's detail says ("…, 2000us of it
// excused: the monitor could not run, 9000us of it excused: its CPU could not run it"), in ns.
std::int64_t excused_ns(const std::string& detail) {
  std::int64_t total = 0;
  const std::string mark = "us of it excused";
  for (auto at = detail.find(mark); at != std::string::npos; at = detail.find(mark, at + 1)) {
    const auto begin = detail.rfind(' ', at);
    if (begin == std::string::npos) break;
    total += std::stoll(detail.substr(begin + 1, at - begin - 1)) * 1000;
  }
  return total;
}

// The monitor measures silence from the latest moment a beat can have happened, so the figure
// does not grow with the machine's noise, only with the monitor's own pace — and with what it
// excused: a stall of the monitor or of the process's CPU (a vCPU the host did not run for
// 10 ms, say) moves the verdict on by that much, and says so.
void expect_hang_seen_at_its_timeout(const TestNode& node, const std::string& name) {
  const std::int64_t silence = measured_silence(node, name);
  EXPECT_GE(silence, kFastTimeoutNs) << "declared hung before its timeout";
  const auto ev = node.events();
  const int i = find_event(ev, EventKind::hung, "system", name);
  ASSERT_GE(i, 0);
  const std::string& detail = ev[static_cast<std::size_t>(i)].detail;
  EXPECT_LT(silence - excused_ns(detail), kFastTimeoutNs + 10'000'000) << detail;
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

// The whole node stalls (a virtual machine paused, a host overloaded): the monitor and the
// processes stop together for longer than the processes' timeout, and the monitor runs again
// first. A process that resumes a moment later is no hang; one that stays stopped is found hung
// once it has been silent for its timeout of the monitor's own running time — not at once.
TEST(Monitor, AStallOfTheWholeNodeIsNoHangButAProcessStillSilentAfterItIs) {
  const char* timing = "interval = \"20ms\"\ntimeout = \"150ms\"";
  TestNode node(process("resumes", timing) + process("stays", timing));
  ASSERT_EQ(node.up().code, 0);
  const auto resumes = node.process("system", "resumes");
  const auto stays = node.process("system", "stays");
  const auto monitor = daemon_row(node.view(), "hamon-monitor");
  ASSERT_TRUE(resumes && stays && monitor && resumes->pid > 0 && stays->pid > 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto a = node.process("system", "resumes");
    const auto b = node.process("system", "stays");
    return a && b && a->state == "running" && b->state == "running";
  }));
  ASSERT_EQ(::kill(resumes->pid, SIGSTOP), 0);
  ASSERT_EQ(::kill(stays->pid, SIGSTOP), 0);
  ASSERT_EQ(::kill(monitor->pid, SIGSTOP), 0);
  // Well past the 150 ms timeout, well within the master's 1 s patience with its monitor.
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  timespec resumed{};
  ::clock_gettime(CLOCK_MONOTONIC, &resumed);
  const auto resumed_ns = static_cast<std::uint64_t>(resumed.tv_sec) * 1'000'000'000ULL +
                          static_cast<std::uint64_t>(resumed.tv_nsec);
  ASSERT_EQ(::kill(monitor->pid, SIGCONT), 0);
  // The monitor runs its turns alone for a moment, as it might after a real stall.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_EQ(::kill(resumes->pid, SIGCONT), 0) << "taken for hung at once";
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto b = node.process("system", "stays");
    return b && b->pid != stays->pid && b->state == "running";
  })) << "the process still stopped was never found hung\n"
      << node::render_table(node.view());
  const auto ev = node.events();
  EXPECT_LT(find_event(ev, EventKind::hung, "system", "resumes"), 0)
      << "a process that only stalled with the node was taken for hung";
  const auto r = node.process("system", "resumes");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pid, resumes->pid);
  EXPECT_EQ(r->restarts, 0u);
  const int h = find_event(ev, EventKind::hung, "system", "stays");
  ASSERT_GE(h, 0);
  const auto& hung = ev[static_cast<std::size_t>(h)];
  // Not at once: after about 150 ms of the monitor's own time, less its 10 ms allowance for a
  // late timer and the part of an interval between the last beat and the stall.
  EXPECT_GE(hung.t_ns, resumed_ns + 100'000'000) << hung.detail;
  for (const auto& d : node.view().daemons) EXPECT_EQ(d.restarts, 0u) << d.name;
}

// The same stall, longer than the master's patience with its monitor (1 s): daemons and
// processes stop together and resume together — the watchers first, as it may happen. Nothing
// is killed, nothing restarted.
TEST(Monitor, AStallOfTheWholeNodeKillsNoDaemonAndRestartsNothing) {
  const char* timing = "interval = \"20ms\"\ntimeout = \"150ms\"";
  TestNode node(process("one", timing) + process("two", timing));
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    return v.processes.size() == 2 && v.processes[0].state == "running" &&
           v.processes[1].state == "running";
  }));
  const auto before = node.view();
  std::vector<pid_t> processes, daemons;
  for (const auto& p : before.processes) processes.push_back(p.pid);
  for (const char* name :
       {"hamon-watcher", "hamon-master", "hamon-spawner", "hamon-server", "hamon-monitor"}) {
    const auto d = daemon_row(before, name);
    ASSERT_TRUE(d && d->pid > 0) << name;
    daemons.push_back(d->pid);
  }
  for (const pid_t p : processes) ASSERT_EQ(::kill(p, SIGSTOP), 0);
  for (const pid_t p : daemons) ASSERT_EQ(::kill(p, SIGSTOP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  timespec resumed{};
  ::clock_gettime(CLOCK_MONOTONIC, &resumed);
  const auto resumed_ns = static_cast<std::uint64_t>(resumed.tv_sec) * 1'000'000'000ULL +
                          static_cast<std::uint64_t>(resumed.tv_nsec);
  for (const pid_t p : daemons) ASSERT_EQ(::kill(p, SIGCONT), 0);
  for (const pid_t p : processes) ASSERT_EQ(::kill(p, SIGCONT), 0);
  // Every daemon and every process has beaten since: any verdict on the stall is in by now.
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    for (const auto& d : v.daemons) {
      if (d.heartbeat_age_us && *d.heartbeat_age_us > 50'000) return false;
    }
    for (const auto& p : v.processes) {
      if (!p.heartbeat_age_us || *p.heartbeat_age_us > 50'000) return false;
    }
    return node.monitor_tick_ns() != 0;
  })) << node::render_table(node.view());
  // And one more full timeout of the monitor's time.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto after = node.view();
  for (const auto& e : node.events()) {
    if (e.t_ns < resumed_ns) continue;
    EXPECT_NE(e.kind, EventKind::hung) << e.name << ": " << e.detail;
    EXPECT_NE(e.kind, EventKind::daemon_exited) << e.name << ": " << e.detail;
  }
  for (std::size_t i = 0; i < after.processes.size(); ++i) {
    EXPECT_EQ(after.processes[i].pid, processes[i]) << after.processes[i].name;
  }
  for (const auto& d : after.daemons) EXPECT_EQ(d.restarts, 0u) << d.name;
}

// A stall the monitor sleeps through: the processes stop together for longer than their timeout
// while the monitor, waiting for their deadlines, is never late. Most fell silent together: the
// machine's stall, not theirs — no verdict if they beat again within one more timeout. A node
// whose processes all truly hang still finds them hung, one timeout later.
TEST(Monitor, ProcessesSilentTogetherAreGivenOneMoreTimeout) {
  const char* timing = "interval = \"20ms\"\ntimeout = \"150ms\"";
  TestNode node(process("a", timing) + process("b", timing) + process("c", timing) +
                process("d", timing));
  ASSERT_EQ(node.up().code, 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    if (v.processes.size() != 4) return false;
    for (const auto& p : v.processes) {
      if (p.state != "running") return false;
    }
    return true;
  }));
  std::vector<pid_t> pids;
  for (const auto& p : node.view().processes) pids.push_back(p.pid);
  for (const pid_t p : pids) ASSERT_EQ(::kill(p, SIGSTOP), 0);
  // Past their 150 ms timeout, within one more.
  std::this_thread::sleep_for(std::chrono::milliseconds(220));
  for (const pid_t p : pids) ASSERT_EQ(::kill(p, SIGCONT), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    for (const auto& p : v.processes) {
      if (!p.heartbeat_age_us || *p.heartbeat_age_us > 50'000) return false;
    }
    return true;
  })) << node::render_table(node.view());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // one more timeout
  EXPECT_LT(find_event(node.events(), EventKind::hung, "system", "a"), 0);
  const auto after = node.view();
  for (std::size_t i = 0; i < after.processes.size(); ++i) {
    EXPECT_EQ(after.processes[i].pid, pids[i]) << after.processes[i].name << " was restarted";
  }
  // All of them hung for good: found, one timeout later.
  for (const auto& p : after.processes) ASSERT_EQ(::kill(p.pid, SIGSTOP), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView& v) {
    for (std::size_t i = 0; i < v.processes.size(); ++i) {
      if (v.processes[i].pid == after.processes[i].pid) return false;
    }
    return true;
  })) << "processes that all truly hang were never found hung\n"
      << node::render_table(node.view());
}

}  // namespace
}  // namespace hamon::test
