#include "hamon/engine/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace hamon::engine {
namespace {

// A unit is coefficient * 10^exponent nanoseconds; keeping the power of ten apart lets a
// decimal fraction be scaled exactly in 64 bits.
struct Unit {
  std::string_view suffix;
  std::uint64_t coefficient;
  int exponent;
};

constexpr std::array<Unit, 5> units{{
    {"ns", 1, 0},
    {"us", 1, 3},
    {"ms", 1, 6},
    {"s", 1, 9},
    {"m", 6, 10},
}};

constexpr std::string_view unit_list = "ns, us, ms, s or m";
constexpr std::uint64_t max_ns = std::numeric_limits<std::chrono::nanoseconds::rep>::max();

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::uint64_t pow10(int n) noexcept {
  std::uint64_t r = 1;
  while (n-- > 0) r *= 10;
  return r;
}

DurationResult failure(std::string message) {
  return {std::chrono::nanoseconds{0}, std::move(message)};
}

}  // namespace

DurationResult parse_duration(std::string_view text) {
  if (text.empty()) return failure("empty");
  if (text.front() == '-') return failure("negative");

  std::size_t i = 0;
  std::uint64_t whole = 0;
  bool overflow = false;
  while (i < text.size() && is_digit(text[i])) {
    overflow |= __builtin_mul_overflow(whole, 10u, &whole);
    overflow |= __builtin_add_overflow(whole, static_cast<std::uint64_t>(text[i] - '0'), &whole);
    ++i;
  }
  if (i == 0) return failure("missing number");

  // The fraction as an integer and its number of digits, trailing zeros dropped ("1.50s" is
  // 1.5s), so that only significant digits decide whether the value is a whole nanosecond.
  std::uint64_t fraction = 0;
  int fraction_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t first = i;
    std::size_t last_significant = i;
    while (i < text.size() && is_digit(text[i])) {
      if (text[i] != '0') last_significant = i + 1;
      ++i;
    }
    if (i == first) return failure("missing digits after '.'");
    for (std::size_t k = first; k < last_significant; ++k) {
      // 18 digits fit in 64 bits; more significant digits than that is finer than 1ns anyway.
      if (fraction_digits == 18) return failure("finer than a nanosecond");
      fraction = fraction * 10 + static_cast<std::uint64_t>(text[k] - '0');
      ++fraction_digits;
    }
  }

  const std::string_view suffix = text.substr(i);
  if (suffix.empty()) return failure("missing unit (expected " + std::string(unit_list) + ")");
  const Unit* unit = nullptr;
  for (const Unit& u : units) {
    if (u.suffix == suffix) unit = &u;
  }
  if (unit == nullptr) {
    return failure("unknown unit '" + std::string(suffix) + "' (expected " +
                   std::string(unit_list) + ")");
  }

  std::uint64_t ns = 0;
  overflow |= __builtin_mul_overflow(whole, unit->coefficient * pow10(unit->exponent), &ns);
  if (fraction_digits > 0) {
    // fraction * coefficient * 10^(exponent - digits), exact or rejected.
    std::uint64_t scaled = fraction * unit->coefficient;  // < 6 * 10^18: no overflow
    if (fraction_digits <= unit->exponent) {
      overflow |= __builtin_mul_overflow(scaled, pow10(unit->exponent - fraction_digits), &scaled);
    } else {
      const std::uint64_t divisor = pow10(fraction_digits - unit->exponent);
      if (scaled % divisor != 0) return failure("finer than a nanosecond");
      scaled /= divisor;
    }
    overflow |= __builtin_add_overflow(ns, scaled, &ns);
  }
  if (overflow || ns > max_ns) return failure("too large (the maximum is about 292 years)");
  return {std::chrono::nanoseconds{static_cast<std::chrono::nanoseconds::rep>(ns)}, {}};
}

std::string format_duration(std::chrono::nanoseconds d) {
  const auto ns = static_cast<std::uint64_t>(d.count());
  if (ns == 0) return "0s";
  for (auto u = units.rbegin(); u != units.rend(); ++u) {
    const std::uint64_t size = u->coefficient * pow10(u->exponent);
    if (ns % size == 0) return std::to_string(ns / size) + std::string(u->suffix);
  }
  return std::to_string(ns) + "ns";  // unreachable: every value is a whole number of ns
}

}  // namespace hamon::engine
