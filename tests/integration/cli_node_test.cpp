// Specification of the CLI against a running node: the status --json shape, and bad input that
// gets a clear message and the documented exit code.
#include <gtest/gtest.h>

#include "test_node.hpp"

namespace hamon::test {
namespace {

const char* kCliNodeConfig = R"(
[defaults]
interval = "20ms"
timeout = "400ms"

[[system.process]]
name = "db"
command = ["@APP@"]

[[tenant]]
name = "acme"

[[tenant.process]]
name = "acd"
command = ["@APP@"]
depends_on = ["system/db"]
)";

TEST(CliNode, StatusJsonHasTheDocumentedShape) {
  TestNode node(kCliNodeConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto r = node.hamon({"status", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string& j = r.out;
  EXPECT_EQ(j.front(), '{');
  EXPECT_EQ(std::count(j.begin(), j.end(), '\n'), 1) << "one object, one line";
  for (const char* key :
       {"\"daemons\":[", "\"processes\":[", "\"heartbeat_age_us\":", "\"restarts\":",
        "\"incarnation\":", "\"role\":\"active\"", "\"tenant\":\"acme\"", "\"name\":\"acd\"",
        "\"name\":\"hamon-server\"", "\"state\":\"running\"", "\"pid\":"}) {
    EXPECT_NE(j.find(key), std::string::npos) << "missing " << key << " in " << j;
  }
}

TEST(CliNode, EventsJsonPrintsOneObjectPerLine) {
  TestNode node(kCliNodeConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto r = node.hamon({"events", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    EXPECT_EQ(line.front(), '{');
    for (const char* key : {"\"t_ns\":", "\"kind\":", "\"tenant\":", "\"name\":", "\"pid\":",
                            "\"incarnation\":", "\"detail\":"}) {
      EXPECT_NE(line.find(key), std::string::npos) << key << " in " << line;
    }
  }
  EXPECT_GE(n, 4) << "spawned and ready for each of two processes";
}

TEST(CliNode, TopRedrawsTheTableInPlaceAndStops) {
  TestNode node(kCliNodeConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto r = node.hamon({"top", "--iterations", "3", "--interval", "0.05"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::size_t homes = 0;
  for (std::size_t at = r.out.find("\x1b[H"); at != std::string::npos;
       at = r.out.find("\x1b[H", at + 1))
    ++homes;
  EXPECT_EQ(homes, 3u) << "one redraw from the top-left corner per refresh";
  EXPECT_NE(r.out.find("acd"), std::string::npos);
  EXPECT_NE(r.out.find("\x1b[?25h"), std::string::npos) << "the cursor is given back";
}

TEST(CliNode, UnknownProcessIsRefusedWithExitSeven) {
  TestNode node(kCliNodeConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto r = node.hamon({"restart", "nosuch"});
  EXPECT_EQ(r.code, 7);
  EXPECT_EQ(r.err, "hamon: no process 'nosuch'\n");
  const auto t = node.hamon({"tenant", "stop", "initech"});
  EXPECT_EQ(t.code, 7);
  EXPECT_EQ(t.err, "hamon: no tenant 'initech'\n");
}

TEST(CliNode, SecondUpOnARunningNodeIsRefused) {
  TestNode node(kCliNodeConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto again = node.up();
  EXPECT_EQ(again.code, 4);
  EXPECT_NE(again.err.find("is already running"), std::string::npos) << again.err;
}

TEST(CliNode, UpReportsAProcessThatCannotStart) {
  TestNode node(std::string(kCliNodeConfig) +
                "\n[[system.process]]\nname = \"ghost\"\ncommand = [\"/nonexistent/ghost\"]\n"
                "restart_budget = 1\n");
  const auto r = node.up();
  EXPECT_EQ(r.code, 5);
  EXPECT_NE(r.err.find("system/ghost failed to start"), std::string::npos) << r.err;
}

TEST(CliNode, CommandsOnANodeThatIsNotRunningExitFour) {
  TestNode node(kCliNodeConfig);
  for (std::vector<std::string> args :
       {std::vector<std::string>{"status"}, {"events"}, {"stop", "db"}, {"down"}}) {
    const auto r = node.hamon(args);
    EXPECT_EQ(r.code, 4) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;
  }
}

TEST(CliNode, MissingArgumentsAreUsageErrors) {
  TestNode node(kCliNodeConfig);
  EXPECT_EQ(node.hamon({"start"}, false).code, 2);
  EXPECT_EQ(node.hamon({"tenant"}, false).code, 2);
  EXPECT_EQ(node.hamon({"up"}, false).code, 2);
  EXPECT_EQ(node.hamon({"top", "--interval", "0"}).code, 2);
}

}  // namespace
}  // namespace hamon::test
