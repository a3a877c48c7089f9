// The configuration's ceilings (engine/config_limits.hpp) are the shared-memory layouts' own, and
// a node's control segment is sized from its configuration.
#include <gtest/gtest.h>

#include <string>

#include "hamon/engine/config_limits.hpp"
#include "hamon/engine/names.hpp"
#include "hamon/heartbeat_abi.h"
#include "hamon/shm/control_layout.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::shm {
namespace {

static_assert(engine::max_processes == kMaxProcessesLimit);
static_assert(engine::max_groups == kMaxGroupsLimit);
// hamon-server gives a group four heartbeat slots per process (room for a reload).
static_assert(4 * engine::max_group_processes == HAMON_HB_MAX_SLOTS);
static_assert(engine::max_name_length + 1 == kNameMax);
static_assert(engine::max_name_length + 1 == HAMON_HB_GROUP_MAX);

TEST(ControlGeometry, TheLongestNamesFitTheGroupSlot) {
  const std::string longest(engine::max_name_length, 'x');
  EXPECT_LT(heartbeat_segment_name(longest, longest, longest).size(),
            sizeof(GroupInfo{}.heartbeat_segment));
}

TEST(ControlGeometry, ASmallConfigurationGetsTheDefaults) {
  const ControlGeometry g = ControlGeometry::sized_for(7, 3);
  EXPECT_EQ(g.max_processes, ControlGeometry{}.max_processes);
  EXPECT_EQ(g.max_groups, ControlGeometry{}.max_groups);
}

TEST(ControlGeometry, ALargeConfigurationGetsRoomForAsManyAgain) {
  const ControlGeometry g = ControlGeometry::sized_for(5000, 71);
  EXPECT_EQ(g.max_processes, 10000u);
  EXPECT_EQ(g.max_groups, 142u);
}

TEST(ControlGeometry, NeverBeyondTheLayoutsLimits) {
  EXPECT_EQ(ControlGeometry::sized_for(40000, 600).max_processes, kMaxProcessesLimit);
  EXPECT_EQ(ControlGeometry::sized_for(40000, 600).max_groups, kMaxGroupsLimit);
  for (const std::size_t n : {std::size_t{kMaxProcessesLimit}, std::size_t{1} << 40}) {
    EXPECT_EQ(ControlGeometry::sized_for(n, n).max_processes, kMaxProcessesLimit) << n;
    EXPECT_EQ(ControlGeometry::sized_for(n, n).max_groups, kMaxGroupsLimit) << n;
  }
}

}  // namespace
}  // namespace hamon::shm
