// StallLog: the union of the stall intervals a CPU's sentinel reported, as stall_log.hpp says —
// overlapping and out-of-order reports counted once, a measure of any window, a bounded memory.
#include "hamon/engine/stall_log.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace hamon::engine {
namespace {

TEST(StallLog, MeasuresTheStallsWithinAWindow) {
  StallLog log;
  log.add(10, 20);
  log.add(30, 35);
  EXPECT_EQ(log.measure(0, 100), 15u);
  EXPECT_EQ(log.measure(15, 32), 7u);  // 15-20 and 30-32
  EXPECT_EQ(log.measure(20, 30), 0u);
  EXPECT_EQ(log.measure(40, 100), 0u);
  EXPECT_EQ(log.last_end(), 35u);
}

TEST(StallLog, OverlappingAndOutOfOrderReportsCountOnce) {
  StallLog log;
  log.add(30, 40);
  log.add(10, 20);
  log.add(15, 35);  // joins both
  log.add(40, 45);  // touches the end
  EXPECT_EQ(log.measure(0, 100), 35u);
  log.add(12, 18);  // inside: nothing new
  EXPECT_EQ(log.measure(0, 100), 35u);
  log.add(50, 50);  // empty: ignored
  log.add(60, 55);
  EXPECT_EQ(log.measure(0, 100), 35u);
  EXPECT_EQ(log.last_end(), 45u);
}

TEST(StallLog, KeepsTheLatestPiecesOnly) {
  StallLog log(4);
  for (std::uint64_t k = 0; k < 10; ++k) log.add(100 * k, 100 * k + 10);
  EXPECT_EQ(log.measure(0, 2000), 40u) << "the six oldest are forgotten";
  EXPECT_EQ(log.measure(600, 2000), 40u);
}

// Against a brute-force model: random intervals, each nanosecond of [0, 1000) marked.
TEST(StallLog, AgreesWithAModelOnRandomReports) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    StallLog log(1000);
    std::vector<bool> covered(1000, false);
    for (int n = 0; n < 20; ++n) {
      const std::uint64_t a = rng() % 1000, len = rng() % 60;
      const std::uint64_t b = std::min<std::uint64_t>(a + len, 1000);
      log.add(a, b);
      for (std::uint64_t t = a; t < b; ++t) covered[t] = true;
    }
    const std::uint64_t from = rng() % 1000, to = from + rng() % (1000 - from + 1);
    std::uint64_t want = 0;
    for (std::uint64_t t = from; t < to; ++t) want += covered[t] ? 1 : 0;
    ASSERT_EQ(log.measure(from, to), want)
        << "round " << round << " [" << from << ", " << to << ")";
  }
}

}  // namespace
}  // namespace hamon::engine
