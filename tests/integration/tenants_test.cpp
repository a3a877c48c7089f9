// A node sized from its configuration: more tenants than the control segment's default
// capacity come up, run and go down.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <string>
#include <vector>

#include "test_node.hpp"

namespace hamon::test {
namespace {

constexpr int kTenants =
    70;  // above the 64 groups a control segment held whatever the configuration

std::string tenants(int count) {
  // ready = "spawn" and a slow beat: this is about table sizes, not timing, on a shared machine.
  std::string text = "\n[defaults]\ninterval = \"200ms\"\ntimeout = \"2s\"\nready = \"spawn\"\n";
  for (int t = 0; t < count; ++t) {
    text += "\n[[tenant]]\nname = \"tenant" + std::to_string(t) +
            "\"\n\n[[tenant.process]]\nname = \"app\"\ncommand = [\"@APP@\", \"--interval\", "
            "\"100ms\"]\n";
  }
  return text;
}

TEST(Tenants, SeventyTenantsComeUpRunAndGoDown) {
  TestNode node(tenants(kTenants));
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  std::vector<pid_t> pids;
  ASSERT_TRUE(node.wait([&](const node::NodeView& v) {
    pids.clear();
    for (const auto& p : v.processes) {
      if (p.state == "running" || p.state == "ready") pids.push_back(p.pid);
    }
    return pids.size() == static_cast<std::size_t>(kTenants);
  })) << pids.size()
      << " of " << kTenants << " tenants' processes run";
  for (int t = 0; t < kTenants; ++t) {
    const auto p = node.process("tenant" + std::to_string(t), "app");
    ASSERT_TRUE(p) << "tenant" << t;
    EXPECT_GT(p->pid, 0) << "tenant" << t;
  }

  const auto down = node.down();
  ASSERT_EQ(down.code, 0) << down.err;
  for (const pid_t pid : pids) {
    reap_zombies();
    EXPECT_TRUE(kill(pid, 0) != 0 && errno == ESRCH) << "pid " << pid << " still runs after down";
  }
}

}  // namespace
}  // namespace hamon::test
