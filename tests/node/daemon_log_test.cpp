// The daemons' log lines (node/daemon_log.hpp): what a line says, at which level, in the shape
// journald reads (a "<N>" syslog level first) or, in a file, with its time and level spelled out.
#include "hamon/node/daemon_log.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

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

}  // namespace
}  // namespace hamon::node
