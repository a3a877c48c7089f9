// A thousand processes at once: the spawner stays responsive (it beats between batches of
// starts), so its master never takes it for hung, and nothing is lost on the way.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "test_node.hpp"

namespace hamon::test {
namespace {

TEST(StartBurst, AThousandProcessesComeUpWithoutTheSpawnerBeingTakenForHung) {
  constexpr int kProcesses = 1000;
  std::string config = "[defaults]\ninterval = \"1s\"\ntimeout = \"5s\"\nready = \"spawn\"\n";
  for (int i = 0; i < kProcesses; ++i) {
    config += "\n[[system.process]]\nname = \"p" + std::to_string(i) +
              "\"\ncommand = [\"/bin/sleep\", \"1000000\"]\n";
  }
  TestNode node(config);
  const auto t0 = std::chrono::steady_clock::now();
  // A long deadline: what is tested is that nothing is lost or taken for hung, not how fast;
  // a sanitized spawner copies itself for every start (docs/architecture.md), far slower.
  const auto up = node.hamon({"up", "--timeout", "90s"});
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(up.code, 0) << up.err;
  std::printf("%d processes up in %.2f s\n", kProcesses,
              std::chrono::duration<double>(took).count());
  const auto v = node.view();
  int running = 0;
  for (const auto& p : v.processes)
    running += p.pid > 0 && (p.state == "running" || p.state == "ready");
  EXPECT_EQ(running, kProcesses);
  for (const auto& d : v.daemons) {
    EXPECT_EQ(d.restarts, 0u) << d.name << " was restarted during the burst";
  }
  for (const auto& e : node.events()) {
    EXPECT_NE(e.detail, "daemon silent") << e.name << " was taken for hung";
  }
}

}  // namespace
}  // namespace hamon::test
