// Specification of the control protocol: what `hamon` sends and hamon-server answers.
#include "hamon/node/control_protocol.hpp"

#include <gtest/gtest.h>

namespace hamon::node {
namespace {

TEST(ControlProtocol, EveryRequestSurvivesFormatAndParse) {
  const std::vector<Request> all{Request::up(),
                                 Request::down(),
                                 Request::reload(),
                                 Request::on(Verb::start, "acme/acd"),
                                 Request::on(Verb::stop, "sipd"),
                                 Request::on(Verb::restart, "acme/acd"),
                                 Request::on(Verb::tenant_start, "acme"),
                                 Request::on(Verb::tenant_stop, "acme"),
                                 Request::on(Verb::tenant_restart, "acme")};
  for (const Request& r : all) {
    const auto back = parse_request(format(r));
    ASSERT_TRUE(back) << format(r) << ": " << back.error().message;
    EXPECT_EQ(back->verb, r.verb);
    EXPECT_EQ(back->target, r.target);
  }
}

TEST(ControlProtocol, RefusesMalformedRequestsSayingWhy) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"", "empty request"},
      {"launch acme/acd", "unknown request 'launch'"},
      {"restart", "restart needs a name"},
      {"down now", "down takes no name"},
      {"stop a b", "too many words"},
      {"stop a\x1b[2J", "no spaces or control characters"},
  };
  for (const auto& [line, why] : bad) {
    const auto r = parse_request(line);
    ASSERT_FALSE(r) << line;
    EXPECT_EQ(r.error().code, Errc::bad_argument);
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(parse_request(std::string(kMaxLine + 1, 'x')));
}

TEST(ControlProtocol, AReplySaysWhatWasDone) {
  const Reply r = Reply::success({{3, 17, "acme/acd"}, {4, 9, "acme/db"}});
  const std::string line = format(r);
  EXPECT_EQ(line, "ok 3:17:acme/acd 4:9:acme/db");
  const auto back = parse_reply(line);
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->ok);
  ASSERT_EQ(back->acted.size(), 2u);
  EXPECT_EQ(back->acted[0].slot, 3u);
  EXPECT_EQ(back->acted[0].incarnation, 17u);
  EXPECT_EQ(back->acted[1].name, "acme/db");
}

TEST(ControlProtocol, AnErrorReplyStaysOneLine) {
  const std::string line = format(Reply::failure("no process 'a\nb'"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto back = parse_reply(line);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->ok);
  EXPECT_EQ(back->error, "no process 'a b'");
}

TEST(ControlProtocol, RefusesGarbageAsAReply) {
  for (const char* line : {"", "maybe", "ok 3", "ok x:1:a", "ok 3:y:a", "ok 3:1:", "ok 3:1"}) {
    EXPECT_FALSE(parse_reply(line)) << line;
  }
}

}  // namespace
}  // namespace hamon::node
