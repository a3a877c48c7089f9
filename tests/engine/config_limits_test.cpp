// The ceilings of config_limits.hpp: each refused with a located error, never a crash, and
// quoting from the file never lets it write raw control characters into a message.
#include "hamon/engine/config_limits.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config_test_support.hpp"

namespace hamon::engine {
namespace {

using test::errors_of;
using test::parse;
using test::parse_with_cluster;
using Errors = std::vector<std::string>;

constexpr std::string_view one_process = "[[system.process]]\nname = \"db\"\ncommand = [\"db\"]\n";

// "a.a.a...a" of `parts` parts.
std::string dotted(std::size_t parts) {
  std::string key = "a";
  for (std::size_t i = 1; i < parts; ++i) key += ".a";
  return key;
}

// ---- size and depth, checked before parsing ---------------------------------------------------

TEST(ConfigLimits, AKeyOfThirtyThousandPartsIsRefusedWhereItCrossesTheLimit) {
  // The reproducer: toml++ builds 30,000 nested tables and frees them recursively.
  const ParseResult r = parse(dotted(30000) + " = 1\n");
  EXPECT_EQ(
      errors_of(r),
      Errors{"test.toml:1:" + std::to_string(2 * max_key_parts + 1) +
             ": error: key with more than 32 dotted parts (hamon reads keys of 32 parts at most)"});
}

TEST(ConfigLimits, AKeyTooDeepForAnyStackIsRefusedToo) {
  const ParseResult r = parse("[" + dotted(300000) + "]\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].where.line, 1u);
  EXPECT_EQ(r.errors[0].where.column, 2 * max_key_parts + 2);
}

TEST(ConfigLimits, AKeyOfTheMostPartsReachesTheSchemaCheck) {
  EXPECT_EQ(
      errors_of(parse_with_cluster(dotted(max_key_parts) + " = 1\n" + std::string(one_process))),
      Errors{"test.toml:1:1: error: unknown key 'a' at the top level"});
}

TEST(ConfigLimits, QuotedPartsCountAndTheirDotsDoNot) {
  std::string key = "\"x.y.z\"";
  for (std::size_t i = 1; i < max_key_parts; ++i) key += " . 'p.q'";
  EXPECT_EQ(errors_of(parse_with_cluster(key + " = 1\n" + std::string(one_process))),
            Errors{"test.toml:1:1: error: unknown key 'x.y.z' at the top level"});
  const ParseResult over = parse(key + ".\"r\" = 1\n");
  ASSERT_EQ(over.errors.size(), 1u);
  EXPECT_EQ(over.errors[0].where.column, key.size() + 2);
  EXPECT_NE(over.errors[0].message.find("dotted parts"), std::string::npos);
}

TEST(ConfigLimits, InlineNestingIsRefusedAtTheBracketTooDeep) {
  // `a` is level 1, each [ one more: the 32nd [ is level 33.
  std::string value(max_nesting - 1, '[');
  const ParseResult r = parse("a = " + value + "[1" + std::string(max_nesting, ']') + "\n");
  EXPECT_EQ(errors_of(r),
            Errors{"test.toml:1:" + std::to_string(4 + max_nesting) +
                   ": error: nested more than 32 levels deep (counting the parts of table "
                   "headers and keys and each inline [ or {); hamon reads 32 at most"});
  // One level less parses (and meets the schema).
  EXPECT_EQ(errors_of(parse_with_cluster("a = " + value + "1" + std::string(max_nesting - 1, ']') +
                                         "\n" + std::string(one_process))),
            Errors{"test.toml:1:1: error: unknown key 'a' at the top level"});
}

TEST(ConfigLimits, HeadersKeysAndInlineTablesAddUp) {
  // [h.h.h...] of 20 parts, then k.k...k of 12 parts = 32, then { and one more key part: 34.
  std::string text = "[" + dotted(20) + "]\n" + dotted(12) + " = { b = 1 }\n";
  const ParseResult r = parse(text);
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(errors_of(r));
  EXPECT_EQ(r.errors[0].where.line, 2u);
  EXPECT_EQ(r.errors[0].where.column, 2 * 12 - 1 + 4);  // the {
  EXPECT_NE(r.errors[0].message.find("nested more than 32"), std::string::npos);
  // An array of tables counts one more level than a table.
  const ParseResult aot = parse("[[" + dotted(20) + "]]\n" + dotted(12) + " = 1\n");
  ASSERT_EQ(aot.errors.size(), 1u);
  EXPECT_EQ(aot.errors[0].where.line, 2u);
  EXPECT_EQ(aot.errors[0].where.column, 2 * 12 - 1);  // the 12th part
}

TEST(ConfigLimits, AByteOrderMarkIsNotAKey) {
  const ParseResult r = parse("\xef\xbb\xbf[" + dotted(20) + "]\n" + dotted(13) + " = 1\n");
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(errors_of(r));
  EXPECT_EQ(r.errors[0].where.line, 2u);
  EXPECT_EQ(r.errors[0].where.column, 2 * 13 - 1);
}

// Every "@" becomes 100 [, 100 { and a 100-part dotted key: far beyond every limit.
std::string expand(std::string_view pattern) {
  const std::string deep = std::string(100, '[') + std::string(100, '{') + dotted(100);
  std::string out;
  for (const char c : pattern) out += c == '@' ? deep : std::string(1, c);
  return out;
}

TEST(ConfigLimits, StringsAndCommentsNeverCount) {
  const std::string text = expand(R"(# @ """ '''
[[system.process]] # @
name = "db"
command = ["@ \" '", '@ \', """
@ \""" ""[[[
""", '''
@ ''', '',
  """""x""""", '''''x''''', "", '']
env."@" = "" # @
working_dir = "/"  # [[[[
)");
  const ParseResult r = parse_with_cluster(text);
  EXPECT_EQ(errors_of(r), Errors{"test.toml:9:5: error: invalid environment variable name '" +
                                 expand("@") + "': use letters, digits and '_'"});
}

TEST(ConfigLimits, AFileLargerThanTheLimitIsRefusedAtItsStart) {
  std::string text(max_config_bytes - one_process.size() - test::valid_cluster.size(), '#');
  text.back() = '\n';
  EXPECT_TRUE(parse_with_cluster(text + std::string(one_process)).ok()) << "exactly the limit";
  text.insert(0, "#");
  EXPECT_EQ(
      errors_of(parse_with_cluster(text + std::string(one_process))),
      Errors{
          "test.toml:1:1: error: the file is larger than 16 MiB (16777216 bytes), the most hamon "
          "reads"});
}

// ---- what the shared-memory tables hold ------------------------------------------------------

TEST(ConfigLimits, MoreProcessesThanTheControlSegmentHoldsAreRefusedAtTheFirstTooMany) {
  std::string text;
  for (std::size_t t = 0; t < 5; ++t) {
    text += "[[tenant]]\nname = \"t" + std::to_string(t) + "\"\n";
    for (std::size_t i = 0; i < max_processes / 5 + 1; ++i) {
      text += "[[tenant.process]]\nname = \"p" + std::to_string(i) + "\"\ncommand = [\"x\"]\n";
    }
  }
  const ParseResult r = parse_with_cluster(text);
  // Tenant t4 starts on line 4 * (2 + 3 * 13108) + 1; its process 13104 is the 65,537th.
  const std::size_t line = 4 * (2 + 3 * (max_processes / 5 + 1)) + 1 + 2 + 3 * 13104 + 1;
  EXPECT_EQ(
      errors_of(r),
      Errors{"test.toml:" + std::to_string(line) +
             ":8: error: t4/p13104 is one process too many: a node runs 65536 processes at most"});
}

TEST(ConfigLimits, MoreProcessesInAGroupThanItsHeartbeatSegmentHoldsAreRefused) {
  std::string text = "[[tenant]]\nname = \"big\"\n";
  for (std::size_t i = 0; i <= max_group_processes; ++i) {
    text += "[[tenant.process]]\nname = \"p" + std::to_string(i) + "\"\ncommand = [\"x\"]\n";
  }
  const std::size_t line = 2 + 3 * max_group_processes + 2;
  EXPECT_EQ(errors_of(parse_with_cluster(text)),
            Errors{"test.toml:" + std::to_string(line) +
                   ":8: error: big/p16384 is one process too many for group big: a group has 16384 "
                   "processes at most"});
}

TEST(ConfigLimits, MoreGroupsThanTheControlSegmentHoldsAreRefusedAtTheFirstTooMany) {
  std::string text(one_process);
  for (std::size_t t = 0; t < max_groups; ++t) {
    text += "[[tenant]]\nname = \"t" + std::to_string(t) +
            "\"\n[[tenant.process]]\nname = \"p\"\ncommand = [\"x\"]\n";
  }
  // A tenant without processes takes no group.
  EXPECT_EQ(errors_of(parse_with_cluster("[[tenant]]\nname = \"empty\"\n" + text)),
            Errors{"test.toml:" + std::to_string(2 + 3 + 5 * (max_groups - 1) + 2) +
                   ":8: error: tenant t1023 is one group too many: a node has 1024 groups (system "
                   "and each tenant with processes) at most"});
}

TEST(ConfigLimits, AnArgumentOrEnvironmentVariableTooLongForExecIsRefused) {
  const std::string big(max_exec_string + 1, 'x');
  const ParseResult r =
      parse_with_cluster("[[system.process]]\nname = \"db\"\ncommand = [\"db\", \"" + big +
                         "\"]\nenv.LONG = \"" + big.substr(5) + "\"\n");
  EXPECT_EQ(
      errors_of(r),
      (Errors{"test.toml:3:18: error: argument 1 of 'command' is 131072 bytes: Linux's exec takes "
              "131071 at most",
              "test.toml:4:12: error: environment variable 'LONG' is 131072 bytes as LONG=value: "
              "Linux's exec takes 131071 at most"}));
  // One byte less is fine.
  EXPECT_TRUE(parse_with_cluster("[[system.process]]\nname = \"db\"\ncommand = [\"db\", \"" +
                                 big.substr(1) + "\"]\nenv.LONG = \"" + big.substr(6) + "\"\n")
                  .ok());
}

// ---- quoting file content in messages ---------------------------------------------------------

TEST(ConfigErrorText, ControlCharactersFromTheFileAreEscaped) {
  EXPECT_EQ(
      errors_of(
          parse_with_cluster("[[tenant]]\nname = \"a\\nb\"\n"
                             "\"\\u001b[2J\" = 1\n"
                             "[[tenant.process]]\nname = \"p\\u0085\\u009b\"\ncommand = [\"x\"]\n"
                             "[[system.process]]\nname = \"db\"\ncommand = [\"db\"]\n"
                             "interval = \"1\\u0007ms\"\n")),
      (Errors{"test.toml:2:8: error: invalid tenant name 'a\\nb': use 1-31 characters of letters, "
              "digits, '_', '.', '-', not starting with '.' or '-'",
              "test.toml:3:1: error: unknown key '\\x1b[2J' in [[tenant]]",
              "test.toml:5:8: error: invalid process name 'p\\xc2\\x85\\xc2\\x9b': use 1-31 "
              "characters of "
              "letters, digits, '_', '.', '-', not starting with '.' or '-'",
              "test.toml:10:12: error: invalid interval '1\\x07ms': unknown unit '\\x07ms' "
              "(expected ns, "
              "us, ms, s or m)"}));
}

TEST(ConfigErrorText, PrintableKeepsPrintableTextAndIsIdempotent) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \\n"), "caf\xc3\xa9 \xe2\x82\xac \\n");
  EXPECT_EQ(printable("\t\r\n\x7f\x01"), "\\t\\r\\n\\x7f\\x01");
  EXPECT_EQ(printable("\xff\xc3(\xed\xa0\x80"),
            "\\xff\\xc3(\\xed\\xa0\\x80");  // not UTF-8: byte by byte
  EXPECT_EQ(printable(printable("a\x1b[31mb\n")), printable("a\x1b[31mb\n"));
}

TEST(ConfigErrorText, TheFileNameIsEscapedToo) {
  // SourcePos named: GCC 12 at -O3 warns falsely (maybe-uninitialized) on a nested braced one.
  const ConfigError e{SourcePos{std::string("conf\nig.toml"), 1, 2}, "no processes configured"};
  EXPECT_EQ(e.to_string(), "conf\\nig.toml:1:2: error: no processes configured");
}

}  // namespace
}  // namespace hamon::engine
