// The daemons' log: one line per event a daemon posts (start, exit, restart and why, hang, role
// change, peer and link events, refusals, alarms), with a syslog level, on the daemon's stderr.
//
// Under systemd, stderr is the journal's stream (JOURNAL_STREAM names it): each line starts with
// "<N>", the syslog level journald reads (SyslogLevelPrefix), and journald stamps and keeps it.
// Elsewhere stderr is RUNTIME/log/hamon-DAEMON.log: each line starts with its UTC time and level,
// and the file is capped — past 8 MiB it becomes hamon-DAEMON.log.1 (the previous .1 goes) and
// a new one begins. `hamon logs` reads them.
//
// A line never blocks its daemon: a thread of the daemon's own writes the lines, whole, in the
// order they were logged; the daemon only queues them (lines beyond 4096 waiting are dropped and
// counted in the next one). Any of the daemon's threads may log. Queued lines are written at the
// daemon's exit.
#ifndef HAMON_NODE_DAEMON_LOG_HPP
#define HAMON_NODE_DAEMON_LOG_HPP

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "hamon/shm/event_ring.hpp"

namespace hamon::node {

// syslog levels
inline constexpr int kLogErr = 3, kLogWarning = 4, kLogNotice = 5, kLogInfo = 6;

// Turns the log on for this process (a daemon, at its start). Until then log_event does nothing:
// the CLI and the tests post events without logging them.
void start_daemon_log(std::string_view daemon);

// The level an event is logged at.
[[nodiscard]] int log_level(shm::EventKind kind) noexcept;

// Logs the event, when the log is on.
void log_event(const shm::Event& e);

// Returns once every line logged so far is written (or given up on).
void flush_daemon_log();

// The line for an event, without its end of line: "<N>DAEMON: TEXT" for the journal, else
// "TIME LEVEL DAEMON: TEXT" (TIME in UTC, ISO 8601, milliseconds). Pure, for tests.
[[nodiscard]] std::string log_line(const shm::Event& e, std::string_view daemon, bool journal,
                                   std::timespec wall);

// Whether `fd` is the stream JOURNAL_STREAM (DEV:INODE) names: systemd connected it to journald.
[[nodiscard]] bool is_journal_stream(int fd) noexcept;

// Log files are capped at this size (HAMON_LOG_FILE_CAP in the environment, in bytes, replaces
// it: for tests).
inline constexpr std::int64_t kLogFileCap = 8 << 20;

}  // namespace hamon::node

#endif  // HAMON_NODE_DAEMON_LOG_HPP
