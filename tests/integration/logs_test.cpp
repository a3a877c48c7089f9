// Specification of the daemons' logs (node/daemon_log.hpp) on real nodes: each daemon logs what
// it posts, with a time and a level, to its own capped file — or, started as systemd starts it,
// to the journal's stream with a "<N>" level first — and `hamon logs` shows the files merged.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "hamon/node/node.hpp"
#include "test_node.hpp"

extern char** environ;

namespace hamon::test {
namespace {

using namespace std::chrono_literals;

const char* kOneProcess = R"(
[defaults]
interval = "20ms"
timeout = "300ms"
restart_delay = "0s"
restart_budget = 1000

[[system.process]]
name = "db"
command = ["@APP@"]
)";

// Kills system/db and waits for its replacement.
::testing::AssertionResult crash_db(const TestNode& node) {
  const auto db = node.process("system", "db");
  if (!db || db->pid <= 0) return ::testing::AssertionFailure() << "db does not run";
  if (::kill(db->pid, SIGKILL) != 0) return ::testing::AssertionFailure() << "kill failed";
  if (!node.wait([&](const node::NodeView&) {
        const auto p = node.process("system", "db");
        return p && p->pid > 0 && p->pid != db->pid && p->state == "running";
      })) {
    return ::testing::AssertionFailure() << "db was not restarted";
  }
  return ::testing::AssertionSuccess();
}

bool has_line(const std::string& text, const std::string& pattern) {
  return std::regex_search(text, std::regex(pattern, std::regex::multiline));
}

TEST(Logs, EachDaemonLogsItsEventsWithTimeAndLevelAndHamonLogsMergesThem) {
  TestNode node(kOneProcess);
  ASSERT_EQ(node.up().code, 0);
  const auto db = node.process("system", "db");
  ASSERT_TRUE(crash_db(node));
  const std::string stamp = R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z )";
  const std::string exited =
      stamp + "warning hamon-\\w+: exited system/db pid " + std::to_string(db->pid) + " ";
  std::string all;
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    all = node.hamon({"logs"}).out;
    return has_line(all, exited) && has_line(all, stamp + "info hamon-monitor: ready system/db");
  })) << all;
  // Merged by time: the stamps never go back.
  std::string previous;
  const std::regex stamps(stamp, std::regex::multiline);
  for (std::sregex_iterator it(all.begin(), all.end(), stamps), end; it != end; ++it) {
    EXPECT_LE(previous, it->str()) << "out of order:\n" << all;
    previous = it->str();
  }
  // One daemon's alone.
  const auto monitor = node.hamon({"logs", "monitor"});
  ASSERT_EQ(monitor.code, 0) << monitor.err;
  EXPECT_TRUE(has_line(monitor.out, "hamon-monitor: ready system/db")) << monitor.out;
  EXPECT_FALSE(has_line(monitor.out, stamp + "\\w+ hamon-(spawner|server|master|watcher):"))
      << monitor.out;
  const auto wrong = node.hamon({"logs", "frobnicator"});
  EXPECT_EQ(wrong.code, 2);
  EXPECT_NE(wrong.err.find("frobnicator"), std::string::npos) << wrong.err;
}

// Sets an environment variable for the test's lifetime: the daemons `hamon up` starts inherit it.
struct ScopedEnv {
  ScopedEnv(const char* key, const char* value) : key_(key) { ::setenv(key, value, 1); }
  ~ScopedEnv() { ::unsetenv(key_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  const char* key_;
};

TEST(Logs, AFilePastItsCapIsMovedAsideAndANewOneBegins) {
  constexpr int kCap = 1024;
  const ScopedEnv cap("HAMON_LOG_FILE_CAP", std::to_string(kCap).c_str());
  TestNode node(kOneProcess);
  ASSERT_EQ(node.up().code, 0);
  // The spawner logs two lines for each crash (exited, spawned).
  const std::string log = node::log_dir(node.cluster(), node.id()) + "/hamon-spawner.log";
  for (int i = 0; i < 50 && !std::filesystem::exists(log + ".1"); ++i) {
    ASSERT_TRUE(crash_db(node)) << "crash " << i;
  }
  ASSERT_TRUE(std::filesystem::exists(log + ".1")) << "the spawner's log never reached its cap";
  // Past the cap by one line at most, before it was moved aside.
  EXPECT_LT(std::filesystem::file_size(log + ".1"), kCap + 512u);
  EXPECT_LT(std::filesystem::file_size(log), kCap + 512u);
  ASSERT_TRUE(crash_db(node));
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    return std::filesystem::exists(log) && std::filesystem::file_size(log) > 0;
  })) << "nothing was logged after the file was moved aside";
}

// `hamon logs --follow` across the cap: the line that took a file past its cap is the last of
// the file moved aside, usually written after the follower's last look — it must still be shown,
// as every line is, once.
TEST(Logs, FollowShowsEveryLineOnceAcrossTheCap) {
  constexpr int kCap = 1024;
  const ScopedEnv cap("HAMON_LOG_FILE_CAP", std::to_string(kCap).c_str());
  TestNode node(kOneProcess);
  ASSERT_EQ(node.up().code, 0);
  const std::string out = node.dir() + "/follow.out";
  const std::string bin = std::string(HAMON_BIN_DIR) + "/hamon";
  std::vector<std::string> args{
      bin, "logs", "--follow", "spawner", "--config", node.config_path(), "--node", node.id()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t follower = -1;
  const int rc = ::posix_spawn(&follower, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ASSERT_EQ(rc, 0);
  auto shown = [&] {
    std::ifstream in(out);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string log = node::log_dir(node.cluster(), node.id()) + "/hamon-spawner.log";
  std::vector<int> pids;
  int moved = 0;
  ino_t last = 0;
  // About five crashes fill a file: several moves aside, each one seen by the follower.
  for (int i = 0; i < 40 && moved < 4; ++i) {
    const auto db = node.process("system", "db");
    ASSERT_TRUE(db && db->pid > 0);
    pids.push_back(db->pid);
    ASSERT_TRUE(crash_db(node)) << "crash " << i;
    const auto now = node.process("system", "db");
    ASSERT_TRUE(now);
    // Shown before the next crash: at most one move aside between two looks of the follower.
    EXPECT_TRUE(node.wait([&](const node::NodeView&) {
      return shown().find("spawned system/db pid " + std::to_string(now->pid) + " ") !=
             std::string::npos;
    })) << "the follower never showed the start of pid "
        << now->pid;
    struct stat st {};
    if (::stat(log.c_str(), &st) == 0 && st.st_ino != last) {
      if (last != 0) ++moved;
      last = st.st_ino;
    }
  }
  ::kill(follower, SIGTERM);
  ::waitpid(follower, nullptr, 0);
  ASSERT_GE(moved, 1) << "the spawner's log never reached its cap";
  const std::string text = shown();
  for (const int pid : pids) {
    const std::regex line("exited system/db pid " + std::to_string(pid) + " ");
    const auto n =
        std::distance(std::sregex_iterator(text.begin(), text.end(), line), std::sregex_iterator());
    EXPECT_EQ(n, 1) << "the exit of pid " << pid << " was shown " << n << " times:\n" << text;
  }
}

// Started as the systemd unit starts it — hamon-watcher with its stderr the journal's stream,
// JOURNAL_STREAM naming it — every daemon logs there, each line with its syslog level first.
TEST(Logs, UnderSystemdEveryDaemonLogsToTheJournalStreamWithItsLevel) {
  TestNode node(kOneProcess);
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  struct stat st {};
  ASSERT_EQ(::fstat(sv[1], &st), 0);
  const std::string journal = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                              std::to_string(static_cast<unsigned long long>(st.st_ino));
  // What the "journal" received, read all along so that no daemon ever finds the stream full.
  std::mutex m;
  std::string received;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    char buf[4096];
    while (!stop) {
      pollfd p{sv[0], POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::read(sv[0], buf, sizeof buf);
      if (n <= 0) break;
      const std::lock_guard<std::mutex> lock(m);
      received.append(buf, static_cast<std::size_t>(n));
    }
  });
  const std::string bin = std::string(HAMON_BIN_DIR) + "/hamon-watcher";
  std::vector<std::string> args{bin, "--config", node.config_path(), "--node", node.id()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage{"JOURNAL_STREAM=" + journal};
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind("JOURNAL_STREAM=", 0) != 0) env_storage.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t watcher = -1;
  const int rc = ::posix_spawn(&watcher, bin.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(sv[1]);
  auto text = [&] {
    const std::lock_guard<std::mutex> lock(m);
    return received;
  };
  if (rc == 0) {
    EXPECT_TRUE(node.wait([&](const node::NodeView&) {
      const auto db = node.process("system", "db");
      return db && db->state == "running";
    })) << text();
    EXPECT_TRUE(crash_db(node));
    EXPECT_TRUE(node.wait([&](const node::NodeView&) {
      const std::string t = text();
      return has_line(t, "^<4>hamon-\\w+: exited system/db ") &&
             has_line(t, "^<6>hamon-monitor: ready system/db") &&
             has_line(t, "^<6>hamon-\\w+: daemon-started hamon-spawner");
    })) << text();
    // No log file: the journal has it all.
    EXPECT_FALSE(
        std::filesystem::exists(node::log_dir(node.cluster(), node.id()) + "/hamon-monitor.log"));
    const bool down = node.down().code == 0;
    EXPECT_TRUE(down);
    if (!down) ::kill(watcher, SIGKILL);
    ::waitpid(watcher, nullptr, 0);
  }
  stop = true;
  reader.join();
  ::close(sv[0]);
  ASSERT_EQ(rc, 0) << "posix_spawn " << bin;
}

}  // namespace
}  // namespace hamon::test
