// The daemons' log lines (node/daemon_log.hpp): what a line says, at which level, in the shape
// journald reads (a "<N>" syslog level first) or, in a file, with its time and level spelled out.
#include "hamon/node/daemon_log.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace hamon::node {
namespace {

shm::Event exited_event() {
  shm::Event e;
  e.kind = shm::EventKind::exited;
  e.pid = 4242;
  e.incarnation = 3;
  e.set_group("acme");
  e.set_name("acd");
  e.set_detail("killed by SIGKILL");
  return e;
}

constexpr std::timespec kWall{1'764'557'845, 123'456'789};  // 2025-12-01T02:57:25.123Z

TEST(DaemonLog, AJournalLineStartsWithItsSyslogLevel) {
  EXPECT_EQ(log_line(exited_event(), "hamon-spawner", true, kWall),
            "<4>hamon-spawner: exited acme/acd pid 4242 incarnation 3: killed by SIGKILL");
}

TEST(DaemonLog, AFileLineStartsWithItsUtcTimeLevelAndDaemon) {
  EXPECT_EQ(log_line(exited_event(), "hamon-spawner", false, kWall),
            "2025-12-01T02:57:25.123Z warning hamon-spawner: exited acme/acd pid 4242 "
            "incarnation 3: killed by SIGKILL");
}

TEST(DaemonLog, LevelsFollowWhatAnOperatorMustDo) {
  EXPECT_EQ(log_level(shm::EventKind::failed), kLogErr);
  EXPECT_EQ(log_level(shm::EventKind::alarm), kLogErr);
  EXPECT_EQ(log_level(shm::EventKind::hung), kLogWarning);
  EXPECT_EQ(log_level(shm::EventKind::peer_lost), kLogWarning);
  EXPECT_EQ(log_level(shm::EventKind::refused), kLogWarning);
  EXPECT_EQ(log_level(shm::EventKind::role_changed), kLogNotice);
  EXPECT_EQ(log_level(shm::EventKind::spawned), kLogInfo);
}

TEST(DaemonLog, ANodeEventWithoutProcessSaysOnlyWhatItHas) {
  shm::Event e;
  e.kind = shm::EventKind::daemon_started;
  e.set_name("hamon-monitor");
  e.pid = 77;
  EXPECT_EQ(log_line(e, "hamon-master", true, kWall),
            "<6>hamon-master: daemon-started hamon-monitor pid 77");
}

// JOURNAL_STREAM names the stream by device and inode: only that stream is the journal's.
TEST(DaemonLog, OnlyTheStreamJournalStreamNamesIsTheJournal) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  struct stat st {};
  ASSERT_EQ(::fstat(sv[0], &st), 0);
  const std::string named = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                            std::to_string(static_cast<unsigned long long>(st.st_ino));
  ::setenv("JOURNAL_STREAM", named.c_str(), 1);
  EXPECT_TRUE(is_journal_stream(sv[0]));
  EXPECT_FALSE(is_journal_stream(sv[1]));
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(is_journal_stream(sv[0]));
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(is_journal_stream(sv[0]));
  ::close(sv[0]);
  ::close(sv[1]);
}

// fd 2 is `fd` while it lives, then what it was.
class StderrTo {
 public:
  explicit StderrTo(int fd) : saved_(::dup(2)) { ::dup2(fd, 2); }
  ~StderrTo() {
    flush_daemon_log();
    ::dup2(saved_, 2);
    ::close(saved_);
  }
  StderrTo(const StderrTo&) = delete;
  StderrTo& operator=(const StderrTo&) = delete;

 private:
  int saved_;
};

shm::Event numbered(int thread, int n) {
  auto e = exited_event();
  char detail[32];
  std::snprintf(detail, sizeof detail, "t%d n%d", thread, n);
  e.set_detail(detail);
  return e;
}

// The monitor's loop and its peer link thread both post: their lines never mix, and each
// thread's come in the order it logged them.
TEST(DaemonLog, LinesFromManyThreadsAreWrittenWholeAndInOrder) {
  char path[] = "/tmp/hamon-log-test-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unsetenv("JOURNAL_STREAM");
  constexpr int kThreads = 4, kLines = 500;
  {
    const StderrTo redirect(fd);
    start_daemon_log("hamon-test");
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < kLines; ++i) log_event(numbered(t, i));
      });
    }
    for (auto& t : threads) t.join();
  }
  std::ifstream in(path);
  const std::regex line(
      R"(^\S+ warning hamon-test: exited acme/acd pid 4242 incarnation 3: t(\d) n(\d+)$)");
  std::array<int, kThreads> next{};
  int lines = 0;
  for (std::string l; std::getline(in, l); ++lines) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, line)) << "line " << lines << ": " << l;
    const int t = std::stoi(m[1]);
    EXPECT_EQ(std::stoi(m[2]), next.at(static_cast<std::size_t>(t))++) << l;
  }
  EXPECT_EQ(lines, kThreads * kLines);
  ::close(fd);
  ::unlink(path);
}

// A journal that reads nothing holds no daemon up: logging returns at once, what cannot wait is
// dropped, and the next line that gets through says how many were.
TEST(DaemonLog, AJournalThatTakesNothingDropsLinesAndSaysSoButNeverBlocks) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  struct stat st {};
  ASSERT_EQ(::fstat(sv[0], &st), 0);
  std::string got;
  {
    const StderrTo redirect(sv[0]);
    char named[64];
    std::snprintf(named, sizeof named, "%llu:%llu", static_cast<unsigned long long>(st.st_dev),
                  static_cast<unsigned long long>(st.st_ino));
    ::setenv("JOURNAL_STREAM", named, 1);
    start_daemon_log("hamon-test");
    ::unsetenv("JOURNAL_STREAM");
    for (int i = 0; i < 20000; ++i) log_event(numbered(0, i));  // nobody reads yet
    std::atomic<bool> done{false};
    std::thread reader([&] {
      char buf[65536];
      for (;;) {  // until flushed and all read
        pollfd p{sv[1], POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) {
          if (done) break;
          continue;
        }
        const ssize_t n = ::read(sv[1], buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
      }
    });
    flush_daemon_log();  // what was queued, read now
    log_event(numbered(1, 0));
    flush_daemon_log();
    done = true;
    reader.join();
  }
  EXPECT_NE(got.find("<4>hamon-test: exited acme/acd pid 4242 incarnation 3: t0 n0\n"),
            std::string::npos);
  const auto last = got.find("t1 n0 (");
  ASSERT_NE(last, std::string::npos) << "the line after the drops does not say so";
  EXPECT_NE(got.find("earlier lines dropped", last), std::string::npos);
  EXPECT_EQ(got.back(), '\n');
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace hamon::node
