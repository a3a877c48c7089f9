// parse_config() on damaged input: a Config or positioned errors, never an exception or a crash
// (run this suite under the sanitizers too).
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "hamon/engine/parse_config.hpp"

namespace hamon::engine {
namespace {

std::string demo_text() {
  std::ifstream in(HAMON_DEMO_CONFIG);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A few random edits with the characters that matter to TOML and to hamon's checks.
std::string mutate(std::string text, std::mt19937& rng) {
  static constexpr std::string_view alphabet = "[]{}=\",.\n#'0123456789a/-_ \\\x00\xff";
  const int edits = std::uniform_int_distribution<int>(1, 4)(rng);
  for (int e = 0; e < edits && !text.empty(); ++e) {
    const std::size_t at = std::uniform_int_distribution<std::size_t>(0, text.size() - 1)(rng);
    const char c =
        alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
      case 0: text[at] = c; break;
      case 1: text.erase(at, 1); break;
      case 2: text.insert(at, 1, c); break;
      default: {  // repeat a line elsewhere: duplicate keys, tables and processes
        const std::size_t start =
            text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
        const std::size_t end = text.find('\n', at);
        const std::string line =
            text.substr(start, end == std::string::npos ? std::string::npos : end - start + 1);
        text.insert(std::uniform_int_distribution<std::size_t>(0, text.size())(rng), line);
      }
    }
  }
  return text;
}

TEST(ConfigRobustness, DamagedConfigurationsGiveAConfigOrPositionedErrors) {
  const std::string original = demo_text();
  ASSERT_FALSE(original.empty());
  int rejected = 0;
  for (int seed = 1; seed <= 3000; ++seed) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    const std::string text = mutate(original, rng);
    ParseResult r;
    ASSERT_NO_THROW(r = parse_config(text, "damaged.toml")) << "seed " << seed;
    EXPECT_EQ(r.ok(), r.config.has_value()) << "seed " << seed;
    for (const ConfigError& e : r.errors) {
      EXPECT_EQ(e.where.file, "damaged.toml") << "seed " << seed;
      EXPECT_GE(e.where.line, 1u) << "seed " << seed << ": " << e.message;
      EXPECT_GE(e.where.column, 1u) << "seed " << seed << ": " << e.message;
      EXPECT_FALSE(e.message.empty()) << "seed " << seed;
    }
    rejected += r.ok() ? 0 : 1;
  }
  // Most damage must be noticed; a few edits land in comments or change a value harmlessly.
  EXPECT_GT(rejected, 1500);
}

}  // namespace
}  // namespace hamon::engine
