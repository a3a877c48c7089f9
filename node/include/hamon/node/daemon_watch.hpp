// DaemonWatch: one of hamon's daemons as the daemon that watches it sees it — the master watching
// the spawner, the monitor and the server, the watcher watching the master. Three things:
//  - its end, through a pidfd (seen at once; a reused pid is never signalled);
//  - its heartbeat age against its own hang limit (a daemon that stops turning its loop is
//    killed, and then restarted like a crash);
//  - restart pacing: the first restart is immediate; a daemon that keeps ending soon after it
//    started (a bad binary, a missing file, a crash at start-up) is restarted after a growing
//    pause instead of in a tight loop, with its slot saying when the next attempt comes.
//
// The pacing is pure (RestartPacer below, tested without processes); DaemonWatch adds the pidfd.
// Not thread-safe: one loop owns it.
#ifndef HAMON_NODE_DAEMON_WATCH_HPP
#define HAMON_NODE_DAEMON_WATCH_HPP

#include <sys/types.h>

#include <cstdint>

#include "hamon/shm/control_layout.hpp"

namespace hamon::node {

// How long each daemon may go without a heartbeat before its watcher kills it. Each daemon
// stamps its heartbeat once per loop turn, and each bounds the work of a turn; the limits are
// far above a turn's worst case on a loaded machine, and below what would leave the node blind
// for long: the monitor's hang watch matters most, the spawner's turns include fork+exec bursts.
[[nodiscard]] std::uint64_t hang_limit_ns(shm::DaemonId d) noexcept;

class RestartPacer {
 public:
  // A run shorter than this counts as failing to start.
  static constexpr std::uint64_t kStableNs = 1'000'000'000;
  static constexpr std::uint64_t kFirstPauseNs = 10'000'000;
  static constexpr std::uint64_t kMaxPauseNs = 5'000'000'000;

  // The daemon ended at `now`, having started at `started`: when to start it again.
  std::uint64_t ended(std::uint64_t started, std::uint64_t now) noexcept;
  // Failed starts in a row (0 after a stable run).
  [[nodiscard]] std::uint32_t failures() const noexcept { return failures_; }

 private:
  std::uint32_t failures_ = 0;
};

class DaemonWatch {
 public:
  DaemonWatch(shm::DaemonId id, const char* binary) : id_(id), binary_(binary) {}
  ~DaemonWatch();
  DaemonWatch(const DaemonWatch&) = delete;
  DaemonWatch& operator=(const DaemonWatch&) = delete;

  // Watches `pid` from `now` (a child just spawned, or a running one adopted); takes `pidfd`.
  void watch(pid_t pid, int pidfd, bool child, std::uint64_t now);
  // It ended (its pidfd is readable, or it had none): forget it and decide when to start it
  // again. REQUIRES: running().
  void ended(std::uint64_t now);
  // It could not even be spawned (fork failed, the binary is gone): a failed start, paced like
  // one. REQUIRES: !running().
  void spawn_failed(std::uint64_t now);
  // Whether its pidfd says it has ended.
  [[nodiscard]] bool has_ended() const;
  // Whether its heartbeat in `slot` is older than its hang limit (past a first grace period).
  // Asked every turn of the watching daemon's loop: a turn that comes more than kStallNs after
  // the one before means the watcher itself (and most likely the machine) was stalled, and the
  // silence counts afresh from then — a node resumed after a pause kills none of its daemons.
  [[nodiscard]] bool silent(const shm::DaemonSlot& slot, std::uint64_t now);
  // Far above a watching loop's turn (at most 10 ms of idling plus its bounded work).
  static constexpr std::uint64_t kStallNs = 250'000'000;
  // Sends `sig` through the pidfd; never through a bare pid.
  void signal(int sig) const;

  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] bool due(std::uint64_t now) const { return !running() && now >= restart_at_; }
  [[nodiscard]] std::uint64_t restart_at() const { return restart_at_; }
  [[nodiscard]] std::uint32_t failures() const { return pacer_.failures(); }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] int pidfd() const { return pidfd_; }
  [[nodiscard]] bool child() const { return child_; }
  [[nodiscard]] shm::DaemonId id() const { return id_; }
  [[nodiscard]] const char* binary() const { return binary_; }

 private:
  shm::DaemonId id_;
  const char* binary_;
  pid_t pid_ = 0;
  int pidfd_ = -1;
  bool child_ = false;
  std::uint64_t started_ns_ = 0;
  std::uint64_t restart_at_ = 0;
  std::uint64_t last_look_ns_ = 0;  // the previous silent() call
  std::uint64_t resumed_ns_ = 0;    // the end of the watcher's latest stall
  RestartPacer pacer_;
};

}  // namespace hamon::node

#endif  // HAMON_NODE_DAEMON_WATCH_HPP
