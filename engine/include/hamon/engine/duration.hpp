// Durations as configuration files write them: a number and a unit, "500us", "1.5s".
//
// Grammar: DIGITS [ "." DIGITS ] UNIT, UNIT one of ns, us, ms, s, m (minutes); no sign, no
// spaces. A decimal must come to a whole number of nanoseconds ("1.5us" is fine, "1.5ns" is not).
// The range is that of std::chrono::nanoseconds (about 292 years). See docs/configuration.md.
#ifndef HAMON_ENGINE_DURATION_HPP
#define HAMON_ENGINE_DURATION_HPP

#include <chrono>
#include <string>
#include <string_view>

namespace hamon::engine {

// Either a duration or, when `error` is non-empty, why the text is not one.
struct DurationResult {
  std::chrono::nanoseconds value{0};
  std::string error;  // e.g. "missing unit (expected ns, us, ms, s or m)"

  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

[[nodiscard]] DurationResult parse_duration(std::string_view text);

// The shortest exact spelling in the largest unit that divides the value: 1500ms stays "1500ms",
// 120s becomes "2m". parse_duration(format_duration(d)) == d for every d >= 0.
// REQUIRES: d >= 0.
[[nodiscard]] std::string format_duration(std::chrono::nanoseconds d);

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_DURATION_HPP
