#include "hamon/engine/names.hpp"

#include <gtest/gtest.h>

#include <string>

#include "hamon/engine/address.hpp"

namespace hamon::engine {
namespace {

TEST(Names, AcceptsLettersDigitsUnderscoreDotAndDash) {
  EXPECT_TRUE(is_valid_name("acme"));
  EXPECT_TRUE(is_valid_name("Acme_2.sip-proxy"));
  EXPECT_TRUE(is_valid_name("_private"));
  EXPECT_TRUE(is_valid_name("7"));
  EXPECT_TRUE(is_valid_name(std::string(max_name_length, 'x')));
}

TEST(Names, RejectsEmptyAndTooLong) {
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name(std::string(max_name_length + 1, 'x')));
}

TEST(Names, RejectsOtherCharacters) {
  for (const std::string_view name : {"a b", "a/b", "a:b", "a\"b", "caf\xc3\xa9", "a\nb", "a*"}) {
    EXPECT_FALSE(is_valid_name(name)) << name;
  }
}

TEST(Names, RejectsLeadingDotOrDash) {
  EXPECT_FALSE(is_valid_name(".hidden"));
  EXPECT_FALSE(is_valid_name(".."));
  EXPECT_FALSE(is_valid_name("-rf"));
}

TEST(Names, ASpareInstanceIsAValidProcessNameButNotAWrittenOne) {
  EXPECT_TRUE(is_valid_process_name("acd"));
  EXPECT_TRUE(is_valid_process_name("acd~1"));
  EXPECT_TRUE(is_valid_process_name("acd~16"));
  EXPECT_FALSE(is_valid_name("acd~1"));  // a configuration cannot write it
  for (const char* bad : {"acd~0", "acd~17", "acd~01", "acd~", "~1", "acd~x", "a~1~1", "-a~1",
                          "abcdefghijklmnopqrstuvwxyz0123~1"}) {
    EXPECT_FALSE(is_valid_process_name(bad)) << bad;
  }
}

TEST(HostPort, ParsesIpv4AndNames) {
  EXPECT_EQ(parse_host_port("127.0.0.1:7401"), (HostPort{"127.0.0.1", 7401}));
  EXPECT_EQ(parse_host_port("node-b.example:1"), (HostPort{"node-b.example", 1}));
  EXPECT_EQ(parse_host_port("h:65535"), (HostPort{"h", 65535}));
}

TEST(HostPort, ParsesBracketedIpv6) {
  EXPECT_EQ(parse_host_port("[::1]:7401"), (HostPort{"::1", 7401}));
  EXPECT_EQ(parse_host_port("[fe80::1:2]:80"), (HostPort{"fe80::1:2", 80}));
}

TEST(HostPort, RejectsPortsOutside1To65535) {
  EXPECT_EQ(parse_host_port("h:0"), std::nullopt);
  EXPECT_EQ(parse_host_port("h:65536"), std::nullopt);
  EXPECT_EQ(parse_host_port("h:123456"), std::nullopt);
  EXPECT_EQ(parse_host_port("h:-1"), std::nullopt);
  EXPECT_EQ(parse_host_port("h:8o"), std::nullopt);
}

TEST(HostPort, RejectsMissingHostOrPort) {
  EXPECT_EQ(parse_host_port("127.0.0.1"), std::nullopt);
  EXPECT_EQ(parse_host_port("h:"), std::nullopt);
  EXPECT_EQ(parse_host_port(":7401"), std::nullopt);
  EXPECT_EQ(parse_host_port(""), std::nullopt);
}

TEST(HostPort, RejectsUnbracketedIpv6AndJunk) {
  EXPECT_EQ(parse_host_port("::1:7401"), std::nullopt);
  EXPECT_EQ(parse_host_port("[]:7401"), std::nullopt);
  EXPECT_EQ(parse_host_port("[zz::1]:7401"), std::nullopt);
  EXPECT_EQ(parse_host_port("a b:7401"), std::nullopt);
  EXPECT_EQ(parse_host_port("-h:7401"), std::nullopt);
}

TEST(HostPort, PrintsIpv6InBrackets) {
  EXPECT_EQ((HostPort{"::1", 7401}).to_string(), "[::1]:7401");
  EXPECT_EQ((HostPort{"10.0.0.2", 7402}).to_string(), "10.0.0.2:7402");
}

}  // namespace
}  // namespace hamon::engine
