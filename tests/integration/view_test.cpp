// Specification of the read-only node view that `hamon status`, `top`, `up` and `down` stand on.
#include <gtest/gtest.h>

#include "test_node.hpp"

namespace hamon::test {
namespace {

// A process that beats every 0.5 ms stamps its beats with a clock newer than any the view read
// before looking at the slot; the view must still show its heartbeat age in every sample.
TEST(NodeView, ShowsTheHeartbeatAgeOfAFastBeaterInEverySample) {
  TestNode node(R"(
[defaults]
interval = "500us"
timeout = "200ms"

[[system.process]]
name = "fast"
command = ["@APP@", "--interval", "500us"]
)");
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  int missing = 0;
  for (int i = 0; i < 200; ++i) {
    const auto p = node.process("system", "fast");
    ASSERT_TRUE(p.has_value());
    if (p->pid != 0 && (p->state == "running" || p->state == "ready") && !p->heartbeat_age_us) {
      ++missing;
    }
  }
  EXPECT_EQ(missing, 0) << "samples of a running beater without a heartbeat age";
}

}  // namespace
}  // namespace hamon::test
