#include "hamon/engine/duration.hpp"

#include <gtest/gtest.h>

#include <random>

namespace hamon::engine {
namespace {

using namespace std::chrono_literals;

std::chrono::nanoseconds parsed(std::string_view text) {
  const DurationResult r = parse_duration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error;
  return r.value;
}

std::string error_of(std::string_view text) {
  const DurationResult r = parse_duration(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << r.value.count() << "ns";
  return r.error;
}

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parsed("7ns"), 7ns);
  EXPECT_EQ(parsed("500us"), 500us);
  EXPECT_EQ(parsed("1ms"), 1ms);
  EXPECT_EQ(parsed("2s"), 2s);
  EXPECT_EQ(parsed("3m"), 3min);
}

TEST(Duration, ParsesZero) {
  EXPECT_EQ(parsed("0ms"), 0ns);
  EXPECT_EQ(parsed("0s"), 0ns);
}

TEST(Duration, ParsesDecimalsThatAreWholeNanoseconds) {
  EXPECT_EQ(parsed("1.5s"), 1500ms);
  EXPECT_EQ(parsed("0.25ms"), 250us);
  EXPECT_EQ(parsed("1.5us"), 1500ns);
  EXPECT_EQ(parsed("0.5m"), 30s);
  EXPECT_EQ(parsed("0.000000001s"), 1ns);
  EXPECT_EQ(parsed("0.00000000005m"), 3ns);  // 11 decimals, still whole
}

TEST(Duration, IgnoresTrailingZerosOfTheFraction) {
  EXPECT_EQ(parsed("1.50s"), 1500ms);
  EXPECT_EQ(parsed("2.000000000000000000000000ns"), 2ns);
}

TEST(Duration, AcceptsTheLargestRepresentableValue) {
  EXPECT_EQ(parsed("9223372036854775807ns"), std::chrono::nanoseconds::max());
}

TEST(Duration, RejectsEmpty) { EXPECT_EQ(error_of(""), "empty"); }

TEST(Duration, RejectsNegative) { EXPECT_EQ(error_of("-5ms"), "negative"); }

TEST(Duration, RejectsMissingUnit) {
  EXPECT_EQ(error_of("5"), "missing unit (expected ns, us, ms, s or m)");
  EXPECT_EQ(error_of("1.5"), "missing unit (expected ns, us, ms, s or m)");
}

TEST(Duration, RejectsUnknownUnit) {
  EXPECT_EQ(error_of("5h"), "unknown unit 'h' (expected ns, us, ms, s or m)");
  EXPECT_EQ(error_of("5MS"), "unknown unit 'MS' (expected ns, us, ms, s or m)");
  EXPECT_EQ(error_of("5 ms"), "unknown unit ' ms' (expected ns, us, ms, s or m)");
  EXPECT_EQ(error_of("5ms "), "unknown unit 'ms ' (expected ns, us, ms, s or m)");
  EXPECT_EQ(error_of("1e3ms"), "unknown unit 'e3ms' (expected ns, us, ms, s or m)");
}

TEST(Duration, RejectsMissingNumber) {
  EXPECT_EQ(error_of("ms"), "missing number");
  EXPECT_EQ(error_of(".5s"), "missing number");
  EXPECT_EQ(error_of("+5ms"), "missing number");
  EXPECT_EQ(error_of(" 5ms"), "missing number");
}

TEST(Duration, RejectsPointWithoutDigits) {
  EXPECT_EQ(error_of("1.s"), "missing digits after '.'");
}

TEST(Duration, RejectsFinerThanANanosecond) {
  EXPECT_EQ(error_of("1.5ns"), "finer than a nanosecond");
  EXPECT_EQ(error_of("0.0000000001s"), "finer than a nanosecond");
  EXPECT_EQ(error_of("0.0000000000000000001m"), "finer than a nanosecond");
}

TEST(Duration, RejectsOverflow) {
  const std::string too_large = "too large (the maximum is about 292 years)";
  EXPECT_EQ(error_of("9223372036854775808ns"), too_large);
  EXPECT_EQ(error_of("9223372037s"), too_large);
  EXPECT_EQ(error_of("153722867.5m"), too_large);
  EXPECT_EQ(error_of("99999999999999999999999ms"), too_large);
}

TEST(Duration, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(format_duration(0ns), "0s");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(2s), "2s");
  EXPECT_EQ(format_duration(120s), "2m");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(250us), "250us");
  EXPECT_EQ(format_duration(1001ns), "1001ns");
}

TEST(Duration, FormatThenParseGivesTheSameValue) {
  std::mt19937_64 random(42);
  for (int i = 0; i < 10000; ++i) {
    // Mix values with many trailing zeros (round units) and arbitrary ones.
    const auto ns = static_cast<std::int64_t>(random() >> (1 + random() % 63));
    const std::chrono::nanoseconds d{ns - ns % (i % 2 == 0 ? 1000000 : 1)};
    EXPECT_EQ(parsed(format_duration(d)), d) << format_duration(d);
  }
}

}  // namespace
}  // namespace hamon::engine
