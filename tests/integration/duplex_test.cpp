// Specification of the peer link between two real nodes on this machine: each node's table
// appears at the other and follows every change; a restarted daemon never makes the peer lost;
// a cut link is silence, and silence on every link for peer_timeout, and only that, is loss;
// whatever a stranger sends is rejected, counted and said, and the node goes on serving.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "duplex.hpp"

namespace hamon::test {
namespace {

using namespace std::chrono_literals;

const char* const kProcesses = R"(
[defaults]
interval = "10ms"
timeout = "100ms"

[[system.process]]
name = "db"
command = ["@APP@", "--interval", "10ms"]

[[tenant]]
name = "acme"

[[tenant.process]]
name = "acd"
command = ["@APP@", "--interval", "10ms"]
)";

bool both_up(Duplex& d) {
  const auto up_a = d.a().up();
  const auto up_b = d.b().up();
  EXPECT_EQ(up_a.code, 0) << up_a.out << up_a.err;
  EXPECT_EQ(up_b.code, 0) << up_b.out << up_b.err;
  return up_a.code == 0 && up_b.code == 0;
}

// `at` shows `of`'s process group/name running with the pid `of` itself shows.
bool shows_running(const TestNode& at, const TestNode& of, const std::string& group,
                   const std::string& name) {
  // Both sides read on every look: `of` may itself be passing through a change.
  return at.wait([&](const node::NodeView& v) {
    const auto own = of.process(group, name);
    if (!own || own->pid == 0 || own->state != "running") return false;
    const auto p = peer_process(v, group, name);
    return p && p->state == "running" && p->pid == own->pid && p->incarnation == own->incarnation;
  });
}

int count_events(const std::vector<EventRow>& events, shm::EventKind kind) {
  return static_cast<int>(std::count_if(events.begin(), events.end(),
                                        [&](const EventRow& e) { return e.kind == kind; }));
}

TEST(Duplex, EachNodesTableAppearsAtTheOtherAndFollowsEveryChange) {
  Duplex d(kProcesses);
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(d.b().wait([](const node::NodeView& v) {
    const auto p = peer_of(v);
    return p && p->state == "up" && !p->links.empty() && p->links[0].state == "up";
  })) << node::render_table(d.b().view());
  for (const char* n : {"db"}) EXPECT_TRUE(shows_running(d.b(), d.a(), "system", n));
  EXPECT_TRUE(shows_running(d.b(), d.a(), "acme", "acd"));
  EXPECT_TRUE(shows_running(d.a(), d.b(), "system", "db"));
  EXPECT_TRUE(shows_running(d.a(), d.b(), "acme", "acd"));

  // A change at a: its process killed and restarted. b follows: a new pid and incarnation, one
  // restart, running again.
  const auto before = d.a().process("acme", "acd");
  ASSERT_TRUE(before && before->pid > 0);
  ASSERT_EQ(::kill(before->pid, SIGKILL), 0);
  ASSERT_TRUE(d.a().wait([&](const node::NodeView&) {
    const auto p = d.a().process("acme", "acd");
    return p && p->incarnation > before->incarnation && p->state == "running";
  }));
  EXPECT_TRUE(shows_running(d.b(), d.a(), "acme", "acd")) << node::render_table(d.b().view());
  const auto seen = peer_process(d.b().view(), "acme", "acd");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->restarts, before->restarts + 1);
  EXPECT_NE(seen->pid, before->pid);

  // A stop at a is seen at b too, in the state a itself shows (the server's change, through the
  // event ring).
  const auto stop = d.a().hamon({"stop", "system/db"});
  ASSERT_EQ(stop.code, 0) << stop.err;
  const auto stopped = d.a().process("system", "db");
  ASSERT_TRUE(stopped && stopped->pid == 0);
  EXPECT_TRUE(d.b().wait([&](const node::NodeView& v) {
    const auto p = peer_process(v, "system", "db");
    return p && p->state == stopped->state && p->pid == 0;
  })) << node::render_table(d.b().view());

  // status --json carries the peer, its links and its processes.
  const auto json = d.b().hamon({"status", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.out.find("\"peers\":[{\"node\":\"a\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"links\":[{\"index\":0"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"name\":\"acd\""), std::string::npos) << json.out;
  // top shows both nodes side by side: b's own processes, and a's as b's link last heard them.
  const auto top = d.b().hamon({"top", "--iterations", "1", "--interval", "0.05"});
  ASSERT_EQ(top.code, 0) << top.err;
  EXPECT_NE(top.out.find("node b (this one)"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("| node a (peer, up, link 0 up"), std::string::npos) << top.out;
  // And the peer events were said.
  const auto events = d.b().events();
  EXPECT_GE(count_events(events, shm::EventKind::link_up), 1);
  EXPECT_EQ(count_events(events, shm::EventKind::peer_up), 1);
  EXPECT_EQ(count_events(events, shm::EventKind::peer_lost), 0);
}

TEST(Duplex, NodesAddressedByNameListenAndReachEachOther) {
  Duplex d(kProcesses, {.host = "localhost"});
  ASSERT_TRUE(both_up(d));
  EXPECT_TRUE(shows_running(d.b(), d.a(), "acme", "acd")) << node::render_table(d.b().view());
  EXPECT_TRUE(shows_running(d.a(), d.b(), "acme", "acd")) << node::render_table(d.a().view());
}

TEST(Duplex, KillingEachDaemonOfANeverMakesBDeclareALost) {
  // The mechanism, with room for a sanitizer build on a loaded machine (a monitor restarts in
  // milliseconds in a release build; under ASan, with other tests beside it, it took over
  // 250 ms in CI). hamon-peer-bench measures kill → link back against the default 250 ms.
  Duplex d(kProcesses, {.peer_timeout = "1s"});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(shows_running(d.b(), d.a(), "acme", "acd"));
  for (const char* daemon :
       {"hamon-monitor", "hamon-spawner", "hamon-server", "hamon-master", "hamon-watcher"}) {
    SCOPED_TRACE(daemon);
    const auto before = peer_of(d.b().view());
    ASSERT_TRUE(before);
    ASSERT_TRUE(kill_daemon_and_wait_back(d.a(), daemon));
    if (std::string(daemon) == "hamon-monitor") {
      // The link died with it: a new connection, and a fresh snapshot of a's table at b.
      EXPECT_TRUE(d.b().wait([&](const node::NodeView& v) {
        const auto p = peer_of(v);
        return p && p->snapshots > before->snapshots && p->links[0].state == "up";
      })) << node::render_table(d.b().view());
    }
    EXPECT_TRUE(shows_running(d.b(), d.a(), "acme", "acd"));
    EXPECT_EQ(peer_of(d.b().view())->losses, 0u);
  }
  const auto after = peer_of(d.b().view());
  ASSERT_TRUE(after);
  EXPECT_EQ(after->losses, 0u);
  EXPECT_EQ(after->state, "up");
  EXPECT_EQ(count_events(d.b().events(), shm::EventKind::peer_lost), 0);
  EXPECT_EQ(count_events(d.a().events(), shm::EventKind::peer_lost), 0);
}

TEST(Duplex, CutLinksMakeThePeerLostAfterPeerTimeoutAndNotBefore) {
  Duplex d(kProcesses, {.relays = true});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(shows_running(d.b(), d.a(), "acme", "acd"));
  const auto cut = std::chrono::steady_clock::now();
  const auto cut_ns = static_cast<std::uint64_t>(cut.time_since_epoch().count());
  d.relay(0).blackhole(true);
  ASSERT_TRUE(d.b().wait([](const node::NodeView& v) {
    const auto p = peer_of(v);
    return p && p->state == "lost";
  })) << node::render_table(d.b().view());
  ASSERT_TRUE(d.a().wait([](const node::NodeView& v) {
    const auto p = peer_of(v);
    return p && p->state == "lost";
  })) << node::render_table(d.a().view());
  for (TestNode* n : {&d.a(), &d.b()}) {
    const auto events = n->events();
    const auto it = std::find_if(events.begin(), events.end(), [](const EventRow& e) {
      return e.kind == shm::EventKind::peer_lost;
    });
    ASSERT_NE(it, events.end());
    // Lost only after the cut, and only after peer_timeout (250 ms) of silence since the last
    // frame heard. (Not "250 ms after the cut": on a loaded machine the peer's last heartbeat
    // before the cut may itself have come late; CI under ASan saw it 40 ms late.)
    EXPECT_GE(it->t_ns, cut_ns) << n->id();
    EXPECT_GE(it->value, 250'000'000) << n->id();
  }
  // Healed: the link comes back, the peer is up again, and b has a's table again.
  d.relay(0).blackhole(false);
  EXPECT_TRUE(d.b().wait([](const node::NodeView& v) {
    const auto p = peer_of(v);
    return p && p->state == "up" && p->links[0].state == "up";
  })) << node::render_table(d.b().view());
  EXPECT_TRUE(shows_running(d.b(), d.a(), "acme", "acd"));
  EXPECT_EQ(peer_of(d.b().view())->losses, 1u);
}

TEST(Duplex, OneOfTwoLinksCutLosesNothingAndSaysLinkDown) {
  Duplex d(kProcesses, {.links = 2, .relays = true});
  ASSERT_TRUE(both_up(d));
  ASSERT_TRUE(d.b().wait([](const node::NodeView& v) {
    const auto p = peer_of(v);
    return p && p->links.size() == 2 && p->links[0].state == "up" && p->links[1].state == "up";
  })) << node::render_table(d.b().view());
  d.relay(1).blackhole(true);
  ASSERT_TRUE(d.b().wait([&d](const node::NodeView&) {
    const auto events = d.b().events();
    return count_events(events, shm::EventKind::link_down) >= 1;
  })) << node::render_table(d.b().view());
  // Three timeouts more: the other link keeps the peer.
  std::this_thread::sleep_for(750ms);
  const auto p = peer_of(d.b().view());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->state, "up");
  EXPECT_EQ(p->losses, 0u);
  EXPECT_EQ(p->links[0].state, "up");
  EXPECT_EQ(count_events(d.b().events(), shm::EventKind::peer_lost), 0);
  EXPECT_EQ(count_events(d.a().events(), shm::EventKind::peer_lost), 0);
  // Changes still flow.
  const auto before = d.a().process("acme", "acd");
  ASSERT_TRUE(before);
  ASSERT_EQ(::kill(before->pid, SIGKILL), 0);
  EXPECT_TRUE(d.b().wait([&](const node::NodeView& v) {
    const auto q = peer_process(v, "acme", "acd");
    return q && q->incarnation > before->incarnation && q->state == "running";
  }));
}

}  // namespace
}  // namespace hamon::test
