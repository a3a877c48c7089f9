// Specification of a daemon that cannot start: its watcher backs off instead of restarting it in
// a tight loop, says why, and supervision resumes once the cause is gone.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "hamon/node/node.hpp"
#include "test_node.hpp"

namespace hamon::test {
namespace {

const char* kDaemonFailureConfig = R"(
[defaults]
interval = "20ms"
timeout = "400ms"

[[system.process]]
name = "db"
command = ["@APP@"]
)";

std::int32_t server_pid(const node::NodeView& v) {
  for (const auto& d : v.daemons) {
    if (d.name == "hamon-server") return d.pid;
  }
  return 0;
}

TEST(DaemonFailure, AServerThatCannotStartIsRetriedWithGrowingPausesAndComesBack) {
  TestNode node(kDaemonFailureConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto db = node.process("system", "db");
  ASSERT_TRUE(db.has_value());
  // A directory where the server's socket goes: every new server fails to listen and exits.
  const std::string sock = node::server_socket(node.cluster(), "a");
  const std::int32_t pid = server_pid(node.view());
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ::unlink(sock.c_str());
  ASSERT_EQ(::mkdir(sock.c_str(), 0700), 0);
  // Failed starts pile up, then the master holds it back and says so.
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    for (const auto& e : node.events()) {
      if (e.kind == shm::EventKind::daemon_exited && e.name == "hamon-server" &&
          e.detail.find("failed starts in a row, next attempt in") != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << "the master never held the failing server back";
  // Over two seconds, a tight loop would restart it hundreds of times.
  std::uint32_t before = 0, after = 0;
  for (const auto& d : node.view().daemons) before = d.name == "hamon-server" ? d.restarts : before;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (const auto& d : node.view().daemons) after = d.name == "hamon-server" ? d.restarts : after;
  EXPECT_LE(after - before, 8u) << "restarted " << (after - before) << " times in 2 s";
  // The process it looked after was never touched.
  const auto still = node.process("system", "db");
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->pid, db->pid);
  // The cause goes away: within the longest pause the server is back and answers.
  ASSERT_EQ(::rmdir(sock.c_str()), 0);
  ASSERT_TRUE(node.wait(
      [&](const node::NodeView& v) {
        for (const auto& d : v.daemons) {
          if (d.name == "hamon-server" && d.state == "running") return true;
        }
        return false;
      },
      std::chrono::seconds(15)));
  const auto r = node.hamon({"restart", "system/db"});
  EXPECT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace hamon::test
