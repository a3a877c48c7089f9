// Specification of operator actions through the control socket: a command is done and reported,
// or not done, and no local client can keep the operator out.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "hamon/node/node.hpp"
#include "test_node.hpp"

namespace hamon::test {
namespace {

// A process that takes a while to be ready: a command that returned before it was would be seen.
const char* kControlConfig = R"(
[defaults]
interval = "20ms"
timeout = "2s"

[[system.process]]
name = "db"
command = ["@APP@", "--ready-delay", "300ms"]
ready = "explicit"

[[system.process]]
name = "web"
command = ["@APP@"]
)";

std::string socket_path(const TestNode& node) { return node::server_socket(node.cluster(), "a"); }

// Connects without sending anything; -1 when the server's backlog is full.
int connect_silently(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), std::min(path.size(), sizeof a.sun_path - 1));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(Control, RestartReturnsOnceTheNewIncarnationIsReady) {
  TestNode node(kControlConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto before = node.process("system", "db");
  ASSERT_TRUE(before.has_value());
  const auto r = node.hamon({"restart", "system/db"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto after = node.process("system", "db");
  ASSERT_TRUE(after.has_value());
  EXPECT_GT(after->incarnation, before->incarnation);
  EXPECT_TRUE(after->state == "ready" || after->state == "running") << after->state;
}

TEST(Control, StopReturnsOnceTheProcessIsDownAndStartOnceItIsReady) {
  TestNode node(kControlConfig);
  ASSERT_EQ(node.up().code, 0);
  auto r = node.hamon({"stop", "system/db"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto p = node.process("system", "db");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->pid, 0);
  EXPECT_FALSE(p->wanted);
  r = node.hamon({"start", "system/db"});
  ASSERT_EQ(r.code, 0) << r.err;
  p = node.process("system", "db");
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->state == "ready" || p->state == "running") << p->state;
}

TEST(Control, AnUnknownProcessIsRefusedWithTheDocumentedCode) {
  TestNode node(kControlConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto r = node.hamon({"restart", "system/nope"});
  EXPECT_EQ(r.code, 7);
  EXPECT_NE(r.err.find("no process 'system/nope'"), std::string::npos) << r.err;
}

TEST(Control, AThousandIdleConnectionsDoNotKeepTheOperatorOut) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  TestNode node(kControlConfig);
  ASSERT_EQ(node.up().code, 0);
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    const int fd = connect_silently(socket_path(node));
    if (fd >= 0) idle.push_back(fd);
  }
  EXPECT_GT(idle.size(), 100u) << "the test did not manage to hold connections";
  const auto r = node.hamon({"restart", "system/web", "--timeout", "20s"});
  EXPECT_EQ(r.code, 0) << r.err;
  const auto d = node.hamon({"stop", "system/web"});
  EXPECT_EQ(d.code, 0) << d.err;
  for (int fd : idle) ::close(fd);
}

TEST(Control, ATricklingClientDoesNotKeepTheOperatorOut) {
  TestNode node(kControlConfig);
  ASSERT_EQ(node.up().code, 0);
  const int fd = connect_silently(socket_path(node));
  ASSERT_GE(fd, 0);
  std::atomic<bool> done{false};
  std::atomic<bool> cut_off{false};
  // One byte every 1.5 s, never a whole line.
  std::thread trickle([&] {
    while (!done.load()) {
      if (::send(fd, "s", 1, MSG_NOSIGNAL) != 1) {
        cut_off = true;
        return;
      }
      for (int i = 0; i < 150 && !done.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  for (const char* verb : {"restart", "stop", "start"}) {
    const auto r = node.hamon({verb, "system/web", "--timeout", "20s"});
    EXPECT_EQ(r.code, 0) << verb << ": " << r.err;
  }
  // The trickler itself is cut off at its deadline.
  EXPECT_TRUE(
      node.wait([&](const node::NodeView&) { return cut_off.load(); }, std::chrono::seconds(10)));
  done = true;
  trickle.join();
  ::close(fd);
}

}  // namespace
}  // namespace hamon::test
